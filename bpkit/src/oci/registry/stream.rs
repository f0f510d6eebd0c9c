//! Streaming copies between OCI image layouts and registries: a blob goes from its file to the
//! HTTP request, or from the HTTP response to its file, in 4 MiB pieces, hashed once on the
//! way, never held whole in memory. A push whose tag already names the same manifest reads no
//! blob and uploads nothing: one manifest `HEAD`.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use oci_client::Client;
use oci_client::errors::OciDistributionError;

use super::{
    CAPPED, PushOptions, PushOutcome, Reference, Registry, RegistryError, backoff, gave_up,
    http_value, oci_descriptor, retryable,
};
use crate::oci::{
    BlobWriter, Descriptor, Digest, Hasher, Layout, Manifest, OciError, ReadLimits, WriteOptions,
    WriteOutcome, media_type,
};

/// The size of the pieces a blob is read and sent in (oci-client's chunk size, so that a
/// chunked upload sends one `PATCH` a piece).
const PIECE: u64 = 4 << 20;

/// Where a streamed transfer records why it stopped, when the cause is the content rather
/// than the network (a digest or size mismatch, a file that cannot be read or written).
type Failure = Arc<Mutex<Option<OciError>>>;

fn record(failure: &Failure, e: OciError) -> String {
    let text = e.to_string();
    if let Ok(mut f) = failure.lock() {
        *f = Some(e);
    }
    text
}

fn take(failure: &Failure) -> Option<OciError> {
    failure.lock().ok().and_then(|mut f| f.take())
}

/// A blob file read as a stream of pieces and hashed on the way. When the digest does not
/// match, the last piece is replaced by an error, so the registry never receives the whole
/// of a wrong blob.
struct FileStream {
    file: std::fs::File,
    path: PathBuf,
    left: u64,
    hasher: Hasher,
    expected: Digest,
    failure: Failure,
}

impl FileStream {
    fn fail(&mut self, e: OciError) -> OciDistributionError {
        self.left = 0;
        OciDistributionError::GenericError(Some(record(&self.failure, e)))
    }
}

impl futures_core::Stream for FileStream {
    type Item = Result<bytes::Bytes, OciDistributionError>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(PIECE) as usize;
        let mut buf = vec![0u8; n];
        if let Err(e) = self.file.read_exact(&mut buf) {
            let e = OciError::io("read", self.path.clone(), e);
            return Poll::Ready(Some(Err(self.fail(e))));
        }
        self.hasher.update(&buf);
        self.left -= n as u64;
        if self.left == 0 {
            let actual = std::mem::take(&mut self.hasher).finish();
            if actual != self.expected {
                let e = OciError::DigestMismatch {
                    what: format!("blob `{}` in `{}`", self.expected, self.path.display()),
                    expected: self.expected.to_string(),
                    actual: actual.to_string(),
                };
                return Poll::Ready(Some(Err(self.fail(e))));
            }
        }
        Poll::Ready(Some(Ok(bytes::Bytes::from(buf))))
    }
}

/// A layout blob writer as the async sink `pull_blob` writes to.
struct Sink {
    writer: Option<BlobWriter>,
    failure: Failure,
}

impl tokio::io::AsyncWrite for Sink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let res = match self.writer.as_mut() {
            Some(w) => w.write(data),
            None => return Poll::Ready(Err(std::io::Error::other(CAPPED))),
        };
        match res {
            Ok(()) => Poll::Ready(Ok(data.len())),
            Err(e) => {
                self.writer = None;
                let text = record(&self.failure, e);
                Poll::Ready(Err(std::io::Error::other(text)))
            }
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A size or digest mismatch said of `what` (the blob and the reference it came from).
fn naming(e: OciError, what: String) -> OciError {
    match e {
        OciError::DigestMismatch {
            expected, actual, ..
        } => OciError::DigestMismatch {
            what,
            expected,
            actual,
        },
        OciError::SizeMismatch {
            expected, actual, ..
        } => OciError::SizeMismatch {
            what,
            expected,
            actual,
        },
        other => other,
    }
}

/// The config and layers of a manifest, each digest once.
fn unique_blobs(m: &Manifest) -> Vec<&Descriptor> {
    let mut seen = BTreeSet::new();
    std::iter::once(&m.config)
        .chain(&m.layers)
        .filter(|d| seen.insert(&d.digest))
        .collect()
}

/// How many blobs go up at the same time.
const PARALLEL: usize = 4;

/// Why a blob task stopped.
enum Failed {
    /// The content: a digest mismatch, an unreadable file (not retried).
    Content(OciError),
    /// The transfer (what was being done, and the last error once the retries ran out).
    Transfer(&'static str, OciDistributionError),
}

/// What a blob task did: uploaded (`true`) or found present (`false`), and how many requests
/// it retried.
struct Done {
    outcome: Result<bool, Failed>,
    retried: u32,
}

/// Looks a blob up and, when the registry lacks it, streams it from its file; each request
/// retried up to `retries` times on 5xx, 429, timeouts and broken connections (a retried upload
/// reads the file again). Runs beside other blobs' tasks on the registry's runtime.
async fn upload_task(
    client: Arc<Client>,
    cr: oci_client::Reference,
    d: Descriptor,
    path: PathBuf,
    retries: u32,
) -> Done {
    let ds = d.digest.to_string();
    let mut retried = 0u32;
    loop {
        match client.blob_exists(&cr, &ds).await {
            Ok(true) => {
                return Done {
                    outcome: Ok(false),
                    retried,
                };
            }
            Ok(false) => break,
            Err(e) if retried < retries && retryable(&e) => {
                tokio::time::sleep(backoff(retried)).await;
                retried += 1;
            }
            Err(e) => {
                return Done {
                    outcome: Err(Failed::Transfer("a blob lookup", e)),
                    retried,
                };
            }
        }
    }
    let mut attempt = 0u32;
    loop {
        let failure: Failure = Arc::default();
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                return Done {
                    outcome: Err(Failed::Content(OciError::io("read", &path, e))),
                    retried,
                };
            }
        };
        let stream = FileStream {
            file,
            path: path.clone(),
            left: d.size,
            hasher: Hasher::new(),
            expected: d.digest.clone(),
            failure: failure.clone(),
        };
        let res = client
            .push_blob_stream(&cr, stream, &ds, Some(d.size))
            .await;
        if let Some(e) = take(&failure) {
            return Done {
                outcome: Err(Failed::Content(e)),
                retried,
            };
        }
        match res {
            Ok(_) => {
                return Done {
                    outcome: Ok(true),
                    retried,
                };
            }
            Err(e) if attempt < retries && retryable(&e) => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
                retried += 1;
            }
            Err(e) => {
                return Done {
                    outcome: Err(Failed::Transfer("a blob upload", e)),
                    retried,
                };
            }
        }
    }
}

/// Refuses a blob over the single-blob limit, or blobs over the total limit together,
/// before anything is transferred.
fn within_limits(blobs: &[&Descriptor], limits: &ReadLimits, of: &str) -> Result<(), OciError> {
    let mut total = 0u64;
    for d in blobs {
        if d.size > limits.max_blob_bytes {
            return Err(OciError::TooLarge {
                what: format!("blob `{}` of {of}", d.digest),
                size: d.size,
                limit: limits.max_blob_bytes,
            });
        }
        total = total.saturating_add(d.size);
        if total > limits.max_total_bytes {
            return Err(OciError::TooLarge {
                what: format!("the blobs of {of} together"),
                size: total,
                limit: limits.max_total_bytes,
            });
        }
    }
    Ok(())
}

impl Registry {
    /// The manifest a push of `digest` to `r` finds there (`None` when the tag or digest is
    /// free), and the one it would replace; refuses a tag that names other content unless
    /// `opts.force`, and a digest reference that names another manifest.
    pub(super) fn check_target(
        &self,
        r: &Reference,
        digest: &Digest,
        opts: &PushOptions,
    ) -> Result<(Option<Digest>, Option<Digest>), RegistryError> {
        if let Some(d) = &r.digest
            && d != digest
        {
            return Err(OciError::DigestMismatch {
                what: format!("the manifest pushed to `{r}`"),
                expected: d.to_string(),
                actual: digest.to_string(),
            }
            .into());
        }
        let existing = self.head(r)?;
        let mut replaced = None;
        if let Some(e) = &existing
            && e != digest
        {
            if !opts.force {
                return Err(RegistryError::TagConflict {
                    reference: r.to_string(),
                    existing: e.to_string(),
                    new: digest.to_string(),
                });
            }
            replaced = Some(e.clone());
        }
        Ok((existing, replaced))
    }

    /// Uploads the manifest bytes with their media type.
    pub(super) fn put_manifest(
        &self,
        r: &Reference,
        client: &Client,
        manifest: &Manifest,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        let ct = manifest
            .media_type
            .clone()
            .unwrap_or_else(|| media_type::IMAGE_MANIFEST.to_string());
        let ct = http_value(&ct);
        let cr = r.to_client();
        self.call(r, "the manifest upload", || {
            client.push_manifest_raw(&cr, bytes.to_vec(), ct.clone())
        })?;
        Ok(())
    }

    /// Pushes the artifact `tag` names in `layout` (the only one when `tag` is `None`) to
    /// `r`, byte for byte, as [`Registry::push`] does for an image in memory, but streaming
    /// each missing blob from its file (hashed on the way; a blob that does not match its
    /// digest is not committed). The manifest is read and checked against its digest first;
    /// when `r` already names that manifest, nothing else is read or sent.
    pub fn push_layout(
        &self,
        layout: &Layout,
        tag: Option<&str>,
        r: &Reference,
        opts: &PushOptions,
    ) -> Result<PushOutcome, RegistryError> {
        let limits = self.opts.limits;
        let (desc, manifest_json, manifest) = layout.read_manifest(tag, &limits)?;
        let digest = desc.digest;
        let blobs = unique_blobs(&manifest);
        let (existing, replaced) = self.check_target(r, &digest, opts)?;
        if existing.as_ref() == Some(&digest) {
            return Ok(PushOutcome {
                digest,
                blobs_uploaded: 0,
                blobs_present: blobs.len(),
                manifest_pushed: false,
                replaced: None,
            });
        }
        within_limits(&blobs, &limits, &format!("`{}`", layout.dir().display()))?;
        let files = blobs
            .iter()
            .map(|d| layout.blob_file(d))
            .collect::<Result<Vec<_>, _>>()?;
        let (client, auth) = self.client(r)?;
        self.rt
            .block_on(client.store_auth_if_needed(&r.host, &auth));
        let jobs: Vec<(Descriptor, PathBuf)> =
            blobs.iter().map(|d| (*d).clone()).zip(files).collect();
        let retries = self.opts.retries;
        let cr = r.to_client();
        let results = self.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            let mut jobs = jobs.into_iter();
            let mut out = Vec::new();
            let start = |set: &mut tokio::task::JoinSet<_>, (d, path): (Descriptor, PathBuf)| {
                set.spawn(upload_task(client.clone(), cr.clone(), d, path, retries));
            };
            for job in jobs.by_ref().take(PARALLEL) {
                start(&mut set, job);
            }
            while let Some(res) = set.join_next().await {
                out.push(res);
                if let Some(job) = jobs.next() {
                    start(&mut set, job);
                }
            }
            out
        });
        let mut uploaded = 0;
        let mut present = 0;
        for res in results {
            let done = res.map_err(|e| RegistryError::Network {
                host: r.host.clone(),
                message: format!("a blob upload stopped: {e}"),
                help: None,
            })?;
            self.retried
                .fetch_add(done.retried, std::sync::atomic::Ordering::Relaxed);
            match done.outcome {
                Ok(true) => uploaded += 1,
                Ok(false) => present += 1,
                Err(Failed::Content(e)) => return Err(e.into()),
                Err(Failed::Transfer(action, e)) => {
                    let tried = retryable(&e);
                    let e = self.classify(r, action, e);
                    return Err(if tried {
                        gave_up(e, done.retried + 1)
                    } else {
                        e
                    });
                }
            }
        }
        self.put_manifest(r, &client, &manifest, &manifest_json)?;
        Ok(PushOutcome {
            digest,
            blobs_uploaded: uploaded,
            blobs_present: present,
            manifest_pushed: true,
            replaced,
        })
    }

    /// Pulls the manifest `r` names and every blob it lists into `layout` under `tag`: each
    /// missing blob streamed to a temporary file beside its place, hashed and counted on the
    /// way, and renamed into place only once its size and digest match; the manifest and
    /// `index.json` last. A tag naming other content is refused before anything is
    /// downloaded, unless `opts.force`. Limits are checked before any download.
    pub fn pull_into_layout(
        &self,
        r: &Reference,
        layout: &Layout,
        tag: &str,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome, RegistryError> {
        crate::oci::layout::validate_tag(tag)?;
        let limits = self.opts.limits;
        let (body, manifest) = self.manifest_raw(r)?;
        let digest = Digest::of(&body);
        layout.check_tag(tag, &digest, opts)?;
        let blobs = unique_blobs(&manifest);
        within_limits(&blobs, &limits, &format!("`{r}`"))?;
        let (client, auth) = self.client(r)?;
        self.rt
            .block_on(client.store_auth_if_needed(&r.host, &auth));
        let mut written = 0;
        for d in blobs {
            if layout.contains_blob(&d.digest, d.size) {
                continue;
            }
            self.download_to(r, &client, d, layout)?;
            written += 1;
        }
        let (_, wrote) = layout.store_blob(&body)?;
        written += usize::from(wrote);
        let desc = Descriptor {
            media_type: media_type::IMAGE_MANIFEST.to_string(),
            digest: digest.clone(),
            size: body.len() as u64,
            annotations: Default::default(),
            artifact_type: None,
        };
        let (index_updated, replaced) = layout.set_tag(&desc, tag, opts)?;
        Ok(WriteOutcome {
            digest,
            blobs_written: written,
            index_updated,
            replaced,
        })
    }

    /// Downloads one blob into the layout, with retries (each attempt starts a new temporary
    /// file); a content failure (size or digest mismatch, a write error) is not retried.
    fn download_to(
        &self,
        r: &Reference,
        client: &Client,
        d: &Descriptor,
        layout: &Layout,
    ) -> Result<(), RegistryError> {
        let od = oci_descriptor(d);
        let cr = r.to_client();
        let what = format!("blob `{}` of `{r}`", d.digest);
        let mut attempt = 0u32;
        loop {
            let failure: Failure = Arc::default();
            let mut sink = Sink {
                writer: Some(layout.blob_writer(d)?),
                failure: failure.clone(),
            };
            let res = self.rt.block_on(client.pull_blob(&cr, &od, &mut sink));
            if let Some(e) = take(&failure) {
                return Err(naming(e, what).into());
            }
            match res {
                Ok(()) => {
                    let Some(w) = sink.writer.take() else {
                        return Err(OciError::BlobMissing {
                            digest: d.digest.to_string(),
                            location: r.to_string(),
                        }
                        .into());
                    };
                    return w.finish().map_err(|e| RegistryError::from(naming(e, what)));
                }
                Err(OciDistributionError::DigestError(x)) => {
                    return Err(OciError::DigestMismatch {
                        what,
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
                Err(e) if attempt < self.opts.retries && retryable(&e) => {
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                    self.retried
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => {
                    let tried = retryable(&e);
                    let e = self.classify(r, "a blob download", e);
                    return Err(if tried { gave_up(e, attempt + 1) } else { e });
                }
            }
        }
    }
}
