//! On a large real tree (the django sdist from PyPI, fetched by `scripts/fetch_corpus.sh`
//! into `target/corpus/django`), `deployguard sites` agrees with Python's own `ast` on every
//! call site of a few common names. The test command (`scripts/test.sh`) fetches the corpus
//! and runs this test; plain `cargo test` leaves it out because it needs the download.

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs the PyPI corpus: run scripts/test.sh (or scripts/fetch_corpus.sh first)"]
fn sites_agree_with_python_ast_on_django() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("target/corpus/django");
    assert!(
        corpus.join("django/__init__.py").is_file(),
        "{} is missing: run `bash scripts/fetch_corpus.sh` (it downloads the django sdist from PyPI)",
        corpus.display()
    );
    let output = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(root.join("scripts/compare_sites.py"))
        .arg("--deployguard")
        .arg(env!("CARGO_BIN_EXE_deployguard"))
        .arg(&corpus)
        .args(["get", "append", "reverse", "render", "filter"])
        .output()
        .expect("python3 runs (the oracle is Python's own ast module)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "deployguard and ast disagree:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let compared: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("compared_sites: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the comparator reports how many sites it compared");
    assert!(
        compared > 5_000,
        "only {compared} sites compared: the corpus looks truncated"
    );
}
