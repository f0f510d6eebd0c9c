use super::*;
use crate::oci::store::{read_image, referrers_tag, write_image};
use crate::oci::{Image, Layout};

fn setup() -> (tempfile::TempDir, Layout, Descriptor) {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(&tmp.path().join("l")).unwrap();
    let d = artifact(&layout, b"kind: Blueprint\n", "1.0.0");
    (tmp, layout, d)
}

fn artifact(store: &dyn Store, content: &[u8], tag: &str) -> Descriptor {
    let cfg = Descriptor::of(media_type::EMPTY, b"{}");
    let layer = Descriptor::of(media_type::BLUEPRINT, content);
    let img = Image::new(
        Manifest::new(cfg, vec![layer]),
        vec![b"{}".to_vec(), content.to_vec()],
    )
    .unwrap();
    let mut d = write_image(store, &img, Some(tag)).unwrap();
    d.annotations.clear();
    d.artifact_type = None;
    d
}

fn no_annotations() -> BTreeMap<String, String> {
    BTreeMap::new()
}

#[test]
fn sign_verify_both_layouts_and_idempotency() {
    let (_t, layout, subject) = setup();
    let signer = Signer::generate().unwrap();
    let out = sign(
        &layout,
        &subject,
        "r.test/bp/demo:1.0.0",
        &signer,
        &SignOptions::default(),
    )
    .unwrap();
    assert_eq!(out.tag_layout, Change::Written);
    assert_eq!(out.referrer, Change::Written);
    let sig_tag = signature_tag(&subject.digest);
    let sig = layout.find_tag(&sig_tag).unwrap().unwrap();
    let m = Manifest::from_json("sig", &layout.get_manifest(&sig.digest).unwrap()).unwrap();
    assert_eq!(m.layers.len(), 1);
    assert_eq!(m.layers[0].media_type, SIMPLE_SIGNING_MEDIA_TYPE);
    assert!(m.layers[0].annotations.contains_key(SIGNATURE_ANNOTATION));
    let refs = layout.referrers(&subject.digest).unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].artifact_type.as_deref(), Some(BUNDLE_MEDIA_TYPE));

    let ok = verify(
        &layout,
        &subject.digest,
        &signer.verifier(),
        &no_annotations(),
    )
    .unwrap();
    assert_eq!(ok.signatures.len(), 2);
    assert_eq!(
        ok.signatures[0].docker_reference.as_deref(),
        Some("r.test/bp/demo:1.0.0")
    );

    // Again with the same key: nothing written.
    let index_before = std::fs::read(layout.dir().join("index.json")).unwrap();
    let again = sign(
        &layout,
        &subject,
        "r.test/bp/demo:1.0.0",
        &signer,
        &SignOptions::default(),
    )
    .unwrap();
    assert_eq!(again.tag_layout, Change::Unchanged);
    assert_eq!(again.referrer, Change::Unchanged);
    assert_eq!(again.signature_manifest, out.signature_manifest);
    assert_eq!(
        std::fs::read(layout.dir().join("index.json")).unwrap(),
        index_before
    );

    // A second key adds a layer; both verify.
    let other = Signer::generate().unwrap();
    sign(
        &layout,
        &subject,
        "r.test/bp/demo:1.0.0",
        &other,
        &SignOptions::default(),
    )
    .unwrap();
    let sig = layout.find_tag(&sig_tag).unwrap().unwrap();
    let m = Manifest::from_json("sig", &layout.get_manifest(&sig.digest).unwrap()).unwrap();
    assert_eq!(m.layers.len(), 2);
    assert!(
        verify(
            &layout,
            &subject.digest,
            &signer.verifier(),
            &no_annotations()
        )
        .is_ok()
    );
    assert!(
        verify(
            &layout,
            &subject.digest,
            &other.verifier(),
            &no_annotations()
        )
        .is_ok()
    );
    assert_eq!(layout.referrers(&subject.digest).unwrap().len(), 2);

    // Forced: this key's layer is replaced, not added.
    let forced = sign(
        &layout,
        &subject,
        "r.test/bp/demo:1.0.0",
        &signer,
        &SignOptions {
            force: true,
            ..SignOptions::default()
        },
    )
    .unwrap();
    assert_eq!(forced.tag_layout, Change::Written);
    let sig = layout.find_tag(&sig_tag).unwrap().unwrap();
    let m = Manifest::from_json("sig", &layout.get_manifest(&sig.digest).unwrap()).unwrap();
    assert_eq!(m.layers.len(), 2);
}

#[test]
fn verify_failures_are_distinct() {
    let (_t, layout, subject) = setup();
    let signer = Signer::generate().unwrap();
    let stranger = Signer::generate().unwrap().verifier();

    // Unsigned.
    let e = verify(&layout, &subject.digest, &stranger, &no_annotations()).unwrap_err();
    assert!(matches!(e, TrustError::NoSignature { .. }), "{e}");
    assert!(e.to_string().contains("is not signed"), "{e}");

    let mut ann = BTreeMap::new();
    ann.insert("env".to_string(), "prod".to_string());
    sign(
        &layout,
        &subject,
        "r.test/bp/demo:1.0.0",
        &signer,
        &SignOptions {
            annotations: ann.clone(),
            ..SignOptions::default()
        },
    )
    .unwrap();

    // Another key.
    let e = verify(&layout, &subject.digest, &stranger, &no_annotations()).unwrap_err();
    assert!(matches!(e, TrustError::OtherKey { found: 2, .. }), "{e}");
    assert!(e.to_string().contains("made with another key"), "{e}");
    assert!(e.to_string().contains(&signer.verifier().key_id()), "{e}");

    // Annotations.
    let ok = verify(&layout, &subject.digest, &signer.verifier(), &ann).unwrap();
    assert!(ok.signatures.iter().all(|s| s.annotations == ann));
    let mut want = BTreeMap::new();
    want.insert("env".to_string(), "dev".to_string());
    let e = verify(&layout, &subject.digest, &signer.verifier(), &want).unwrap_err();
    assert!(
        e.to_string()
            .contains("annotation `env` is `prod`, expected `dev`"),
        "{e}"
    );

    // The signature moved to another artifact (tag layout only: referrers name their subject).
    let other = artifact(&layout, b"kind: Blueprint\nother: 1\n", "2.0.0");
    let sig = layout
        .find_tag(&signature_tag(&subject.digest))
        .unwrap()
        .unwrap();
    let bytes = layout.get_manifest(&sig.digest).unwrap();
    layout
        .put_manifest(
            &bytes,
            media_type::IMAGE_MANIFEST,
            Some(&signature_tag(&other.digest)),
        )
        .unwrap();
    let e = verify(
        &layout,
        &other.digest,
        &signer.verifier(),
        &no_annotations(),
    )
    .unwrap_err();
    assert!(matches!(e, TrustError::OtherDigest { .. }), "{e}");
    assert!(e.to_string().contains("moved from another artifact"), "{e}");

    // A tampered payload blob (both layouts' layers overwritten).
    let m = Manifest::from_json("sig", &bytes).unwrap();
    std::fs::write(layout.blob_path(&m.layers[0].digest), b"{\"evil\":1}").unwrap();
    let r = &layout.referrers(&subject.digest).unwrap()[0];
    let rm = Manifest::from_json("r", &layout.get_manifest(&r.digest).unwrap()).unwrap();
    std::fs::write(layout.blob_path(&rm.layers[0].digest), b"{}").unwrap();
    let e = verify(
        &layout,
        &subject.digest,
        &signer.verifier(),
        &no_annotations(),
    )
    .unwrap_err();
    assert!(matches!(e, TrustError::TamperedLayer { .. }), "{e}");
    assert!(e.to_string().contains("was tampered with"), "{e}");
}

#[test]
fn altered_payload_with_a_valid_descriptor_is_tampering_for_the_claimed_key() {
    let (_t, layout, subject) = setup();
    let signer = Signer::generate().unwrap();
    sign(
        &layout,
        &subject,
        "r.test/bp/demo:1.0.0",
        &signer,
        &SignOptions {
            layouts: Layouts::Referrer,
            ..SignOptions::default()
        },
    )
    .unwrap();
    assert!(
        layout
            .find_tag(&signature_tag(&subject.digest))
            .unwrap()
            .is_none()
    );
    // Rewrite the bundle: same key hint, altered payload, fresh descriptors.
    let r = layout.referrers(&subject.digest).unwrap()[0].clone();
    let mut m = Manifest::from_json("r", &layout.get_manifest(&r.digest).unwrap()).unwrap();
    let mut bundle = Bundle::from_json(&layout.get_blob(&m.layers[0]).unwrap()).unwrap();
    if let BundleContent::DsseEnvelope(env) = &mut bundle.content {
        env.payload.push(b' ');
    }
    let bytes = bundle.to_json();
    layout.put_blob(&bytes).unwrap();
    m.layers[0] = Descriptor::of(BUNDLE_MEDIA_TYPE, &bytes);
    let d = layout
        .put_manifest(&m.to_json(), media_type::IMAGE_MANIFEST, None)
        .unwrap();
    // Replace the fallback index with one naming only the altered referrer.
    let mut idx = crate::oci::store::Index::new();
    idx.manifests.push(d);
    layout
        .put_manifest(
            &idx.to_json(),
            media_type::IMAGE_INDEX,
            Some(&referrers_tag(&subject.digest)),
        )
        .unwrap();
    let e = verify(
        &layout,
        &subject.digest,
        &signer.verifier(),
        &no_annotations(),
    )
    .unwrap_err();
    assert!(matches!(e, TrustError::TamperedPayload { .. }), "{e}");
    assert!(e.to_string().contains("altered after signing"), "{e}");
}

#[test]
fn attest_and_verify_attestation() {
    let (_t, layout, subject) = setup();
    let signer = Signer::generate().unwrap();
    let p = predicate::provenance(
        &predicate::ProvenanceInput {
            source_repository: Some("https://git.test/catalog".into()),
            revision: Some("abc123".into()),
            path: Some("blueprints/demo".into()),
            ..Default::default()
        },
        &|_| None,
    );
    let pv = predicate::provenance_predicate(&p);
    let out = attest(
        &layout,
        &subject,
        &signer,
        predicate::SLSA_PROVENANCE_V1,
        &pv,
        &AttestOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (out.tag_layout, out.referrer),
        (Change::Written, Change::Written)
    );
    let again = attest(
        &layout,
        &subject,
        &signer,
        predicate::SLSA_PROVENANCE_V1,
        &pv,
        &AttestOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (again.tag_layout, again.referrer),
        (Change::Unchanged, Change::Unchanged)
    );
    let sbom = json!({"bomFormat": "CycloneDX", "specVersion": "1.6"});
    attest(
        &layout,
        &subject,
        &signer,
        predicate::CYCLONEDX,
        &sbom,
        &AttestOptions::default(),
    )
    .unwrap();
    let att = layout
        .find_tag(&attestation_tag(&subject.digest))
        .unwrap()
        .unwrap();
    let m = Manifest::from_json("att", &layout.get_manifest(&att.digest).unwrap()).unwrap();
    assert_eq!(m.layers.len(), 2, "appended");
    assert_eq!(m.layers[0].media_type, DSSE_MEDIA_TYPE);
    assert_eq!(
        m.layers[1].annotations[PREDICATE_TYPE_ANNOTATION],
        predicate::CYCLONEDX
    );

    let v = verify_attestation(
        &layout,
        &subject.digest,
        &signer.verifier(),
        predicate::SLSA_PROVENANCE_V1,
    )
    .unwrap();
    assert_eq!(
        v.predicate()["buildDefinition"]["externalParameters"]["revision"],
        "abc123"
    );
    let v = verify_attestation(
        &layout,
        &subject.digest,
        &signer.verifier(),
        predicate::CYCLONEDX,
    )
    .unwrap();
    assert_eq!(v.predicate(), &sbom);
    let e = verify_attestation(
        &layout,
        &subject.digest,
        &signer.verifier(),
        predicate::SPDX,
    )
    .unwrap_err();
    assert!(e.to_string().contains("no attestation of type"), "{e}");
    let stranger = Signer::generate().unwrap().verifier();
    let e = verify_attestation(
        &layout,
        &subject.digest,
        &stranger,
        predicate::SLSA_PROVENANCE_V1,
    )
    .unwrap_err();
    assert!(matches!(e, TrustError::OtherKey { .. }), "{e}");
    // Only the tag layout: still found.
    let (_t2, l2, s2) = setup();
    attest(
        &l2,
        &s2,
        &signer,
        predicate::CYCLONEDX,
        &sbom,
        &AttestOptions {
            layouts: Layouts::Tag,
            ..AttestOptions::default()
        },
    )
    .unwrap();
    assert!(l2.referrers(&s2.digest).unwrap().is_empty());
    assert!(verify_attestation(&l2, &s2.digest, &signer.verifier(), predicate::CYCLONEDX).is_ok());
    let e = attest(
        &l2,
        &s2,
        &signer,
        predicate::CYCLONEDX,
        &json!([1]),
        &AttestOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("expected a JSON object"), "{e}");
}

#[test]
fn signature_layout_matches_cosign() {
    let (_t, layout, subject) = setup();
    let signer = Signer::generate().unwrap();
    sign(
        &layout,
        &subject,
        "r.test/bp/demo:1.0.0",
        &signer,
        &SignOptions::default(),
    )
    .unwrap();
    let sig = layout
        .find_tag(&signature_tag(&subject.digest))
        .unwrap()
        .unwrap();
    let img = read_image(&layout, &sig.digest).unwrap();
    let payload = img.layer(SIMPLE_SIGNING_MEDIA_TYPE).unwrap().1;
    assert_eq!(
        std::str::from_utf8(payload).unwrap(),
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"r.test/bp/demo:1.0.0"}},"image":{{"docker-manifest-digest":"{}"}},"type":"cosign container image signature"}},"optional":null}}"#,
            subject.digest
        )
    );
    let cfg: Value = serde_json::from_slice(img.config()).unwrap();
    assert_eq!(
        cfg["rootfs"]["diff_ids"][0],
        img.manifest().layers[0].digest.to_string()
    );
    assert_eq!(img.manifest().config.media_type, IMAGE_CONFIG_MEDIA_TYPE);
    assert_eq!(
        repository_of("r.test:5000/bp/demo:1.0.0"),
        "r.test:5000/bp/demo"
    );
    assert_eq!(repository_of("r.test:5000/bp/demo"), "r.test:5000/bp/demo");
}
