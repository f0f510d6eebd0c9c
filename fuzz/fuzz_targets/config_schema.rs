#![no_main]
//! Fuzz target `config_schema`: see `bpkit::fuzzing::config_schema`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpkit::fuzzing::config_schema(data));
