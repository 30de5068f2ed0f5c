//! `--format sarif` of `check`, `ratchet` and `verify`, validated against the SARIF 2.1.0
//! JSON schema vendored in `testdata/sarif/` (with Python's `jsonschema`, which
//! `scripts/test.sh` installs into `target/venv`; missing, these tests fail, never skip),
//! and read back for what a code-scanning viewer needs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{git, harness_repo as harness};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn python() -> PathBuf {
    std::env::var_os("DEPLOYGUARD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(MANIFEST_DIR).join("target/venv/bin/python"))
}

/// Validates `sarif` against the vendored schema; panics with the first error.
fn assert_valid(sarif: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.sarif");
    std::fs::write(&file, sarif).unwrap();
    let schema = Path::new(MANIFEST_DIR).join("testdata/sarif/sarif-schema-2.1.0.json");
    let output = Command::new(python())
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             log = json.load(open(sys.argv[2]))\n\
             jsonschema.Draft4Validator.check_schema(schema)\n\
             errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)\n\
             for e in errors[:5]: print(list(e.absolute_path), e.message)\n\
             sys.exit(1 if errors else 0)\n",
        ])
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "no python at {} ({e}): run `bash scripts/test.sh`, which installs \
                 jsonschema into target/venv, or set DEPLOYGUARD_PYTHON",
                python().display()
            )
        });
    assert!(
        output.status.success(),
        "not valid SARIF 2.1.0 (or jsonschema is missing: run scripts/test.sh):\n{}{}\n{sarif}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn deployguard(args: &[&str], root: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .args(args)
        .arg(root)
        .env_remove("PRE_COMMIT")
        .env_remove("DRONE")
        .output()
        .unwrap()
}

fn sarif(output: &Output) -> (String, serde_json::Value) {
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("no JSON: {text}{}", String::from_utf8_lossy(&output.stderr)));
    (text, value)
}

#[test]
fn check_on_the_clean_harness_is_valid_sarif_with_every_rule() {
    let repo = harness();
    let output = deployguard(&["check", "--format", "sarif"], &repo.path().join("runner"));
    assert_eq!(output.status.code(), Some(0));
    let (text, log) = sarif(&output);
    assert_valid(&text);
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "deployguard");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    let dg003 = rules.iter().find(|r| r["id"] == "DG003").unwrap();
    assert_eq!(dg003["name"], "forbidden-source-deploys");
    // The help is what `explain DG003` prints.
    let explain = Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .args(["explain", "DG003"])
        .output()
        .unwrap();
    assert_eq!(
        dg003["help"]["text"].as_str().unwrap().trim(),
        String::from_utf8_lossy(&explain.stdout).trim()
    );
    assert!(
        rules.iter().any(|r| r["id"] == "DG013"),
        "ratchet rules too"
    );
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
    let base = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
}

#[test]
fn a_deploy_in_perform_backup_is_a_result_with_its_witness_as_a_code_flow() {
    let repo = harness();
    let patch =
        Path::new(MANIFEST_DIR).join("testdata/variants/dg003-direct-call-in-perform-backup.patch");
    git(repo.path(), &["apply", &patch.to_string_lossy()]);
    let output = deployguard(&["check", "--format", "sarif"], &repo.path().join("runner"));
    assert_eq!(output.status.code(), Some(1));
    let (text, log) = sarif(&output);
    assert_valid(&text);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let dg003 = results.iter().find(|r| r["ruleId"] == "DG003").unwrap();
    assert_eq!(dg003["level"], "error");
    let location = &dg003["locations"][0]["physicalLocation"];
    // Relative to the repository's top level, so a viewer finds the file in the checkout.
    assert_eq!(
        location["artifactLocation"]["uri"],
        "runner/harness/generic.py"
    );
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(location["region"]["startLine"], 260);
    let hops = dg003["codeFlows"][0]["threadFlows"][0]["locations"]
        .as_array()
        .unwrap();
    assert!(!hops.is_empty());
    assert!(
        hops[0]["location"]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("perform_backup")
    );
    assert!(dg003["partialFingerprints"]["deployguard/v1"].is_string());
}

#[test]
fn a_removed_test_is_anchored_on_the_base_side_def_line() {
    let repo = harness();
    let tests = repo.path().join("runner/tests/test_guard.py");
    let text = std::fs::read_to_string(&tests).unwrap();
    let def = "    def test_missing_file_raises(self) -> None:\n";
    let start = text.find(def).unwrap();
    let def_line = text[..start].lines().count() + 1;
    let end = start + text[start..].find("\n\n").unwrap() + 1;
    std::fs::write(&tests, format!("{}{}", &text[..start], &text[end + 1..])).unwrap();
    git(repo.path(), &["commit", "-q", "-am", "drop a test"]);
    let output = deployguard(
        &[
            "ratchet", "--base", "HEAD~1", "--head", "HEAD", "--format", "sarif",
        ],
        &repo.path().join("runner"),
    );
    assert_eq!(output.status.code(), Some(1));
    let (text, log) = sarif(&output);
    assert_valid(&text);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let removed = results.iter().find(|r| r["ruleId"] == "DG011").unwrap();
    let location = &removed["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "runner/tests/test_guard.py"
    );
    assert_eq!(location["region"]["startLine"], def_line);
}

#[test]
fn verify_as_sarif_holds_every_section_and_the_runs() {
    let repo = harness();
    let tests = repo.path().join("runner/tests/test_guard.py");
    let text = std::fs::read_to_string(&tests).unwrap();
    std::fs::write(
        &tests,
        text.replacen(
            "self.assertEqual(run_recipe_ci.read_deploy_count(self.count_file), 2)",
            "self.assertTrue(run_recipe_ci.read_deploy_count(self.count_file))",
            1,
        ),
    )
    .unwrap();
    let log_file = repo.path().join("run.log");
    std::fs::write(
        &log_file,
        "RUN SUMMARY ghost run=1\n  deploy-count = 2 (expect 1)\n  deps deployed: []\n  tiers:\n  install  pass  1.0s  ok\n",
    )
    .unwrap();
    let output = deployguard(
        &[
            "verify",
            "--base",
            "HEAD",
            "--format",
            "sarif",
            "--run-log",
            &log_file.to_string_lossy(),
        ],
        &repo.path().join("runner"),
    );
    assert_eq!(output.status.code(), Some(1));
    let (text, log) = sarif(&output);
    assert_valid(&text);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"DG013"), "{ids:?}");
    let run = results
        .iter()
        .find(|r| r["ruleId"] == "run-summary")
        .unwrap();
    assert_eq!(
        run["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "run.log"
    );
    assert_eq!(
        run["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
}
