//! The signing side of `bpkit publish`: the key (given, or a project-local development key)
//! and the [`Trust`] that signs and attests with it.

use super::publish::PublishArgs;
use super::{Exit, Printer};
use crate::publish::{SourceInfo, Target, Trust};

/// The trust layer for a run: `None` with `--no-sign`.
pub fn trust(
    a: &PublishArgs,
    _target: &Target,
    _source: &SourceInfo,
    p: &Printer,
) -> Result<Option<Box<dyn Trust>>, Exit> {
    if a.no_sign {
        return Ok(None);
    }
    p.error("signing is not available in this build; pass `--no-sign`");
    Err(Exit::Error)
}

/// Whether a private key file opens (with `BPKIT_KEY_PASSWORD` or `COSIGN_PASSWORD`, else an
/// empty password); its key id when known.
pub fn check_key(bytes: &[u8]) -> Result<Option<String>, String> {
    if !bytes.starts_with(b"-----BEGIN ") {
        return Err("not a PEM private key".into());
    }
    Ok(None)
}
