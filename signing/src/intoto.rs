//! in-toto attestation Statements (v1) and the SLSA Provenance v1 predicate.
//!
//! A Statement binds a predicate (what is claimed) to subjects (artifacts named by digest);
//! it travels signed inside a DSSE [`Envelope`] of type [`IN_TOTO_PAYLOAD_TYPE`].

use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::error::{Error, Result};
use crate::keys::{Signer, Verifier};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `_type` of an in-toto Statement v1 (written).
pub const STATEMENT_TYPE_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of an in-toto Statement v0.1 (still written by cosign `attest`; read only).
pub const STATEMENT_TYPE_V01: &str = "https://in-toto.io/Statement/v0.1";
/// `predicateType` of SLSA Provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// Digests by algorithm name (`sha256` → lower-case hex).
pub type DigestSet = BTreeMap<String, String>;

/// An in-toto Statement with a predicate of type `P` (any JSON by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Statement<P = Value> {
    /// [`STATEMENT_TYPE_V1`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The artifacts the predicate is about.
    pub subject: Vec<Subject>,
    /// What kind of predicate follows (a URI).
    pub predicate_type: String,
    /// The claim.
    pub predicate: P,
}

/// One subject of a [`Statement`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// The artifact's name (for an OCI artifact, its repository).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Its digests.
    pub digest: DigestSet,
}

impl Subject {
    /// A subject with one `sha256` digest (`hex` without `sha256:`).
    pub fn sha256(name: impl Into<String>, hex: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            digest: BTreeMap::from([("sha256".to_owned(), hex.into())]),
        }
    }
}

impl<P: Serialize + DeserializeOwned> Statement<P> {
    /// A v1 Statement.
    pub fn new(subject: Vec<Subject>, predicate_type: impl Into<String>, predicate: P) -> Self {
        Self {
            type_: STATEMENT_TYPE_V1.to_owned(),
            subject,
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// The compact JSON form.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::statement(e.to_string()))
    }

    /// Reads a Statement and checks `_type`, that there is a subject and that every subject
    /// has a digest.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let statement: Self =
            serde_json::from_slice(bytes).map_err(|e| Error::statement(e.to_string()))?;
        statement.check()?;
        Ok(statement)
    }

    fn check(&self) -> Result<()> {
        if self.type_ != STATEMENT_TYPE_V1 && self.type_ != STATEMENT_TYPE_V01 {
            return Err(Error::statement(format!(
                "`_type` is `{}`, expected `{STATEMENT_TYPE_V1}`",
                self.type_
            )));
        }
        if self.subject.is_empty() {
            return Err(Error::statement("`subject` is empty"));
        }
        if let Some(i) = self.subject.iter().position(|s| s.digest.is_empty()) {
            return Err(Error::statement(format!("`subject[{i}].digest` is empty")));
        }
        if self.predicate_type.is_empty() {
            return Err(Error::statement("`predicateType` is empty"));
        }
        Ok(())
    }

    /// Whether a subject has the `sha256` digest `hex`.
    pub fn has_sha256_subject(&self, hex: &str) -> bool {
        self.subject
            .iter()
            .any(|s| s.digest.get("sha256").is_some_and(|d| d == hex))
    }

    /// Signs the Statement into a DSSE envelope of type [`IN_TOTO_PAYLOAD_TYPE`].
    pub fn sign(&self, signer: &Signer, keyid: impl Into<String>) -> Result<Envelope> {
        Ok(Envelope::sign(
            IN_TOTO_PAYLOAD_TYPE,
            self.to_json()?,
            signer,
            keyid,
        ))
    }

    /// Verifies `envelope` with `verifier` and reads the Statement inside.
    pub fn from_envelope(envelope: &Envelope, verifier: &Verifier) -> Result<Self> {
        let payload = envelope.verify_typed(verifier, IN_TOTO_PAYLOAD_TYPE)?;
        Self::from_json(payload)
    }
}

/// The SLSA Provenance v1 predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// The inputs of the build.
    pub build_definition: BuildDefinition,
    /// This particular run.
    pub run_details: RunDetails,
}

/// `buildDefinition` of [`Provenance`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// A URI naming the build process template.
    pub build_type: String,
    /// Parameters under the control of whoever started the build.
    pub external_parameters: Value,
    /// Parameters under the control of the builder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_parameters: Option<Value>,
    /// Artifacts the build used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// `runDetails` of [`Provenance`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    /// Who ran the build.
    pub builder: Builder,
    /// When and as what invocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BuildMetadata>,
    /// Other outputs of the build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub byproducts: Vec<ResourceDescriptor>,
}

/// `runDetails.builder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Builder {
    /// A URI naming the builder.
    pub id: String,
    /// Versions of the builder's components.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub version: BTreeMap<String, String>,
    /// What the builder itself ran on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builder_dependencies: Vec<ResourceDescriptor>,
}

/// `runDetails.metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    /// The builder's id for this run.
    #[serde(default)]
    pub invocation_id: String,
    /// RFC 3339 start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
    /// RFC 3339 end time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<String>,
}

/// An in-toto ResourceDescriptor: an artifact named by URI and/or digest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// Where the resource is identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Its digests.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: DigestSet,
    /// A name (for example a file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where it can be downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
    /// Its media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Map<String, Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn provenance() -> Provenance {
        Provenance {
            build_definition: BuildDefinition {
                build_type: "https://openova.io/bpkit/package/v1".into(),
                external_parameters: json!({"blueprint": "demo"}),
                internal_parameters: None,
                resolved_dependencies: vec![ResourceDescriptor {
                    uri: Some("oci://example.test/bp/base:1.0.0".into()),
                    digest: BTreeMap::from([("sha256".into(), HEX.into())]),
                    ..Default::default()
                }],
            },
            run_details: RunDetails {
                builder: Builder {
                    id: "https://openova.io/bpkit".into(),
                    version: BTreeMap::new(),
                    builder_dependencies: vec![],
                },
                metadata: Some(BuildMetadata {
                    invocation_id: "run-1".into(),
                    started_on: Some("2026-01-01T00:00:00Z".into()),
                    finished_on: None,
                }),
                byproducts: vec![],
            },
        }
    }

    #[test]
    fn slsa_statement_json_shape() {
        let st = Statement::new(
            vec![Subject::sha256("bp/demo", HEX)],
            SLSA_PROVENANCE_V1,
            provenance(),
        );
        let v: Value = serde_json::from_slice(&st.to_json().unwrap()).unwrap();
        assert_eq!(
            v,
            json!({
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": "bp/demo", "digest": {"sha256": HEX}}],
                "predicateType": "https://slsa.dev/provenance/v1",
                "predicate": {
                    "buildDefinition": {
                        "buildType": "https://openova.io/bpkit/package/v1",
                        "externalParameters": {"blueprint": "demo"},
                        "resolvedDependencies": [{"uri": "oci://example.test/bp/base:1.0.0", "digest": {"sha256": HEX}}]
                    },
                    "runDetails": {
                        "builder": {"id": "https://openova.io/bpkit"},
                        "metadata": {"invocationId": "run-1", "startedOn": "2026-01-01T00:00:00Z"}
                    }
                }
            })
        );
        let back: Statement<Provenance> = Statement::from_json(&st.to_json().unwrap()).unwrap();
        assert_eq!(back, st);
        assert!(back.has_sha256_subject(HEX));
        assert!(!back.has_sha256_subject(&HEX.replace('0', "f")));
    }

    #[test]
    fn signed_statement_round_trip() {
        let signer = Signer::generate().unwrap();
        let st = Statement::new(
            vec![Subject::sha256("x", HEX)],
            SLSA_PROVENANCE_V1,
            provenance(),
        );
        let env = st.sign(&signer, "").unwrap();
        assert_eq!(env.payload_type, IN_TOTO_PAYLOAD_TYPE);
        let back: Statement<Provenance> =
            Statement::from_envelope(&env, &signer.verifier()).unwrap();
        assert_eq!(back, st);
        let stranger = Signer::generate().unwrap().verifier();
        assert!(Statement::<Provenance>::from_envelope(&env, &stranger).is_err());
    }

    #[test]
    fn invalid_statements() {
        let good = json!({"_type": STATEMENT_TYPE_V1, "subject": [{"name": "a", "digest": {"sha256": HEX}}], "predicateType": "p", "predicate": {}});
        let check = |mutate: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            mutate(&mut v);
            Statement::<Value>::from_json(&serde_json::to_vec(&v).unwrap())
        };
        assert!(check(&|_| {}).is_ok());
        assert!(check(&|v| v["_type"] = json!(STATEMENT_TYPE_V01)).is_ok());
        for bad in [
            &(|v: &mut Value| v["_type"] = json!("https://example.com")) as &dyn Fn(&mut Value),
            &|v| v["subject"] = json!([]),
            &|v| v["subject"][0]["digest"] = json!({}),
            &|v| v["predicateType"] = json!(""),
            &|v| v["extra"] = json!(1),
            &|v| {
                v.as_object_mut().unwrap().remove("predicate");
            },
        ] {
            assert!(matches!(check(bad), Err(Error::Statement { .. })));
        }
    }
}
