//! Entry points for the fuzz targets (`fuzz/`) and for the tests that replay their corpus and
//! crashers (`tests/fuzz_regressions.rs`): whatever the input, these must return, never panic
//! or overflow the stack.

use std::path::{Path, PathBuf};

use crate::checks::{Analysis, run_all};
use crate::discover::SourceFile;
use crate::policy::{self, EMBEDDED_CC_CI};
use crate::project::{Project, ProjectFile};
use crate::ratchet::{python_tests, rust_tests};

/// One file through the whole per-file pipeline and the project-wide analysis: parse,
/// extract facts, index, resolve, build the call graph, run every check under the embedded
/// cc-ci policy, and read it as a test file for the ratchet (Python and Rust).
pub fn file_pipeline(data: &[u8]) {
    let source = SourceFile {
        path: PathBuf::from("harness/lifecycle.py"),
        rel: "harness/lifecycle.py".into(),
        module: "harness.lifecycle".into(),
        is_package: false,
        guarded: true,
    };
    let project = Project::index(vec![ProjectFile::new(source, data.to_vec())]);
    if let Ok(policy) = policy::from_toml(
        EMBEDDED_CC_CI,
        Path::new("cc_ci.toml"),
        Path::new("."),
        false,
    ) {
        let analysis = Analysis::new(&project, &policy);
        let _ = run_all(&analysis);
        let _ = crate::report::check_report(&analysis, ".".into(), Vec::new(), false);
    }
    let _ = python_tests::extract("tests/test_fuzz.py", data);
    let _ = rust_tests::extract("src/fuzz.rs", &String::from_utf8_lossy(data));
}

/// Text through the policy parser, as a `deployguard.toml` and as a `pyproject.toml`.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = policy::from_toml(&text, Path::new("deployguard.toml"), Path::new("."), false);
    let _ = policy::from_toml(&text, Path::new("pyproject.toml"), Path::new("."), true);
}
