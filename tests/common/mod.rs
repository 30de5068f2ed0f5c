//! Patch variants shared by the test crates: a folder of `<name>.patch` files, each one change
//! to a harness tree, with a header that promises the verdict:
//!   # expect-exit: 1
//!   # expect-codes: DG003 DG002
//!   # expect-witness: perform_backup deploy_app   (optional)
//! Each is applied with `git apply` to a fresh copy of the tree (outside any repository, so
//! the `a/runner/...` paths apply as written) and checked with the real binary.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Variant {
    pub name: String,
    pub patch: PathBuf,
    pub exit: i32,
    pub codes: BTreeSet<String>,
    pub witness: Vec<String>,
    /// What the variant exercises (`feature:`, or `why:` for the blind-written ones).
    pub feature: String,
}

pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

pub fn header_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .take_while(|l| l.starts_with('#') || l.trim().is_empty())
        .find_map(|l| {
            l.strip_prefix('#')
                .map(str::trim)
                .and_then(|l| l.strip_prefix(key))
                .and_then(|l| l.strip_prefix(':'))
        })
        .map(str::trim)
}

pub fn load_variants(dir: &Path) -> Vec<Variant> {
    let mut variants = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} exists: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "patch"))
        .collect();
    entries.sort();
    for patch in entries {
        let text = std::fs::read_to_string(&patch).unwrap();
        let name = patch.file_stem().unwrap().to_string_lossy().into_owned();
        let exit = header_value(&text, "expect-exit")
            .unwrap_or_else(|| panic!("{name}: header has no `# expect-exit:`"))
            .parse()
            .unwrap_or_else(|_| panic!("{name}: expect-exit is not a number"));
        let codes = header_value(&text, "expect-codes")
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let witness = header_value(&text, "expect-witness")
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let feature = header_value(&text, "feature")
            .or_else(|| header_value(&text, "why"))
            .unwrap_or("")
            .to_string();
        variants.push(Variant {
            name,
            patch,
            exit,
            codes,
            witness,
            feature,
        });
    }
    variants
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs git in `dir` as a test user, isolated from the repository running the tests (a
/// pre-commit hook exports `GIT_DIR` and `GIT_INDEX_FILE`); panics if git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git is installed");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A fresh git repository holding `testdata/cc-ci`, one commit.
pub fn harness_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&testdata("cc-ci"), dir.path());
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "the harness"]);
    dir
}

/// Applies a variant to a fresh copy of `tree` (the folder holding `runner/`).
pub fn apply(tree: &Path, variant: &Variant) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(tree, dir.path());
    let output = Command::new("git")
        .arg("apply")
        .arg(&variant.patch)
        .current_dir(dir.path())
        .output()
        .expect("git is installed (the variants are git patches)");
    assert!(
        output.status.success(),
        "{}: git apply failed: {}",
        variant.name,
        String::from_utf8_lossy(&output.stderr)
    );
    dir
}

pub fn check_json(root: &Path) -> (i32, serde_json::Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .args(["check", "--format", "json"])
        .arg(root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (
        output.status.code().unwrap_or(-1),
        json,
        format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)),
    )
}

/// The codes of the error findings of a `check --format json` answer.
pub fn error_codes(json: &serde_json::Value) -> BTreeSet<String> {
    json["findings"]
        .as_array()
        .map(|findings| {
            findings
                .iter()
                .filter(|f| f["severity"] == "error")
                .map(|f| f["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Applies every variant in `dir` to `tree` and returns one line per variant whose verdict
/// differs from its header's promise (exit code, the exact set of codes, witness words, and a
/// location on every finding).
pub fn broken_promises(tree: &Path, dir: &Path) -> (usize, Vec<String>) {
    let variants = load_variants(dir);
    let mut failures = Vec::new();
    for variant in &variants {
        let dir = apply(tree, variant);
        let (exit, json, raw) = check_json(&dir.path().join("runner"));
        let codes = error_codes(&json);
        let mut problems = Vec::new();
        if exit != variant.exit {
            problems.push(format!("exit {exit}, expected {}", variant.exit));
        }
        if codes != variant.codes {
            problems.push(format!("codes {codes:?}, expected {:?}", variant.codes));
        }
        for word in &variant.witness {
            if !raw.contains(word.as_str()) {
                problems.push(format!("output does not mention `{word}`"));
            }
        }
        if variant.exit == 1 {
            let has_witness_or_site = json["findings"].as_array().is_some_and(|f| {
                f.iter()
                    .all(|f| f["line"].is_number() || f["code"] == "DG008")
            });
            if !has_witness_or_site {
                problems.push("a finding has no location".into());
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({}): {}\n{}",
                variant.name,
                variant.feature,
                problems.join("; "),
                raw
            ));
        }
    }
    (variants.len(), failures)
}
