//! The catalog service over real sockets: every route against the reference catalog
//! (`blueprints/`) and the real corpus, the error paths (malformed JSON, oversized and slow
//! bodies, unknown Blueprints, versions, routes and methods), ETags, metrics, logs, graceful
//! shutdown, and `bpkit catalog serve` stopped by SIGTERM.
//!
//! The client is a plain HTTP/1.1 exchange over `std::net::TcpStream`. The corpus is
//! `CARGO_MANIFEST_DIR/../../shared`, or `BPKIT_SHARED`; without it those tests say SKIPPED.
#![cfg(feature = "serve")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bpkit::serve::{CatalogService, LogSink, ServeOptions, Server};
use serde_json::{Value, json};

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../blueprints")
}

fn corpus() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    let shared = if here.join("corpus").is_dir() {
        here
    } else {
        PathBuf::from(std::env::var_os("BPKIT_SHARED")?)
    };
    let p = shared.join("corpus/openova/platform");
    p.is_dir().then_some(p)
}

fn quiet() -> ServeOptions {
    ServeOptions {
        log: None,
        ..ServeOptions::default()
    }
}

fn start_with(root: &Path, opts: ServeOptions) -> Server {
    let service = CatalogService::open(&[root.to_path_buf()], opts).expect("catalog opens");
    Server::start(service, "127.0.0.1:0".parse().expect("addr")).expect("server starts")
}

fn start() -> Server {
    start_with(&reference(), quiet())
}

/// A response.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response (Content-Length or chunked; no body for 304 and HEAD).
fn read_response(r: &mut BufReader<TcpStream>, head_only: bool) -> Resp {
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').expect("header colon");
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut resp = Resp {
        status,
        headers,
        body: Vec::new(),
    };
    if head_only || status == 304 || status == 204 {
        return resp;
    }
    if let Some(n) = resp.header("content-length") {
        let n: usize = n.parse().expect("length");
        let mut body = vec![0; n];
        r.read_exact(&mut body).expect("body");
        resp.body = body;
    } else if resp
        .header("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).expect("chunk size");
            let n = usize::from_str_radix(size.trim(), 16).expect("hex size");
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).expect("chunk");
            chunk.truncate(n);
            if n == 0 {
                break;
            }
            resp.body.extend(chunk);
        }
    } else {
        r.read_to_end(&mut resp.body).expect("body to the end");
    }
    resp
}

fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Resp {
    let stream = TcpStream::connect(addr).expect("connect");
    let mut w = stream.try_clone().expect("clone");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    w.write_all(req.as_bytes()).expect("write head");
    if let Some(b) = body {
        w.write_all(b).expect("write body");
    }
    read_response(&mut BufReader::new(stream), method == "HEAD")
}

fn get(addr: SocketAddr, path: &str) -> Resp {
    send(addr, "GET", path, &[], None)
}

fn post(addr: SocketAddr, path: &str, body: &Value) -> Resp {
    let b = serde_json::to_vec(body).expect("json");
    send(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        Some(&b),
    )
}

fn names(list: &Value) -> Vec<String> {
    list["blueprints"]
        .as_array()
        .expect("blueprints")
        .iter()
        .map(|b| b["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn lists_filter_and_show_blueprints() {
    let s = start();
    let a = s.local_addr();
    let r = get(a, "/v1/blueprints");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let all = r.json();
    let all_names = names(&all);
    assert_eq!(all["total"], json!(all_names.len()));
    assert!(all_names.len() >= 10, "{all_names:?}");
    let mut sorted = all_names.clone();
    sorted.sort();
    assert_eq!(all_names, sorted, "sorted by name");
    let pg = all["blueprints"]
        .as_array()
        .expect("list")
        .iter()
        .find(|b| b["name"] == "bp-postgres")
        .expect("bp-postgres listed");
    assert_eq!(pg["card"]["title"], json!("PostgreSQL"));
    assert_eq!(pg["version"], json!("1.6.1"));

    // Filters: each narrows, together they all hold, case does not matter.
    let listed = names(&get(a, "/v1/blueprints?visibility=listed").json());
    assert!(listed.contains(&"bp-postgres".to_string()));
    let data = get(a, "/v1/blueprints?category=DATA").json();
    assert!(names(&data).contains(&"bp-postgres".to_string()));
    for b in data["blueprints"].as_array().expect("list") {
        assert_eq!(b["card"]["category"], json!("data"), "{b}");
    }
    let sql = names(&get(a, "/v1/blueprints?tag=sql&tag=PostgreSQL&visibility=listed").json());
    assert_eq!(sql, ["bp-postgres"]);
    let none = get(a, "/v1/blueprints?tag=sql&category=security").json();
    assert_eq!(none["total"], json!(0));
    assert_eq!(none["blueprints"], json!([]));
    let bad = get(a, "/v1/blueprints?visibility=public");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["code"], json!("bad-query"));
    let bad = get(a, "/v1/blueprints?sort=name");
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`sort`"))
    );

    // One Blueprint: card and configSchema.
    let r = get(a, "/v1/blueprints/bp-postgres");
    assert_eq!(r.status, 200);
    let d = r.json();
    assert_eq!(d["name"], json!("bp-postgres"));
    assert_eq!(d["version"], json!("1.6.1"));
    assert_eq!(d["card"]["category"], json!("data"));
    assert_eq!(d["configSchema"]["type"], json!("object"));
    assert_eq!(
        d["configSchema"]["properties"]["size"]["default"],
        json!("small")
    );
    assert_eq!(d["visibility"], json!("listed"));
    let v = get(a, "/v1/blueprints/bp-postgres/versions").json();
    assert_eq!(v["latest"], json!("1.6.1"));
    assert!(v["versions"].as_array().is_some_and(|l| !l.is_empty()));
    let exact = get(a, "/v1/blueprints/bp-postgres/versions/1.6.1");
    assert_eq!(exact.status, 200);
    assert_eq!(
        exact.body, r.body,
        "the newest version is the same document"
    );
    let by_range = get(a, "/v1/blueprints/bp-postgres/versions/%5E1");
    assert_eq!(by_range.status, 200);
    assert_eq!(by_range.json()["version"], json!("1.6.1"));
    // HEAD answers the headers only.
    let h = send(a, "HEAD", "/v1/blueprints/bp-postgres", &[], None);
    assert_eq!(h.status, 200);
    assert_eq!(h.header("etag"), r.header("etag"));
}

#[test]
fn unknown_blueprints_versions_routes_and_methods() {
    let s = start();
    let a = s.local_addr();
    let r = get(a, "/v1/blueprints/bp-postgress");
    assert_eq!(r.status, 404);
    let e = r.json();
    assert_eq!(e["error"]["code"], json!("unknown-blueprint"));
    assert_eq!(
        e["error"]["message"],
        json!("`bp-postgress` is not in the catalog")
    );
    assert_eq!(e["error"]["help"], json!("did you mean `bp-postgres`?"));
    assert_eq!(
        get(a, "/v1/blueprints/nothing-like-it/versions").status,
        404
    );
    let r = get(a, "/v1/blueprints/bp-postgres/versions/9.9.9");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], json!("unknown-version"));
    let r = get(a, "/v1/nowhere");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], json!("not-found"));
    let r = send(a, "DELETE", "/v1/blueprints", &[], None);
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"]["code"], json!("method-not-allowed"));
    let r = get(a, "/v1/plan");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
}

#[test]
fn etags_give_304_when_the_client_is_current() {
    let s = start();
    let a = s.local_addr();
    for path in [
        "/v1/blueprints",
        "/v1/blueprints?category=data",
        "/v1/blueprints/bp-wordpress",
        "/v1/blueprints/bp-wordpress/versions",
    ] {
        let first = get(a, path);
        assert_eq!(first.status, 200, "{path}");
        let tag = first.header("etag").expect("etag").to_string();
        assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
        let again = send(a, "GET", path, &[("If-None-Match", &tag)], None);
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        let weak = format!("\"other\", W/{tag}");
        assert_eq!(
            send(a, "GET", path, &[("If-None-Match", &weak)], None).status,
            304
        );
        let stale = send(a, "GET", path, &[("If-None-Match", "\"stale\"")], None);
        assert_eq!(stale.status, 200);
        assert_eq!(stale.body, first.body);
    }
    // Different representations, different tags.
    let t1 = get(a, "/v1/blueprints").header("etag").map(String::from);
    let t2 = get(a, "/v1/blueprints?category=data")
        .header("etag")
        .map(String::from);
    assert_ne!(t1, t2);
}

#[test]
fn validate_reports_json_pointers() {
    let s = start();
    let a = s.local_addr();
    let r = post(
        a,
        "/v1/validate",
        &json!({"blueprint": "bp-postgres", "config": {"size": "medium", "databases": ["shop"]}}),
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["valid"], json!(true), "{v}");
    assert_eq!(v["version"], json!("1.6.1"));
    assert_eq!(v["errors"], json!([]));

    let r = post(
        a,
        "/v1/validate",
        &json!({"blueprint": "bp-postgres", "version": "^1.6", "config": {
            "size": "huge", "databases": ["Bad Name"], "storage": {"size": 8}, "extra": true}}),
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["valid"], json!(false));
    let errors = v["errors"].as_array().expect("errors");
    let pointers: Vec<&str> = errors
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    assert_eq!(
        pointers,
        ["/databases/0", "/extra", "/size", "/storage/size"],
        "{v}"
    );
    for e in errors {
        for k in ["schemaPointer", "keyword", "message", "expected", "found"] {
            assert!(e[k].is_string(), "{k} in {e}");
        }
    }
    let size = errors
        .iter()
        .find(|e| e["pointer"] == "/size")
        .expect("size");
    assert_eq!(size["keyword"], json!("enum"));

    // Required members of a configSchema are reported at the config root.
    let r = post(a, "/v1/validate", &json!({"blueprint": "bp-wordpress"}));
    let v = r.json();
    assert_eq!(v["valid"], json!(false));
    assert!(
        v["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .any(|e| e["keyword"] == "required" && e["pointer"] == ""),
        "{v}"
    );
}

#[test]
fn malformed_bodies_are_400_with_where() {
    let s = start();
    let a = s.local_addr();
    let ct = [("Content-Type", "application/json")];
    let r = send(
        a,
        "POST",
        "/v1/validate",
        &ct,
        Some(b"{\"blueprint\": \"bp-postgres\",\n  \"config\": {,}}"),
    );
    assert_eq!(r.status, 400);
    let e = r.json();
    assert_eq!(e["error"]["code"], json!("malformed-json"));
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("line 2, column 14")),
        "{e}"
    );
    let r = send(a, "POST", "/v1/plan", &ct, Some(b""));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], json!("malformed-json"));
    let r = post(a, "/v1/plan", &json!(["bp-postgres"]));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["pointer"], json!(""));
    let r = post(
        a,
        "/v1/plan",
        &json!({"blueprint": "bp-postgres", "values": "big"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["pointer"], json!("/values"));
    let r = post(
        a,
        "/v1/validate",
        &json!({"blueprint": "bp-postgres", "cofnig": {}}),
    );
    assert_eq!(r.status, 400);
    let e = r.json();
    assert_eq!(e["error"]["pointer"], json!("/cofnig"));
    assert!(
        e["error"]["help"]
            .as_str()
            .is_some_and(|h| h.starts_with("did you mean `config`?")),
        "{e}"
    );
    let r = send(
        a,
        "POST",
        "/v1/validate",
        &[("Content-Type", "text/plain")],
        Some(b"{}"),
    );
    assert_eq!(r.status, 415);
    let r = post(a, "/v1/validate", &json!({"blueprint": "bp-nope"}));
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], json!("unknown-blueprint"));
    let r = post(a, "/v1/plan", &json!({"blueprint": "bp-nope"}));
    assert_eq!(r.status, 404);
}

#[test]
fn oversized_bodies_are_413() {
    let s = start_with(
        &reference(),
        ServeOptions {
            max_body_bytes: 1024,
            ..quiet()
        },
    );
    let a = s.local_addr();
    let big =
        json!({"blueprint": "bp-postgres", "config": {"databases": vec!["x".repeat(40); 100]}});
    // Declared by Content-Length: refused before the body is read.
    let r = post(a, "/v1/validate", &big);
    assert_eq!(r.status, 413);
    let e = r.json();
    assert_eq!(e["error"]["code"], json!("body-too-large"));
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1024 bytes"))
    );
    // Chunked, without a length: refused once the limit is crossed.
    let stream = TcpStream::connect(a).expect("connect");
    let mut w = stream.try_clone().expect("clone");
    let body = serde_json::to_vec(&big).expect("json");
    let mut req = format!(
        "POST /v1/plan HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for part in body.chunks(500) {
        req.extend(format!("{:x}\r\n", part.len()).as_bytes());
        req.extend(part);
        req.extend(b"\r\n");
    }
    req.extend(b"0\r\n\r\n");
    w.write_all(&req).expect("write");
    let r = read_response(&mut BufReader::new(stream), false);
    assert_eq!(r.status, 413);
    // A small body still passes.
    let r = post(a, "/v1/validate", &json!({"blueprint": "bp-postgres"}));
    assert_eq!(r.status, 200);
}

#[test]
fn a_body_that_stalls_ends_with_408() {
    let s = start_with(
        &reference(),
        ServeOptions {
            timeout: Duration::from_millis(300),
            ..quiet()
        },
    );
    let a = s.local_addr();
    let stream = TcpStream::connect(a).expect("connect");
    let mut w = stream.try_clone().expect("clone");
    // Promise 100 bytes, send 10, and wait for the answer.
    w.write_all(
        format!("POST /v1/validate HTTP/1.1\r\nHost: {a}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"bluepri")
            .as_bytes(),
    )
    .expect("write");
    let r = read_response(&mut BufReader::new(stream), false);
    assert_eq!(r.status, 408);
    assert_eq!(r.json()["error"]["code"], json!("timeout"));
}

#[test]
fn plans_match_bpkit_plan_and_failures_explain() {
    let s = start();
    let a = s.local_addr();
    let r = post(
        a,
        "/v1/plan",
        &json!({"blueprint": "bp-wordpress", "application": "shop",
                "values": {"domain": "example.org", "adminEmail": "ops@example.org"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let p = r.json();
    assert_eq!(p["application"], json!("shop"));
    let apps = p["applications"].as_array().expect("applications");
    assert_eq!(apps.last().map(|x| &x["name"]), Some(&json!("shop")));
    // Every Application comes after the ones it depends on.
    for (i, app) in apps.iter().enumerate() {
        for dep in app["dependsOn"].as_array().expect("dependsOn") {
            let j = apps
                .iter()
                .position(|x| &x["name"] == dep)
                .expect("dependency planned");
            assert!(j < i, "{dep} after {}", app["name"]);
        }
    }

    // The same plan as the command line prints.
    #[cfg(feature = "cli")]
    {
        let d = tempfile::tempdir().expect("tmp");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bpkit"))
            .current_dir(d.path())
            .args([
                "plan",
                "bp-wordpress",
                "--app",
                "shop",
                "--no-lock",
                "-o",
                "json",
            ])
            .arg("--catalog")
            .arg(reference())
            .args([
                "--set",
                "domain=example.org",
                "--set",
                "adminEmail=ops@example.org",
            ])
            .output()
            .expect("bpkit plan runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cli: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(cli, p);
    }

    // A missing required value: the plan fails and says which.
    let r = post(a, "/v1/plan", &json!({"blueprint": "bp-wordpress"}));
    assert_eq!(r.status, 422, "{}", r.text());
    let e = r.json();
    assert!(e["error"]["code"].is_string());
    let all = format!("{} {}", e["error"]["message"], e["error"]["explanation"]);
    assert!(
        all.contains("missing required property `adminEmail`"),
        "{e}"
    );
    // ... unless it is a preview.
    let r = post(
        a,
        "/v1/plan",
        &json!({"blueprint": "bp-wordpress", "partial": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // No version satisfies the constraint: the explanation says so, one fact per line.
    let r = post(
        a,
        "/v1/plan",
        &json!({"blueprint": "bp-postgres", "version": ">=99"}),
    );
    assert_eq!(r.status, 422);
    let e = r.json();
    assert_eq!(e["error"]["code"], json!("no-plan"));
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("no install plan for `postgres`")),
        "{e}"
    );
    let lines = e["error"]["explanation"].as_array().expect("explanation");
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .any(|l| l.as_str().is_some_and(|l| l.contains(">=99"))),
        "{e}"
    );
    // Installed Applications must be well-formed, with a pointer to the bad one.
    let r = post(
        a,
        "/v1/plan",
        &json!({"blueprint": "bp-wordpress", "installed": [{"name": "db", "blueprint": "bp-postgres", "version": "one"}]}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["pointer"], json!("/installed/0"));
}

#[test]
fn health_readiness_and_metrics() {
    let s = start();
    let a = s.local_addr();
    assert_eq!(get(a, "/healthz").json(), json!({"status": "ok"}));
    let ready = get(a, "/readyz");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], json!("ready"));
    let _ = get(a, "/v1/blueprints");
    let _ = get(a, "/v1/blueprints");
    let _ = get(a, "/v1/blueprints/bp-nope");
    let _ = get(a, "/not/a/route/at/all");
    let _ = post(a, "/v1/validate", &json!({"blueprint": "bp-postgres"}));
    let m = get(a, "/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    let t = m.text();
    for want in [
        "bpkit_http_requests_total{route=\"/v1/blueprints\",method=\"GET\",status=\"200\"} 2\n",
        "bpkit_http_requests_total{route=\"/v1/blueprints/{name}\",method=\"GET\",status=\"404\"} 1\n",
        "bpkit_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n",
        "bpkit_http_requests_total{route=\"/v1/validate\",method=\"POST\",status=\"200\"} 1\n",
        "bpkit_http_request_duration_seconds_count{route=\"/v1/blueprints\"} 2\n",
        "bpkit_http_request_duration_seconds_bucket{route=\"/v1/blueprints\",le=\"+Inf\"} 2\n",
        "# TYPE bpkit_http_request_duration_seconds histogram\n",
        "bpkit_catalog_blueprints 11\n",
        "bpkit_http_requests_in_flight 1\n",
    ] {
        assert!(t.contains(want), "{want} missing in\n{t}");
    }
    let api = get(a, "/v1/openapi.yaml");
    assert_eq!(api.status, 200);
    assert!(api.text().starts_with("openapi: 3.1"));
}

#[test]
fn one_json_log_line_per_request_without_bodies() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l2 = lines.clone();
    let sink: LogSink = Arc::new(move |l: &str| l2.lock().expect("lock").push(l.to_string()));
    let s = start_with(
        &reference(),
        ServeOptions {
            log: Some(sink),
            ..ServeOptions::default()
        },
    );
    let a = s.local_addr();
    let secret = "s3cr3t-value-never-logged";
    let _ = post(
        a,
        "/v1/validate",
        &json!({"blueprint": "bp-postgres", "config": {"auth": {"existingSecret": secret}}}),
    );
    let _ = get(a, &format!("/v1/blueprints?tag={secret}"));
    s.shutdown().expect("stops");
    let lines = lines.lock().expect("lock");
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let requests: Vec<&Value> = parsed.iter().filter(|v| v["msg"] == "request").collect();
    assert_eq!(requests.len(), 2, "{lines:?}");
    assert_eq!(requests[0]["method"], json!("POST"));
    assert_eq!(requests[0]["route"], json!("/v1/validate"));
    assert_eq!(requests[0]["status"], json!(200));
    assert!(requests[0]["durationMs"].is_number());
    assert!(
        requests[0]["time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(
        requests[0]["remote"]
            .as_str()
            .is_some_and(|r| r.starts_with("127.0.0.1:"))
    );
    assert_eq!(requests[1]["path"], json!("/v1/blueprints"));
    assert!(
        lines
            .iter()
            .all(|l| !l.contains(secret) && !l.contains('\n'))
    );
    let msgs: Vec<&str> = parsed.iter().filter_map(|v| v["msg"].as_str()).collect();
    assert_eq!(msgs.first(), Some(&"listening"));
    assert!(msgs.contains(&"shutting down"));
    assert_eq!(msgs.last(), Some(&"stopped"));
}

/// The value of an unlabelled metric.
fn metric(addr: SocketAddr, name: &str) -> i64 {
    get(addr, "/metrics")
        .text()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .expect("metric present")
}

#[test]
fn shutdown_finishes_requests_in_flight_then_refuses_connections() {
    let mut s = start();
    let a = s.local_addr();
    // A request whose body is half sent is in flight.
    let stream = TcpStream::connect(a).expect("connect");
    let mut w = stream.try_clone().expect("clone");
    let body =
        serde_json::to_vec(&json!({"blueprint": "bp-postgres", "config": {"size": "large"}}))
            .expect("json");
    let (first, rest) = body.split_at(10);
    let head = format!(
        "POST /v1/validate HTTP/1.1\r\nHost: {a}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    w.write_all(head.as_bytes()).expect("head");
    w.write_all(first).expect("first part");
    w.flush().expect("flush");
    // Wait until the server has it (the /metrics request itself is the other one in flight).
    while metric(a, "bpkit_http_requests_in_flight") < 2 {
        std::thread::sleep(Duration::from_millis(10));
    }
    s.begin_shutdown();
    w.write_all(rest).expect("the rest");
    let r = read_response(&mut BufReader::new(stream), false);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["valid"], json!(true));
    s.shutdown().expect("stops cleanly");
    assert!(
        TcpStream::connect(a).is_err(),
        "the listener is closed after shutdown"
    );
}

#[test]
fn serves_the_real_corpus() {
    let Some(corpus) = corpus() else {
        eprintln!("SKIPPED: ../shared is absent (set BPKIT_SHARED)");
        return;
    };
    let s = start_with(&corpus, quiet());
    let a = s.local_addr();
    let list = get(a, "/v1/blueprints").json();
    let all = names(&list);
    assert!(all.len() >= 20, "{all:?}");
    assert!(all.contains(&"bp-harbor".to_string()));
    for n in &all {
        let d = get(a, &format!("/v1/blueprints/{n}"));
        assert_eq!(d.status, 200, "{n}");
        let d = d.json();
        assert!(d["configSchema"].is_object(), "{n}");
        assert!(d["card"]["title"].is_string(), "{n}");
        // Every Blueprint answers a validation of its defaults (valid or not, never an error).
        let v = post(a, "/v1/validate", &json!({"blueprint": n}));
        assert!(
            v.status == 200 || v.json()["error"]["code"] == "invalid-config-schema",
            "{n}: {}",
            v.text()
        );
    }
    let r = post(
        a,
        "/v1/plan",
        &json!({"blueprint": "bp-harbor", "partial": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let apps = r.json()["applications"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert!(apps >= 2, "harbor has dependencies");
    let m = get(a, "/metrics").text();
    assert!(
        m.contains(&format!("bpkit_catalog_blueprints {}\n", all.len())),
        "{m}"
    );
}

/// Starts `bpkit catalog serve` (arguments given) and reads the address from its status line.
#[cfg(all(feature = "cli", unix))]
fn spawn_serve(
    cmd: &mut std::process::Command,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStderr>,
    SocketAddr,
) {
    use std::process::Stdio;
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("starts");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    // The status line names the address.
    let addr: SocketAddr = loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).expect("read") > 0, "exited early");
        if let Some(rest) = line.split("http://").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .and_then(|x| x.parse().ok())
                .expect("address");
        }
    };
    (child, err, addr)
}

#[cfg(all(feature = "cli", unix))]
#[test]
fn bpkit_catalog_serve_stops_on_sigterm() {
    use std::process::Command;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpkit"));
    cmd.args(["catalog", "serve", "--listen", "127.0.0.1:0", "--catalog"])
        .arg(reference());
    let (mut child, mut err, addr) = spawn_serve(&mut cmd);
    assert_eq!(get(addr, "/healthz").status, 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let code = child.wait().expect("waits");
    assert!(code.success(), "{code:?}");
    let mut rest = String::new();
    err.read_to_string(&mut rest).expect("rest of stderr");
    let msgs: Vec<String> = rest
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["msg"].as_str().map(String::from))
        .collect();
    assert!(msgs.contains(&"request".to_string()), "{rest}");
    assert_eq!(msgs.last().map(String::as_str), Some("stopped"), "{rest}");
}

/// A registry started by the interop `registry.sh` under a private state folder; stopped on
/// drop. `None` (and SKIPPED) without the shared folder or the registry.
#[cfg(all(feature = "cli", unix))]
struct Registry {
    script: PathBuf,
    state: tempfile::TempDir,
    host: String,
}

#[cfg(all(feature = "cli", unix))]
impl Registry {
    fn run(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("timeout")
            .arg("600")
            .arg(&self.script)
            .args(args)
            .env("BPKIT_INTEROP_STATE", self.state.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("registry.sh runs")
    }

    fn start() -> Option<Registry> {
        let Some(platform) = corpus() else {
            eprintln!("SKIPPED: ../shared is absent (set BPKIT_SHARED)");
            return None;
        };
        let script = platform.join("../../../interop/registry.sh");
        let mut reg = Registry {
            script,
            state: tempfile::tempdir().expect("tmp"),
            host: String::new(),
        };
        let out = reg.run(&["start", "--ttl", "900"]);
        if !out.status.success() {
            eprintln!(
                "SKIPPED: cannot start the interop registry: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        let env = String::from_utf8_lossy(&reg.run(&["env"]).stdout).into_owned();
        reg.host = env
            .lines()
            .find_map(|l| l.strip_prefix("REGISTRY_HOST="))
            .map(|h| h.trim_matches(['\'', '"']).to_string())
            .expect("REGISTRY_HOST");
        Some(reg)
    }
}

#[cfg(all(feature = "cli", unix))]
impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.run(&["stop"]);
    }
}

#[cfg(all(feature = "cli", unix))]
#[test]
fn serves_a_catalog_from_a_registry() {
    use std::process::Command;
    let Some(reg) = Registry::start() else { return };
    let home = tempfile::tempdir().expect("tmp");
    let bpkit = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_bpkit"))
            .args(args)
            .env("DOCKER_CONFIG", home.path().join(".docker"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .output()
            .expect("bpkit runs");
        assert!(out.status.success(), "bpkit {args:?}: {out:?}");
    };
    let pushed = ["tls-issuer", "ingress", "postgres"];
    for dir in pushed {
        let folder = reference().join(dir);
        let name = format!("bp-{dir}");
        bpkit(&[
            "push",
            folder.to_str().expect("utf-8"),
            &format!("{}/cat/{name}", reg.host),
        ]);
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpkit"));
    cmd.args([
        "catalog",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-request-log",
    ])
    .arg("--catalog")
    .arg(format!("oci://{}/cat", reg.host))
    .env("DOCKER_CONFIG", home.path().join(".docker"))
    .env("XDG_CACHE_HOME", home.path().join("cache"));
    let (mut child, _err, addr) = spawn_serve(&mut cmd);
    let dir = start();

    // The list: exactly what was pushed, each entry as the folder catalog shows it.
    let list = get(addr, "/v1/blueprints");
    assert_eq!(list.status, 200, "{}", list.text());
    let list = list.json();
    assert_eq!(
        names(&list),
        vec!["bp-ingress", "bp-postgres", "bp-tls-issuer"]
    );
    let all = get(dir.local_addr(), "/v1/blueprints").json();
    for e in list["blueprints"].as_array().expect("list") {
        let same = all["blueprints"]
            .as_array()
            .expect("list")
            .iter()
            .find(|x| x["name"] == e["name"])
            .expect("in the folder catalog");
        assert_eq!(e, same);
    }
    // One Blueprint, its versions, and an unknown one.
    let one = get(addr, "/v1/blueprints/bp-ingress");
    assert_eq!(one.status, 200);
    assert_eq!(
        one.json(),
        get(dir.local_addr(), "/v1/blueprints/bp-ingress").json()
    );
    assert_eq!(get(addr, "/v1/blueprints/bp-wordpress").status, 404);

    // A plan through the registry catalog: the dependency comes first.
    let plan = post(
        addr,
        "/v1/plan",
        &json!({"blueprint": "bp-ingress", "application": "edge", "partial": true,
                "values": {"defaultCertificate": {"enabled": true}}}),
    );
    assert_eq!(plan.status, 200, "{}", plan.text());
    let plan = plan.json();
    let apps: Vec<&str> = plan["applications"]
        .as_array()
        .expect("applications")
        .iter()
        .filter_map(|a| a["blueprint"].as_str())
        .collect();
    assert_eq!(apps, vec!["bp-tls-issuer", "bp-ingress"], "{plan:#}");
    // A plan naming a Blueprint the registry does not hold.
    let missing = post(
        addr,
        "/v1/plan",
        &json!({"blueprint": "bp-sso", "application": "sso", "partial": true}),
    );
    assert_eq!(missing.status, 404, "{}", missing.text());

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(child.wait().expect("waits").success());
}
