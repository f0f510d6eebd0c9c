//! Media types: every protocol string bpkit writes into or looks for in an OCI manifest.
//!
//! Helm and Flux strings are theirs, spelled exactly as their clients expect, so that
//! `helm pull oci://…` and a Flux `OCIRepository` consume bpkit artifacts unchanged.

/// An OCI image manifest (image-spec v1.1).
pub const IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index (the `index.json` of a layout).
pub const IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The OCI empty descriptor (`{}`), for artifacts without a meaningful config.
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Helm's chart config: `Chart.yaml` as JSON, the way Helm marshals its chart metadata.
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm's chart archive (`<name>-<version>.tgz`).
pub const HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Helm's provenance file (`.prov`); bpkit does not write it, `pull` skips it.
pub const HELM_PROVENANCE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
/// The chart archive type of Helm before 3.8; accepted by `pull`, never written.
pub const HELM_CHART_LEGACY: &str = "application/tar+gzip";

/// Flux's artifact config.
pub const FLUX_CONFIG: &str = "application/vnd.cncf.flux.config.v1+json";
/// Flux's content layer: a tar+gzip of the manifests folder.
pub const FLUX_CONTENT: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";

/// The Blueprint document, the bytes of `blueprint.yaml` as written.
pub const BLUEPRINT: &str = "application/vnd.openova.catalyst.blueprint.v1+yaml";
/// The marketplace card assets: the Blueprint's `card/` folder as tar+gzip.
pub const CARD: &str = "application/vnd.openova.catalyst.card.v1.tar+gzip";

/// Whether `s` has the shape the image-spec requires of a media type (RFC 6838 names:
/// `type/subtype`, each 1–127 characters from `A-Za-z0-9!#$&^_.+-`, starting alphanumeric).
pub fn is_valid(s: &str) -> bool {
    let Some((t, sub)) = s.split_once('/') else {
        return false;
    };
    let part = |p: &str| {
        let b = p.as_bytes();
        !b.is_empty()
            && b.len() <= 127
            && b[0].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(c))
    };
    part(t) && part(sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_constants_are_valid_media_types() {
        for m in [
            IMAGE_MANIFEST,
            IMAGE_INDEX,
            EMPTY,
            HELM_CONFIG,
            HELM_CHART,
            HELM_PROVENANCE,
            HELM_CHART_LEGACY,
            FLUX_CONFIG,
            FLUX_CONTENT,
            BLUEPRINT,
            CARD,
        ] {
            assert!(is_valid(m), "{m}");
        }
        for bad in ["", "a", "a/", "/b", "a/b/c", "-a/b", "a/b c"] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
