//! The fuzz targets' corpus and every crasher found so far, replayed on each test run (no
//! fuzzer needed). Run the fuzzers with `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O
//! file_pipeline` (or `config`); a crasher goes into `tests/fuzz-crashers/<target>/`.

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
fn fuzz_corpus_and_crashers_replay_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = replay(
        &root.join("fuzz/corpus/file_pipeline"),
        deployguard::fuzzing::file_pipeline,
    ) + replay(
        &root.join("tests/fuzz-crashers/file_pipeline"),
        deployguard::fuzzing::file_pipeline,
    );
    let configs = replay(
        &root.join("fuzz/corpus/config"),
        deployguard::fuzzing::config,
    ) + replay(
        &root.join("tests/fuzz-crashers/config"),
        deployguard::fuzzing::config,
    );
    assert!(
        files >= 8,
        "the file_pipeline corpus is missing ({files} files)"
    );
    assert!(
        configs >= 2,
        "the config corpus is missing ({configs} files)"
    );
}
