//! Any bytes as deployguard.toml and as pyproject.toml.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    deployguard::fuzzing::config(data);
});
