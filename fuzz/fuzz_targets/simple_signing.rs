#![no_main]
//! Fuzz target `simple_signing`: see `bpkit_signing::fuzzing::simple_signing`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit_signing::fuzzing::simple_signing(data));
