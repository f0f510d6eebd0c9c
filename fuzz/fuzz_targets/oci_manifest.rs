#![no_main]
//! Fuzz target `oci_manifest`: see `bpkit::fuzzing::oci_manifest`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit::fuzzing::oci_manifest(data));
