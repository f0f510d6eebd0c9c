#![no_main]
//! Fuzz target `dsse`: see `bpkit_signing::fuzzing::dsse`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit_signing::fuzzing::dsse(data));
