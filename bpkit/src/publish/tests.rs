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

/// The locks of the reference catalog: what each pins, by Blueprint name and version.
fn pins(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let (nodes, _) = check(&[dir.join("blueprints")], &LintOptions::default()).unwrap();
    let locks = resolved_locks(&nodes);
    nodes
        .iter()
        .zip(&locks)
        .map(|(n, l)| {
            let l = l.as_ref().unwrap();
            let pinned = l
                .nodes
                .iter()
                .filter(|x| x.blueprint != n.bp.name())
                .map(|x| format!("{}@{}", x.blueprint, x.version))
                .collect();
            (n.bp.name().to_string(), pinned)
        })
        .collect()
}

#[test]
fn locks_come_from_the_resolver_not_the_depends_closure() {
    let d = catalog_copy();
    // A second, newer postgres that sso's range allows, and an older one it does not.
    let pg = d.path().join("blueprints/postgres");
    for (folder, version) in [("postgres-next", "1.7.0"), ("postgres-old", "0.9.0")] {
        let to = d.path().join("blueprints").join(folder);
        copy_dir(&pg, &to);
        for f in ["blueprint.yaml", "chart/Chart.yaml"] {
            let f = to.join(f);
            let text = std::fs::read_to_string(&f).unwrap();
            let text = text.replacen("version: 1.6.1", &format!("version: {version}"), 1);
            std::fs::write(&f, text).unwrap();
        }
    }
    let pins = pins(d.path());
    let set = |xs: &[&str]| -> BTreeSet<String> { xs.iter().map(|x| x.to_string()).collect() };
    // `bp-ingress` depends on `bp-tls-issuer` only `when` its default certificate is enabled,
    // which it is not by default: the resolver does not pin it (the closure did).
    assert_eq!(pins["bp-ingress"], set(&[]));
    // Ranges: the newest version that fits, once.
    assert_eq!(pins["bp-sso"], set(&["bp-postgres@1.7.0"]));
    assert!(
        pins["bp-wordpress"].contains("bp-postgres@1.7.0")
            && !pins["bp-wordpress"].contains("bp-tls-issuer@1.2.0"),
        "{:?}",
        pins["bp-wordpress"]
    );
    // `bp-platform` cannot be planned without settings that have no default: it keeps the
    // conservative lock, every dependency its `depends` can reach.
    assert!(pins["bp-platform"].contains("bp-tls-issuer@1.2.0"));
    assert!(pins["bp-platform"].contains("bp-ingress@1.5.3"));

    // A change to `bp-tls-issuer` re-publishes what pins it, not what merely could.
    let (nodes, _) = check(&[d.path().join("blueprints")], &LintOptions::default()).unwrap();
    let locks = resolved_locks(&nodes);
    let g = resolved_graph(&nodes, &locks);
    let at = |name: &str| nodes.iter().position(|n| n.bp.name() == name).unwrap();
    let hit: BTreeSet<String> = g
        .dependents_closure(&BTreeSet::from([at("bp-tls-issuer")]))
        .into_iter()
        .map(|i| nodes[i].bp.name().to_string())
        .collect();
    assert_eq!(hit, set(&["bp-tls-issuer", "bp-platform"]));
    // The conservative graph still orders the work.
    let order = dependency_graph(&nodes).order().unwrap();
    let pos = |name: &str| order.iter().position(|&i| i == at(name)).unwrap();
    assert!(pos("bp-tls-issuer") < pos("bp-ingress"));
}
