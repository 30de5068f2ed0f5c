//! Any bytes as a guarded harness file: parse, facts, resolution, call graph, every check,
//! and the ratchet's test extractors.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    deployguard::fuzzing::file_pipeline(data);
});
