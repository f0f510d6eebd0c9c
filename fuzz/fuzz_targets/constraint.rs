#![no_main]
//! Fuzz target `constraint`: see `bpkit::fuzzing::constraint`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit::fuzzing::constraint(data));
