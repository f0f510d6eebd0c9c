//! bpkit: the Blueprint toolchain.
#![deny(missing_docs)]
