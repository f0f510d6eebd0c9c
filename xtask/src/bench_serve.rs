//! `cargo xtask bench serve`: requests per second of `bpkit catalog serve`, measured with `wrk`
//! against 127.0.0.1 only, for a bounded time per endpoint (`BENCH_SERVE_SECS`, default 5).
//!
//! The release server runs with its request log on (written to a pipe that is drained and
//! counted), as in production. `wrk` runs on the same machine and shares its cores.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// One endpoint under load.
struct Case {
    title: &'static str,
    path: String,
    /// A `wrk` Lua script (for POST bodies and headers).
    script: Option<String>,
    goal: &'static str,
}

/// What `wrk` reported.
struct Load {
    rps: f64,
    p50: String,
    p99: String,
    requests: u64,
    bad: u64,
}

/// A server stopped (SIGTERM, then wait) when dropped.
struct Running {
    child: Child,
    log_lines: std::thread::JoinHandle<usize>,
}

impl Running {
    fn stop(mut self) -> Result<usize, String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let st = self.child.wait().map_err(|e| e.to_string())?;
        if !st.success() {
            return Err(format!("the server ended with {st}"));
        }
        let n = std::mem::replace(&mut self.log_lines, std::thread::spawn(|| 0))
            .join()
            .unwrap_or(0);
        Ok(n)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &Path, catalog: &Path) -> Result<(Running, String), String> {
    let mut child = Command::new(bin)
        .args(["catalog", "serve", "--listen", "127.0.0.1:0", "--catalog"])
        .arg(catalog)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", bin.display()))?;
    let mut err = BufReader::new(child.stderr.take().ok_or("no stderr")?);
    let mut addr = None;
    let mut seen = String::new();
    for _ in 0..200 {
        let mut line = String::new();
        if err.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            break;
        }
        seen.push_str(&line);
        if let Some(rest) = line.split("http://").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    let Some(addr) = addr else {
        let _ = child.kill();
        return Err(format!("the server did not start:\n{seen}"));
    };
    // Drain the log (one JSON line per request) so the pipe never fills; count the lines.
    let log_lines = std::thread::spawn(move || {
        let mut n = 0usize;
        let mut buf = Vec::new();
        while let Ok(k) = err.read_until(b'\n', &mut buf) {
            if k == 0 {
                break;
            }
            n += 1;
            buf.clear();
        }
        let _ = err.read_to_end(&mut buf);
        n
    });
    Ok((Running { child, log_lines }, addr))
}

fn lua_post(body: &str, headers: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
    );
    for (k, v) in headers {
        s.push_str(&format!("wrk.headers[\"{k}\"] = \"{v}\"\n"));
    }
    s.push_str(&format!("wrk.body = [[{body}]]\n"));
    s
}

fn lua_get(headers: &[(&str, &str)]) -> String {
    headers
        .iter()
        .map(|(k, v)| format!("wrk.headers[\"{k}\"] = '{v}'\n"))
        .collect()
}

fn secs() -> u64 {
    std::env::var("BENCH_SERVE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&s: &u64| (1..=60).contains(&s))
        .unwrap_or(5)
}

fn wrk(url: &str, script: Option<&Path>) -> Result<Load, String> {
    let mut c = Command::new("wrk");
    c.args(["-t2", "-c64", &format!("-d{}s", secs()), "--latency"]);
    if let Some(s) = script {
        c.arg("-s").arg(s);
    }
    c.arg(url);
    let out = c.output().map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "wrk failed on {url}: {}{text}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_string())
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no `Requests/sec` in the output of wrk:\n{text}"))?;
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let bad = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        + field("Socket errors:").map_or(0, |_| 1);
    Ok(Load {
        rps,
        p50: field("50%").unwrap_or_else(|| "?".into()),
        p99: field("99%").unwrap_or_else(|| "?".into()),
        requests,
        bad,
    })
}

/// Checks one request with curl-free std I/O: the endpoint must answer with `want` before it
/// is loaded (a benchmark of error pages would be meaningless).
fn check(addr: &str, case: &Case, want: u16) -> Result<(), String> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let (method, body) = match &case.script {
        Some(sc) if sc.contains("wrk.body") => {
            let b = sc
                .split("wrk.body = [[")
                .nth(1)
                .and_then(|r| r.split("]]").next())
                .unwrap_or("");
            ("POST", b.to_string())
        }
        _ => ("GET", String::new()),
    };
    let req = format!(
        "{method} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        case.path,
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    let status: u16 = out
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    if status == want {
        Ok(())
    } else {
        Err(format!(
            "`{method} {}` answered {status}, expected {want}:\n{out}",
            case.path
        ))
    }
}

/// Runs the benchmark; returns the markdown table.
pub fn run(root: &Path, bin: &Path) -> Result<String, String> {
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err(
            "`wrk` is not installed: `apt-get install -y wrk` (Debian) or `brew install wrk`"
                .into(),
        );
    }
    let catalog = root.join("blueprints");
    let (server, addr) = start(bin, &catalog)?;
    let plan = r#"{"blueprint": "bp-wordpress", "application": "shop", "values": {"domain": "example.org", "adminEmail": "ops@example.org"}}"#;
    let validate =
        r#"{"blueprint": "bp-postgres", "config": {"size": "medium", "databases": ["shop"]}}"#;
    let mut cases = vec![
        Case {
            title: "list: `GET /v1/blueprints`",
            path: "/v1/blueprints".into(),
            script: None,
            goal: "≥ 10,000 req/s",
        },
        Case {
            title: "list, filtered: `GET /v1/blueprints?category=data&visibility=listed`",
            path: "/v1/blueprints?category=data&visibility=listed".into(),
            script: None,
            goal: "≥ 10,000 req/s",
        },
        Case {
            title: "get: `GET /v1/blueprints/bp-wordpress`",
            path: "/v1/blueprints/bp-wordpress".into(),
            script: None,
            goal: "≥ 10,000 req/s",
        },
        Case {
            title: "validate: `POST /v1/validate` (bp-postgres)",
            path: "/v1/validate".into(),
            script: Some(lua_post(validate, &[])),
            goal: "",
        },
        Case {
            title: "plan: `POST /v1/plan` (bp-wordpress, 5 Applications)",
            path: "/v1/plan".into(),
            script: Some(lua_post(plan, &[])),
            goal: "",
        },
    ];
    // The conditional GET: the client already has the Blueprint.
    let etag = {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(&addr).map_err(|e| e.to_string())?;
        write!(
            s,
            "GET /v1/blueprints/bp-wordpress HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out).map_err(|e| e.to_string())?;
        out.lines()
            .find_map(|l| {
                l.strip_prefix("etag: ")
                    .or_else(|| l.strip_prefix("ETag: "))
            })
            .map(|t| t.trim().to_string())
            .ok_or("no ETag on `GET /v1/blueprints/bp-wordpress`")?
    };
    cases.insert(
        3,
        Case {
            title: "get, not modified: `If-None-Match` → 304",
            path: "/v1/blueprints/bp-wordpress".into(),
            script: Some(lua_get(&[("If-None-Match", &etag)])),
            goal: "",
        },
    );
    let tmp = std::env::temp_dir().join(format!("xtask-bench-serve-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut total_requests = 0u64;
    for (i, case) in cases.iter().enumerate() {
        let want = if case.title.contains("304") { 304 } else { 200 };
        if want == 200 {
            check(&addr, case, 200)?;
        }
        let script = match &case.script {
            Some(s) => {
                let f = tmp.join(format!("case-{i}.lua"));
                std::fs::write(&f, s).map_err(|e| e.to_string())?;
                Some(f)
            }
            None => None,
        };
        eprintln!("xtask: bench serve: {} ({} s)", case.title, secs());
        let load = wrk(&format!("http://{addr}{}", case.path), script.as_deref())?;
        total_requests += load.requests;
        rows.push((case, load));
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let logged = server.stop()?;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mut s = format!(
        "## serve: `bpkit catalog serve` under `wrk -t2 -c64 -d{}s` (127.0.0.1, {cores} cores shared by server and load generator, reference catalog)\n\n",
        secs()
    );
    s.push_str("| endpoint | requests/s | p50 latency | p99 latency | non-2xx/3xx | goal |\n|---|---|---|---|---|---|\n");
    for (case, l) in &rows {
        s.push_str(&format!(
            "| {} | {:.0} | {} | {} | {} | {} |\n",
            case.title, l.rps, l.p50, l.p99, l.bad, case.goal
        ));
    }
    s.push_str(&format!(
        "\n{total_requests} requests answered; the server logged {logged} JSON lines (one per request, plus start and stop).\n"
    ));
    Ok(s)
}
