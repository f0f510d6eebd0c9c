#![no_main]
//! Fuzz target `lockfile`: see `bpkit::fuzzing::lockfile`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit::fuzzing::lockfile(data));
