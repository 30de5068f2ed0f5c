//! Every variant in `testdata/variants/*.patch` applied to the cc-ci emulation, checked with
//! the real binary: the exit code and the exact set of error codes its header promises.
//!
//! A variant's header says what must fire:
//!   # expect-exit: 1
//!   # expect-codes: DG003 DG002
//!   # expect-witness: perform_backup deploy_app

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Variant {
    name: String,
    patch: PathBuf,
    exit: i32,
    codes: BTreeSet<String>,
    witness: Vec<String>,
    feature: String,
}

fn variants_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/variants")
}

fn header_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
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

fn load_variants() -> Vec<Variant> {
    let mut variants = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(variants_dir())
        .expect("testdata/variants exists")
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
        let feature = header_value(&text, "feature").unwrap_or("").to_string();
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

fn copy_tree(from: &Path, to: &Path) {
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

/// Applies a variant to a fresh copy of the emulation; returns the temp dir.
fn apply(variant: &Variant) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cc-ci"),
        dir.path(),
    );
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

fn check_json(root: &Path) -> (i32, serde_json::Value, String) {
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

#[test]
fn every_variant_gives_its_promised_verdict() {
    let variants = load_variants();
    assert!(
        variants.len() >= 25,
        "at least 25 variants, found {}",
        variants.len()
    );
    let mut failures = Vec::new();
    for variant in &variants {
        let dir = apply(variant);
        let (exit, json, raw) = check_json(&dir.path().join("runner"));
        let codes: BTreeSet<String> = json["findings"]
            .as_array()
            .map(|findings| {
                findings
                    .iter()
                    .filter(|f| f["severity"] == "error")
                    .map(|f| f["code"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
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
    assert!(
        failures.is_empty(),
        "{} of {} variants failed:\n\n{}",
        failures.len(),
        variants.len(),
        failures.join("\n\n")
    );
}

#[test]
fn variants_cover_every_rule_and_both_verdicts() {
    let variants = load_variants();
    let covered: BTreeSet<&str> = variants
        .iter()
        .flat_map(|v| v.codes.iter().map(String::as_str))
        .collect();
    for code in [
        "DG001", "DG002", "DG003", "DG004", "DG005", "DG006", "DG007", "DG100",
    ] {
        assert!(covered.contains(code), "no variant expects {code}");
    }
    let clean = variants.iter().filter(|v| v.exit == 0).count();
    assert!(
        clean >= 8,
        "at least 8 clean refactors must pass, found {clean}"
    );
}

#[test]
fn the_unmodified_emulation_passes_with_three_sites() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cc-ci/runner");
    let (exit, json, raw) = check_json(&root);
    assert_eq!(exit, 0, "{raw}");
    let sites = json["summary"]["deploy_sites"]
        .as_array()
        .expect("deploy_sites");
    let kinds: BTreeSet<&str> = sites.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(sites.len(), 3, "{raw}");
    assert_eq!(kinds, BTreeSet::from(["base", "dep", "exempt"]));
    let exempt = sites.iter().find(|s| s["kind"] == "exempt").unwrap();
    assert_eq!(exempt["function"], "run_recipe_ci.promote_canonical");
    assert_eq!(exempt["line"], 699);
    assert_eq!(exempt["detached_at"]["line"], 697);
    let base = sites.iter().find(|s| s["kind"] == "base").unwrap();
    assert_eq!(
        (base["file"].as_str(), base["line"].as_u64()),
        (Some("run_recipe_ci.py"), Some(819))
    );
    let dep = sites.iter().find(|s| s["kind"] == "dep").unwrap();
    assert_eq!(
        (dep["file"].as_str(), dep["line"].as_u64()),
        (Some("harness/deps.py"), Some(100))
    );
    let counter = &json["summary"]["counter_sites"][0];
    assert_eq!(
        (counter["line"].as_u64(), counter["function"].as_str()),
        (Some(211), Some("harness.lifecycle.deploy_app"))
    );
    assert_eq!(
        json["summary"]["counter_sites"].as_array().unwrap().len(),
        1
    );
    let budget = &json["summary"]["budget"];
    assert_eq!(budget["entry"], "run_recipe_ci.main");
    assert_eq!(budget["found"], "1 + N_cold_deps", "{raw}");
    assert_eq!(budget["guard"], "1 + N_cold_deps", "{raw}");
    assert_eq!(budget["expected"], "1 + N_cold_deps");
    let tiers: Vec<(&str, &str)> = budget["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["tier"].as_str().unwrap(), t["deploys"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tiers,
        vec![
            ("install", "0"),
            ("upgrade", "0"),
            ("backup", "0"),
            ("restore", "0"),
            ("custom", "0")
        ]
    );
}

#[test]
fn the_human_summary_names_the_sites_and_the_pop() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cc-ci/runner");
    let output = Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .arg("check")
        .arg(&root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for expected in [
        "base       run_recipe_ci.py:819",
        "dep        harness/deps.py:100",
        "exempt     run_recipe_ci.py:699",
        "counter detached at run_recipe_ci.py:697",
        "CCCI_DEPLOY_COUNT_FILE",
        "counter    harness/lifecycle.py:211",
        "none can reach a deploy",
        "static budget of run_recipe_ci.main: 1 + N_cold_deps; guard expects: 1 + N_cold_deps",
        "deploys added per tier: install 0, upgrade 0, backup 0, restore 0, custom 0",
        "result: ok",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
}
