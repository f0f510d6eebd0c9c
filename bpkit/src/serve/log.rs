//! Structured logs: one JSON object per line.

use std::io::Write;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Where log lines go: each call gets one complete JSON object, without the newline.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// A sink that writes each line to standard error.
pub fn stderr_sink() -> LogSink {
    Arc::new(|line: &str| {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    })
}

/// Logs an event of the server (not a request) to `sink`.
pub(crate) fn event(sink: Option<&LogSink>, level: &str, msg: &str, fields: Value) {
    let Some(sink) = sink else {
        return;
    };
    let mut line = json!({
        "time": rfc3339(SystemTime::now()),
        "level": level,
        "msg": msg,
    });
    if let (Some(l), Value::Object(f)) = (line.as_object_mut(), fields) {
        l.extend(f);
    }
    sink(&line.to_string());
}

/// `2026-11-26T20:31:07.123Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = crate::package::rfc3339(d.as_secs());
    let whole = secs.strip_suffix('Z').unwrap_or(&secs);
    format!("{whole}.{:03}Z", d.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_725_067_123);
        assert_eq!(rfc3339(t), "2026-11-26T20:31:07.123Z");
        // A leap day and the end of a century.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn events_are_one_json_object() {
        let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let l2 = lines.clone();
        let sink: LogSink = Arc::new(move |s: &str| l2.lock().expect("lock").push(s.to_string()));
        event(
            Some(&sink),
            "info",
            "listening",
            json!({"address": "127.0.0.1:1"}),
        );
        let got = lines.lock().expect("lock");
        let v: Value = serde_json::from_str(&got[0]).expect("json");
        assert_eq!(v["msg"], "listening");
        assert_eq!(v["address"], "127.0.0.1:1");
        assert!(!got[0].contains('\n'));
    }
}
