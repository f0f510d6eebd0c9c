//! Attestation predicates: the type names the CLI accepts, SLSA Provenance v1 for a
//! Blueprint build, and SBOMs as predicates.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::TrustError;
use crate::oci::Digest;
use bpkit_signing::intoto::{
    BuildDefinition, BuildMetadata, Builder, Provenance, ResourceDescriptor, RunDetails,
};

/// SLSA Provenance v1.
pub const SLSA_PROVENANCE_V1: &str = bpkit_signing::intoto::SLSA_PROVENANCE_V1;
/// A CycloneDX SBOM (cosign's `cyclonedx`).
pub const CYCLONEDX: &str = "https://cyclonedx.org/bom";
/// An SPDX SBOM (cosign's `spdxjson`).
pub const SPDX: &str = "https://spdx.dev/Document";
/// bpkit's SLSA `buildType`: packaging a Blueprint folder into an OCI artifact.
pub const BUILD_TYPE: &str = "https://openova.io/bpkit/blueprint-package/v1";
/// The builder id when no CI system is detected.
pub const LOCAL_BUILDER: &str = "https://openova.io/bpkit/local-builder";

/// The predicate type URI of a name: `slsaprovenance` (or `slsaprovenance1`), `cyclonedx`,
/// `spdx` (or `spdxjson`), or any `https://…` / `http://…` URI as given.
pub fn predicate_type(name: &str) -> Result<String, TrustError> {
    Ok(match name {
        "slsaprovenance" | "slsaprovenance1" | "slsa" => SLSA_PROVENANCE_V1.to_string(),
        "cyclonedx" => CYCLONEDX.to_string(),
        "spdx" | "spdxjson" => SPDX.to_string(),
        uri if (uri.starts_with("https://") || uri.starts_with("http://"))
            && uri.len() > 8
            && !uri.contains(char::is_whitespace) =>
        {
            uri.to_string()
        }
        _ => {
            return Err(TrustError::UnknownPredicateType {
                name: name.chars().take(200).collect(),
            });
        }
    })
}

/// Checks that a predicate suits its type: an object; for CycloneDX a `bomFormat` of
/// `CycloneDX`, for SPDX an `spdxVersion`, for SLSA a `buildDefinition` and `runDetails`.
pub fn check_predicate(predicate_type: &str, predicate: &Value) -> Result<(), TrustError> {
    let bad = |message: String| Err(TrustError::Predicate { message });
    let Some(obj) = predicate.as_object() else {
        return bad("expected a JSON object".into());
    };
    match predicate_type {
        CYCLONEDX if obj.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") => {
            bad("a CycloneDX predicate needs `\"bomFormat\": \"CycloneDX\"`".into())
        }
        SPDX if !obj.get("spdxVersion").is_some_and(Value::is_string) => {
            bad("an SPDX predicate needs `spdxVersion`".into())
        }
        SLSA_PROVENANCE_V1
            if !(obj.contains_key("buildDefinition") && obj.contains_key("runDetails")) =>
        {
            bad("a SLSA Provenance v1 predicate needs `buildDefinition` and `runDetails`".into())
        }
        _ => Ok(()),
    }
}

/// What a Blueprint build consumed, for [`provenance`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProvenanceInput {
    /// The source repository URL (default from CI variables, such as `GITHUB_REPOSITORY`).
    pub source_repository: Option<String>,
    /// The source revision, a commit (default from CI variables, such as `GITHUB_SHA`).
    pub revision: Option<String>,
    /// The Blueprint folder inside the repository.
    pub path: Option<String>,
    /// The digest of the source tree (for example of the packaged Blueprint folder).
    pub source_digest: Option<Digest>,
    /// Artifacts the build resolved: `(uri, digest)`, such as pinned Blueprint dependencies.
    pub dependencies: Vec<(String, Digest)>,
    /// bpkit's version.
    pub bpkit_version: Option<String>,
}

/// SLSA Provenance v1 of a Blueprint build: bpkit's `buildType`; `externalParameters` with the
/// source repository, revision and path; `resolvedDependencies` with the source tree and
/// every dependency digest; the builder id and invocation from CI variables read with `env`
/// (GitHub Actions `GITHUB_*`, GitLab `CI_*`), else [`LOCAL_BUILDER`]. Deterministic for the
/// same inputs and environment.
pub fn provenance(input: &ProvenanceInput, env: &dyn Fn(&str) -> Option<String>) -> Provenance {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    let github = get("GITHUB_ACTIONS").is_some_and(|v| v == "true");
    let gitlab = get("GITLAB_CI").is_some();
    let server = get("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
    let repo = input.source_repository.clone().or_else(|| {
        if github {
            get("GITHUB_REPOSITORY").map(|r| format!("{server}/{r}"))
        } else if gitlab {
            get("CI_PROJECT_URL")
        } else {
            None
        }
    });
    let revision = input
        .revision
        .clone()
        .or_else(|| get("GITHUB_SHA"))
        .or_else(|| get("CI_COMMIT_SHA"));
    let mut external = serde_json::Map::new();
    if let Some(r) = &repo {
        external.insert("repository".into(), json!(r));
    }
    if let Some(r) = &revision {
        external.insert("revision".into(), json!(r));
    }
    if let Some(p) = &input.path {
        external.insert("path".into(), json!(p));
    }
    if github && let Some(r) = get("GITHUB_REF") {
        external.insert("ref".into(), json!(r));
    }
    let mut deps = Vec::new();
    if let Some(d) = &input.source_digest {
        let uri = match (&repo, &revision) {
            (Some(r), Some(v)) => Some(format!("git+{r}@{v}")),
            (Some(r), None) => Some(format!("git+{r}")),
            _ => None,
        };
        deps.push(ResourceDescriptor {
            uri,
            digest: BTreeMap::from([(d.algorithm().to_string(), d.hex().to_string())]),
            name: input.path.clone(),
            ..Default::default()
        });
    } else if let (Some(r), Some(v)) = (&repo, &revision) {
        deps.push(ResourceDescriptor {
            uri: Some(format!("git+{r}")),
            digest: BTreeMap::from([("gitCommit".to_string(), v.clone())]),
            ..Default::default()
        });
    }
    for (uri, d) in &input.dependencies {
        deps.push(ResourceDescriptor {
            uri: Some(uri.clone()),
            digest: BTreeMap::from([(d.algorithm().to_string(), d.hex().to_string())]),
            ..Default::default()
        });
    }
    let (builder_id, invocation) = if github {
        let id = get("GITHUB_WORKFLOW_REF")
            .map(|w| format!("{server}/{w}"))
            .unwrap_or_else(|| format!("{server}/actions/runner"));
        let inv = match (get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID")) {
            (Some(r), Some(run)) => format!(
                "{server}/{r}/actions/runs/{run}/attempts/{}",
                get("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into())
            ),
            _ => String::new(),
        };
        (id, inv)
    } else if gitlab {
        let id = match (get("CI_SERVER_URL"), get("CI_RUNNER_ID")) {
            (Some(s), Some(r)) => format!("{s}/-/runners/{r}"),
            (Some(s), None) => s,
            _ => "https://gitlab.com".into(),
        };
        (id, get("CI_JOB_URL").unwrap_or_default())
    } else {
        (LOCAL_BUILDER.to_string(), String::new())
    };
    let mut version = BTreeMap::new();
    if let Some(v) = &input.bpkit_version {
        version.insert("bpkit".to_string(), v.clone());
    }
    Provenance {
        build_definition: BuildDefinition {
            build_type: BUILD_TYPE.to_string(),
            external_parameters: Value::Object(external),
            internal_parameters: None,
            resolved_dependencies: deps,
        },
        run_details: RunDetails {
            builder: Builder {
                id: builder_id,
                version,
                builder_dependencies: Vec::new(),
            },
            metadata: (!invocation.is_empty()).then(|| BuildMetadata {
                invocation_id: invocation,
                started_on: None,
                finished_on: None,
            }),
            byproducts: Vec::new(),
        },
    }
}

/// The provenance as a predicate (JSON).
pub fn provenance_predicate(p: &Provenance) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

/// The predicate type of an SBOM document: CycloneDX (`bomFormat`) or SPDX (`spdxVersion`).
pub fn sbom_predicate_type(sbom: &Value) -> Option<&'static str> {
    if sbom.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        Some(CYCLONEDX)
    } else if sbom.get("spdxVersion").is_some_and(Value::is_string) {
        Some(SPDX)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(
            predicate_type("slsaprovenance").unwrap(),
            SLSA_PROVENANCE_V1
        );
        assert_eq!(predicate_type("cyclonedx").unwrap(), CYCLONEDX);
        assert_eq!(predicate_type("spdxjson").unwrap(), SPDX);
        assert_eq!(
            predicate_type("https://example.com/p/v1").unwrap(),
            "https://example.com/p/v1"
        );
        for bad in ["", "custom", "https://", "https://a b"] {
            let e = predicate_type(bad).unwrap_err().to_string();
            assert!(e.contains("not a known predicate type"), "{bad}: {e}");
        }
        assert!(check_predicate(CYCLONEDX, &json!({"bomFormat": "CycloneDX"})).is_ok());
        let e = check_predicate(SPDX, &json!({"bomFormat": "CycloneDX"})).unwrap_err();
        assert!(e.to_string().contains("spdxVersion"), "{e}");
        assert!(check_predicate("https://x.test/p", &json!([1])).is_err());
        assert_eq!(
            sbom_predicate_type(&json!({"spdxVersion": "SPDX-2.3"})),
            Some(SPDX)
        );
        assert_eq!(sbom_predicate_type(&json!({})), None);
    }

    #[test]
    fn provenance_from_github_actions() {
        let vars: BTreeMap<&str, &str> = BTreeMap::from([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "openova-io/catalog"),
            ("GITHUB_SHA", "0123abcd"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            (
                "GITHUB_WORKFLOW_REF",
                "openova-io/catalog/.github/workflows/publish.yml@refs/heads/main",
            ),
        ]);
        let env = |k: &str| vars.get(k).map(|v| v.to_string());
        let dep = Digest::of(b"dep");
        let src = Digest::of(b"src");
        let p = provenance(
            &ProvenanceInput {
                path: Some("blueprints/demo".into()),
                source_digest: Some(src.clone()),
                dependencies: vec![("oci://r.test/bp/base:1.0.0".into(), dep.clone())],
                ..Default::default()
            },
            &env,
        );
        let v = provenance_predicate(&p);
        assert_eq!(v["buildDefinition"]["buildType"], BUILD_TYPE);
        let ext = &v["buildDefinition"]["externalParameters"];
        assert_eq!(ext["repository"], "https://github.com/openova-io/catalog");
        assert_eq!(ext["revision"], "0123abcd");
        assert_eq!(ext["path"], "blueprints/demo");
        let deps = &v["buildDefinition"]["resolvedDependencies"];
        assert_eq!(
            deps[0]["uri"],
            "git+https://github.com/openova-io/catalog@0123abcd"
        );
        assert_eq!(deps[0]["digest"]["sha256"], src.hex());
        assert_eq!(deps[1]["digest"]["sha256"], dep.hex());
        assert_eq!(
            v["runDetails"]["builder"]["id"],
            "https://github.com/openova-io/catalog/.github/workflows/publish.yml@refs/heads/main"
        );
        assert_eq!(
            v["runDetails"]["metadata"]["invocationId"],
            "https://github.com/openova-io/catalog/actions/runs/42/attempts/2"
        );
        let local = provenance(&ProvenanceInput::default(), &|_| None);
        assert_eq!(local.run_details.builder.id, LOCAL_BUILDER);
        assert!(local.run_details.metadata.is_none());
    }
}
