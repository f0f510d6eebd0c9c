//! Loading keys: cosign's encrypted private key with a password from the environment or a
//! terminal prompt (never echoed, never printed), and PKIX public keys.

use std::io::{BufRead, Write};
use std::path::Path;

use super::{Signer, TrustError, Verifier};

/// The environment variable bpkit reads the private key password from first.
pub const PASSWORD_ENV: &str = "BPKIT_KEY_PASSWORD";
/// cosign's password variable, read when [`PASSWORD_ENV`] is unset.
pub const PASSWORD_ENV_COSIGN: &str = "COSIGN_PASSWORD";

/// The largest key file read (keys are a few hundred bytes).
const MAX_KEY_FILE: u64 = 64 * 1024;

fn read_key_file(path: &Path) -> Result<Vec<u8>, TrustError> {
    let err = |message: String| TrustError::KeyFile {
        path: path.display().to_string(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("it is not a regular file".into()));
    }
    if meta.len() > MAX_KEY_FILE {
        return Err(err(format!(
            "it is {} bytes, more than a key file can be ({MAX_KEY_FILE} bytes)",
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| err(e.to_string()))
}

/// The key password: `BPKIT_KEY_PASSWORD`, else `COSIGN_PASSWORD`, else asked on the terminal
/// (`prompt`, without echo; `confirm` asks twice and compares). Fails clearly when there is
/// neither a variable nor a terminal.
pub fn read_password(prompt: &str, confirm: bool) -> Result<String, TrustError> {
    for var in [PASSWORD_ENV, PASSWORD_ENV_COSIGN] {
        if let Some(v) = std::env::var_os(var) {
            return v.into_string().map_err(|_| TrustError::Password {
                message: format!("`{var}` is not valid UTF-8"),
            });
        }
    }
    let first = prompt_tty(prompt)?;
    if confirm {
        let again = prompt_tty("enter the password again: ")?;
        if again != first {
            return Err(TrustError::Password {
                message: "the two passwords differ".into(),
            });
        }
    }
    Ok(first)
}

/// Asks on `/dev/tty` with echo off (through `stty`); refuses to read when echo cannot be
/// turned off.
fn prompt_tty(prompt: &str) -> Result<String, TrustError> {
    let no_tty = || TrustError::Password {
        message: format!(
            "no key password: `{PASSWORD_ENV}` and `{PASSWORD_ENV_COSIGN}` are unset and there is no terminal to ask on"
        ),
    };
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| no_tty())?;
    let stty = |arg: &str| -> bool {
        tty.try_clone().is_ok_and(|t| {
            std::process::Command::new("stty")
                .arg(arg)
                .stdin(t)
                .status()
                .is_ok_and(|s| s.success())
        })
    };
    if !stty("-echo") {
        return Err(TrustError::Password {
            message: "cannot turn off echo on the terminal (`stty -echo` failed); set `BPKIT_KEY_PASSWORD` instead".into(),
        });
    }
    let mut w = &tty;
    let _ = w.write_all(prompt.as_bytes());
    let _ = w.flush();
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    stty("echo");
    let _ = w.write_all(b"\n");
    read.map_err(|e| TrustError::Password {
        message: format!("cannot read the password from the terminal: {e}"),
    })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Opens a cosign encrypted private key (PEM bytes) with `password`.
pub fn signer_from_pem(pem: &[u8], password: &[u8]) -> Result<Signer, TrustError> {
    Ok(Signer::from_encrypted_pem(pem, password)?)
}

/// Reads a cosign private key file (`ENCRYPTED SIGSTORE PRIVATE KEY` or `ENCRYPTED COSIGN
/// PRIVATE KEY`), with the password from [`read_password`].
pub fn load_signer(path: &Path) -> Result<Signer, TrustError> {
    let pem = read_key_file(path)?;
    let password = read_password(&format!("password for `{}`: ", path.display()), false)?;
    signer_from_pem(&pem, password.as_bytes())
}

/// Reads a PKIX public key file (`-----BEGIN PUBLIC KEY-----`, as `cosign.pub`).
pub fn load_verifier(path: &Path) -> Result<Verifier, TrustError> {
    let pem = read_key_file(path)?;
    Ok(Verifier::from_pem(&pem)?)
}
