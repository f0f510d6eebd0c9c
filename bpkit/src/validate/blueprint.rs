//! Checks of a loaded Blueprint and its folder, beyond the document's shape.

use std::path::Path;

use crate::diag::{Finding, Severity};
use crate::model::{self, Blueprint, LoadOptions, Loaded, SourceKind};

/// Rule: the manifests the Blueprint points at do not exist.
pub const RULE_SOURCE: &str = "manifest-source";
/// Rule: a card asset (icon, screenshot) does not exist.
pub const RULE_CARD_ASSET: &str = "card-asset";
/// Rule: the file could not be read.
pub const RULE_IO: &str = "io";
/// Rule: `configSchema` is not a valid JSON Schema (or a UI hint is unknown).
pub const RULE_CONFIG_SCHEMA: &str = "config-schema";
/// Rule: a `depends[].version` is not a Helm-dialect constraint.
pub const RULE_CONSTRAINT: &str = "depends-constraint";
/// Rule: a `when`, `values` or `outputs` template does not parse.
pub const RULE_TEMPLATE: &str = "template";
/// Rule: an `upgrades.from`/`blocks` entry is not a version pattern.
pub const RULE_UPGRADE_PATTERN: &str = "upgrade-pattern";
/// Rule: an overlay does not fit the configSchema.
pub const RULE_OVERLAY: &str = "overlay-config";
/// Rule: the placement schema contradicts itself.
pub const RULE_PLACEMENT: &str = "placement";

/// A Blueprint checked with its folder.
#[derive(Debug)]
pub struct Checked {
    /// What loading found, plus the folder checks.
    pub loaded: Loaded,
    /// The folder the Blueprint lives in.
    pub dir: std::path::PathBuf,
}

impl Checked {
    /// The Blueprint, when it loaded without errors.
    pub fn blueprint(&self) -> Option<&Blueprint> {
        self.loaded.blueprint.as_ref()
    }

    /// Every finding.
    pub fn findings(&self) -> &[Finding] {
        &self.loaded.findings
    }
}

/// Reads `file` and checks the Blueprint and its folder, including its content
/// ([`check_content`]).
pub fn check_file(file: &Path, opts: &LoadOptions) -> Checked {
    let mut c = check_file_shallow(file, opts);
    if let Some(bp) = c.loaded.blueprint.clone() {
        let extra = check_content(&bp, &c.loaded);
        c.loaded.findings.extend(extra);
        sort_findings(&mut c.loaded.findings);
    }
    c
}

fn sort_findings(f: &mut [Finding]) {
    f.sort_by_key(|f| {
        (
            f.span.map_or(usize::MAX, |s| s.start),
            f.severity != Severity::Error,
        )
    });
}

/// Reads `file` and checks the document and its folder, without compiling its configSchema or
/// parsing its templates (what a catalog does when it only needs to index Blueprints).
pub fn check_file_shallow(file: &Path, opts: &LoadOptions) -> Checked {
    let name = file.display().to_string();
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let loaded = match std::fs::read(file) {
        Ok(bytes) => {
            if bytes.len() > opts.limits.max_bytes {
                Loaded {
                    document: None,
                    blueprint: None,
                    findings: vec![
                        Finding::error(
                            crate::yaml::YamlError::LIMIT_RULE,
                            format!(
                                "the file is {} bytes, more than the limit of {} bytes",
                                bytes.len(),
                                opts.limits.max_bytes
                            ),
                        )
                        .in_file(name)
                        .with_help(
                            "a blueprint.yaml is a small document; remove generated content",
                        ),
                    ],
                }
            } else {
                model::load(&name, &bytes, opts)
            }
        }
        Err(e) => Loaded {
            document: None,
            blueprint: None,
            findings: vec![
                Finding::error(RULE_IO, format!("cannot read the file: {e}")).in_file(name),
            ],
        },
    };
    let mut checked = Checked { loaded, dir };
    check_folder(&mut checked);
    checked
}

/// Checks what a loaded Blueprint says about its folder and its own content.
pub fn check_folder(c: &mut Checked) {
    let Some(bp) = c.loaded.blueprint.clone() else {
        return;
    };
    let mut out = Vec::new();
    let span_of = |ptr: &str| c.loaded.span_of(ptr);
    let src = c.loaded.document.as_ref().map(|d| d.source.clone());
    let at = |f: Finding, ptr: &str| -> Finding {
        match (&src, span_of(ptr)) {
            (Some(s), Some(sp)) => f.at(s, sp).with_pointer(ptr),
            _ => f.with_pointer(ptr),
        }
    };

    // The manifests exist.
    let (kind, reference) = match bp.source() {
        Some(s) => (s.kind, s.reference.clone()),
        None => (SourceKind::HelmChart, "./chart".to_string()),
    };
    if !reference.starts_with("oci://") {
        let path = crate::lint::join_clean(&c.dir, &reference);
        let marker = match kind {
            SourceKind::HelmChart => "Chart.yaml",
            SourceKind::Kustomize => "kustomization.yaml",
        };
        if !path.is_dir() {
            out.push(at(
                Finding::error(RULE_SOURCE, format!("the manifests folder `{reference}` does not exist"))
                    .with_help(format!("create `{reference}/{marker}`, or point `manifests.source.ref` at the right folder")),
                "/spec/manifests/source/ref",
            ));
        } else if !(path.join(marker).is_file()
            || (kind == SourceKind::Kustomize && path.join("kustomization.yml").is_file()))
        {
            out.push(at(
                Finding::error(RULE_SOURCE, format!("`{reference}` has no `{marker}`"))
                    .with_help(format!("a {kind:?} source needs `{marker}` in its folder")),
                "/spec/manifests/source/ref",
            ));
        }
    }

    // Card assets exist.
    let mut assets: Vec<(String, String)> = Vec::new();
    if let Some(icon) = &bp.spec.card.icon {
        assets.push((icon.clone(), "/spec/card/icon".into()));
    }
    for (i, s) in bp.spec.card.screenshots.iter().enumerate() {
        assets.push((s.clone(), format!("/spec/card/screenshots/{i}")));
    }
    for (asset, ptr) in assets {
        if asset.contains("://") {
            continue;
        }
        if !c.dir.join(&asset).is_file() {
            out.push(at(
                Finding::warning(
                    RULE_CARD_ASSET,
                    format!("card asset `{asset}` does not exist in the Blueprint folder"),
                )
                .with_help("add the file, or remove the reference"),
                &ptr,
            ));
        }
    }

    c.loaded.findings.extend(out);
    sort_findings(&mut c.loaded.findings);
}

/// A finding at a JSON Pointer of the document, shifted `offset` bytes into the scalar there
/// (for errors inside a constraint or template string).
fn at_pointer(
    loaded: &Loaded,
    f: Finding,
    ptr: &str,
    offset: Option<crate::diag::Span>,
) -> Finding {
    let Some(doc) = loaded.document.as_ref() else {
        return f.with_pointer(ptr);
    };
    let Some(span) = loaded.span_of(ptr) else {
        return f.with_pointer(ptr);
    };
    let text = doc.source.text();
    let quoted = text
        .get(span.start..)
        .is_some_and(|t| t.starts_with('"') || t.starts_with('\''));
    let single_line = text
        .get(span.start..span.end)
        .is_some_and(|t| !t.contains('\n'));
    let span = match offset {
        Some(o) if single_line => {
            let base = span.start + usize::from(quoted);
            crate::diag::Span::new(
                base + o.start,
                (base + o.end)
                    .max(base + o.start + 1)
                    .min(span.end.max(base + o.start + 1)),
            )
        }
        _ => span,
    };
    f.at(&doc.source, span).with_pointer(ptr)
}

/// Every string of a JSON tree containing `{{`, with its pointer.
fn template_strings<'a>(v: &'a serde_json::Value, base: &str, out: &mut Vec<(String, &'a str)>) {
    let mut stack = vec![(base.to_string(), v)];
    while let Some((ptr, v)) = stack.pop() {
        match v {
            serde_json::Value::String(s) if s.contains("{{") => out.push((ptr, s)),
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    stack.push((format!("{ptr}/{i}"), x));
                }
            }
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{ptr}/{}", crate::diag::pointer_escape(k));
                    if k.contains("{{") {
                        out.push((p.clone(), k));
                    }
                    stack.push((p, x));
                }
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
}

/// Checks inside the document: configSchema, constraints, templates, upgrade patterns,
/// overlays and placement.
pub fn check_content(bp: &Blueprint, loaded: &Loaded) -> Vec<Finding> {
    use crate::render::Template;
    use crate::validate::config::{ConfigSchema, SchemaOptions};
    use crate::version::Constraint;

    let mut out = Vec::new();
    let schema = match &bp.spec.config_schema {
        None => None,
        Some(s) => match ConfigSchema::compile(s, &SchemaOptions::default()) {
            Ok(c) => Some(c),
            Err(issues) => {
                for i in issues {
                    let ptr = format!("/spec/configSchema{}", i.pointer);
                    let mut f =
                        Finding::error(RULE_CONFIG_SCHEMA, format!("configSchema: {}", i.message));
                    if let Some(h) = &i.help {
                        f = f.with_help(h.clone());
                    }
                    out.push(at_pointer(loaded, f, &ptr, None));
                }
                None
            }
        },
    };
    for (i, d) in bp.spec.depends.iter().enumerate() {
        if let Some(v) = &d.version
            && let Err(e) = Constraint::parse(v)
        {
            let f = Finding::error(
                RULE_CONSTRAINT,
                format!("`{v}` is not a valid version constraint: {e}"),
            )
            .with_help("write a Helm-style range such as `^1.4`, `~2.1`, `>=1.2, <2` or `1.x`");
            out.push(at_pointer(
                loaded,
                f,
                &format!("/spec/depends/{i}/version"),
                Some(e.span()),
            ));
        }
        if let Some(w) = &d.when
            && let Err(e) = Template::parse(w)
        {
            let mut f = Finding::error(
                RULE_TEMPLATE,
                format!("`when` does not parse: {}", e.message()),
            );
            if let Some(h) = e.help() {
                f = f.with_help(h.to_string());
            }
            out.push(at_pointer(
                loaded,
                f,
                &format!("/spec/depends/{i}/when"),
                e.span_in_template(),
            ));
        }
        if let Some(values) = &d.values {
            let mut strings = Vec::new();
            template_strings(values, &format!("/spec/depends/{i}/values"), &mut strings);
            for (ptr, s) in strings {
                if let Err(e) = Template::parse(s) {
                    let mut f = Finding::error(
                        RULE_TEMPLATE,
                        format!("template does not parse: {}", e.message()),
                    );
                    if let Some(h) = e.help() {
                        f = f.with_help(h.to_string());
                    }
                    out.push(at_pointer(loaded, f, &ptr, e.span_in_template()));
                }
            }
        }
    }
    let outputs = serde_json::to_value(&bp.spec.outputs).unwrap_or_default();
    let mut strings = Vec::new();
    template_strings(&outputs, "/spec/outputs", &mut strings);
    for (ptr, s) in strings {
        if let Err(e) = Template::parse(s) {
            let f = Finding::error(
                RULE_TEMPLATE,
                format!("output template does not parse: {}", e.message()),
            );
            out.push(at_pointer(loaded, f, &ptr, e.span_in_template()));
        }
    }
    if let Some(up) = &bp.spec.upgrades {
        for (field, list) in [("from", &up.from), ("blocks", &up.blocks)] {
            for (i, pat) in list.iter().enumerate() {
                if let Err(e) = Constraint::parse(pat) {
                    let f = Finding::error(
                        RULE_UPGRADE_PATTERN,
                        format!("`{pat}` is not a version pattern: {e}"),
                    )
                    .with_help("write a pattern such as `1.2.x`, `1.x` or `>=1.1, <1.3`");
                    out.push(at_pointer(
                        loaded,
                        f,
                        &format!("/spec/upgrades/{field}/{i}"),
                        Some(e.span()),
                    ));
                }
            }
        }
    }
    if let (Some(schema), Some(m)) = (&schema, &bp.spec.manifests) {
        for (name, overlay) in &m.overlays {
            let mut config = schema.defaults();
            crate::resolve::merge_values(&mut config, overlay);
            for v in schema.validate(&config) {
                if v.keyword == "required" {
                    continue; // overlays are partial: the user supplies the rest
                }
                let ptr = format!(
                    "/spec/manifests/overlays/{}{}",
                    crate::diag::pointer_escape(name),
                    v.instance_pointer
                );
                let f = Finding::error(RULE_OVERLAY, format!("overlay `{name}`: {}", v.message));
                out.push(at_pointer(loaded, f, &ptr, None));
            }
        }
    }
    if let Some(pl) = &bp.spec.placement_schema {
        if let (Some(min), Some(max)) = (pl.min_regions, pl.max_regions)
            && min > max
        {
            out.push(at_pointer(
                loaded,
                Finding::error(
                    RULE_PLACEMENT,
                    format!("`minRegions` ({min}) is larger than `maxRegions` ({max})"),
                ),
                "/spec/placementSchema/minRegions",
                None,
            ));
        }
        if let Some(d) = pl.default
            && !pl.modes.is_empty()
            && !pl.modes.contains(&d)
        {
            out.push(at_pointer(
                loaded,
                Finding::error(
                    RULE_PLACEMENT,
                    "the default placement mode is not one of `modes`".to_string(),
                )
                .with_help("add it to `modes`, or change `default`"),
                "/spec/placementSchema/default",
                None,
            ));
        }
    }
    out
}
