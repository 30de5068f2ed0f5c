//! `deployguard verify`: the reviewer's report on the bundled harness in a fresh git repo.
//! B1, B2 and B3 each PASS with a Mermaid picture; a weakened test is B3 FAIL and exit 1; a
//! deploy in perform_backup is B1 FAIL with its witness chain; run logs are checked against
//! the static budget, and one that disagrees is FAIL with its line quoted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{git, harness_repo as harness};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn verify(repo: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .arg("verify")
        .arg(repo.join("runner"))
        .args(args)
        .env_remove("PRE_COMMIT")
        .env_remove("DRONE")
        .output()
        .unwrap()
}

fn report(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_bundled_harness_passes_b1_b2_b3_with_a_picture() {
    let repo = harness();
    let head = git(repo.path(), &["rev-parse", "HEAD"]);
    let output = verify(repo.path(), &["--base", "HEAD"]);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let md = report(&output);
    for section in [
        "## B1: the deploy budget: PASS",
        "## B2: the guard: PASS",
        "## B3: no test weakened: PASS",
        "```mermaid\nflowchart LR\n",
    ] {
        assert!(md.contains(section), "{section} missing:\n{md}");
    }
    // The facts a reviewer checks by eye, each with file:line.
    for fact in [
        "| base | `run_recipe_ci.py:819:24` | `run_recipe_ci.main` |",
        "| dep (one per cold dep) | `harness/deps.py:100:13` |",
        "counter detached first at `run_recipe_ci.py:697:5`",
        "| `harness.generic.perform_backup` | cannot reach `harness.lifecycle.deploy_app` |",
        "Static budget of one run of `run_recipe_ci.main`: **`1 + N_cold_deps`**",
        "| compares | `run_recipe_ci.py:1005` | `if deploy_count != expected_deploy_count:` |",
        "| fails the run at | `run_recipe_ci.py:1040` | `sys.exit(main())` |",
        "No test weakened.",
        "[\"harness.lifecycle.deploy_app\"]:::sink",
        "[\"harness.generic.perform_backup\"]:::forbidden",
    ] {
        assert!(md.contains(fact), "{fact} missing:\n{md}");
    }
    // B3 counts the whole suite on each side, not only the files that changed (none here).
    let counted = |row: &str| -> Vec<usize> {
        let line = md.lines().find(|l| l.starts_with(row)).unwrap();
        line.split('|')
            .filter_map(|cell| cell.trim().parse().ok())
            .collect()
    };
    let tests = counted("| collected tests |");
    assert!(
        tests.len() == 2 && tests[0] == tests[1] && tests[0] >= 20,
        "{tests:?}"
    );
    let assertions = counted("| effective assertions |");
    assert!(
        assertions[0] == assertions[1] && assertions[0] > tests[0],
        "{assertions:?}"
    );
    // The commit, the tool's version and the command that gives the report again.
    assert!(
        md.contains(&format!("`{head}` (working tree clean)")),
        "{md}"
    );
    assert!(md.contains(env!("CARGO_PKG_VERSION")), "{md}");
    assert!(md.contains("| reproduce | `deployguard verify "), "{md}");
    assert!(md.contains(&format!("--base {head}")), "{md}");
}

#[test]
fn a_weakened_test_is_b3_fail_and_exit_1() {
    let repo = harness();
    let tests = repo.path().join("runner/tests/test_guard.py");
    let text = std::fs::read_to_string(&tests).unwrap();
    let strong = "self.assertEqual(run_recipe_ci.read_deploy_count(self.count_file), 2)";
    assert!(text.contains(strong));
    std::fs::write(
        &tests,
        text.replacen(
            strong,
            "self.assertTrue(run_recipe_ci.read_deploy_count(self.count_file))",
            1,
        ),
    )
    .unwrap();
    git(repo.path(), &["commit", "-q", "-am", "weaken"]);
    let output = verify(repo.path(), &["--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    let md = report(&output);
    assert!(md.contains("## B1: the deploy budget: PASS"), "{md}");
    assert!(md.contains("## B3: no test weakened: FAIL"), "{md}");
    assert!(md.contains("| DG013 |"), "{md}");
    assert!(md.contains("test_counts_non_empty_lines"), "{md}");
    assert!(md.contains("| collected tests |"), "{md}");
}

#[test]
fn a_deploy_in_perform_backup_is_b1_fail_with_its_chain() {
    let repo = harness();
    let patch =
        Path::new(MANIFEST_DIR).join("testdata/variants/dg003-direct-call-in-perform-backup.patch");
    git(repo.path(), &["apply", &patch.to_string_lossy()]);
    let output = verify(repo.path(), &["--base", "HEAD"]);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    let md = report(&output);
    assert!(md.contains("## B1: the deploy budget: FAIL"), "{md}");
    assert!(md.contains("with uncommitted changes"), "{md}");
    assert!(
        md.contains(
            "Witness chain from `harness.generic.perform_backup`:\n\n1. `harness/generic.py:"
        ),
        "{md}"
    );
    assert!(md.contains("| DG003 | error |"), "{md}");
    assert!(
        md.contains("[\"harness.generic.perform_backup\"]:::breach"),
        "{md}"
    );
    assert!(md.contains(" ==> "), "{md}");
}

const NO_DEP_RUN: &str = "\
[05:00:01] tier custom: pass
RUN SUMMARY ghost run=41 base=1.0.0 target=1.1.0
  deploy-count = 1 (expect 1)
  deps deployed: []
  declared deps: []
  tiers:
  install  pass     40.0s  ok
  upgrade  pass     30.1s  ok
  backup   pass     12.0s  ok
  restore  pass     15.3s  intact
  custom   pass      2.0s  ok
  timings (largest first):
";

const COLD_DEP_RUN: &str = "\
RUN SUMMARY lasuite-docs run=42 base=2.0.0 target=2.1.0
  deploy-count = 2 (expect 2)
  deps deployed: ['keycloak']
  declared deps: ['keycloak']
  tiers:
  install  pass     80.0s  ok
  custom   pass      9.0s  ok
";

fn write_log(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_logs_are_checked_against_the_static_budget() {
    let repo = harness();
    let logs = tempfile::tempdir().unwrap();
    let no_dep = write_log(logs.path(), "ghost.log", NO_DEP_RUN);
    let cold = write_log(logs.path(), "docs.log", COLD_DEP_RUN);
    let out = logs.path().join("report.md");
    let output = verify(
        repo.path(),
        &[
            "--base",
            "HEAD",
            "--run-log",
            &no_dep.to_string_lossy(),
            "--run-log",
            &cold.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    // With --out, stdout is the verdicts and where the report is.
    let stdout = report(&output);
    assert!(
        stdout.starts_with("deployguard verify: PASS (B1 PASS, B2 PASS, B3 PASS, runs PASS)"),
        "{stdout}"
    );
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(
        md.contains("## Runs against the static budget: PASS"),
        "{md}"
    );
    assert!(
        md.contains("| 1 | 1 | 0 | `1 + N_cold_deps` at N = 0: 1 |"),
        "{md}"
    );
    assert!(
        md.contains("| 2 | 2 | 1 (keycloak) | `1 + N_cold_deps` at N = 1: 2 |"),
        "{md}"
    );
    assert!(
        md.contains(&format!("--run-log {}", no_dep.display())),
        "{md}"
    );
}

#[test]
fn a_run_log_that_disagrees_is_fail_with_the_line_quoted() {
    let repo = harness();
    let logs = tempfile::tempdir().unwrap();
    let cases = [
        (
            COLD_DEP_RUN.replace("deploy-count = 2 (expect 2)", "deploy-count = 3 (expect 2)"),
            "`deploy-count = 3 (expect 2)` (the run deployed 3 times but expected 2)",
        ),
        (
            // A guard that forgot the cold dep: the count matches, the budget does not.
            COLD_DEP_RUN.replace("deploy-count = 2 (expect 2)", "deploy-count = 1 (expect 1)"),
            "the static budget `1 + N_cold_deps` at N_cold_deps = 1 is 2",
        ),
        (
            COLD_DEP_RUN.replace("custom   pass", "custom   fail"),
            "tier `custom` did not pass (fail)",
        ),
        (
            "Traceback (most recent call last):\n  boom\n".to_string(),
            "the log has no RUN SUMMARY",
        ),
    ];
    for (i, (text, quoted)) in cases.iter().enumerate() {
        let log = write_log(logs.path(), &format!("run{i}.log"), text);
        let output = verify(
            repo.path(),
            &["--base", "HEAD", "--run-log", &log.to_string_lossy()],
        );
        assert_eq!(output.status.code(), Some(1), "{quoted}: {}", said(&output));
        let md = report(&output);
        assert!(
            md.contains("## Runs against the static budget: FAIL"),
            "{md}"
        );
        assert!(md.contains(quoted), "{quoted} missing:\n{md}");
    }
}

#[test]
fn verify_without_a_base_says_b3_was_not_checked() {
    let repo = harness();
    let output = verify(repo.path(), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let md = report(&output);
    assert!(md.contains("## B3: no test weakened: NOT CHECKED"), "{md}");
    assert!(md.contains("no --base was given"), "{md}");
}

#[test]
fn verify_refuses_a_head_that_is_not_checked_out_and_unreadable_logs() {
    let repo = harness();
    std::fs::write(repo.path().join("runner/NOTES"), "x\n").unwrap();
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "second"]);
    let output = verify(repo.path(), &["--base", "HEAD~1", "--head", "HEAD~1"]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(said(&output).contains("git checkout"), "{}", said(&output));
    let output = verify(repo.path(), &["--run-log", "/no/such/run.log"]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(
        said(&output).contains("/no/such/run.log"),
        "{}",
        said(&output)
    );
}
