#![no_main]
//! Fuzz target `bundle`: see `bpkit_signing::fuzzing::bundle`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit_signing::fuzzing::bundle(data));
