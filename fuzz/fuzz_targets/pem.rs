#![no_main]
//! Fuzz target `pem`: see `bpkit_signing::fuzzing::pem`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit_signing::fuzzing::pem(data));
