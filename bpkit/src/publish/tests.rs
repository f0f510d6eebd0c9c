use super::*;

fn catalog_copy() -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../blueprints");
    let d = tempfile::tempdir().unwrap();
    copy_dir(&src, &d.path().join("blueprints"));
    d
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

fn opts(dir: &Path) -> PublishOptions {
    PublishOptions {
        paths: vec![dir.join("blueprints")],
        jobs: 2,
        ..PublishOptions::default()
    }
}

#[test]
fn publishes_in_dependency_order_then_uploads_nothing() {
    let d = catalog_copy();
    let repos = LayoutRepos::new(&d.path().join("dist/oci"));
    let r = publish(&opts(d.path()), &repos, None, &Silent).unwrap();
    assert_eq!(r.rows.len(), 11, "{}", report::table(&r));
    assert!(r.ok(), "{}", report::table(&r));
    assert!(r.rows.iter().all(|x| x.status == Status::Published));
    let pos = |n: &str| r.rows.iter().position(|x| x.name == n).unwrap();
    assert!(pos("bp-postgres") < pos("bp-wordpress"));
    assert!(pos("bp-tls-issuer") < pos("bp-ingress"));
    assert!(pos("bp-ingress") < pos("bp-platform"));
    assert!(d.path().join("dist/oci/bp-postgres/oci-layout").is_file());
    let again = publish(&opts(d.path()), &repos, None, &Silent).unwrap();
    assert_eq!(again.uploaded(), 0, "{}", report::table(&again));
    assert!(again.rows.iter().all(|x| x.status == Status::Unchanged));
}

#[test]
fn changed_content_under_a_published_version_is_refused() {
    let d = catalog_copy();
    let repos = LayoutRepos::new(&d.path().join("dist/oci"));
    publish(&opts(d.path()), &repos, None, &Silent).unwrap();
    let values = d.path().join("blueprints/postgres/chart/values.yaml");
    let mut text = std::fs::read_to_string(&values).unwrap();
    text.push_str("\n# changed\n");
    std::fs::write(&values, text).unwrap();
    let r = publish(&opts(d.path()), &repos, None, &Silent).unwrap();
    let pg = r.rows.iter().find(|x| x.name == "bp-postgres").unwrap();
    match &pg.status {
        Status::Failed(why) => assert!(why.contains("bump `metadata.version`"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Dependents are not attempted.
    let wp = r.rows.iter().find(|x| x.name == "bp-wordpress").unwrap();
    assert!(matches!(wp.status, Status::Skipped(_)), "{:?}", wp.status);
    assert!(!r.ok());
}

#[test]
fn errors_stop_before_any_upload() {
    let d = catalog_copy();
    let f = d.path().join("blueprints/valkey/blueprint.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replace("kind: Blueprint", "kind: Blueprnt")).unwrap();
    let repos = LayoutRepos::new(&d.path().join("dist/oci"));
    match publish(&opts(d.path()), &repos, None, &Silent) {
        Err(PublishError::Invalid { errors, findings }) => {
            assert!(errors > 0);
            assert!(
                findings
                    .iter()
                    .any(|f| f.file_name().is_some_and(|n| n.contains("valkey")))
            );
        }
        other => panic!("{:?}", other.map(|r| report::table(&r))),
    }
    assert!(!d.path().join("dist").exists());
}

#[test]
fn gitignore_entries_are_added_once() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(".gitignore"), "target\n.bpkit").unwrap();
    let added = ensure_gitignore(d.path(), &["/.bpkit/", "/dist/"]).unwrap();
    assert_eq!(added, vec!["/dist/".to_string()]);
    assert!(
        ensure_gitignore(d.path(), &["/.bpkit/", "/dist/"])
            .unwrap()
            .is_empty()
    );
    let text = std::fs::read_to_string(d.path().join(".gitignore")).unwrap();
    assert_eq!(text, "target\n.bpkit\n/dist/\n");
}
