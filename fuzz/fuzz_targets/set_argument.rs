#![no_main]
//! Fuzz target `set_argument`: see `bpkit::fuzzing::set_argument`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit::fuzzing::set_argument(data));
