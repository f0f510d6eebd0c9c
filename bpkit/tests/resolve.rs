//! The resolver: real catalogs, backtracking, shared and installed instances, cycles, `when`,
//! outputs, hostile templates and configSchema violations.

use std::path::{Path, PathBuf};

use bpkit::catalog::DirCatalog;
use bpkit::model::{LoadOptions, load_str};
use bpkit::resolve::{
    Action, InMemoryCatalog, Installed, Request, ResolveError, ResolveOptions, resolve,
};
use bpkit::version::Version;
use serde_json::json;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A Blueprint document from a few lines of `spec` (indented by two spaces).
fn bp(name: &str, version: &str, spec: &str) -> bpkit::model::Blueprint {
    let text = format!(
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: {name}\n  version: {version}\nspec:\n  card: {{title: t}}\n  visibility: listed\n{spec}"
    );
    let l = load_str(&format!("{name}@{version}"), &text, &LoadOptions::default());
    assert!(!l.has_errors(), "{:?}", l.findings);
    l.blueprint.expect("loads")
}

fn catalog(items: &[(&str, &str, &str)]) -> InMemoryCatalog {
    let mut c = InMemoryCatalog::new();
    for (n, v, s) in items {
        c.insert(bp(n, v, s)).expect("insert");
    }
    c
}

fn order(plan: &bpkit::resolve::Plan) -> Vec<String> {
    plan.applications
        .iter()
        .map(|a| format!("{}={}@{}", a.name, a.blueprint, a.version))
        .collect()
}

fn err_text(e: ResolveError) -> String {
    e.to_string()
}

#[test]
fn the_reference_umbrella_resolves_dependencies_first() {
    let cat = DirCatalog::open(&[repo().join("blueprints")]).expect("catalog");
    assert!(cat.findings().is_empty(), "{:?}", cat.findings());
    let preview = ResolveOptions {
        require_complete_config: false,
        ..ResolveOptions::default()
    };
    // With defaults only, the umbrella's required fields are missing: a clear error.
    let e = err_text(
        resolve(
            &cat,
            &Request::new("bp-platform", "platform"),
            &ResolveOptions::default(),
        )
        .expect_err("incomplete"),
    );
    assert!(
        e.contains("the requested configuration does not satisfy its configSchema"),
        "{e}"
    );
    let mut req = Request::new("bp-platform", "platform");
    req.values = json!({"domain": "example.org", "adminEmail": "ops@example.org"});
    let plan = resolve(&cat, &req, &ResolveOptions::default()).expect("resolves");
    let pos = |n: &str| plan.applications.iter().position(|a| a.name == n).expect(n);
    for a in &plan.applications {
        for d in &a.depends_on {
            assert!(
                pos(d) < pos(&a.name),
                "{d} must come before {}: {:?}",
                a.name,
                order(&plan)
            );
        }
    }
    assert_eq!(
        plan.applications.last().map(|a| a.name.as_str()),
        Some("platform")
    );
    // The umbrella turns on the shared ingress's default certificate: its own `when` then pulls
    // in the shared issuer (settled in a second round).
    let ingress = plan
        .applications
        .iter()
        .find(|a| a.name == "ingress")
        .expect("ingress");
    assert_eq!(ingress.depends_on, ["tls-issuer"]);
    assert_eq!(ingress.values["defaultCertificate"]["enabled"], json!(true));
    assert!(plan.applications.len() >= 6, "{:?}", order(&plan));
    // Every Blueprint of the reference catalog resolves with its defaults.
    for name in bpkit::resolve::Catalog::names(&cat).expect("names") {
        let mut req = Request::new(&name, "app");
        if name == "bp-platform" || name == "bp-wordpress" {
            // Their dependencies' values are made from these required fields.
            req.values = json!({"domain": "example.org", "adminEmail": "ops@example.org"});
        }
        let r = resolve(&cat, &req, &preview);
        assert!(
            r.is_ok(),
            "{name}: {}",
            r.err().map(err_text).unwrap_or_default()
        );
    }
}

#[test]
fn the_real_corpus_resolves_or_names_what_is_missing() {
    let dir = repo().join("../shared/corpus/openova/platform");
    if !dir.is_dir() {
        eprintln!("SKIPPED: ../shared is absent");
        return;
    }
    let cat = DirCatalog::open(&[dir]).expect("catalog");
    let names = bpkit::resolve::Catalog::names(&cat).expect("names");
    assert_eq!(names.len(), 32);
    let (mut ok, mut missing) = (0, 0);
    for name in names {
        let preview = ResolveOptions {
            require_complete_config: false,
            ..ResolveOptions::default()
        };
        match resolve(&cat, &Request::new(&name, "app"), &preview) {
            Ok(_) => ok += 1,
            Err(ResolveError::NoSolution {
                missing: m, report, ..
            }) => {
                assert!(
                    !m.is_empty(),
                    "{name}: failed without naming a missing Blueprint:\n{report}"
                );
                for x in &m {
                    assert!(
                        report.contains(&format!("`{x}` is not in the catalog")),
                        "{report}"
                    );
                }
                missing += 1;
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
    eprintln!("corpus: {ok} resolve, {missing} name a missing Blueprint");
    assert!(ok > 0 && missing > 0);
}

#[test]
fn conflicts_on_a_shared_instance_backtrack() {
    // x 2.0 wants shared s ^2, but y wants s ^1: the solver must back off to x 1.0.
    let c = catalog(&[
        (
            "bp-app",
            "1.0.0",
            "  depends:\n    - {blueprint: bp-x, version: \">=1\"}\n    - {blueprint: bp-y, version: ^1}\n",
        ),
        (
            "bp-x",
            "1.0.0",
            "  depends: [{blueprint: bp-s, version: ^1, shared: true}]\n",
        ),
        (
            "bp-x",
            "2.0.0",
            "  depends: [{blueprint: bp-s, version: ^2, shared: true}]\n",
        ),
        (
            "bp-y",
            "1.0.0",
            "  depends: [{blueprint: bp-s, version: ^1, shared: true}]\n",
        ),
        ("bp-s", "1.4.0", ""),
        ("bp-s", "2.0.0", ""),
    ]);
    let plan = resolve(
        &c,
        &Request::new("bp-app", "app"),
        &ResolveOptions::default(),
    )
    .expect("resolves");
    assert_eq!(
        order(&plan),
        [
            "s=bp-s@1.4.0",
            "app-x=bp-x@1.0.0",
            "app-y=bp-y@1.0.0",
            "app=bp-app@1.0.0"
        ]
    );
    let s = &plan.applications[0];
    assert!(s.shared);
}

#[test]
fn an_installed_instance_that_cannot_upgrade_is_explained() {
    let c = catalog(&[
        (
            "bp-wordpress",
            "1.3.0",
            "  depends: [{blueprint: bp-postgres, version: ^1.4, alias: db}]\n",
        ),
        ("bp-postgres", "1.2.7", ""),
        ("bp-postgres", "1.4.0", "  upgrades: {from: [1.3.x]}\n"),
    ]);
    let mut req = Request::new("bp-wordpress", "wordpress");
    req.installed.push(Installed {
        name: "shared-pg".into(),
        blueprint: "bp-postgres".into(),
        version: Version::parse("1.2.7").expect("v"),
        config: json!({}),
    });
    let e = err_text(resolve(&c, &req, &ResolveOptions::default()).expect_err("no plan"));
    assert!(
        e.starts_with("no install plan for `wordpress` (`bp-wordpress`)"),
        "{e}"
    );
    assert!(
        e.contains("`bp-wordpress` 1.3.0 (Application `wordpress`) needs `bp-postgres` `^1.4` (1.4.0) and binds it to existing Application `shared-pg`"),
        "{e}"
    );
    assert!(e.contains("existing Application `shared-pg` runs `bp-postgres` 1.2.7, and 1.4.0 allows upgrades only from `1.3.x`"), "{e}");
    assert!(
        e.contains("help: upgrade the existing Application first"),
        "{e}"
    );
}

#[test]
fn an_installed_instance_is_reused_or_upgraded() {
    let c = catalog(&[
        (
            "bp-wordpress",
            "1.3.0",
            "  depends: [{blueprint: bp-postgres, version: ^1.2, alias: db}]\n",
        ),
        ("bp-postgres", "1.2.7", ""),
        ("bp-postgres", "1.3.0", "  upgrades: {from: [1.2.x]}\n"),
    ]);
    let mut req = Request::new("bp-wordpress", "wp");
    req.installed.push(Installed {
        name: "pg".into(),
        blueprint: "bp-postgres".into(),
        version: Version::parse("1.2.7").expect("v"),
        config: json!({}),
    });
    let plan = resolve(&c, &req, &ResolveOptions::default()).expect("plan");
    assert_eq!(plan.applications[0].action, Action::Reuse);
    req.prefer_installed = false;
    let plan = resolve(&c, &req, &ResolveOptions::default()).expect("plan");
    assert_eq!(
        plan.applications[0].action,
        Action::Upgrade {
            from: "1.2.7".into()
        }
    );
    assert_eq!(plan.applications[0].version, "1.3.0");
}

#[test]
fn cycles_are_named() {
    let c = catalog(&[
        ("bp-a", "1.0.0", "  depends: [{blueprint: bp-b}]\n"),
        ("bp-b", "1.0.0", "  depends: [{blueprint: bp-a}]\n"),
    ]);
    let e = resolve(&c, &Request::new("bp-a", "a"), &ResolveOptions::default()).expect_err("cycle");
    let ResolveError::NoSolution { cycles, report, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(
        cycles,
        &vec![vec!["bp-a".to_string(), "bp-b".into(), "bp-a".into()]]
    );
    assert!(
        report.contains("dependency cycle: `bp-a` -> `bp-b` -> `bp-a`"),
        "{report}"
    );
    // Through shared instances the cycle shows in the install order.
    let c = catalog(&[
        (
            "bp-a",
            "1.0.0",
            "  depends: [{blueprint: bp-s, shared: true}]\n",
        ),
        (
            "bp-s",
            "1.0.0",
            "  depends: [{blueprint: bp-t, shared: true}]\n",
        ),
        (
            "bp-t",
            "1.0.0",
            "  depends: [{blueprint: bp-s, shared: true}]\n",
        ),
    ]);
    let e = resolve(&c, &Request::new("bp-a", "a"), &ResolveOptions::default()).expect_err("cycle");
    assert_eq!(
        err_text(e),
        "the Applications depend on each other in a cycle: s -> t -> s"
    );
}

const WP: &str = "  configSchema:\n    type: object\n    properties:\n      postgres:\n        type: object\n        properties:\n          mode: {enum: [embedded, external], default: embedded}\n  depends:\n    - blueprint: bp-postgres\n      version: ^1\n      alias: db\n      when: \"{{ .config.postgres.mode == 'embedded' }}\"\n      values:\n        databases: [\"{{ .application.name }}\"]\n    - blueprint: bp-backup\n      alias: backup\n      when: \"{{ .config.postgres.mode == 'embedded' }}\"\n      values:\n        target: \"{{ .outputs.db.host }}:{{ .outputs.db.port }}\"\n";
const PG: &str = "  configSchema:\n    type: object\n    properties:\n      databases: {type: array, items: {type: string}, default: []}\n  outputs:\n    host: \"{{ .application.name }}-rw\"\n    port: 5432\n";
const BACKUP: &str = "  configSchema:\n    type: object\n    properties:\n      target: {type: string, pattern: \"^[a-z0-9-]+:[0-9]+$\"}\n";

#[test]
fn when_and_outputs_shape_the_plan() {
    let c = catalog(&[
        ("bp-wordpress", "1.0.0", WP),
        ("bp-postgres", "1.6.0", PG),
        ("bp-backup", "0.4.0", BACKUP),
    ]);
    let plan = resolve(
        &c,
        &Request::new("bp-wordpress", "blog"),
        &ResolveOptions::default(),
    )
    .expect("plan");
    assert_eq!(
        order(&plan),
        [
            "blog-backup=bp-backup@0.4.0",
            "blog-db=bp-postgres@1.6.0",
            "blog=bp-wordpress@1.0.0"
        ]
    );
    assert_eq!(plan.applications[1].values, json!({"databases": ["blog"]}));
    assert_eq!(
        plan.applications[0].values,
        json!({"target": "blog-db-rw:5432"}),
        "outputs flow into values"
    );
    // External mode: the condition is false and the dependency vanishes.
    let mut req = Request::new("bp-wordpress", "blog");
    req.values = json!({"postgres": {"mode": "external"}});
    let plan = resolve(&c, &req, &ResolveOptions::default()).expect("plan");
    assert_eq!(order(&plan), ["blog=bp-wordpress@1.0.0"]);
    assert!(plan.edges.iter().all(|e| !e.active && e.to.is_none()));
    assert!(plan.to_dot().contains("style=dashed"));
    assert!(plan.to_mermaid().contains("-.->"));
}

#[test]
fn a_rendered_value_that_breaks_the_child_schema_is_reported() {
    let c = catalog(&[
        (
            "bp-app",
            "1.0.0",
            "  depends:\n    - blueprint: bp-db\n      values:\n        replicas: \"{{ .application.name }}\"\n",
        ),
        (
            "bp-db",
            "1.0.0",
            "  configSchema:\n    type: object\n    properties:\n      replicas: {type: integer}\n",
        ),
    ]);
    let e = err_text(
        resolve(
            &c,
            &Request::new("bp-app", "shop"),
            &ResolveOptions::default(),
        )
        .expect_err("invalid"),
    );
    assert!(
        e.contains("the values that `bp-app` 1.0.0 passes in `depends[0]`"),
        "{e}"
    );
    assert!(e.contains("/replicas"), "{e}");
    assert!(e.contains("integer"), "{e}");
}

#[test]
fn a_hostile_template_runs_out_of_fuel() {
    let c = catalog(&[
        (
            "bp-app",
            "1.0.0",
            "  depends:\n    - blueprint: bp-db\n      when: \"{{ printf \\\"%s%s%s%s%s%s%s%s\\\" .application.name .application.name .application.name .application.name .application.name .application.name .application.name .application.name | len | lt 0 }}\"\n",
        ),
        ("bp-db", "1.0.0", ""),
    ]);
    let opts = ResolveOptions {
        render_limits: bpkit::render::Limits {
            fuel: 5,
            ..bpkit::render::Limits::default()
        },
        ..ResolveOptions::default()
    };
    let e = err_text(resolve(&c, &Request::new("bp-app", "a"), &opts).expect_err("fuel"));
    assert!(e.contains("`depends[0].when` failed"), "{e}");
    assert!(
        e.to_lowercase().contains("steps") || e.to_lowercase().contains("fuel"),
        "{e}"
    );
}

#[test]
fn a_missing_blueprint_is_named() {
    let c = catalog(&[(
        "bp-app",
        "1.0.0",
        "  depends: [{blueprint: bp-ghost, version: ^1}]\n",
    )]);
    let e =
        resolve(&c, &Request::new("bp-app", "a"), &ResolveOptions::default()).expect_err("missing");
    let ResolveError::NoSolution {
        missing, report, ..
    } = e
    else {
        panic!()
    };
    assert_eq!(missing, ["bp-ghost"]);
    assert!(
        report.contains("`bp-ghost` is not in the catalog"),
        "{report}"
    );
    assert!(
        report.contains("help: add `bp-ghost` to the catalog"),
        "{report}"
    );
}

#[test]
fn shared_instances_must_get_agreeing_values() {
    let c = catalog(&[
        (
            "bp-app",
            "1.0.0",
            "  depends:\n    - {blueprint: bp-a}\n    - {blueprint: bp-b}\n",
        ),
        (
            "bp-a",
            "1.0.0",
            "  depends: [{blueprint: bp-s, shared: true, values: {size: small}}]\n",
        ),
        (
            "bp-b",
            "1.0.0",
            "  depends: [{blueprint: bp-s, shared: true, values: {size: large}}]\n",
        ),
        ("bp-s", "1.0.0", ""),
    ]);
    let e = err_text(
        resolve(&c, &Request::new("bp-app", "x"), &ResolveOptions::default())
            .expect_err("disagree"),
    );
    assert!(e.contains("shared Application `s` gets `/size`"), "{e}");
}

#[test]
fn results_are_deterministic_and_flux_has_depends_on() {
    let c = catalog(&[
        ("bp-wordpress", "1.0.0", WP),
        ("bp-postgres", "1.6.0", PG),
        ("bp-backup", "0.4.0", BACKUP),
    ]);
    let a = resolve(
        &c,
        &Request::new("bp-wordpress", "blog"),
        &ResolveOptions::default(),
    )
    .expect("plan");
    let b = resolve(
        &c,
        &Request::new("bp-wordpress", "blog"),
        &ResolveOptions::default(),
    )
    .expect("plan");
    assert_eq!(a, b);
    let flux = a.to_flux("flux-system");
    assert_eq!(flux.matches("kind: Kustomization").count(), 3);
    assert!(
        flux.contains("dependsOn:\n    - name: blog-backup\n    - name: blog-db\n"),
        "{flux}"
    );
    let lock = bpkit::resolve::Lock::from_plan(&a);
    let text = lock.to_toml();
    assert_eq!(bpkit::resolve::Lock::parse(&text).expect("parses"), lock);
    assert!(lock.diff(&lock).is_empty());
}
