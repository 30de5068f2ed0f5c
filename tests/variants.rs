//! Every variant in `testdata/variants/*.patch` applied to the cc-ci emulation, checked with
//! the real binary: the exit code and the exact set of error codes its header promises.
//!
//! A variant's header says what must fire:
//!   # expect-exit: 1
//!   # expect-codes: DG003 DG002
//!   # expect-witness: perform_backup deploy_app

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{broken_promises, check_json, testdata};

fn load_variants() -> Vec<common::Variant> {
    common::load_variants(&testdata("variants"))
}

#[test]
fn every_variant_gives_its_promised_verdict() {
    let (count, failures) = broken_promises(&testdata("cc-ci"), &testdata("variants"));
    assert!(count >= 25, "at least 25 variants, found {count}");
    assert!(
        failures.is_empty(),
        "{} of {count} variants failed:\n\n{}",
        failures.len(),
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
