//! OCI artifacts: digests, descriptors, image manifests, and OCI image layout folders.
//!
//! The pieces, from the bottom up:
//!
//! - [`Digest`]: `sha256:<hex>`, parsed strictly (it becomes a file name).
//! - [`Descriptor`] and [`Manifest`]: the image-spec types, serialised with a fixed key order
//!   and no whitespace, so a manifest's digest depends only on its content.
//! - [`Image`]: a manifest with its blobs in memory, every size and digest checked.
//! - [`layout`]: writing and reading OCI image layout folders (`oci:DIR:TAG`).
//! - [`media_type`] and [`annotation`]: every protocol string in one place.
//! - [`store`]: one synchronous [`Store`] interface over layouts and registry repositories,
//!   with OCI 1.1 referrers (API or fallback tag).
//! - [`copy`]: manifests, indexes and their referrers copied byte for byte between stores,
//!   with progress events.
//!
//! Everything here but `registry` is synchronous and offline (std only). The registry client
//! sits behind the `oci` cargo feature and moves the same [`Image`] values.

pub mod annotation;
pub mod copy;
mod digest;
mod error;
mod image;
pub mod layout;
mod manifest;
pub mod media_type;
#[cfg(feature = "oci")]
pub mod registry;
pub mod store;

pub use digest::{Digest, Hasher};
pub use error::OciError;
pub use image::Image;
pub use layout::{BlobWriter, Layout, LayoutRef, ReadLimits, WriteOptions, WriteOutcome};
pub use manifest::{Descriptor, Manifest};
pub use store::{Store, StoreError};
