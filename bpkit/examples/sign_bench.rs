//! `cargo xtask bench sign`: push, sign (cosign tag layout + bundle referrer) and verify N
//! small artifacts on a registry, in one process with one loaded key, the way `bpkit publish`
//! does it.
//!
//! Usage: `sign_bench HOST N` (a plain-HTTP or TLS registry on `HOST`). Prints one line:
//! `sign-bench artifacts=N push_ms=… sign_ms=… verify_ms=…` (totals).

use std::collections::BTreeMap;
use std::time::Instant;

use bpkit::oci::registry::{Reference, Registry, RegistryOptions, RegistryStore};
use bpkit::oci::store::write_image;
use bpkit::oci::{Descriptor, Image, Manifest, media_type};
use bpkit::trust::{self, SignOptions, Signer};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(host), Some(n)) = (
        args.get(1),
        args.get(2).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        return Err("usage: sign_bench HOST N".into());
    };
    let reg = Registry::new(RegistryOptions {
        retries: 3,
        ..RegistryOptions::default()
    })
    .map_err(|e| e.to_string())?;
    let signer = Signer::generate().map_err(|e| e.to_string())?;
    let verifier = signer.verifier();
    let run = std::process::id();
    let mut subjects = Vec::new();
    let t0 = Instant::now();
    for i in 0..n {
        let r = Reference::parse(&format!("{host}/bench/sign-{run}-{i}:1.0.0"))
            .map_err(|e| e.to_string())?;
        let content = format!("kind: Blueprint\nindex: {i}\nrun: {run}\n").into_bytes();
        let cfg = Descriptor::of(media_type::EMPTY, b"{}");
        let layer = Descriptor::of(media_type::BLUEPRINT, &content);
        let img = Image::new(
            Manifest::new(cfg, vec![layer]),
            vec![b"{}".to_vec(), content],
        )
        .map_err(|e| e.to_string())?;
        let store = RegistryStore::new(&reg, &r);
        let mut d = write_image(&store, &img, Some("1.0.0")).map_err(|e| e.to_string())?;
        d.annotations.clear();
        d.artifact_type = None;
        subjects.push((r, d));
    }
    let push = t0.elapsed();
    let t1 = Instant::now();
    for (r, d) in &subjects {
        let store = RegistryStore::new(&reg, r);
        trust::sign(&store, d, &r.to_string(), &signer, &SignOptions::default())
            .map_err(|e| e.to_string())?;
    }
    let sign = t1.elapsed();
    let t2 = Instant::now();
    for (r, d) in &subjects {
        let store = RegistryStore::new(&reg, r);
        let out = trust::verify(&store, &d.digest, &verifier, &BTreeMap::new())
            .map_err(|e| e.to_string())?;
        if out.signatures.len() != 2 {
            return Err(format!(
                "{r}: {} signatures verified, expected 2",
                out.signatures.len()
            ));
        }
    }
    let verify = t2.elapsed();
    println!(
        "sign-bench artifacts={n} push_ms={:.1} sign_ms={:.1} verify_ms={:.1}",
        push.as_secs_f64() * 1000.0,
        sign.as_secs_f64() * 1000.0,
        verify.as_secs_f64() * 1000.0
    );
    Ok(())
}
