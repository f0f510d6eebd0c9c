//! bpkit: the toolchain for Catalyst Blueprints.
//!
//! A Blueprint (`apiVersion: catalyst.openova.io/v1alpha1`, `kind: Blueprint`) is the unit of
//! installable software in the OpenOva Catalyst platform. This crate reads, checks, resolves,
//! renders and packages Blueprints; the `bpkit` binary is a thin layer over it.
//!
//! The crate reads as the pipeline, one module per stage:
//!
//! | module | job |
//! |---|---|
//! | [`diag`] | sources, spans, line:column positions, findings |
//! | [`yaml`] | YAML with positions, duplicate-key and size/alias/depth limits |
//! | [`model`] | the Blueprint document: raw shape, canonical form, deviations |
//! | [`version`] | versions and Helm-dialect (Masterminds) constraints |
//! | [`render`] | `when` conditions and templated `values` (Go-style syntax, sandboxed) |
//! | [`resolve`] | the catalog resolver: PubGrub over Application instances, install plans |
//! | [`validate`] | the Blueprint schema, configSchema checks, config validation, lint rules |
//! | [`lint`] | rules learned from real incidents (hollow charts, version lockstep, …) |
//! | [`init`] | the scaffold of a new Blueprint |
//! | [`catalog`] | finding Blueprints in folders; catalogs for the resolver |
//! | [`package`] | deterministic chart and manifest archives, the Blueprint's OCI artifact |
//! | [`oci`] | digests, manifests, OCI image layout folders |
//! | [`sbom`] | CycloneDX and SPDX SBOMs: charts, images and dependencies of a Blueprint |
//! | [`publish`] | a whole catalog checked, packaged, pushed, signed, attested and verified |
//! | `trust` | cosign-compatible signatures and attestations over a `Store` (feature `sign`) |
//! | [`atomic`] | files written whole or not at all |
//! | `serve` | the catalog service: an HTTP JSON API over a catalog (feature `serve`) |
//! | `cli` | the command line (feature `cli`) |
//!
//! With `default-features = false` the crate builds without tokio, network or crypto.
#![deny(missing_docs)]

pub mod atomic;
pub mod catalog;
#[cfg(feature = "cli")]
pub mod cli;
pub mod diag;
#[doc(hidden)]
pub mod fuzzing;
pub mod init;
pub mod lint;
pub mod model;
pub mod oci;
pub mod package;
pub mod publish;
pub mod render;
pub mod resolve;
pub mod sbom;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "sign")]
pub mod trust;
pub mod validate;
pub mod version;
pub mod yaml;
