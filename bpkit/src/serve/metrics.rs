//! Request counters and latency histograms, rendered in the Prometheus text format (0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10.0,
];

#[derive(Default)]
struct RouteStats {
    /// Requests by (method, status).
    counts: BTreeMap<(&'static str, u16), u64>,
    /// Cumulative counts per bucket of [`BUCKETS`] (not yet cumulative: one slot per bucket).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// The service's metrics.
#[derive(Default)]
pub(crate) struct Metrics {
    routes: Mutex<BTreeMap<&'static str, RouteStats>>,
    in_flight: AtomicI64,
}

/// Counts a request as in flight until dropped.
pub(crate) struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The label of a method: the standard ones by name, anything else `OTHER` (bounded labels).
pub(crate) fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics {
    /// Marks a request as started.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Records a finished request. `route` is a route pattern (bounded), never a raw path.
    pub fn record(&self, route: &'static str, method: &'static str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let r = routes.entry(route).or_default();
        *r.counts.entry((method, status)).or_default() += 1;
        if let Some(slot) = BUCKETS.iter().position(|&b| secs <= b)
            && let Some(b) = r.buckets.get_mut(slot)
        {
            *b += 1;
        }
        r.count += 1;
        r.sum_seconds += secs;
    }

    /// The text exposition, with the catalog gauges given by the caller.
    pub fn render(&self, gauges: &[(&str, &str, u64)]) -> String {
        let mut out = String::new();
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.push_str("# HELP bpkit_http_requests_total HTTP requests answered, by route pattern, method and status.\n");
        out.push_str("# TYPE bpkit_http_requests_total counter\n");
        for (route, r) in routes.iter() {
            for ((method, status), n) in &r.counts {
                let _ = writeln!(
                    out,
                    "bpkit_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP bpkit_http_request_duration_seconds Time to answer a request, by route pattern.\n");
        out.push_str("# TYPE bpkit_http_request_duration_seconds histogram\n");
        for (route, r) in routes.iter() {
            let route = escape(route);
            let mut cumulative = 0u64;
            for (bound, n) in BUCKETS.iter().zip(r.buckets.iter()) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "bpkit_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "bpkit_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(
                out,
                "bpkit_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                r.sum_seconds
            );
            let _ = writeln!(
                out,
                "bpkit_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                r.count
            );
        }
        drop(routes);
        out.push_str("# HELP bpkit_http_requests_in_flight Requests being answered now.\n");
        out.push_str("# TYPE bpkit_http_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "bpkit_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

/// Escapes a label value (`\`, `"` and newlines).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record("/a", "GET", 200, Duration::from_micros(50));
        m.record("/a", "GET", 200, Duration::from_millis(3));
        m.record("/a", "GET", 304, Duration::from_secs(60));
        {
            let _f = m.start();
            let text = m.render(&[("bpkit_catalog_blueprints", "Blueprints.", 7)]);
            assert!(text.contains("bpkit_http_requests_in_flight 1\n"), "{text}");
        }
        let text = m.render(&[("bpkit_catalog_blueprints", "Blueprints.", 7)]);
        assert!(
            text.contains(
                "bpkit_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 2\n"
            )
        );
        assert!(
            text.contains(
                "bpkit_http_requests_total{route=\"/a\",method=\"GET\",status=\"304\"} 1\n"
            )
        );
        assert!(
            text.contains("_bucket{route=\"/a\",le=\"0.0001\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("_bucket{route=\"/a\",le=\"0.005\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("_bucket{route=\"/a\",le=\"10\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("_bucket{route=\"/a\",le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("_count{route=\"/a\"} 3\n"));
        assert!(text.contains("bpkit_http_requests_in_flight 0\n"));
        assert!(
            text.contains("# TYPE bpkit_catalog_blueprints gauge\nbpkit_catalog_blueprints 7\n")
        );
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
