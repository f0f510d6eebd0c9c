//! Reading a Helm chart folder for the lint rules: `Chart.yaml`, `values.yaml`, templates and
//! vendored sub-charts, each kept with its text for positions.

use std::path::{Path, PathBuf};

use crate::diag::{Finding, Source, Span};
use crate::yaml::{self, Document, Limits, Node};

/// The largest template file read (bigger ones are skipped with a finding).
const MAX_TEMPLATE_BYTES: u64 = 4 * 1024 * 1024;
/// The most template files read from one chart.
const MAX_TEMPLATES: usize = 5_000;

/// One `dependencies:` entry of `Chart.yaml`.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// The chart name.
    pub name: String,
    /// The pinned version text.
    pub version: Option<String>,
    /// The alias (the values key), if any.
    pub alias: Option<String>,
    /// Where the entry is.
    pub span: Span,
    /// Where the version is.
    pub version_span: Option<Span>,
}

impl Dependency {
    /// The key under which the umbrella passes values to this sub-chart.
    pub fn values_key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// A vendored sub-chart under `charts/`.
#[derive(Debug)]
pub struct SubChart {
    /// The folder or archive name under `charts/`.
    pub entry: String,
    /// Its `Chart.yaml` name and version, when unpacked.
    pub name: Option<String>,
    /// Its version.
    pub version: Option<String>,
    /// Its `values.yaml`, when unpacked.
    pub values: Option<Document>,
    /// Whether it is a `.tgz` archive.
    pub archive: bool,
}

/// A chart folder, read.
#[derive(Debug, Default)]
pub struct Chart {
    /// The folder.
    pub dir: PathBuf,
    /// `Chart.yaml`.
    pub chart_yaml: Option<Document>,
    /// `values.yaml`.
    pub values: Option<Document>,
    /// `dependencies:` of `Chart.yaml`.
    pub dependencies: Vec<Dependency>,
    /// Everything under `charts/`.
    pub subcharts: Vec<SubChart>,
    /// Template files (path relative to the chart, text).
    pub templates: Vec<(String, Source)>,
    /// Paths of every file under `templates/` (including non-text ones).
    pub template_paths: Vec<String>,
    /// Problems reading the chart.
    pub problems: Vec<Finding>,
}

fn read_yaml(path: &Path, problems: &mut Vec<Finding>) -> Option<Document> {
    let bytes = std::fs::read(path).ok()?;
    match yaml::load_bytes(&path.display().to_string(), &bytes, &Limits::default()) {
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(e.to_finding());
            None
        }
    }
}

impl Chart {
    /// Reads the chart in `dir`. Missing files are simply absent; unreadable YAML is a problem.
    pub fn read(dir: &Path) -> Chart {
        let mut c = Chart {
            dir: dir.to_path_buf(),
            ..Chart::default()
        };
        c.chart_yaml = read_yaml(&dir.join("Chart.yaml"), &mut c.problems);
        c.values = read_yaml(&dir.join("values.yaml"), &mut c.problems);
        if let Some(deps) = c
            .chart_yaml
            .as_ref()
            .and_then(|d| d.root.get("dependencies"))
            .and_then(Node::items)
        {
            for d in deps {
                let Some(name) = d.get("name").and_then(Node::as_str) else {
                    continue;
                };
                c.dependencies.push(Dependency {
                    name: name.to_string(),
                    version: d.get("version").map(scalar),
                    alias: d.get("alias").and_then(Node::as_str).map(str::to_string),
                    span: d.span,
                    version_span: d.get("version").map(|v| v.span),
                });
            }
        }
        if let Ok(rd) = std::fs::read_dir(dir.join("charts")) {
            let mut entries: Vec<_> = rd.flatten().collect();
            entries.sort_by_key(std::fs::DirEntry::file_name);
            for e in entries {
                let entry = e.file_name().to_string_lossy().into_owned();
                let p = e.path();
                if p.is_dir() {
                    let cy = read_yaml(&p.join("Chart.yaml"), &mut c.problems);
                    c.subcharts.push(SubChart {
                        entry,
                        name: cy
                            .as_ref()
                            .and_then(|d| d.root.get("name"))
                            .and_then(Node::as_str)
                            .map(str::to_string),
                        version: cy.as_ref().and_then(|d| d.root.get("version")).map(scalar),
                        values: read_yaml(&p.join("values.yaml"), &mut c.problems),
                        archive: false,
                    });
                } else if entry.ends_with(".tgz") {
                    c.subcharts.push(SubChart {
                        entry,
                        name: None,
                        version: None,
                        values: None,
                        archive: true,
                    });
                }
            }
        }
        let tdir = dir.join("templates");
        if tdir.is_dir() {
            for e in walkdir::WalkDir::new(&tdir)
                .follow_links(false)
                .sort_by_file_name()
                .into_iter()
                .flatten()
            {
                if !e.file_type().is_file() {
                    continue;
                }
                let rel = e
                    .path()
                    .strip_prefix(dir)
                    .unwrap_or(e.path())
                    .display()
                    .to_string();
                c.template_paths.push(rel.clone());
                if c.templates.len() >= MAX_TEMPLATES {
                    continue;
                }
                let too_big = e
                    .metadata()
                    .map(|m| m.len() > MAX_TEMPLATE_BYTES)
                    .unwrap_or(true);
                if too_big {
                    c.problems.push(
                        Finding::warning("chart-read", format!("template `{rel}` is larger than {MAX_TEMPLATE_BYTES} bytes; not linted"))
                            .in_file(e.path().display().to_string()),
                    );
                    continue;
                }
                if let Ok(text) = std::fs::read_to_string(e.path()) {
                    c.templates
                        .push((rel, Source::new(e.path().display().to_string(), text)));
                }
            }
        }
        c
    }

    /// Whether a dependency is vendored under `charts/` (unpacked at the pinned version, or as
    /// `<name>-<version>.tgz`).
    pub fn vendored(&self, d: &Dependency) -> Vendored {
        let want = d.version.as_deref().map(strip_v);
        for s in &self.subcharts {
            if s.archive {
                if let Some(rest) = s.entry.strip_prefix(&format!("{}-", d.name)) {
                    let ver = rest.trim_end_matches(".tgz");
                    return match want {
                        Some(w) if strip_v(ver) != w => Vendored::WrongVersion(ver.to_string()),
                        _ => Vendored::Yes,
                    };
                }
            } else if s.name.as_deref() == Some(d.name.as_str()) || s.entry == d.name {
                return match (want, s.version.as_deref()) {
                    (Some(w), Some(v)) if strip_v(v) != w => Vendored::WrongVersion(v.to_string()),
                    _ => Vendored::Yes,
                };
            }
        }
        Vendored::No
    }
}

/// Whether a dependency is vendored.
#[derive(Debug, PartialEq, Eq)]
pub enum Vendored {
    /// At the pinned version.
    Yes,
    /// At another version.
    WrongVersion(String),
    /// Not at all.
    No,
}

/// A version without a leading `v`.
pub fn strip_v(s: &str) -> &str {
    s.strip_prefix('v').unwrap_or(s)
}

/// A scalar as text (numbers as written in JSON).
pub fn scalar(n: &Node) -> String {
    match n.to_json() {
        serde_json::Value::String(s) => s,
        v => v.to_string(),
    }
}
