//! The routes, handlers and the middleware that counts, times and logs every request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::Shared;
use super::api::{self, ApiError};
use super::index::{ListFilter, NameEntry, Prepared};
use super::metrics::method_label;

/// The OpenAPI description of this API, served at `/v1/openapi.yaml`.
pub(crate) const OPENAPI: &str = include_str!("../../../docs/catalog-api.yaml");

/// Every route pattern, as metrics and logs label requests.
pub(crate) const ROUTES: &[&str] = &[
    "/v1/blueprints",
    "/v1/blueprints/{name}",
    "/v1/blueprints/{name}/versions",
    "/v1/blueprints/{name}/versions/{version}",
    "/v1/validate",
    "/v1/plan",
    "/v1/openapi.yaml",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// The route pattern of a path (bounded labels for metrics); `unmatched` for anything else.
fn route_of(path: &str) -> &'static str {
    let mut segs = [""; 5];
    let mut n = 0;
    for s in path.trim_start_matches('/').split('/') {
        match segs.get_mut(n) {
            Some(slot) => *slot = s,
            None => return "unmatched",
        }
        n += 1;
    }
    let i = match segs.get(..n).unwrap_or_default() {
        ["v1", "blueprints"] => 0,
        ["v1", "blueprints", n] if !n.is_empty() => 1,
        ["v1", "blueprints", n, "versions"] if !n.is_empty() => 2,
        ["v1", "blueprints", n, "versions", v] if !n.is_empty() && !v.is_empty() => 3,
        ["v1", "validate"] => 4,
        ["v1", "plan"] => 5,
        ["v1", "openapi.yaml"] => 6,
        ["healthz"] => 7,
        ["readyz"] => 8,
        ["metrics"] => 9,
        _ => return "unmatched",
    };
    ROUTES.get(i).copied().unwrap_or("unmatched")
}

/// The router over the shared state.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/blueprints", get(list))
        .route("/v1/blueprints/{name}", get(blueprint))
        .route("/v1/blueprints/{name}/versions", get(versions))
        .route(
            "/v1/blueprints/{name}/versions/{version}",
            get(blueprint_version),
        )
        .route("/v1/validate", post(validate))
        .route("/v1/plan", post(plan))
        .route("/v1/openapi.yaml", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), track))
        .with_state(shared)
}

/// Counts, times and logs a request: one JSON line, without bodies, query strings or headers.
async fn track(State(st): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let in_flight = st.metrics.start();
    let method = method_label(req.method());
    let route = route_of(req.uri().path());
    let log_parts = st.opts.log.as_ref().map(|_| {
        let remote = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.to_string());
        (req.uri().path().to_string(), remote)
    });
    let resp = next.run(req).await;
    drop(in_flight);
    let took = start.elapsed();
    let status = resp.status().as_u16();
    st.metrics.record(route, method, status, took);
    if let (Some(log), Some((path, remote))) = (&st.opts.log, log_parts) {
        let bytes = resp.body().size_hint().exact();
        let line = json!({
            "time": super::log::rfc3339(std::time::SystemTime::now()),
            "level": if status >= 500 { "error" } else { "info" },
            "msg": "request",
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "durationMs": (took.as_secs_f64() * 1e6).round() / 1e3,
            "bytes": bytes,
            "remote": remote,
        });
        log(&line.to_string());
    }
    resp
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &e.to_json())
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for GET).
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(tag) = etag.to_str() else {
        return false;
    };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

/// A prepared body, or `304 Not Modified` when the client has it.
fn prepared(headers: &HeaderMap, p: Prepared) -> Response {
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if not_modified(headers, &p.etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, p.etag), cache]).into_response();
    }
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, p.etag),
            cache,
        ],
        Body::from(p.body),
    )
        .into_response()
}

async fn list(
    State(st): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match ListFilter::parse(q.as_deref().unwrap_or("")) {
        Ok(f) => prepared(&headers, st.snap.list(&f)),
        Err(msg) => error_response(&ApiError::new(400, "bad-query", msg).with_help(
            "filters: `visibility=listed|unlisted|private`, `category=…`, `tag=…` (repeatable)",
        )),
    }
}

/// Answers a prepared document of the Blueprint named in the path.
fn by_name<T>(
    st: &Shared,
    p: Result<Path<T>, axum::extract::rejection::PathRejection>,
    headers: &HeaderMap,
    pick: impl FnOnce(&NameEntry, T) -> Result<Prepared, ApiError>,
    name_of: impl Fn(&T) -> &str,
) -> Response {
    let params = match p {
        Ok(Path(t)) => t,
        Err(e) => {
            return error_response(&ApiError::new(
                400,
                "bad-path",
                format!("the path cannot be read: {e}"),
            ));
        }
    };
    match api::find(&st.snap, name_of(&params)).and_then(|e| pick(e, params)) {
        Ok(doc) => prepared(headers, doc),
        Err(e) => error_response(&e),
    }
}

async fn blueprint(
    State(st): State<Arc<Shared>>,
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Response {
    by_name(
        &st,
        p,
        &headers,
        |e, _| api::pick(e, None, "").map(|v| v.detail.clone()),
        String::as_str,
    )
}

async fn versions(
    State(st): State<Arc<Shared>>,
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Response {
    by_name(
        &st,
        p,
        &headers,
        |e, _| Ok(e.versions_doc.clone()),
        String::as_str,
    )
}

/// The name in a `(name, version)` path.
fn first(p: &(String, String)) -> &str {
    &p.0
}

async fn blueprint_version(
    State(st): State<Arc<Shared>>,
    p: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Response {
    by_name(
        &st,
        p,
        &headers,
        |e, (_, version)| api::pick(e, Some(&version), "").map(|v| v.detail.clone()),
        first,
    )
}

/// Reads a request body within the size limit and the deadline.
async fn read_body(
    st: &Shared,
    headers: &HeaderMap,
    body: Body,
    deadline: tokio::time::Instant,
) -> Result<Bytes, ApiError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let essence = ct.split(';').next().unwrap_or("").trim();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::new(
                415,
                "unsupported-media-type",
                format!("the request body is `{essence}`; expected `application/json`"),
            ));
        }
    }
    let max = st.opts.max_body_bytes;
    let too_large = || {
        ApiError::new(
            413,
            "body-too-large",
            format!("the request body is larger than the limit of {max} bytes"),
        )
        .with_help("send a smaller config, or start the server with a larger `--max-body`")
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(body, max);
    match tokio::time::timeout_at(deadline, limited.collect()).await {
        Err(_) => Err(ApiError::new(
            408,
            "timeout",
            format!(
                "the request body did not arrive within {} ms",
                st.opts.timeout.as_millis()
            ),
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(ApiError::new(
            400,
            "bad-body",
            format!("the request body could not be read: {e}"),
        )),
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}

/// Runs CPU work off the async threads, at most `max_concurrent_work` at once, within the
/// deadline.
async fn work<F>(st: Arc<Shared>, deadline: tokio::time::Instant, f: F) -> Response
where
    F: FnOnce(&Shared) -> Result<Value, ApiError> + Send + 'static,
{
    let timeout = || {
        error_response(
            &ApiError::new(
                503,
                "timeout",
                format!(
                    "the request was not answered within {} ms",
                    st.opts.timeout.as_millis()
                ),
            )
            .with_help("try again later, or start the server with a larger `--request-timeout`"),
        )
    };
    let permit = match tokio::time::timeout_at(deadline, st.work.clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => {
            return error_response(&ApiError::new(
                503,
                "shutting-down",
                "the server is stopping",
            ));
        }
        Err(_) => return timeout(),
    };
    let job_state = st.clone();
    let job = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f(&job_state)
    });
    match tokio::time::timeout_at(deadline, job).await {
        Err(_) => timeout(),
        Ok(Err(_)) => error_response(&ApiError::new(
            500,
            "internal",
            "the request failed inside the server (a bug: please report it)",
        )),
        Ok(Ok(Ok(v))) => json_response(StatusCode::OK, &v),
        Ok(Ok(Err(e))) => error_response(&e),
    }
}

async fn validate(State(st): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let deadline = tokio::time::Instant::now() + st.opts.timeout;
    let bytes = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    work(st, deadline, move |s| api::validate(&s.snap, &bytes)).await
}

async fn plan(State(st): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let deadline = tokio::time::Instant::now() + st.opts.timeout;
    let bytes = match read_body(&st, &headers, body, deadline).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    work(st, deadline, move |s| api::plan(&s.snap, &bytes)).await
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        )],
        OPENAPI,
    )
        .into_response()
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

async fn readyz(State(st): State<Arc<Shared>>) -> Response {
    if st.ready.load(Ordering::Acquire) {
        json_response(
            StatusCode::OK,
            &json!({"status": "ready", "blueprints": st.snap.len(), "versions": st.snap.version_count()}),
        )
    } else {
        json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "shutting down"}),
        )
    }
}

async fn metrics(State(st): State<Arc<Shared>>) -> Response {
    let text = st.metrics.render(&[
        (
            "bpkit_catalog_blueprints",
            "Blueprint names in the catalog.",
            st.snap.len() as u64,
        ),
        (
            "bpkit_catalog_versions",
            "Blueprint versions in the catalog.",
            st.snap.version_count() as u64,
        ),
        (
            "bpkit_catalog_left_out",
            "Blueprint documents left out of the catalog because of errors.",
            st.snap.left_out().len() as u64,
        ),
    ]);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    error_response(
        &ApiError::new(
            404,
            "not-found",
            format!("no route for `{method} {}`", uri.path()),
        )
        .with_help(format!("routes: {}", ROUTES.join(", "))),
    )
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Response {
    let allowed = match route_of(uri.path()) {
        "/v1/validate" | "/v1/plan" => "POST",
        _ => "GET, HEAD",
    };
    let mut r = error_response(
        &ApiError::new(
            405,
            "method-not-allowed",
            format!("`{}` does not take `{method}`", uri.path()),
        )
        .with_help(format!("use {allowed}")),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allowed));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_bounded_labels() {
        assert_eq!(route_of("/v1/blueprints"), "/v1/blueprints");
        assert_eq!(route_of("/v1/blueprints/bp-x"), "/v1/blueprints/{name}");
        assert_eq!(
            route_of("/v1/blueprints/bp-x/versions"),
            "/v1/blueprints/{name}/versions"
        );
        assert_eq!(
            route_of("/v1/blueprints/bp-x/versions/1.0.0"),
            "/v1/blueprints/{name}/versions/{version}"
        );
        assert_eq!(route_of("/v1/blueprints/a/b/c/d"), "unmatched");
        assert_eq!(route_of("/random"), "unmatched");
        for r in ROUTES {
            assert!(
                OPENAPI.contains(&format!("\n  {r}:\n")),
                "{r} is not documented"
            );
        }
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let tag = HeaderValue::from_static("\"abc\"");
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"abcd\""));
        assert!(!not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, &tag));
    }
}
