//! `deployguard ratchet` on real git repositories built in temp dirs: each weakening pattern
//! is caught (two variants per code), honest refactors stay quiet, and `--staged` works from a
//! pre-commit-style hook under `git commit -a` (which sets GIT_INDEX_FILE).

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is installed (the ratchet reads git by running it)");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `git commit -a`, which runs the pre-commit hook with GIT_INDEX_FILE set.
fn commit_all(dir: &Path, message: &str) -> std::process::Output {
    Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-a",
            "-m",
            message,
        ])
        .current_dir(dir)
        .output()
        .expect("git is installed")
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const TESTS: &str = r#"import pytest
import unittest


def test_upgrade_moves_to_head():
    app = deploy("1.0")
    upgrade(app, "2.0")
    assert app.version == "2.0"
    assert app.healthy()


@pytest.mark.parametrize("size", [1, 10, 100])
def test_backup_restores_data(size):
    seed(size)
    with pytest.raises(ValueError):
        restore("missing")
    assert count() == size


class TestGuard:
    def test_expected_count(self):
        assert expected(["keycloak"]) == 2


class GuardCase(unittest.TestCase):
    def test_exact(self):
        self.assertEqual(expected([]), 1)
"#;

/// A repository with one commit holding the test suite.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
    );
    write(dir.path(), "tests/test_suite.py", TESTS);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    dir
}

/// Commits a change of the test file and runs the ratchet on HEAD~1..HEAD.
fn ratchet_after(change: impl FnOnce(&Path), message: &str) -> (i32, serde_json::Value) {
    let dir = repo();
    change(dir.path());
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", message]);
    let output = Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .args([
            "ratchet", "--base", "HEAD~1", "--head", "HEAD", "--format", "json",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "no JSON: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), json)
}

fn edit_tests(from: &'static str, to: &'static str) -> impl FnOnce(&Path) {
    move |dir: &Path| {
        assert!(TESTS.contains(from), "the fixture contains {from:?}");
        write(dir, "tests/test_suite.py", &TESTS.replacen(from, to, 1));
    }
}

fn codes(json: &serde_json::Value) -> Vec<String> {
    let mut codes: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

fn expect(change: impl FnOnce(&Path), code: &str) {
    expect_codes(change, &[code]);
}

fn expect_codes(change: impl FnOnce(&Path), expected: &[&str]) {
    let (exit, json) = ratchet_after(change, "change");
    assert_eq!(exit, 1, "{json}");
    assert_eq!(codes(&json), expected, "{json:#}");
    let finding = &json["findings"][0];
    assert!(
        finding["witness"].as_array().is_some_and(|w| !w.is_empty()),
        "base/head pair shown: {finding}"
    );
}

fn quiet(change: impl FnOnce(&Path)) {
    let (exit, json) = ratchet_after(change, "refactor");
    assert_eq!(exit, 0, "{json:#}");
    assert!(codes(&json).is_empty(), "{json:#}");
}

#[test]
fn dg010_fewer_assertions() {
    expect(edit_tests("    assert app.healthy()\n", ""), "DG010");
    expect(edit_tests("[1, 10, 100]", "[1, 10]"), "DG010");
}

#[test]
fn dg011_test_removed() {
    expect(
        edit_tests(
            "class TestGuard:\n    def test_expected_count(self):\n        assert expected([\"keycloak\"]) == 2\n",
            "",
        ),
        "DG011",
    );
    expect(
        edit_tests(
            "    def test_exact(self):\n        self.assertEqual(expected([]), 1)\n",
            "    pass\n",
        ),
        "DG011",
    );
}

#[test]
fn dg012_newly_skipped() {
    expect(
        edit_tests(
            "def test_upgrade_moves_to_head():",
            "@pytest.mark.skip(reason=\"flaky\")\ndef test_upgrade_moves_to_head():",
        ),
        "DG012",
    );
    expect(
        edit_tests(
            "    seed(size)\n",
            "    pytest.xfail(\"later\")\n    seed(size)\n",
        ),
        "DG012",
    );
}

#[test]
fn dg013_assertion_weakened() {
    expect(
        edit_tests("assert app.version == \"2.0\"", "assert app.version"),
        "DG013",
    );
    expect(
        edit_tests("pytest.raises(ValueError)", "pytest.raises(Exception)"),
        "DG013",
    );
    expect(
        edit_tests(
            "self.assertEqual(expected([]), 1)",
            "self.assertTrue(expected([]))",
        ),
        "DG013",
    );
    expect(
        edit_tests("assert count() == size", "assert count() == size or True"),
        "DG013",
    );
}

#[test]
fn dg014_no_longer_collected() {
    expect(
        edit_tests(
            "def test_upgrade_moves_to_head",
            "def upgrade_moves_to_head",
        ),
        "DG014",
    );
    expect(
        edit_tests("class TestGuard:", "class GuardChecks:"),
        "DG014",
    );
}

#[test]
fn dg015_assertion_unreachable() {
    expect(
        edit_tests(
            "    upgrade(app, \"2.0\")\n",
            "    upgrade(app, \"2.0\")\n    return\n",
        ),
        "DG015",
    );
    expect(
        edit_tests(
            "    assert expected([\"keycloak\"]) == 2\n",
            "    try:\n            assert expected([\"keycloak\"]) == 2\n        except AssertionError:\n            pass\n",
        ),
        "DG015",
    );
}

#[test]
fn dg016_stage_removed() {
    let dir_change = |stages: &'static str| {
        move |dir: &Path| {
            write(
                dir,
                "runner/run_recipe_ci.py",
                &format!("ALL_STAGES = {stages}\n"),
            )
        }
    };
    let run = |before: &'static str, after: &'static str| {
        let dir = repo();
        dir_change(before)(dir.path());
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-q", "-m", "stages"]);
        dir_change(after)(dir.path());
        let output = Command::new(env!("CARGO_BIN_EXE_deployguard"))
            .args(["ratchet", "--base", "HEAD", "--format", "json"])
            .arg(dir.path())
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        (output.status.code(), codes(&json))
    };
    let all = "(\"install\", \"upgrade\", \"backup\", \"restore\", \"custom\")";
    assert_eq!(
        run(all, "(\"install\", \"backup\", \"restore\", \"custom\")"),
        (Some(1), vec!["DG016".to_string()])
    );
    assert_eq!(
        run(all, "(\"install\", \"upgrade\")"),
        (Some(1), vec!["DG016".to_string()])
    );
    assert_eq!(run(all, all), (Some(0), vec![]));
}

#[test]
fn dg017_helper_removed_from_a_tier() {
    let generic = "def perform_upgrade(ctx):\n    chaos_redeploy(ctx)\n    assert_upgraded(ctx)\n    assert_healthy(ctx)\n\ndef perform_backup(ctx):\n    backup_app(ctx)\n    assert_backup_exists(ctx)\n";
    let change = |from: &'static str, to: &'static str| {
        move |dir: &Path| {
            write(dir, "runner/harness/generic.py", &generic.replace(from, to));
        }
    };
    for (from, to) in [
        ("    assert_upgraded(ctx)\n", ""),
        ("    assert_backup_exists(ctx)\n", "    pass\n"),
    ] {
        let dir = repo();
        write(dir.path(), "runner/harness/generic.py", generic);
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-q", "-m", "tiers"]);
        change(from, to)(dir.path());
        let output = Command::new(env!("CARGO_BIN_EXE_deployguard"))
            .args(["ratchet", "--base", "HEAD", "--format", "json"])
            .arg(dir.path())
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            (output.status.code(), codes(&json)),
            (Some(1), vec!["DG017".to_string()]),
            "{json:#}"
        );
    }
}

#[test]
fn dg018_collection_changed() {
    // The cause (DG018) and each test it hides (DG014) are both reported.
    expect_codes(
        |dir: &Path| {
            write(
                dir,
                "tests/conftest.py",
                "collect_ignore = [\"test_suite.py\"]\n",
            )
        },
        &["DG014", "DG018"],
    );
    expect_codes(
        |dir: &Path| {
            write(
                dir,
                "pyproject.toml",
                "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\naddopts = \"-k 'not upgrade'\"\n",
            )
        },
        &["DG014", "DG018"],
    );
    // A collection hook that can drop tests at run time is DG018 on its own.
    expect(
        |dir: &Path| {
            write(
                dir,
                "tests/conftest.py",
                "def pytest_collection_modifyitems(items):\n    items[:] = items[:1]\n",
            )
        },
        "DG018",
    );
}

#[test]
fn honest_refactors_stay_quiet() {
    // Reformatted.
    quiet(edit_tests(
        "    assert app.version == \"2.0\"\n",
        "    assert (\n        app.version == \"2.0\"\n    ), \"upgraded\"\n",
    ));
    // Renamed within the convention.
    quiet(edit_tests(
        "def test_upgrade_moves_to_head",
        "def test_upgrade_moves_app_to_pr_head",
    ));
    // More assertions.
    quiet(edit_tests(
        "    assert app.healthy()\n",
        "    assert app.healthy()\n    assert app.replicas == 1\n",
    ));
    // Moved to another file.
    quiet(|dir: &Path| {
        let (keep, moved) = TESTS.split_at(TESTS.find("class TestGuard").unwrap());
        write(dir, "tests/test_suite.py", keep);
        write(
            dir,
            "tests/test_guard.py",
            &format!("import unittest\n\n\n{moved}"),
        );
    });
}

#[test]
fn a_waiver_in_the_same_change_accepts_the_reduction() {
    let (exit, json) = ratchet_after(
        |dir: &Path| {
            write(
                dir,
                "tests/test_suite.py",
                &TESTS.replacen("    assert app.healthy()\n", "", 1),
            );
            write(
                dir,
                "deployguard-waivers.toml",
                "[[waive]]\ntest = \"tests/test_suite.py::test_upgrade_moves_to_head\"\nreason = \"health is checked by assert_healthy in the tier\"\n",
            );
        },
        "drop a duplicate check",
    );
    assert_eq!(exit, 0, "{json:#}");
    assert_eq!(json["summary"]["waived"], 1, "{json:#}");
    let (exit, json) = ratchet_after(
        edit_tests("    assert app.healthy()\n", ""),
        "drop a duplicate check\n\nDeployguard-Waive: tests/test_suite.py::test_upgrade_moves_to_head: checked by the tier",
    );
    assert_eq!(exit, 0, "{json:#}");
    assert_eq!(json["findings"][0]["severity"], "waived");
}

#[test]
fn staged_sees_what_git_commit_a_records() {
    let dir = repo();
    let hook = format!(
        "#!/bin/sh\nexec \"{}\" ratchet --staged --base HEAD .\n",
        env!("CARGO_BIN_EXE_deployguard")
    );
    write(dir.path(), ".git/hooks/pre-commit", &hook);
    Command::new("chmod")
        .args(["+x", ".git/hooks/pre-commit"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    // A weakened test, committed with `commit -a` (the hook runs with GIT_INDEX_FILE set to
    // a temporary index): the hook must refuse it.
    write(
        dir.path(),
        "tests/test_suite.py",
        &TESTS.replacen("assert app.version == \"2.0\"", "assert app.version", 1),
    );
    let refused = commit_all(dir.path(), "weaken");
    assert!(
        !refused.status.success(),
        "the hook let a weakened test through: {}",
        String::from_utf8_lossy(&refused.stdout)
    );
    // git sends a hook's output to stderr.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(said.contains("DG013"), "{said}");
    // An honest change goes through.
    write(
        dir.path(),
        "tests/test_suite.py",
        &TESTS.replacen(
            "    assert app.healthy()\n",
            "    assert app.healthy()\n    assert app.replicas == 1\n",
            1,
        ),
    );
    let accepted = commit_all(dir.path(), "stronger");
    assert!(
        accepted.status.success(),
        "{}{}",
        String::from_utf8_lossy(&accepted.stdout),
        String::from_utf8_lossy(&accepted.stderr)
    );
}

#[test]
fn bad_revisions_are_exit_2_with_the_fix() {
    let dir = repo();
    let run = |rev: &str| {
        Command::new(env!("CARGO_BIN_EXE_deployguard"))
            .args(["ratchet", "--base", rev])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let unknown = run("no-such-branch");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no-such-branch"));
    let option = run("--upload-pack=touch /tmp/pwned");
    assert_eq!(option.status.code(), Some(2));
    assert!(!Path::new("/tmp/pwned").exists());
    // No shell ever sees a revision name.
    let marker = dir.path().join("pwned");
    for name in [
        format!("main;touch {}", marker.display()),
        format!("$(touch {})", marker.display()),
        format!("`touch {}`", marker.display()),
    ] {
        let output = run(&name);
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(!marker.exists(), "{name} ran a command");
    }
}

#[test]
fn no_git_on_path_is_exit_2_saying_so() {
    let dir = repo();
    let empty = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .args(["ratchet", "--base", "HEAD"])
        .arg(dir.path())
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("git is not installed or not on PATH"),
        "{stderr}"
    );
}

#[test]
fn a_shallow_clone_without_the_base_is_exit_2_with_the_fetch_to_run() {
    let origin = repo();
    write(
        origin.path(),
        "tests/test_more.py",
        "def test_more():\n    assert 1\n",
    );
    git(origin.path(), &["add", "-A"]);
    git(origin.path(), &["commit", "-q", "-m", "second"]);
    let base = git(origin.path(), &["rev-parse", "HEAD~1"]);
    let parent = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    git(
        parent.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let clone = parent.path().join("shallow");
    for rev in ["HEAD~1", base.trim()] {
        let output = Command::new(env!("CARGO_BIN_EXE_deployguard"))
            .args(["ratchet", "--base", rev])
            .arg(&clone)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{rev}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(rev), "{rev}: {stderr}");
        assert!(stderr.contains("shallow"), "{rev}: {stderr}");
        assert!(stderr.contains("git fetch"), "{rev}: {stderr}");
    }
}

/// `ratchet --base-tree BASE --head-tree HEAD --format json`: exit code and report.
fn ratchet_trees(base: &Path, head: &Path) -> (i32, serde_json::Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .args(["ratchet", "--format", "json", "--base-tree"])
        .arg(base)
        .arg("--head-tree")
        .arg(head)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout).unwrap();
    (output.status.code().unwrap_or(-1), json)
}

#[test]
fn two_unpacked_trees_compare_without_git() {
    let base = tempfile::tempdir().unwrap();
    let head = tempfile::tempdir().unwrap();
    write(base.path(), "tests/test_suite.py", TESTS);
    write(
        head.path(),
        "tests/test_suite.py",
        &TESTS.replacen("    assert app.healthy()\n", "", 1),
    );
    let (code, json) = ratchet_trees(base.path(), head.path());
    assert_eq!(code, 1);
    assert_eq!(codes(&json), ["DG010"]);
}

#[test]
fn a_test_file_over_the_size_limit_is_not_proven() {
    // The same tests, plus 11 MiB of generated ones: the file is not read, and the ratchet
    // says so instead of passing it.
    let base = tempfile::tempdir().unwrap();
    let head = tempfile::tempdir().unwrap();
    write(base.path(), "tests/test_suite.py", TESTS);
    let generated = "def test_generated():\n    assert True\n";
    let big = format!(
        "{TESTS}{}",
        generated.repeat(11 * 1024 * 1024 / generated.len())
    );
    write(head.path(), "tests/test_suite.py", &big);
    let (code, json) = ratchet_trees(base.path(), head.path());
    assert_eq!(code, 1, "{json:#}");
    assert!(codes(&json).contains(&"DG009".to_string()), "{json:#}");
}

#[test]
fn a_test_file_that_stops_parsing_is_not_proven() {
    // A half-written edit hides every test in the file from pytest: DG100, exit 1.
    let (code, json) = ratchet_after(
        edit_tests(
            "def test_upgrade_moves_to_head():",
            "def test_upgrade_moves_to_head(:",
        ),
        "wip",
    );
    assert_eq!(code, 1, "{json:#}");
    assert!(codes(&json).contains(&"DG100".to_string()), "{json:#}");
}
