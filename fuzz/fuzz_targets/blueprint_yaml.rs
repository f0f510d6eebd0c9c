#![no_main]
//! Fuzz target `blueprint_yaml`: see `bpkit::fuzzing::blueprint_yaml`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit::fuzzing::blueprint_yaml(data));
