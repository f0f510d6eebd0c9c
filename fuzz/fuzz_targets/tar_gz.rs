#![no_main]
//! Fuzz target `tar_gz`: see `bpkit::fuzzing::tar_gz`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit::fuzzing::tar_gz(data));
