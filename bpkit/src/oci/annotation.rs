//! Annotation keys bpkit writes (pre-defined keys of the image-spec, plus its own).

/// When the artifact was made (RFC 3339); bpkit derives it from the build epoch, never the clock.
pub const CREATED: &str = "org.opencontainers.image.created";
/// The Blueprint name (on the manifest) or the file name of a layer.
pub const TITLE: &str = "org.opencontainers.image.title";
/// The Blueprint version.
pub const VERSION: &str = "org.opencontainers.image.version";
/// One sentence about the Blueprint (its card summary).
pub const DESCRIPTION: &str = "org.opencontainers.image.description";
/// The SPDX license expression of the software (the card's `license`).
pub const LICENSES: &str = "org.opencontainers.image.licenses";
/// Where the Blueprint's source lives (a repository URL), when given.
pub const SOURCE: &str = "org.opencontainers.image.source";
/// The source revision (a commit), when given.
pub const REVISION: &str = "org.opencontainers.image.revision";
/// The tag of a manifest in a layout's `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// For Kustomize Blueprints: the folder of the Kustomize base inside the content layer
/// (`base` for `ref: ./manifests/base`), the `path` a Flux `Kustomization` should use.
pub const KUSTOMIZE_PATH: &str = "io.openova.catalyst.kustomize.path";
