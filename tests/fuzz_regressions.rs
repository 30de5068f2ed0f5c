//! The fuzz targets' seeds and every crasher found so far, replayed on each test run (no
//! fuzzer needed). How to run the fuzzers: fuzz/README.md; a crasher goes into
//! `tests/fuzz-crashers/<target>/`.

use std::path::Path;

fn replay(dir: &Path, run: fn(&[u8])) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_file() {
            run(&std::fs::read(&path).unwrap());
            count += 1;
        }
    }
    count
}

#[test]
fn fuzz_seeds_and_crashers_replay_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The seeds are the project's own test data (see fuzz/README.md).
    let files = replay(
        &root.join("testdata/cc-ci/runner"),
        deployguard::fuzzing::file_pipeline,
    ) + replay(
        &root.join("testdata/cc-ci/runner/harness"),
        deployguard::fuzzing::file_pipeline,
    ) + replay(
        &root.join("tests/fuzz-crashers/file_pipeline"),
        deployguard::fuzzing::file_pipeline,
    );
    deployguard::fuzzing::config(include_bytes!("../src/policy/cc_ci.toml"));
    deployguard::fuzzing::config(include_bytes!("../testdata/cc-ci/runner/pyproject.toml"));
    replay(
        &root.join("tests/fuzz-crashers/config"),
        deployguard::fuzzing::config,
    );
    assert!(
        files >= 8,
        "the file_pipeline seeds are missing ({files} files)"
    );
    // One config seed is a whole valid policy, so mutations start deep inside the parser (the
    // pyproject.toml seed has no [tool.deployguard]: it exercises the error path).
    let seed = include_str!("../src/policy/cc_ci.toml");
    assert!(
        deployguard::policy::from_toml(seed, Path::new("cc_ci.toml"), Path::new("."), false)
            .is_ok(),
        "the cc_ci.toml config seed is not a valid policy"
    );
}
