//! The bodies of `POST /v1/validate` and `POST /v1/plan`: reading the request, answering it.
//! Plain functions over bytes, so they can be called (and tested) without a server.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::index::{NameEntry, Snapshot, VersionEntry};
use crate::diag::pointer_escape;
use crate::resolve::{Installed, Request, ResolveError, ResolveOptions, merge_values, resolve};
use crate::version::{Constraint, Version};

/// A request that cannot be answered, as the JSON error document of the API:
/// `{"error": {"status", "code", "message", "pointer"?, "help"?, …}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// A stable, machine-readable code (`malformed-json`, `unknown-blueprint`, `no-plan`…).
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
    /// Where in the request body, as a JSON Pointer.
    pub pointer: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
    /// More members of the error object (`explanation`, `issues`…).
    pub details: Box<Map<String, Value>>,
}

impl ApiError {
    /// An error with a status, a code and a message.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            pointer: None,
            help: None,
            details: Box::default(),
        }
    }

    /// A `400 Bad Request` about the member at `pointer`.
    fn bad(pointer: &str, message: impl Into<String>) -> Self {
        ApiError::new(400, "bad-request", message).at(pointer)
    }

    fn at(mut self, pointer: &str) -> Self {
        self.pointer = Some(pointer.to_string());
        self
    }

    /// Adds how to fix it.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    fn detail(mut self, key: &str, value: Value) -> Self {
        self.details.insert(key.to_string(), value);
        self
    }

    /// The JSON document.
    pub fn to_json(&self) -> Value {
        let mut e = Map::new();
        e.insert("status".into(), json!(self.status));
        e.insert("code".into(), json!(self.code));
        e.insert("message".into(), json!(self.message));
        if let Some(p) = &self.pointer {
            e.insert("pointer".into(), json!(p));
        }
        if let Some(h) = &self.help {
            e.insert("help".into(), json!(h));
        }
        for (k, v) in self.details.iter() {
            e.insert(k.clone(), v.clone());
        }
        json!({ "error": e })
    }
}

/// The name of a JSON value's type, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The members of a request body, read one by one; what is left at the end is unknown.
struct Body {
    members: Map<String, Value>,
    known: &'static [&'static str],
}

impl Body {
    /// Parses the body as a JSON object.
    fn parse(bytes: &[u8], known: &'static [&'static str]) -> Result<Body, ApiError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::new(
                400,
                "malformed-json",
                format!(
                    "the request body is not valid JSON: {e} (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
            .with_help("send a JSON object with `Content-Type: application/json`")
        })?;
        match value {
            Value::Object(members) => Ok(Body { members, known }),
            other => Err(ApiError::bad(
                "",
                format!(
                    "the request body must be a JSON object, found {}",
                    kind(&other)
                ),
            )
            .with_help(format!("known members: {}", known.join(", ")))),
        }
    }

    fn string(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        match self.members.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ApiError::bad(
                &format!("/{key}"),
                format!("`{key}` must be a string, found {}", kind(&other)),
            )),
        }
    }

    fn required_string(&mut self, key: &str) -> Result<String, ApiError> {
        self.string(key)?.ok_or_else(|| {
            ApiError::bad(&format!("/{key}"), format!("`{key}` is required"))
                .with_help("for example `{\"blueprint\": \"bp-postgres\"}`")
        })
    }

    fn object(&mut self, key: &str) -> Result<Value, ApiError> {
        match self.members.remove(key) {
            None | Some(Value::Null) => Ok(Value::Object(Map::new())),
            Some(v @ Value::Object(_)) => Ok(v),
            Some(other) => Err(ApiError::bad(
                &format!("/{key}"),
                format!("`{key}` must be an object, found {}", kind(&other)),
            )),
        }
    }

    fn boolean(&mut self, key: &str) -> Result<bool, ApiError> {
        match self.members.remove(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(other) => Err(ApiError::bad(
                &format!("/{key}"),
                format!("`{key}` must be a boolean, found {}", kind(&other)),
            )),
        }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.members.remove(key)
    }

    /// Refuses members that were not read.
    fn finish(self) -> Result<(), ApiError> {
        let Some(key) = self.members.keys().next() else {
            return Ok(());
        };
        let known: Vec<String> = self.known.iter().map(|s| s.to_string()).collect();
        let mut help = match crate::model::closest(key, &known) {
            Some(s) => format!("did you mean `{s}`? "),
            None => String::new(),
        };
        help.push_str(&format!("known members: {}", known.join(", ")));
        Err(ApiError::bad(
            &format!("/{}", pointer_escape(key)),
            format!("unknown member `{key}`"),
        )
        .with_help(help))
    }
}

/// The entry of a Blueprint name, or a `404` with a hint.
pub(crate) fn find<'a>(snap: &'a Snapshot, name: &str) -> Result<&'a NameEntry, ApiError> {
    snap.get(name).ok_or_else(|| {
        let e = ApiError::new(
            404,
            "unknown-blueprint",
            format!("`{name}` is not in the catalog"),
        );
        match snap.suggest(name) {
            Some(s) => e.with_help(format!("did you mean `{s}`?")),
            None => e.with_help("`GET /v1/blueprints` lists the Blueprints"),
        }
    })
}

/// The version of `entry` that `wanted` names: an exact version, or the newest one matching a
/// constraint (`^1.2`); the newest release when `None`.
pub(crate) fn pick<'a>(
    entry: &'a NameEntry,
    wanted: Option<&str>,
    pointer: &str,
) -> Result<&'a VersionEntry, ApiError> {
    let known = || {
        entry
            .versions
            .iter()
            .map(|v| v.version.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(text) = wanted else {
        return entry.latest().ok_or_else(|| {
            ApiError::new(
                404,
                "unknown-version",
                format!("`{}` has no version", entry.name),
            )
        });
    };
    if let Ok(v) = Version::parse_strict(text) {
        return entry.version(&v).ok_or_else(|| {
            ApiError::new(
                404,
                "unknown-version",
                format!("`{}` has no version `{text}`", entry.name),
            )
            .at(pointer)
            .with_help(format!("versions: {}", known()))
        });
    }
    let c = Constraint::parse(text).map_err(|e| {
        ApiError::bad(
            pointer,
            format!("`{text}` is neither a version nor a version constraint: {e}"),
        )
        .with_help("for example `1.2.3`, `^1.2` or `>=1.0.0 <2.0.0`")
    })?;
    entry
        .versions
        .iter()
        .rev()
        .find(|v| c.matches(&v.version))
        .ok_or_else(|| {
            ApiError::new(
                404,
                "unknown-version",
                format!("no version of `{}` matches `{text}`", entry.name),
            )
            .at(pointer)
            .with_help(format!("versions: {}", known()))
        })
}

/// `POST /v1/validate`: `{"blueprint", "version"?, "overlay"?, "config"?}` →
/// `{"blueprint", "version", "valid", "errors": [{"pointer", "schemaPointer", "keyword",
/// "message", "expected", "found", "help"?}]}`.
///
/// The config is checked as an installation would see it: the configSchema defaults, then the
/// overlay, then the config, merged like Helm values.
pub fn validate(snap: &Snapshot, bytes: &[u8]) -> Result<Value, ApiError> {
    let mut body = Body::parse(bytes, &["blueprint", "version", "overlay", "config"])?;
    let name = body.required_string("blueprint")?;
    let version = body.string("version")?;
    let overlay_name = body.string("overlay")?;
    let config = body.object("config")?;
    body.finish()?;
    let entry = find(snap, &name)?;
    let ver = pick(entry, version.as_deref(), "/version")?;
    let schema = ver.schema().map_err(|issues| {
        ApiError::new(
            422,
            "invalid-config-schema",
            format!(
                "the configSchema of `{name}` {} is not a valid JSON Schema, so no config can be checked against it",
                ver.version
            ),
        )
        .detail("issues", json!(issues.as_ref()))
        .with_help(format!("run `bpkit validate` on `{name}`"))
    })?;
    let mut merged = match schema.defaults() {
        v @ Value::Object(_) => v,
        _ => Value::Object(Map::new()),
    };
    if let Some(o) = &overlay_name {
        let overlays = ver.blueprint.spec.manifests.as_ref().map(|m| &m.overlays);
        match overlays.and_then(|m| m.get(o)) {
            Some(values) => merge_values(&mut merged, values),
            None => {
                let known: Vec<String> = overlays
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                return Err(ApiError::new(
                    404,
                    "unknown-overlay",
                    format!("`{name}` {} has no overlay `{o}`", ver.version),
                )
                .at("/overlay")
                .with_help(if known.is_empty() {
                    "it has no overlays".to_string()
                } else {
                    format!("overlays: {}", known.join(", "))
                }));
            }
        }
    }
    merge_values(&mut merged, &config);
    let errors: Vec<Value> = schema
        .validate(&merged)
        .into_iter()
        .map(|v| {
            let mut e = json!({
                "pointer": v.instance_pointer,
                "schemaPointer": v.schema_pointer,
                "keyword": v.keyword,
                "message": v.message,
                "expected": v.expected,
                "found": v.found,
            });
            if let (Some(h), Some(m)) = (v.help, e.as_object_mut()) {
                m.insert("help".into(), json!(h));
            }
            e
        })
        .collect();
    Ok(json!({
        "blueprint": name,
        "version": ver.version.to_string(),
        "valid": errors.is_empty(),
        "errors": errors,
    }))
}

/// `POST /v1/plan`: `{"blueprint", "version"?, "application"?, "namespace"?, "org"?,
/// "environment"?, "values"?, "installed"?, "partial"?}` → the install plan, as `bpkit plan -o
/// json` prints it; a plan that cannot be made is a `422` whose `explanation` says why, one
/// fact per line.
pub fn plan(snap: &Snapshot, bytes: &[u8]) -> Result<Value, ApiError> {
    let req = plan_request(snap, bytes)?;
    resolve_plan(snap, &req)
}

/// What `POST /v1/plan` asks for, read from its body.
struct PlanRequest {
    request: Request,
    partial: bool,
}

/// Reads the body of `POST /v1/plan`.
fn plan_request(snap: &Snapshot, bytes: &[u8]) -> Result<PlanRequest, ApiError> {
    let mut body = Body::parse(
        bytes,
        &[
            "blueprint",
            "version",
            "application",
            "namespace",
            "org",
            "environment",
            "values",
            "installed",
            "partial",
        ],
    )?;
    let name = body.required_string("blueprint")?;
    let version = body
        .string("version")?
        .map(|c| {
            Constraint::parse(&c).map_err(|e| {
                ApiError::bad(
                    "/version",
                    format!("`{c}` is not a version constraint: {e}"),
                )
                .with_help("for example `1.2.3`, `^1.2` or `>=1.0.0 <2.0.0`")
            })
        })
        .transpose()?;
    let app = body.string("application")?.unwrap_or_else(|| {
        name.strip_prefix(crate::model::NAME_PREFIX)
            .unwrap_or(&name)
            .to_string()
    });
    let namespace = body.string("namespace")?;
    let org = body.string("org")?.unwrap_or_default();
    let environment = body.string("environment")?.unwrap_or_default();
    let values = body.object("values")?;
    let installed = match body.take("installed") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                out.push(serde_json::from_value::<Installed>(item).map_err(|e| {
                    ApiError::bad(
                        &format!("/installed/{i}"),
                        format!("installed Application {i}: {e}"),
                    )
                    .with_help("each is `{\"name\", \"blueprint\", \"version\", \"config\"?}`")
                })?);
            }
            out
        }
        Some(other) => {
            return Err(ApiError::bad(
                "/installed",
                format!("`installed` must be an array, found {}", kind(&other)),
            ));
        }
    };
    let partial = body.boolean("partial")?;
    body.finish()?;
    find(snap, &name)?;
    if app.is_empty() {
        return Err(ApiError::bad("/application", "`application` is empty"));
    }
    let mut request = Request::new(&name, &app);
    request.version = version;
    request.app.namespace = namespace.unwrap_or_else(|| app.clone());
    request.app.org = org;
    request.app.environment = environment;
    request.values = values;
    request.installed = installed;
    Ok(PlanRequest { request, partial })
}

/// Resolves a request read from a body.
fn resolve_plan(snap: &Snapshot, req: &PlanRequest) -> Result<Value, ApiError> {
    let cat = snap.catalog().clone();
    let locate = snap.dir_catalog().cloned().map(|dir| {
        Arc::new(move |n: &str, v: &Version, ptr: &str| dir.locate(n, v, ptr))
            as crate::resolve::Locate
    });
    let opts = ResolveOptions {
        locate,
        require_complete_config: !req.partial,
        digests: false,
        ..ResolveOptions::default()
    };
    resolve(cat.as_ref(), &req.request, &opts)
        .map(|p| p.to_json())
        .map_err(|e| plan_error(&e))
}

fn plan_error(e: &ResolveError) -> ApiError {
    let text = e.to_string();
    let mut lines = text.lines();
    let headline = lines.next().unwrap_or_default().to_string();
    let explanation: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    let err = match e {
        ResolveError::Catalog(_) => ApiError::new(500, "catalog", headline),
        ResolveError::Budget(_) => ApiError::new(422, "budget", headline).with_help(
            "the dependency graph is too large or too ambiguous to solve within the limits",
        ),
        ResolveError::Cycle(_) => ApiError::new(422, "cycle", headline),
        ResolveError::NoSolution {
            missing, cycles, ..
        } => ApiError::new(422, "no-plan", headline)
            .detail("missing", json!(missing))
            .detail("cycles", json!(cycles)),
        ResolveError::SharedValues(_) | ResolveError::Outputs(_) => {
            ApiError::new(422, "no-plan", headline)
        }
    };
    err.detail("explanation", json!(explanation))
}

/// The pointer of a request member (for tests and messages).
#[cfg(test)]
fn member(key: &str) -> String {
    format!("/{}", pointer_escape(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> Snapshot {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../blueprints");
        Snapshot::open(&[root]).expect("reference catalog")
    }

    #[test]
    fn bodies_are_checked_member_by_member() {
        let s = snap();
        let e = validate(&s, b"{\"blueprint\": ").expect_err("truncated");
        assert_eq!((e.status, e.code), (400, "malformed-json"));
        assert!(e.message.contains("line 1, column 14"), "{}", e.message);
        let e = validate(&s, b"[1]").expect_err("array");
        assert_eq!(e.pointer.as_deref(), Some(""));
        assert!(e.message.contains("found an array"), "{}", e.message);
        let e = validate(&s, b"{}").expect_err("no name");
        assert_eq!(e.pointer.as_deref(), Some("/blueprint"));
        let e = validate(&s, br#"{"blueprint": 3}"#).expect_err("number");
        assert!(e.message.contains("must be a string, found a number"));
        let e = validate(&s, br#"{"blueprint": "bp-postgres", "confg": {}}"#)
            .expect_err("unknown member");
        assert_eq!(e.pointer, Some(member("confg")));
        assert!(
            e.help
                .as_deref()
                .unwrap_or("")
                .starts_with("did you mean `config`?"),
            "{e:?}"
        );
        let e = validate(&s, br#"{"blueprint": "bp-postgres", "config": []}"#)
            .expect_err("config array");
        assert_eq!(e.pointer.as_deref(), Some("/config"));
    }

    #[test]
    fn unknown_names_versions_and_overlays_are_404_with_hints() {
        let s = snap();
        let e = validate(&s, br#"{"blueprint": "bp-postgress"}"#).expect_err("typo");
        assert_eq!((e.status, e.code), (404, "unknown-blueprint"));
        assert_eq!(e.help.as_deref(), Some("did you mean `bp-postgres`?"));
        let e = validate(&s, br#"{"blueprint": "postgres"}"#).expect_err("no prefix");
        assert_eq!(e.help.as_deref(), Some("did you mean `bp-postgres`?"));
        let e = validate(&s, br#"{"blueprint": "bp-postgres", "version": "9.9.9"}"#)
            .expect_err("version");
        assert_eq!((e.status, e.code), (404, "unknown-version"));
        let e = validate(&s, br#"{"blueprint": "bp-postgres", "version": "one"}"#)
            .expect_err("bad constraint");
        assert_eq!((e.status, e.pointer.as_deref()), (400, Some("/version")));
        let e = validate(&s, br#"{"blueprint": "bp-postgres", "overlay": "huge"}"#)
            .expect_err("overlay");
        assert_eq!((e.status, e.code), (404, "unknown-overlay"));
    }

    #[test]
    fn configs_are_checked_with_defaults_and_pointers() {
        let s = snap();
        let ok = validate(&s, br#"{"blueprint": "bp-postgres", "version": "^1"}"#).expect("ok");
        assert_eq!(ok["valid"], json!(true), "{ok}");
        let bad = validate(
            &s,
            br#"{"blueprint": "bp-postgres", "config": {"size": "huge", "storage": {"size": 8}}}"#,
        )
        .expect("answered");
        assert_eq!(bad["valid"], json!(false));
        let pointers: Vec<&str> = bad["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["pointer"].as_str())
            .collect();
        assert_eq!(pointers, ["/size", "/storage/size"], "{bad}");
    }

    #[test]
    fn plans_and_their_failures() {
        let s = snap();
        let r = plan_request(&s, br#"{"blueprint": "bp-postgres", "application": "db"}"#)
            .expect("request");
        let p = resolve_plan(&s, &r).expect("plan");
        assert_eq!(p["applications"][0]["name"], json!("db"));
        let r = plan_request(&s, br#"{"blueprint": "bp-postgres", "version": ">=99"}"#)
            .expect("request");
        let e = resolve_plan(&s, &r).expect_err("no version");
        assert_eq!((e.status, e.code), (422, "no-plan"));
        assert!(
            e.details["explanation"]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
            "{e:?}"
        );
        let e = plan_request(
            &s,
            br#"{"blueprint": "bp-postgres", "installed": [{"name": 1}]}"#,
        )
        .err()
        .expect("installed");
        assert_eq!(e.pointer.as_deref(), Some("/installed/0"));
        let e = plan_request(&s, br#"{"blueprint": "bp-nope"}"#)
            .err()
            .expect("unknown");
        assert_eq!(e.status, 404);
    }
}
