#![no_main]
//! Fuzz target `template`: see `bpkit::fuzzing::template`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit::fuzzing::template(data));
