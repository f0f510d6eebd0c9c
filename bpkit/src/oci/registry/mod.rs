//! Pushing to and pulling from OCI registries (behind the `oci` cargo feature).
//!
//! The HTTP, token and basic authentication work is `oci-client`'s; this module adds what bpkit
//! needs on top: strict references, Docker credentials, immutable tags, upload of missing blobs
//! only, bounded and verified pulls, retries, and clear errors. The API is blocking: each
//! [`Registry`] runs a small single-threaded runtime of its own.
//!
//! Transport: HTTPS, with the system roots plus any `ca_files`. Plain HTTP only when asked
//! (`plain_http`), or for a loopback host (`localhost`, `127.0.0.1`) that turns out not to
//! speak TLS, as Docker and ORAS do.

mod credentials;
mod fetch;
mod reference;
mod store;
mod stream;

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use oci_client::Client;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;

pub use credentials::{Credentials, docker_config_path, lookup, store};
pub use reference::Reference;
pub use store::RegistryStore;

use super::{Descriptor, Digest, Image, OciError, ReadLimits, media_type};

/// An error talking to a registry.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum RegistryError {
    /// A reference that cannot be parsed.
    #[error("`{text}` is not a registry reference: {reason}")]
    #[diagnostic(
        code(bpkit::registry::bad_reference),
        help("write `oci://HOST/REPO:TAG`, `HOST/REPO:TAG` or `HOST/REPO@sha256:…`")
    )]
    BadReference {
        /// The text given.
        text: String,
        /// Why it is refused.
        reason: String,
    },
    /// Credentials that could not be read or written.
    #[error("{message}")]
    #[diagnostic(code(bpkit::registry::credentials))]
    Credentials {
        /// What went wrong.
        message: String,
    },
    /// The registry refused the credentials (or asked for some).
    #[error("the registry `{host}` refused access to `{reference}` (401 unauthorized)")]
    #[diagnostic(
        code(bpkit::registry::unauthorized),
        help(
            "check the user name and password: `bpkit login {host} --username USER --password-stdin`, or `--username` with `--password-stdin`"
        )
    )]
    Unauthorized {
        /// The registry host.
        host: String,
        /// What was asked for.
        reference: String,
    },
    /// The server's TLS certificate is not trusted.
    #[error("the TLS certificate of `{host}` is not trusted: {message}")]
    #[diagnostic(
        code(bpkit::registry::untrusted_certificate),
        help("pass the certificate of the CA that signed it with `--ca-file FILE.pem`")
    )]
    UntrustedCertificate {
        /// The registry host.
        host: String,
        /// The TLS library's reason.
        message: String,
    },
    /// The registry could not be reached or answered outside the protocol.
    #[error("cannot reach the registry `{host}`: {message}")]
    #[diagnostic(code(bpkit::registry::network))]
    Network {
        /// The registry host.
        host: String,
        /// The cause.
        message: String,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// A tag or manifest that the repository does not have.
    #[error("`{reference}` was not found in the registry")]
    #[diagnostic(code(bpkit::registry::not_found))]
    NotFound {
        /// What was asked for.
        reference: String,
        /// The tags the repository has, as a hint.
        #[help]
        help: Option<String>,
    },
    /// A tag that already names other content.
    #[error("`{reference}` already points at `{existing}`, not at `{new}`; versions are immutable")]
    #[diagnostic(
        code(bpkit::registry::tag_conflict),
        help(
            "the content changed but the tag did not: bump the Blueprint version, or pass `--force` to move the tag"
        )
    )]
    TagConflict {
        /// The reference.
        reference: String,
        /// The manifest it names now.
        existing: String,
        /// The manifest being pushed.
        new: String,
    },
    /// The registry answered with an error.
    #[error("the registry `{host}` refused {action}: {message}")]
    #[diagnostic(code(bpkit::registry::refused))]
    Refused {
        /// The registry host.
        host: String,
        /// What was being done.
        action: String,
        /// The registry's message.
        message: String,
    },
    /// The registry answered a 5xx or 429 status (after any retries): it is overloaded, down
    /// or asks to slow down.
    #[error("the registry `{host}` failed {action}: HTTP {status}: {message}")]
    #[diagnostic(
        code(bpkit::registry::unavailable),
        help("the registry is overloaded or down: try again later, or raise `--retries`")
    )]
    Unavailable {
        /// The registry host.
        host: String,
        /// What was being done.
        action: String,
        /// The HTTP status.
        status: u16,
        /// The registry's message, and how many attempts were made.
        message: String,
    },
    /// Content that failed verification (digest, size, limits, manifest shape).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Verify(#[from] OciError),
    /// A CA file that cannot be read.
    #[error("cannot read the CA file `{}`: {message}", path.display())]
    #[diagnostic(code(bpkit::registry::ca_file))]
    CaFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

impl RegistryError {
    /// Whether this is a refusal or a verification failure (exit code 1) rather than a usage,
    /// I/O or network error (exit code 2).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            RegistryError::TagConflict { .. }
                | RegistryError::Verify(_)
                | RegistryError::Unauthorized { .. }
                | RegistryError::UntrustedCertificate { .. }
                | RegistryError::Refused { .. }
        )
    }
}

/// How to reach registries.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Use plain HTTP for every host.
    pub plain_http: bool,
    /// Extra CA certificates (PEM files) to trust besides the system roots.
    pub ca_files: Vec<PathBuf>,
    /// Credentials to use instead of the Docker config.
    pub credentials: Option<Credentials>,
    /// Where to read the Docker config (default: [`docker_config_path`]).
    pub docker_config: Option<PathBuf>,
    /// Size limits for pulls.
    pub limits: ReadLimits,
    /// How many times to retry a request that failed with a 5xx, a 429 or a timeout
    /// (default 0 here; the CLI uses 3).
    pub retries: u32,
    /// Upload blobs in 4 MiB `PATCH` chunks (for registries or proxies that cap request
    /// bodies) instead of one `PUT` a blob, the default: on a local registry one `PUT` pushed
    /// 50 MB from a layout in 0.38 s against 0.43 s in chunks (`cargo xtask bench oci`).
    pub chunked_upload: bool,
    /// How long a response may send nothing before the request counts as timed out (and is
    /// retried); `None` means 120 s.
    pub timeout: Option<Duration>,
}

/// The read timeout when [`RegistryOptions::timeout`] is `None`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How to push.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// Move a tag that already names other content.
    pub force: bool,
}

/// What a push did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushOutcome {
    /// The manifest digest pushed.
    pub digest: Digest,
    /// How many blobs (config and layers) were uploaded; 0 when all were there already.
    pub blobs_uploaded: usize,
    /// How many blobs were there already.
    pub blobs_present: usize,
    /// Whether the manifest was uploaded (false when the tag already named it).
    pub manifest_pushed: bool,
    /// The manifest the tag named before, when a forced push moved it.
    pub replaced: Option<Digest>,
}

/// A connection to registries: credentials, TLS settings, and a runtime.
pub struct Registry {
    opts: RegistryOptions,
    rt: tokio::runtime::Runtime,
    certs: Vec<Certificate>,
    /// One client per host, with its protocol settled.
    clients: std::sync::Mutex<Vec<(String, std::sync::Arc<Client>, RegistryAuth)>>,
    /// Requests retried so far.
    retried: std::sync::atomic::AtomicU32,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// A writer for `pull_blob` that refuses more than `limit` bytes.
struct Capped {
    buf: Vec<u8>,
    limit: u64,
}

impl tokio::io::AsyncWrite for Capped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.buf.len() as u64 + data.len() as u64 > self.limit {
            return Poll::Ready(Err(std::io::Error::other(CAPPED)));
        }
        self.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

const CAPPED: &str = "the blob is larger than its descriptor says";

/// The error text with every source, for classification and messages.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn is_certificate_error(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("certificate") || t.contains("unknownissuer") || t.contains("notvalidforname")
}

/// Whether an error is worth retrying: a 5xx or 429 answer (or a `TOOMANYREQUESTS` error
/// body), a timeout, or a connection that failed or broke off (a registry restarting). Every
/// request bpkit retries is idempotent: lookups, downloads, uploads of content-addressed blobs
/// (a new upload session each time) and manifest uploads.
fn retryable(e: &OciDistributionError) -> bool {
    throttled(e)
        || match e {
            OciDistributionError::ServerError { code, .. } => *code >= 500,
            OciDistributionError::RequestError(r) => {
                r.is_timeout()
                    || r.is_connect()
                    || r.is_request()
                    || r.is_body()
                    // a body cut off while read (reqwest calls it a decode error; oci-client
                    // parses JSON itself, so this is never a bad document)
                    || r.is_decode()
                    || r.status().is_some_and(|s| s.is_server_error())
            }
            OciDistributionError::IoError(io) => io.to_string() != CAPPED,
            _ => false,
        }
}

/// The wait before retry number `attempt` (0 for the first retry): 500 ms, doubled each time,
/// at most 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64 << attempt.min(4))
}

/// Whether the registry asked to slow down: a 429 answer or a `TOOMANYREQUESTS` error body.
fn throttled(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => *code == 429,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|x| format!("{:?}", x.code) == "Toomanyrequests"),
        OciDistributionError::RequestError(r) => r.status().is_some_and(|s| s.as_u16() == 429),
        _ => false,
    }
}

/// The wait before retry number `attempt` after `e`: [`backoff`], doubled after a 429 (1 s,
/// 2 s, … at most 16 s). `oci-client` drops the response headers, so a `Retry-After` value is
/// not seen; the doubled schedule waits at least 1 s, the smallest pause `Retry-After` can ask
/// for.
fn wait_before_retry(e: &OciDistributionError, attempt: u32) -> Duration {
    if throttled(e) {
        backoff(attempt) * 2
    } else {
        backoff(attempt)
    }
}

/// Says on an error that it is the last of several attempts.
fn gave_up(e: RegistryError, attempts: u32) -> RegistryError {
    if attempts < 2 {
        return e;
    }
    let note = format!("gave up after {attempts} attempts");
    match e {
        RegistryError::Network {
            host,
            message,
            help,
        } => RegistryError::Network {
            host,
            message: format!("{message} ({note})"),
            help: Some(help.map_or_else(
                || {
                    "the registry may be down or restarting: try again later, or raise `--retries`"
                        .to_string()
                },
                |h| format!("{h}; or raise `--retries`"),
            )),
        },
        RegistryError::Refused {
            host,
            action,
            message,
        } => RegistryError::Refused {
            host,
            action,
            message: format!("{message} ({note})"),
        },
        RegistryError::Unavailable {
            host,
            action,
            status,
            message,
        } => RegistryError::Unavailable {
            host,
            action,
            status,
            message: format!("{message} ({note})"),
        },
        other => other,
    }
}

impl Registry {
    /// A registry connection with these options; reads the CA files now.
    pub fn new(opts: RegistryOptions) -> Result<Registry, RegistryError> {
        let mut certs = Vec::new();
        for p in &opts.ca_files {
            let data = std::fs::read(p).map_err(|e| RegistryError::CaFile {
                path: p.clone(),
                message: e.to_string(),
            })?;
            if !data
                .windows(27)
                .any(|w| w == b"-----BEGIN CERTIFICATE-----")
            {
                return Err(RegistryError::CaFile {
                    path: p.clone(),
                    message: "it holds no PEM `CERTIFICATE` block".into(),
                });
            }
            certs.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RegistryError::Network {
                host: String::new(),
                message: format!("cannot start the I/O runtime: {e}"),
                help: None,
            })?;
        Ok(Registry {
            opts,
            rt,
            certs,
            clients: std::sync::Mutex::new(Vec::new()),
            retried: std::sync::atomic::AtomicU32::new(0),
        })
    }

    fn make_client(&self, protocol: ClientProtocol) -> Result<Client, RegistryError> {
        let config = ClientConfig {
            protocol,
            extra_root_certificates: self.certs.clone(),
            connect_timeout: Some(Duration::from_secs(15)),
            read_timeout: Some(self.opts.timeout.unwrap_or(DEFAULT_TIMEOUT)),
            platform_resolver: None,
            user_agent: concat!("bpkit/", env!("CARGO_PKG_VERSION")),
            use_monolithic_push: !self.opts.chunked_upload,
            ..ClientConfig::default()
        };
        Client::try_from(config).map_err(|e| RegistryError::Network {
            host: String::new(),
            message: format!("cannot set up the HTTP client: {}", chain(&e)),
            help: None,
        })
    }

    fn auth_for(&self, host: &str) -> Result<RegistryAuth, RegistryError> {
        if let Some(c) = &self.opts.credentials {
            return Ok(RegistryAuth::Basic(c.username.clone(), c.password.clone()));
        }
        let path = self.opts.docker_config.clone().or_else(docker_config_path);
        match path {
            Some(p) => Ok(match lookup(&p, host)? {
                Some(c) => RegistryAuth::Basic(c.username, c.password),
                None => RegistryAuth::Anonymous,
            }),
            None => Ok(RegistryAuth::Anonymous),
        }
    }

    /// The client for a host: HTTPS, or HTTP when asked or when a loopback host does not
    /// speak TLS.
    fn client(
        &self,
        r: &Reference,
    ) -> Result<(std::sync::Arc<Client>, RegistryAuth), RegistryError> {
        if let Ok(list) = self.clients.lock()
            && let Some((_, c, a)) = list.iter().find(|(h, _, _)| *h == r.host)
        {
            return Ok((c.clone(), a.clone()));
        }
        let auth = self.auth_for(&r.host)?;
        let client = if self.opts.plain_http {
            self.make_client(ClientProtocol::Http)?
        } else if r.is_loopback() && self.certs.is_empty() {
            match plain_http_probe(&r.host) {
                Some(true) => self.make_client(ClientProtocol::Http)?,
                Some(false) => self.make_client(ClientProtocol::Https)?,
                None => self.probe_client(r, &auth)?,
            }
        } else {
            self.make_client(ClientProtocol::Https)?
        };
        let client = std::sync::Arc::new(client);
        if let Ok(mut list) = self.clients.lock() {
            list.push((r.host.clone(), client.clone(), auth.clone()));
        }
        Ok((client, auth))
    }

    /// A loopback host's client, found by trying HTTPS first (when the quick probe could not
    /// tell): plain HTTP when the TLS attempt fails for another reason than the certificate.
    fn probe_client(&self, r: &Reference, auth: &RegistryAuth) -> Result<Client, RegistryError> {
        let https = self.make_client(ClientProtocol::Https)?;
        let probe = self
            .rt
            .block_on(https.list_tags(&r.to_client(), auth, Some(1), None));
        match probe {
            Err(OciDistributionError::RequestError(e)) => {
                let text = chain(&e);
                if is_certificate_error(&text) {
                    return Err(RegistryError::UntrustedCertificate {
                        host: r.host.clone(),
                        message: text,
                    });
                }
                self.make_client(ClientProtocol::Http)
            }
            _ => Ok(https),
        }
    }

    /// Runs `op` with up to `retries` retries on 5xx, 429, timeouts and broken connections
    /// (exponential [`backoff`]); the last error says how many attempts were made.
    fn call<T, F, Fut>(&self, r: &Reference, action: &str, mut op: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        let mut attempt = 0u32;
        loop {
            match self.rt.block_on(op()) {
                Ok(v) => return Ok(v),
                Err(e) if attempt < self.opts.retries && retryable(&e) => {
                    std::thread::sleep(wait_before_retry(&e, attempt));
                    attempt += 1;
                    self.retried
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => {
                    let tried = retryable(&e);
                    let e = self.classify(r, action, e);
                    return Err(if tried { gave_up(e, attempt + 1) } else { e });
                }
            }
        }
    }

    /// How many requests were retried so far on this connection.
    pub fn retries_made(&self) -> u32 {
        self.retried.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn classify(&self, r: &Reference, action: &str, e: OciDistributionError) -> RegistryError {
        let host = r.host.clone();
        match e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => RegistryError::Unauthorized {
                host,
                reference: r.to_string(),
            },
            OciDistributionError::ImageManifestNotFoundError(_) => RegistryError::NotFound {
                reference: r.to_string(),
                help: None,
            },
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<String> = envelope
                    .errors
                    .iter()
                    .map(|x| format!("{:?}", x.code))
                    .collect();
                let message: Vec<String> = envelope
                    .errors
                    .iter()
                    .map(|x| format!("{:?}: {}", x.code, x.message))
                    .collect();
                let message = message.join("; ");
                if codes
                    .iter()
                    .any(|c| c.contains("Unauthorized") || c.contains("Denied"))
                {
                    RegistryError::Unauthorized {
                        host,
                        reference: r.to_string(),
                    }
                } else if codes.iter().any(|c| c == "Toomanyrequests") {
                    RegistryError::Unavailable {
                        host,
                        action: action.to_string(),
                        status: 429,
                        message,
                    }
                } else if codes.iter().any(|c| c.contains("Unknown")) {
                    RegistryError::NotFound {
                        reference: r.to_string(),
                        help: Some(message),
                    }
                } else {
                    RegistryError::Refused {
                        host,
                        action: action.to_string(),
                        message,
                    }
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                401 | 403 => RegistryError::Unauthorized {
                    host,
                    reference: r.to_string(),
                },
                404 => RegistryError::NotFound {
                    reference: r.to_string(),
                    help: None,
                },
                429 | 500.. => RegistryError::Unavailable {
                    host,
                    action: action.to_string(),
                    status: code,
                    message: match message.trim() {
                        "" => "no message".to_string(),
                        m => m.chars().take(300).collect(),
                    },
                },
                _ => RegistryError::Refused {
                    host,
                    action: action.to_string(),
                    message: format!(
                        "HTTP {code}: {}",
                        message.trim().chars().take(300).collect::<String>()
                    ),
                },
            },
            OciDistributionError::DigestError(d) => RegistryError::Verify(OciError::BadManifest {
                what: r.to_string(),
                message: format!("content does not match its digest: {d}"),
            }),
            OciDistributionError::IoError(io) if io.to_string() == CAPPED => {
                RegistryError::Verify(OciError::BadManifest {
                    what: r.to_string(),
                    message: CAPPED.into(),
                })
            }
            OciDistributionError::RequestError(req)
                if req
                    .status()
                    .is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403) =>
            {
                RegistryError::Unauthorized {
                    host,
                    reference: r.to_string(),
                }
            }
            OciDistributionError::RequestError(req)
                if req
                    .status()
                    .is_some_and(|s| s.as_u16() == 429 || s.is_server_error()) =>
            {
                RegistryError::Unavailable {
                    host,
                    action: action.to_string(),
                    status: req.status().map_or(0, |s| s.as_u16()),
                    message: chain(&req),
                }
            }
            OciDistributionError::RequestError(req) => {
                let text = chain(&req);
                if is_certificate_error(&text) {
                    RegistryError::UntrustedCertificate {
                        host,
                        message: text,
                    }
                } else if req.is_timeout() {
                    self.timed_out(host, text)
                } else if req.is_body() || req.is_decode() {
                    RegistryError::Network {
                        host,
                        message: format!("the connection broke off mid-answer: {text}"),
                        help: None,
                    }
                } else {
                    let help = (!self.opts.plain_http && !r.is_loopback()).then(|| {
                        "check the host and port; pass `--plain-http` for a registry without TLS"
                            .to_string()
                    });
                    RegistryError::Network {
                        host,
                        message: text,
                        help,
                    }
                }
            }
            OciDistributionError::IoError(io) => {
                let text = chain(&io);
                if text.contains("timed out") {
                    self.timed_out(host, text)
                } else {
                    RegistryError::Network {
                        host,
                        message: format!("the connection broke off mid-answer: {text}"),
                        help: None,
                    }
                }
            }
            other => RegistryError::Refused {
                host,
                action: action.to_string(),
                message: chain(&other),
            },
        }
    }

    /// A request that received nothing for the read timeout.
    fn timed_out(&self, host: String, text: String) -> RegistryError {
        let secs = self.opts.timeout.unwrap_or(DEFAULT_TIMEOUT).as_secs_f64();
        RegistryError::Network {
            host,
            message: format!("{text} (no data for {secs} s)"),
            help: Some(
                "the registry is slow or stalled: try again later, or raise `--timeout`".into(),
            ),
        }
    }

    /// The digest a reference names, or `None` when the registry has no such manifest.
    fn head(&self, r: &Reference) -> Result<Option<Digest>, RegistryError> {
        let (client, auth) = self.client(r)?;
        let cr = r.to_client();
        match self.call(r, "a manifest lookup", || {
            client.fetch_manifest_digest(&cr, &auth)
        }) {
            Ok(d) => Ok(Some(Digest::parse(&d)?)),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The manifest digest a reference names.
    pub fn resolve(&self, r: &Reference) -> Result<Digest, RegistryError> {
        match self.head(r)? {
            Some(d) => Ok(d),
            None => Err(self.not_found(r)),
        }
    }

    /// Whether the registry has the manifest a reference names.
    pub fn exists(&self, r: &Reference) -> Result<bool, RegistryError> {
        Ok(self.head(r)?.is_some())
    }

    fn not_found(&self, r: &Reference) -> RegistryError {
        let help = match self.tags(r) {
            Ok(t) if t.is_empty() => Some(format!(
                "the repository `{}/{}` has no tags",
                r.host, r.repo
            )),
            Ok(t) => {
                let shown: Vec<&str> = t.iter().take(20).map(String::as_str).collect();
                Some(format!(
                    "tags in `{}/{}`: {}",
                    r.host,
                    r.repo,
                    shown.join(", ")
                ))
            }
            Err(_) => Some(format!(
                "the repository `{}/{}` may not exist",
                r.host, r.repo
            )),
        };
        RegistryError::NotFound {
            reference: r.to_string(),
            help,
        }
    }

    /// Every tag of the repository `r` names (following `n`/`last` pagination), sorted.
    pub fn tags(&self, r: &Reference) -> Result<Vec<String>, RegistryError> {
        let (client, auth) = self.client(r)?;
        let cr = r.to_client();
        let mut all = BTreeSet::new();
        let mut last: Option<String> = None;
        for _ in 0..1000 {
            let page = self.call(r, "listing tags", || {
                client.list_tags(&cr, &auth, Some(1000), last.as_deref())
            })?;
            let n = page.tags.len();
            let before = all.len();
            let mut max = None;
            for t in page.tags {
                max = Some(t.clone());
                all.insert(t);
            }
            if n < 1000 || all.len() == before {
                break;
            }
            last = max;
        }
        Ok(all.into_iter().collect())
    }

    /// Pulls the manifest a reference names and every blob it lists, checking each digest,
    /// each size and the limits before returning.
    pub fn pull(&self, r: &Reference) -> Result<Image, RegistryError> {
        let limits = self.opts.limits;
        let (body, manifest) = self.manifest_raw(r)?;
        let mut seen: BTreeSet<Digest> = BTreeSet::new();
        let mut blobs = Vec::new();
        let mut total = 0u64;
        for d in std::iter::once(&manifest.config).chain(&manifest.layers) {
            if !seen.insert(d.digest.clone()) {
                continue;
            }
            total = total.saturating_add(d.size);
            // A blob over the single-blob limit is refused by `blob_of`, before any download.
            if d.size <= limits.max_blob_bytes && total > limits.max_total_bytes {
                return Err(OciError::TooLarge {
                    what: format!("the blobs of `{r}` together"),
                    size: total,
                    limit: limits.max_total_bytes,
                }
                .into());
            }
            blobs.push(self.blob_of(r, d)?);
        }
        Ok(Image::from_parts(body, blobs)?)
    }

    fn pull_blob(
        &self,
        r: &Reference,
        client: &Client,
        cr: &oci_client::Reference,
        d: &Descriptor,
    ) -> Result<Vec<u8>, RegistryError> {
        let od = oci_descriptor(d);
        let mut attempt = 0u32;
        loop {
            let mut w = Capped {
                buf: Vec::new(),
                limit: d.size,
            };
            let res = self.rt.block_on(client.pull_blob(cr, &od, &mut w));
            match res {
                Ok(()) => return Ok(w.buf),
                Err(e) if attempt < self.opts.retries && retryable(&e) => {
                    std::thread::sleep(wait_before_retry(&e, attempt));
                    attempt += 1;
                    self.retried
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(OciDistributionError::IoError(io)) if io.to_string() == CAPPED => {
                    return Err(OciError::SizeMismatch {
                        what: format!("blob `{}` of `{r}`", d.digest),
                        expected: d.size,
                        actual: w.buf.len() as u64 + 1,
                    }
                    .into());
                }
                Err(OciDistributionError::DigestError(x)) => {
                    return Err(OciError::DigestMismatch {
                        what: format!("blob `{}` of `{r}`", d.digest),
                        expected: d.digest.to_string(),
                        actual: match x {
                            oci_client::errors::DigestError::VerificationError {
                                actual, ..
                            } => actual,
                            other => other.to_string(),
                        },
                    }
                    .into());
                }
                Err(e) => {
                    let tried = retryable(&e);
                    let e = self.classify(r, "a blob download", e);
                    return Err(if tried { gave_up(e, attempt + 1) } else { e });
                }
            }
        }
    }

    /// Pushes an image under the reference's tag (or by digest): blobs the registry lacks
    /// first (checked with `HEAD`), the manifest bytes last, exactly as they are in `image`.
    /// A tag that names other content is refused unless `opts.force`.
    pub fn push(
        &self,
        image: &Image,
        r: &Reference,
        opts: &PushOptions,
    ) -> Result<PushOutcome, RegistryError> {
        let (existing, replaced) = self.check_target(r, image.digest(), opts)?;
        let blob_count = image.blobs().count();
        // A registry holds a manifest only with all its blobs: nothing to upload.
        if existing.as_ref() == Some(image.digest()) {
            return Ok(PushOutcome {
                digest: image.digest().clone(),
                blobs_uploaded: 0,
                blobs_present: blob_count,
                manifest_pushed: false,
                replaced: None,
            });
        }
        let (client, auth) = self.client(r)?;
        let cr = r.to_client();
        // oci-client stores the credentials on first use; make sure it has them for blobs.
        self.rt
            .block_on(client.store_auth_if_needed(&r.host, &auth));
        let mut uploaded = 0;
        let mut present = 0;
        for (digest, bytes) in image.blobs() {
            let ds = digest.to_string();
            let there = self.call(r, "a blob lookup", || client.blob_exists(&cr, &ds))?;
            if there {
                present += 1;
                continue;
            }
            let data = bytes::Bytes::copy_from_slice(bytes);
            self.call(r, "a blob upload", || {
                client.push_blob(&cr, data.clone(), &ds)
            })?;
            uploaded += 1;
        }
        self.put_manifest(r, &client, image.manifest(), image.manifest_json())?;
        let manifest_pushed = true;
        Ok(PushOutcome {
            digest: image.digest().clone(),
            blobs_uploaded: uploaded,
            blobs_present: present,
            manifest_pushed,
            replaced,
        })
    }

    /// Checks that the registry accepts the configured credentials for `host` (a tag listing
    /// of a probe repository: anything but 401 counts as accepted).
    pub fn check_login(&self, host: &str) -> Result<(), RegistryError> {
        let r = Reference {
            host: host.to_string(),
            repo: "bpkit/login-check".into(),
            tag: Some("latest".into()),
            digest: None,
        };
        match self.tags(&r) {
            Ok(_) | Err(RegistryError::NotFound { .. }) | Err(RegistryError::Refused { .. }) => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether a loopback registry at `host` (`HOST:PORT`) speaks plain HTTP, asked over a bare
/// TCP connection: a plain registry answers `GET /v2/` with an `HTTP/` status line (200 or
/// 401), a TLS server with an alert, nothing, or (Go's) a `400` "HTTP request to an HTTPS
/// server". This spares building a TLS client (loading the system roots) and a failed
/// handshake. `true` too when nothing listens (the requests then fail as a network error, as
/// after a failed TLS attempt); `None` when the host names no port or the answer is a 400
/// (then the TLS attempt decides).
fn plain_http_probe(host: &str) -> Option<bool> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let (_, port) = host.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let Some(addr) = host.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return Some(true);
    };
    let wait = Duration::from_secs(2);
    let Ok(mut conn) = std::net::TcpStream::connect_timeout(&addr, wait) else {
        return Some(true);
    };
    let _ = conn.set_read_timeout(Some(wait));
    let _ = conn.set_write_timeout(Some(wait));
    let request = format!("GET /v2/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if conn.write_all(request.as_bytes()).is_err() {
        return None;
    }
    let mut head = [0u8; 12];
    match conn.read_exact(&mut head) {
        Ok(()) if head.starts_with(b"HTTP/") => (&head[9..12] != b"400").then_some(true),
        _ => Some(false),
    }
}

fn http_value(s: &str) -> http::HeaderValue {
    http::HeaderValue::from_str(s)
        .unwrap_or_else(|_| http::HeaderValue::from_static(media_type::IMAGE_MANIFEST))
}

fn oci_descriptor(d: &Descriptor) -> OciDescriptor {
    OciDescriptor {
        media_type: d.media_type.clone(),
        digest: d.digest.to_string(),
        size: i64::try_from(d.size).unwrap_or(i64::MAX),
        ..OciDescriptor::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_and_redacts() {
        let reg = Registry::new(RegistryOptions {
            credentials: Some(Credentials {
                username: "u".into(),
                password: "hunter2".into(),
            }),
            ..RegistryOptions::default()
        })
        .unwrap();
        assert!(!format!("{reg:?}").contains("hunter2"));
        let r = Reference::parse("127.0.0.1:1/a:b").unwrap();
        let e = reg.classify(
            &r,
            "x",
            OciDistributionError::UnauthorizedError { url: "u".into() },
        );
        assert!(e.is_refusal());
        assert!(e.to_string().contains("401"), "{e}");
        let e = reg.classify(
            &r,
            "x",
            OciDistributionError::ServerError {
                code: 503,
                url: "u".into(),
                message: "busy".into(),
            },
        );
        assert!(e.to_string().contains("HTTP 503: busy"), "{e}");
        assert!(!e.is_refusal(), "a 503 is not a refusal of the content");
        assert!(retryable(&OciDistributionError::ServerError {
            code: 429,
            url: String::new(),
            message: String::new()
        }));
        assert!(!retryable(&OciDistributionError::ServerError {
            code: 404,
            url: String::new(),
            message: String::new()
        }));
        let bad = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(bad.path(), "nope").unwrap();
        let e = Registry::new(RegistryOptions {
            ca_files: vec![bad.path().to_path_buf()],
            ..RegistryOptions::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("no PEM"), "{e}");
    }

    #[test]
    fn throttling_is_retried_and_running_out_says_so() {
        use oci_client::errors::{OciEnvelope, OciError as Wire, OciErrorCode};
        let envelope = |code| OciDistributionError::RegistryError {
            envelope: OciEnvelope {
                errors: vec![Wire {
                    code,
                    message: "slow down".into(),
                    detail: serde_json::Value::Null,
                }],
            },
            url: String::new(),
        };
        assert!(retryable(&envelope(OciErrorCode::Toomanyrequests)));
        assert!(!retryable(&envelope(OciErrorCode::ManifestUnknown)));
        assert!(!retryable(&OciDistributionError::IoError(
            std::io::Error::other(CAPPED)
        )));
        // a 429 (either form) waits twice the backoff, so at least 1 s; a 503 does not
        let too_many = OciDistributionError::ServerError {
            code: 429,
            url: String::new(),
            message: String::new(),
        };
        assert_eq!(wait_before_retry(&too_many, 0), Duration::from_secs(1));
        assert_eq!(
            wait_before_retry(&envelope(OciErrorCode::Toomanyrequests), 30),
            Duration::from_secs(16)
        );
        let busy = OciDistributionError::ServerError {
            code: 503,
            url: String::new(),
            message: String::new(),
        };
        assert_eq!(wait_before_retry(&busy, 0), Duration::from_millis(500));
        let reg = Registry::new(RegistryOptions::default()).unwrap();
        let r = Reference::parse("127.0.0.1:1/a:b").unwrap();
        let e = reg.classify(&r, "a blob upload", too_many);
        assert!(
            matches!(e, RegistryError::Unavailable { status: 429, .. }),
            "{e:?}"
        );
        let e = gave_up(reg.classify(&r, "a blob upload", busy), 3);
        assert_eq!(
            e.to_string(),
            "the registry `127.0.0.1:1` failed a blob upload: HTTP 503: no message (gave up after 3 attempts)"
        );
        assert!(!e.is_refusal());
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(30), Duration::from_secs(8));
        let e = gave_up(
            RegistryError::Network {
                host: "h".into(),
                message: "connection refused".into(),
                help: None,
            },
            4,
        );
        assert!(e.to_string().ends_with("(gave up after 4 attempts)"), "{e}");
        let help = miette::Diagnostic::help(&e).unwrap().to_string();
        assert!(help.contains("--retries"), "{help}");
        let once = gave_up(
            RegistryError::Network {
                host: "h".into(),
                message: "m".into(),
                help: None,
            },
            1,
        );
        assert!(!once.to_string().contains("gave up"), "{once}");
    }

    #[test]
    fn unreachable_registry_is_a_network_error() {
        let reg = Registry::new(RegistryOptions {
            plain_http: true,
            docker_config: Some(PathBuf::from("/nonexistent/config.json")),
            ..RegistryOptions::default()
        })
        .unwrap();
        // Port 1 on loopback: nothing listens there.
        let r = Reference::parse("127.0.0.1:1/a:b").unwrap();
        let e = reg.resolve(&r).unwrap_err();
        assert!(matches!(e, RegistryError::Network { .. }), "{e:?}");
        assert!(!e.is_refusal());
    }
}
