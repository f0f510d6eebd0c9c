//! What a chart or a Kustomize base deploys: sub-charts and container images, read from the
//! files of the packaged archive (never from the file system).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::image::ImageRef;
use super::{Chart, Inventory};
use crate::package::archive::{self, Entry, EntryKind, ReadLimits};

/// A Kustomize `images:` override: `(newName, newTag, digest)`, by image name.
type Overrides = BTreeMap<String, (Option<String>, Option<String>, Option<String>)>;

/// How deep sub-charts of sub-charts are followed.
const MAX_DEPTH: usize = 8;
/// The Chart.yaml annotation listing a chart's images (Artifact Hub).
pub const IMAGES_ANNOTATION: &str = "artifacthub.io/images";
/// The Chart.yaml annotation giving a chart's license (Artifact Hub).
pub const LICENSE_ANNOTATION: &str = "artifacthub.io/license";

/// Files by path relative to one root.
pub(crate) type Files<'a> = BTreeMap<String, &'a [u8]>;

/// The files of archive entries, by path.
pub(crate) fn files_of(entries: &[Entry]) -> Files<'_> {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::File { data, .. } => Some((e.path.clone(), data.as_slice())),
            EntryKind::Dir => None,
        })
        .collect()
}

/// The files under `prefix/`, with the prefix removed.
pub(crate) fn under<'a>(files: &Files<'a>, prefix: &str) -> Files<'a> {
    let p = format!("{prefix}/");
    files
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(&p).map(|rest| (rest.to_string(), *v)))
        .collect()
}

/// SHA-256 (hex) of bytes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of a folder's files, independent of any time or file system: the uncompressed
/// bpkit archive (sorted paths, fixed owners, modes and times) of the files under `name/`.
pub(crate) fn folder_sha256(name: &str, files: &Files<'_>) -> String {
    let entries: Vec<Entry> = files
        .iter()
        .map(|(p, d)| Entry::file(format!("{name}/{p}"), d.to_vec()))
        .collect();
    sha256_hex(&archive::tar(&entries, 0))
}

fn yaml_json(name: &str, bytes: &[u8]) -> Result<Value, String> {
    crate::yaml::load_bytes(name, bytes, &crate::yaml::Limits::default())
        .map(|d| d.root.to_json())
        .map_err(|e| {
            let pos = e.position();
            format!("`{name}` {}:{}: {e}", pos.line, pos.column)
        })
}

fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Where an image was found, to merge into the inventory.
struct Found {
    reference: ImageRef,
    place: String,
    user: String,
}

/// The scan of one Blueprint's content.
pub(crate) struct Scanner<'i> {
    pub(crate) inv: &'i mut Inventory,
    found: Vec<Found>,
}

impl<'i> Scanner<'i> {
    /// A scanner adding to `inv`.
    pub(crate) fn new(inv: &'i mut Inventory) -> Self {
        Scanner {
            inv,
            found: Vec::new(),
        }
    }

    fn warn(&mut self, w: String) {
        self.inv.warnings.push(w);
    }

    fn add_image(&mut self, text: &str, place: String, user: &str) {
        match ImageRef::parse(text) {
            Ok(r) => self.found.push(Found {
                reference: r,
                place,
                user: user.to_string(),
            }),
            Err(e) => self.warn(format!("image `{text}` in {place} {e}; left out")),
        }
    }

    /// Scans a chart whose files (relative to its root folder) are `files`; `path` is its
    /// place in the archive (`bp-x`, `bp-x/charts/sub`). Returns the chart's index.
    pub(crate) fn chart(
        &mut self,
        files: &Files<'_>,
        path: &str,
        sha256: Option<String>,
        parent: Option<usize>,
        depth: usize,
    ) -> Option<usize> {
        let Some(cy) = files.get("Chart.yaml") else {
            self.warn(format!(
                "`{path}` has no `Chart.yaml`; not a chart, left out"
            ));
            return None;
        };
        let meta = match yaml_json(&format!("{path}/Chart.yaml"), cy) {
            Ok(v) => v,
            Err(e) => {
                self.warn(format!("{e}; chart left out"));
                return None;
            }
        };
        let name = scalar(meta.get("name"))
            .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path).to_string());
        let annotations = meta.get("annotations").and_then(Value::as_object);
        let key = format!("chart:{path}");
        let index = self.inv.charts.len();
        self.inv.charts.push(Chart {
            key: key.clone(),
            name: name.clone(),
            version: scalar(meta.get("version")),
            version_constraint: None,
            app_version: scalar(meta.get("appVersion")),
            description: scalar(meta.get("description")),
            license: annotations.and_then(|a| scalar(a.get(LICENSE_ANNOTATION))),
            home: scalar(meta.get("home")),
            repository: None,
            path: path.to_string(),
            sha256,
            parent,
            vendored: true,
        });

        // Sub-charts: folders and archives under charts/.
        let mut sub_names: BTreeMap<String, String> = BTreeMap::new(); // values key -> chart key
        if depth < MAX_DEPTH {
            let mut dirs = BTreeSet::new();
            let mut tgzs = BTreeSet::new();
            for p in files.keys() {
                if let Some(rest) = p.strip_prefix("charts/") {
                    match rest.split_once('/') {
                        Some((d, _)) => {
                            dirs.insert(d.to_string());
                        }
                        None if rest.ends_with(".tgz") || rest.ends_with(".tar.gz") => {
                            tgzs.insert(rest.to_string());
                        }
                        None => {}
                    }
                }
            }
            for d in dirs {
                let sub = under(files, &format!("charts/{d}"));
                let hash = folder_sha256(&d, &sub);
                if let Some(i) = self.chart(
                    &sub,
                    &format!("{path}/charts/{d}"),
                    Some(hash),
                    Some(index),
                    depth + 1,
                ) {
                    sub_names.insert(
                        self.inv.charts[i].name.clone(),
                        self.inv.charts[i].key.clone(),
                    );
                }
            }
            for t in tgzs {
                let Some(bytes) = files.get(&format!("charts/{t}")) else {
                    continue;
                };
                let entries = match archive::read_tar_gz(bytes, &ReadLimits::default()) {
                    Ok(e) => e,
                    Err(e) => {
                        self.warn(format!("`{path}/charts/{t}` cannot be read: {e}; left out"));
                        continue;
                    }
                };
                let all = files_of(&entries);
                let root = all
                    .keys()
                    .find(|k| k.ends_with("/Chart.yaml") && k.matches('/').count() == 1)
                    .and_then(|k| k.split('/').next())
                    .map(str::to_string);
                let Some(root) = root else {
                    self.warn(format!(
                        "`{path}/charts/{t}` has no `<chart>/Chart.yaml`; left out"
                    ));
                    continue;
                };
                let sub = under(&all, &root);
                let hash = sha256_hex(bytes);
                if let Some(i) = self.chart(
                    &sub,
                    &format!("{path}/charts/{t}"),
                    Some(hash),
                    Some(index),
                    depth + 1,
                ) {
                    sub_names.insert(
                        self.inv.charts[i].name.clone(),
                        self.inv.charts[i].key.clone(),
                    );
                }
            }
        } else if files.keys().any(|k| k.starts_with("charts/")) {
            self.warn(format!("`{path}` nests sub-charts deeper than {MAX_DEPTH} levels; the deeper ones are left out"));
        }

        // Declared dependencies (Chart.yaml `dependencies`): vendored ones gain their
        // repository and alias; the others are listed as declared, without content.
        if let Some(deps) = meta.get("dependencies").and_then(Value::as_array) {
            for d in deps {
                let Some(dname) = scalar(d.get("name")) else {
                    continue;
                };
                let repo = scalar(d.get("repository"));
                let alias = scalar(d.get("alias"));
                let vendored_key = sub_names.get(&dname).cloned();
                let chart_key = match vendored_key {
                    Some(k) => {
                        if let Some(c) = self.inv.charts.iter_mut().find(|c| c.key == k) {
                            c.repository = c.repository.take().or(repo.clone());
                        }
                        k
                    }
                    None => {
                        let constraint = scalar(d.get("version"));
                        let exact = constraint
                            .as_deref()
                            .filter(|v| is_exact_version(v))
                            .map(str::to_string);
                        let k =
                            format!("chart:{path}/charts/{}", alias.as_deref().unwrap_or(&dname));
                        if self.inv.charts.iter().any(|c| c.key == k) {
                            continue;
                        }
                        self.inv.charts.push(Chart {
                            key: k.clone(),
                            name: dname.clone(),
                            version: exact.clone(),
                            version_constraint: if exact.is_none() { constraint } else { None },
                            app_version: None,
                            description: None,
                            license: None,
                            home: None,
                            repository: repo,
                            path: format!("{path}/charts/{}", alias.as_deref().unwrap_or(&dname)),
                            sha256: None,
                            parent: Some(index),
                            vendored: false,
                        });
                        sub_names.insert(dname.clone(), k.clone());
                        k
                    }
                };
                if let Some(a) = alias {
                    sub_names.insert(a, chart_key);
                }
            }
        }

        // Images: values.yaml (a block under a sub-chart's key belongs to that sub-chart),
        // literal `image:` lines of templates, and the Artifact Hub annotation.
        if let Some(bytes) = files.get("values.yaml") {
            match yaml_json(&format!("{path}/values.yaml"), bytes) {
                Ok(values) => {
                    let mut hits = Vec::new();
                    walk_values(&values, &mut String::new(), &mut hits);
                    for (pointer, text) in hits {
                        let first = pointer
                            .split('/')
                            .nth(1)
                            .unwrap_or("")
                            .replace("~1", "/")
                            .replace("~0", "~");
                        let user = sub_names
                            .get(&first)
                            .cloned()
                            .unwrap_or_else(|| key.clone());
                        self.add_image(
                            &text,
                            format!("`{path}/values.yaml` at `{pointer}`"),
                            &user,
                        );
                    }
                }
                Err(e) => self.warn(format!("{e}; its images are not listed")),
            }
        }
        for (file, bytes) in files.range("templates/".to_string()..) {
            if !file.starts_with("templates/") {
                break;
            }
            if !(file.ends_with(".yaml") || file.ends_with(".yml") || file.ends_with(".tpl")) {
                continue;
            }
            let text = String::from_utf8_lossy(bytes);
            for (line, image) in literal_images(&text) {
                self.add_image(&image, format!("`{path}/{file}` line {line}"), &key);
            }
        }
        if let Some(list) = annotations.and_then(|a| a.get(IMAGES_ANNOTATION)) {
            let parsed = match list {
                Value::String(s) => yaml_json(
                    &format!("{path}/Chart.yaml annotation {IMAGES_ANNOTATION}"),
                    s.as_bytes(),
                ),
                other => Ok(other.clone()),
            };
            match parsed {
                Ok(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let text = match item {
                            Value::Object(_) => scalar(item.get("image")),
                            Value::String(s) => Some(s.clone()),
                            _ => None,
                        };
                        if let Some(t) = text {
                            self.add_image(&t, format!("`{path}/Chart.yaml` annotation `{IMAGES_ANNOTATION}` item {i}"), &key);
                        }
                    }
                }
                Ok(Value::Null) => {}
                Ok(_) => self.warn(format!("`{path}/Chart.yaml` annotation `{IMAGES_ANNOTATION}` is not a YAML list; ignored")),
                Err(e) => self.warn(format!("{e}; annotation ignored")),
            }
        }
        Some(index)
    }

    /// Scans a Kustomize base: literal `image:` lines of every YAML file, rewritten by the
    /// `images:` of `kustomization.yaml` files. `user` is the component that deploys them.
    pub(crate) fn manifests(&mut self, files: &Files<'_>, user: &str) {
        // Kustomize image overrides, from every kustomization file.
        let mut overrides = Overrides::new();
        for (file, bytes) in files {
            let base = file.rsplit('/').next().unwrap_or(file);
            if !matches!(
                base,
                "kustomization.yaml" | "kustomization.yml" | "Kustomization"
            ) {
                continue;
            }
            let Ok(doc) = yaml_json(file, bytes) else {
                continue;
            };
            for img in doc
                .get("images")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = scalar(img.get("name")) {
                    overrides.insert(
                        name,
                        (
                            scalar(img.get("newName")),
                            scalar(img.get("newTag")),
                            scalar(img.get("digest")),
                        ),
                    );
                }
            }
        }
        for (file, bytes) in files {
            if !(file.ends_with(".yaml") || file.ends_with(".yml")) {
                continue;
            }
            let text = String::from_utf8_lossy(bytes);
            for (line, image) in literal_images(&text) {
                let image = apply_override(&image, &overrides);
                self.add_image(&image, format!("`{file}` line {line}"), user);
            }
        }
    }

    /// Merges what was found into the inventory: one entry per normalised reference; a
    /// reference without tag or digest is dropped when the same repository is also named
    /// with one (a partial override of a sub-chart's default).
    pub(crate) fn finish(self) {
        let Scanner { inv, found } = self;
        let mut by_ref: BTreeMap<ImageRef, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for f in found {
            let e = by_ref.entry(f.reference).or_default();
            e.0.insert(f.place);
            e.1.insert(f.user);
        }
        let pinned: BTreeSet<String> = by_ref
            .keys()
            .filter(|r| r.tag.is_some() || r.digest.is_some())
            .map(ImageRef::location)
            .collect();
        let mut bare = Vec::new();
        for (r, v) in &by_ref {
            if r.tag.is_none() && r.digest.is_none() && pinned.contains(&r.location()) {
                bare.push((r.clone(), v.clone()));
            }
        }
        for (r, (places, users)) in bare {
            by_ref.remove(&r);
            for (other, v) in by_ref.iter_mut() {
                if other.location() == r.location() {
                    v.0.extend(places.iter().cloned());
                    v.1.extend(users.iter().cloned());
                }
            }
        }
        inv.images = by_ref
            .into_iter()
            .map(|(reference, (found_in, users))| super::Image {
                reference,
                found_in,
                users,
            })
            .collect();
    }
}

fn is_exact_version(v: &str) -> bool {
    let t = v.strip_prefix('v').unwrap_or(v);
    semver::Version::parse(t).is_ok()
}

fn apply_override(image: &str, overrides: &Overrides) -> String {
    let (name_part, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (image, None),
    };
    let (name, tag) = match name_part.rfind(':') {
        Some(i) if !name_part[i..].contains('/') => {
            (&name_part[..i], Some(name_part[i + 1..].to_string()))
        }
        _ => (name_part, None),
    };
    let Some((new_name, new_tag, new_digest)) = overrides.get(name) else {
        return image.to_string();
    };
    let name = new_name.as_deref().unwrap_or(name);
    let digest = new_digest
        .clone()
        .or(if new_tag.is_some() { None } else { digest });
    let tag = new_tag.clone().or(tag);
    let mut out = name.to_string();
    if let Some(t) = tag {
        out.push(':');
        out.push_str(&t);
    }
    if let Some(d) = digest {
        out.push('@');
        out.push_str(&d);
    }
    out
}

/// `(JSON pointer, reference text)` of every image named in a values tree: a key `image` (or
/// ending in `Image`) holding a `"repo:tag"` string or a `{registry, repository, tag, digest}`
/// block. Templated strings are skipped.
pub(crate) fn walk_values(v: &Value, pointer: &mut String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&crate::diag::pointer_escape(k));
                let is_image_key = k == "image" || (k.len() > 5 && k.ends_with("Image"));
                match (is_image_key, image_of(child)) {
                    (true, Some(text)) => out.push((pointer.clone(), text)),
                    _ => walk_values(child, pointer, out),
                }
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                walk_values(child, pointer, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn templated(s: &str) -> bool {
    s.contains("{{") || s.contains("${")
}

/// The reference text of an image value, if it is one.
fn image_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty() && !templated(s)).then(|| s.to_string())
        }
        Value::Object(m) => {
            let repo = scalar(m.get("repository")).or_else(|| scalar(m.get("name")))?;
            let registry = scalar(m.get("registry"));
            let tag = scalar(m.get("tag"));
            let digest = scalar(m.get("digest"));
            if [
                Some(&repo),
                registry.as_ref(),
                tag.as_ref(),
                digest.as_ref(),
            ]
            .into_iter()
            .flatten()
            .any(|s| templated(s))
            {
                return None;
            }
            let first = repo.split('/').next().unwrap_or("");
            let has_registry = repo.contains('/')
                && (first.contains('.') || first.contains(':') || first == "localhost");
            let mut text = match registry {
                Some(r) if !has_registry => format!("{}/{repo}", r.trim_end_matches('/')),
                _ => repo,
            };
            let last = text.rsplit('/').next().unwrap_or("");
            if let Some(t) = tag.filter(|_| !last.contains(':') && !text.contains('@')) {
                // `tag: "1.0@sha256:…"` is seen in the wild: keep it whole.
                text.push(':');
                text.push_str(&t);
            }
            if let Some(d) = digest.filter(|_| !text.contains('@')) {
                text.push('@');
                text.push_str(&d);
            }
            Some(text)
        }
        _ => None,
    }
}

/// `(line number, reference)` of each literal `image:` line (`image: x`, `- image: "x"`);
/// lines holding a template action or a comment are skipped.
pub(crate) fn literal_images(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let t = t.strip_prefix("- ").map(str::trim_start).unwrap_or(t);
        let Some(rest) = t.strip_prefix("image:") else {
            continue;
        };
        if templated(rest) {
            continue;
        }
        let rest = match rest.find(" #") {
            Some(c) => &rest[..c],
            None => rest,
        };
        let v = rest.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
            .unwrap_or(v)
            .trim();
        if v.is_empty() || v.starts_with(['{', '[', '|', '>', '&', '*', '!']) {
            continue;
        }
        out.push((i + 1, v.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_conventions() {
        let v = json!({
            "image": {"registry": "docker.io", "repository": "library/wordpress", "tag": "6.6"},
            "cli": {"image": {"repository": "ghcr.io/a/b", "tag": 12}},
            "sidecarImage": "busybox:1.36",
            "initImage": "{{ .Values.x }}",
            "sub": {"image": {"repository": "x/y", "tag": "1", "digest": format!("sha256:{}", "0".repeat(64))}},
            "other": {"imageChartStorage": {"type": "s3"}},
            "list": [{"image": "nginx"}],
            "image2": "not-an-image-key",
            "tpl": {"image": {"repository": "{{ .Values.repo }}", "tag": "1"}},
        });
        let mut out = Vec::new();
        walk_values(&v, &mut String::new(), &mut out);
        let got: Vec<(&str, &str)> = out.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        let digest = format!("x/y:1@sha256:{}", "0".repeat(64));
        assert_eq!(
            got,
            vec![
                ("/image", "docker.io/library/wordpress:6.6"),
                ("/cli/image", "ghcr.io/a/b:12"),
                ("/sidecarImage", "busybox:1.36"),
                ("/sub/image", digest.as_str()),
                ("/list/0/image", "nginx"),
            ]
        );
    }

    #[test]
    fn literal_lines() {
        let text = "spec:\n  containers:\n    - name: a\n      image: docker.io/x/y:1 # pinned\n    - image: \"quay.io/a/b:2\"\n      image: {{ .Values.image }}\n  # image: commented\n      image: '{{ x }}'\n";
        assert_eq!(
            literal_images(text),
            vec![
                (4, "docker.io/x/y:1".to_string()),
                (5, "quay.io/a/b:2".to_string())
            ]
        );
    }

    #[test]
    fn kustomize_overrides() {
        let mut o = BTreeMap::new();
        o.insert(
            "nginx".to_string(),
            (
                Some("ghcr.io/n/nginx".to_string()),
                Some("1.2".to_string()),
                None,
            ),
        );
        assert_eq!(apply_override("nginx:1.0", &o), "ghcr.io/n/nginx:1.2");
        assert_eq!(apply_override("other:1", &o), "other:1");
    }
}
