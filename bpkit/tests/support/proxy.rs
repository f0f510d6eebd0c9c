//! A fault-injecting HTTP/1.1 proxy for the registry tests.
//!
//! It listens on `127.0.0.1` and forwards each request to a real registry on another local
//! port, unless its plan says to misbehave: answer a status itself (a 5xx storm, a 429 with
//! `Retry-After`), wait before answering, trickle the body, stall, or cut the body off
//! half-way. It records every request it saw (kind, time, status sent) so a test can count
//! retries and measure the gaps between them.
//!
//! One request per connection: the proxy sends `Connection: close` both ways and reads the
//! registry's answer to the end, so it never has to track keep-alive framing. Clients open a
//! new connection for the next request, as HTTP/1.1 allows. Threads, blocking I/O, no
//! dependencies.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a request does, from its method and path (`/v2/<name>/...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `GET /v2/` (the API version check).
    Ping,
    /// `HEAD /v2/<name>/manifests/<ref>`.
    ManifestHead,
    /// `GET /v2/<name>/manifests/<ref>`.
    ManifestGet,
    /// `PUT /v2/<name>/manifests/<ref>`.
    ManifestPut,
    /// `HEAD /v2/<name>/blobs/<digest>`.
    BlobHead,
    /// `GET /v2/<name>/blobs/<digest>`.
    BlobGet,
    /// `POST /v2/<name>/blobs/uploads/` (an upload session starts).
    UploadStart,
    /// `PATCH` on an upload session (a chunk).
    UploadPatch,
    /// `PUT` on an upload session (the blob, or the last chunk).
    UploadPut,
    /// `GET /v2/<name>/tags/list`.
    Tags,
    /// Anything else.
    Other,
}

impl Kind {
    fn of(method: &str, path: &str) -> Kind {
        let path = path.split('?').next().unwrap_or(path);
        let has = |s: &str| path.contains(s);
        match method {
            _ if path == "/v2/" || path == "/v2" => Kind::Ping,
            "POST" if has("/blobs/uploads") => Kind::UploadStart,
            "PATCH" if has("/blobs/uploads/") => Kind::UploadPatch,
            "PUT" if has("/blobs/uploads/") => Kind::UploadPut,
            "HEAD" if has("/blobs/") => Kind::BlobHead,
            "GET" if has("/blobs/") => Kind::BlobGet,
            "HEAD" if has("/manifests/") => Kind::ManifestHead,
            "GET" if has("/manifests/") => Kind::ManifestGet,
            "PUT" if has("/manifests/") => Kind::ManifestPut,
            "GET" if has("/tags/list") => Kind::Tags,
            _ => Kind::Other,
        }
    }
}

/// What the proxy does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward it and send the registry's answer back unchanged.
    Pass,
    /// Answer this status itself (plain-text body), without asking the registry.
    Status(u16),
    /// Answer `429 Too Many Requests` with `Retry-After: <seconds>` and a `TOOMANYREQUESTS`
    /// error body, as Distribution does.
    TooMany {
        /// The `Retry-After` value, in seconds.
        retry_after: u32,
    },
    /// Forward it, and wait this long before sending the answer.
    Delay(Duration),
    /// Forward it, send the head at once and the body in `chunk`-byte pieces, `gap` apart.
    Trickle {
        /// Bytes a piece.
        chunk: usize,
        /// Pause between pieces.
        gap: Duration,
    },
    /// Send nothing for this long, then close the connection (a stalled server).
    Stall(Duration),
    /// Forward it, send the head and half of the body, then close the connection.
    CutMidBody,
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// What it was.
    pub kind: Kind,
    /// Its method and path.
    pub line: String,
    /// When its head had arrived.
    pub at: Instant,
    /// What the proxy did.
    pub fault: Fault,
    /// The status sent back (0 when none was: stalled or the registry was unreachable).
    pub status: u16,
}

/// The plan: given a request's kind, its number among the requests of that kind (from 1) and
/// its path, what to do.
pub type Plan = Arc<dyn Fn(Kind, usize, &str) -> Fault + Send + Sync>;

/// A running proxy; stops accepting when dropped.
pub struct Proxy {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    log: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    /// Starts a proxy in front of the registry on `127.0.0.1:upstream`.
    pub fn start(
        upstream: u16,
        plan: impl Fn(Kind, usize, &str) -> Fault + Send + Sync + 'static,
    ) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let plan: Plan = Arc::new(plan);
        let (l, s) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (l, plan) = (l.clone(), plan.clone());
                std::thread::spawn(move || serve(client, upstream, &plan, &l));
            }
        });
        Proxy { port, log, stop }
    }

    /// Every request seen so far, in arrival order.
    pub fn log(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// How many requests of this kind it saw.
    pub fn count(&self, kind: Kind) -> usize {
        self.log().iter().filter(|s| s.kind == kind).count()
    }

    /// How many requests it answered with a fault of its own rather than passing them on.
    pub fn faults(&self) -> usize {
        self.log().iter().filter(|s| s.fault != Fault::Pass).count()
    }

    /// The times at which requests of this kind arrived.
    pub fn times(&self, kind: Kind) -> Vec<Instant> {
        self.log()
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.at)
            .collect()
    }

    /// A one-line summary: requests per kind and faults injected.
    pub fn summary(&self) -> String {
        let mut per: Vec<(String, usize)> = Vec::new();
        for s in self.log() {
            let k = format!("{:?}", s.kind);
            match per.iter_mut().find(|(n, _)| *n == k) {
                Some((_, c)) => *c += 1,
                None => per.push((k, 1)),
            }
        }
        let kinds: Vec<String> = per.iter().map(|(k, c)| format!("{k} {c}")).collect();
        format!("{} ({} injected faults)", kinds.join(", "), self.faults())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // wake the accept loop so it sees the flag
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A request as read from the client: its head (with `Connection: close`) and body.
struct Request {
    method: String,
    path: String,
    head: Vec<u8>,
    body: Vec<u8>,
}

/// Reads one request; `None` when the client sent nothing usable (or the wake-up connect).
fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut head = line.clone().into_bytes();
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        if h == "\r\n" || h.is_empty() {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        head.extend_from_slice(h.as_bytes());
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut body = Vec::new();
    if chunked {
        // keep the chunked encoding as it is; read up to the last chunk and its trailers
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            body.extend_from_slice(size.as_bytes());
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            if n == 0 {
                loop {
                    let mut t = String::new();
                    r.read_line(&mut t).ok()?;
                    body.extend_from_slice(t.as_bytes());
                    if t == "\r\n" || t.is_empty() {
                        break;
                    }
                }
                break;
            }
            let at = body.len();
            body.resize(at + n + 2, 0);
            r.read_exact(&mut body[at..]).ok()?;
        }
    } else {
        body.resize(length, 0);
        r.read_exact(&mut body).ok()?;
    }
    Some(Request {
        method,
        path,
        head,
        body,
    })
}

/// Sends the request to the registry and reads its whole answer (it closes the connection
/// after it, as asked); `None` when the registry cannot be reached.
fn forward(upstream: u16, req: &Request) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    s.write_all(&req.head).ok()?;
    s.write_all(&req.body).ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    Some(answer)
}

/// Splits an answer into its head (with `Connection: close` and without `Keep-Alive`), its
/// status and its body.
fn split_answer(answer: &[u8]) -> (Vec<u8>, u16, &[u8]) {
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |p| p + 4);
    let text = String::from_utf8_lossy(&answer[..end]);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut head = String::new();
    for l in text.split("\r\n").filter(|l| !l.is_empty()) {
        let lower = l.to_ascii_lowercase();
        if !lower.starts_with("connection:") && !lower.starts_with("keep-alive:") {
            head.push_str(l);
            head.push_str("\r\n");
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    (head.into_bytes(), status, &answer[end..])
}

/// An answer the proxy makes up.
fn own_answer(status: u16, retry_after: Option<u32>) -> Vec<u8> {
    let (reason, ctype, body) = match status {
        429 => (
            "Too Many Requests",
            "application/json",
            r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests (injected by the test proxy)","detail":null}]}"#
                .to_string(),
        ),
        s => (
            match s {
                500 => "Internal Server Error",
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                _ => "Injected",
            },
            "text/plain",
            format!("injected {s} from the test proxy"),
        ),
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(s) = retry_after {
        head.push_str(&format!("Retry-After: {s}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(&body);
    head.into_bytes()
}

/// Handles one connection: one request, answered per the plan.
fn serve(client: TcpStream, upstream: u16, plan: &Plan, log: &Mutex<Vec<Seen>>) {
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    // not HTTP (a TLS hello, say): close at once rather than wait for a line end
    match reader.fill_buf() {
        Ok(b) if b.first().is_some_and(u8::is_ascii_uppercase) => {}
        _ => return,
    }
    let Some(req) = read_request(&mut reader) else {
        return;
    };
    let kind = Kind::of(&req.method, &req.path);
    // log it on arrival, so that its number among its kind does not depend on timing
    let (slot, fault) = {
        let mut l = log.lock().unwrap();
        let n = l.iter().filter(|s| s.kind == kind).count() + 1;
        let fault = plan(kind, n, &req.path);
        l.push(Seen {
            kind,
            line: format!("{} {}", req.method, req.path),
            at: Instant::now(),
            fault,
            status: 0,
        });
        (l.len() - 1, fault)
    };
    let status = respond(&client, upstream, &req, fault);
    log.lock().unwrap()[slot].status = status;
    let _ = client.shutdown(Shutdown::Both);
}

/// Sends the answer `fault` calls for; returns the status sent (0 for none).
fn respond(mut client: &TcpStream, upstream: u16, req: &Request, fault: Fault) -> u16 {
    match fault {
        Fault::Status(code) => {
            let _ = client.write_all(&own_answer(code, None));
            return code;
        }
        Fault::TooMany { retry_after } => {
            let _ = client.write_all(&own_answer(429, Some(retry_after)));
            return 429;
        }
        Fault::Stall(d) => {
            std::thread::sleep(d);
            return 0;
        }
        _ => {}
    }
    let Some(answer) = forward(upstream, req) else {
        return 0;
    };
    let (head, status, body) = split_answer(&answer);
    match fault {
        Fault::Delay(d) => {
            std::thread::sleep(d);
            let _ = client
                .write_all(&head)
                .and_then(|()| client.write_all(body));
        }
        Fault::Trickle { chunk, gap } => {
            if client.write_all(&head).is_ok() {
                for piece in body.chunks(chunk.max(1)) {
                    std::thread::sleep(gap);
                    if client.write_all(piece).is_err() {
                        break;
                    }
                }
            }
        }
        Fault::CutMidBody => {
            let _ = client
                .write_all(&head)
                .and_then(|()| client.write_all(&body[..body.len() / 2]));
            let _ = client.flush();
        }
        _ => {
            let _ = client
                .write_all(&head)
                .and_then(|()| client.write_all(body));
        }
    }
    status
}

#[test]
fn kinds_follow_the_distribution_api() {
    assert_eq!(Kind::of("GET", "/v2/"), Kind::Ping);
    assert_eq!(
        Kind::of("HEAD", "/v2/bp/x/manifests/1.0.0"),
        Kind::ManifestHead
    );
    assert_eq!(
        Kind::of("PUT", "/v2/bp/x/manifests/1.0.0"),
        Kind::ManifestPut
    );
    assert_eq!(Kind::of("HEAD", "/v2/bp/x/blobs/sha256:ab"), Kind::BlobHead);
    assert_eq!(Kind::of("GET", "/v2/bp/x/blobs/sha256:ab"), Kind::BlobGet);
    assert_eq!(
        Kind::of("POST", "/v2/bp/x/blobs/uploads/"),
        Kind::UploadStart
    );
    assert_eq!(
        Kind::of("PUT", "/v2/bp/x/blobs/uploads/u-1?digest=sha256:ab"),
        Kind::UploadPut
    );
    assert_eq!(
        Kind::of("PATCH", "/v2/bp/x/blobs/uploads/u-1"),
        Kind::UploadPatch
    );
    assert_eq!(Kind::of("GET", "/v2/bp/x/tags/list?n=1"), Kind::Tags);
    let (head, status, body) =
        split_answer(b"HTTP/1.1 201 Created\r\nConnection: keep-alive\r\nA: b\r\n\r\nxyz");
    assert_eq!(status, 201);
    assert_eq!(body, b"xyz");
    assert_eq!(
        String::from_utf8(head).unwrap(),
        "HTTP/1.1 201 Created\r\nA: b\r\nConnection: close\r\n\r\n"
    );
    let r = read_request(&mut &b"PUT /v2/a/blobs/uploads/u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n3\r\nabc\r\n0\r\n\r\n"[..]).unwrap();
    assert_eq!(r.body, b"3\r\nabc\r\n0\r\n\r\n");
    assert!(
        String::from_utf8(r.head)
            .unwrap()
            .ends_with("chunked\r\nConnection: close\r\n\r\n")
    );
}
