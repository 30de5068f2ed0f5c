//! `ratchet --base auto` reading Drone's and pre-commit's environment, against temp
//! repositories cloned the way a Drone runner clones them: pull requests from the merge base,
//! pushes from DRONE_COMMIT_BEFORE or the first parent, shallow clones refused with the exact
//! `git fetch` to add (which then works).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TESTS: &str = "def test_upgrade():\n    assert version() == \"2.0\"\n    assert healthy()\n";
const WEAK: &str = "def test_upgrade():\n    assert version() == \"2.0\"\n";

/// Variables of an enclosing hook or CI that must not reach the commands under test.
const LEAKING: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_CEILING_DIRECTORIES",
    "PRE_COMMIT",
    "PRE_COMMIT_FROM_REF",
    "PRE_COMMIT_TO_REF",
    "PRE_COMMIT_REMOTE_NAME",
    "DRONE",
    "DRONE_BUILD_EVENT",
    "DRONE_COMMIT_SHA",
    "DRONE_COMMIT_BEFORE",
    "DRONE_TARGET_BRANCH",
    "DRONE_PULL_REQUEST",
];

fn isolated(mut command: Command) -> Command {
    for key in LEAKING {
        command.env_remove(key);
    }
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com");
    command
}

fn git(dir: &Path, args: &[&str]) -> String {
    let mut command = isolated(Command::new("git"));
    let output = command
        .args([
            "-c",
            "protocol.file.allow=always",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is installed");
    assert!(output.status.success(), "git {args:?}: {}", said(&output));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn commit_file(dir: &Path, rel: &str, text: &str, message: &str) -> String {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// The upstream repository: `main` with a test, a `feature` branch made from it, and then a
/// commit on `main` that adds a second test (someone else's merge).
struct Upstream {
    dir: tempfile::TempDir,
    /// The first commit of main, where `feature` starts.
    fork: String,
}

impl Upstream {
    fn new(feature: &str) -> Upstream {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("upstream");
        std::fs::create_dir(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        let fork = commit_file(&repo, "tests/test_app.py", TESTS, "tests");
        git(&repo, &["checkout", "-q", "-b", "feature"]);
        commit_file(&repo, "tests/test_app.py", feature, "the pull request");
        git(&repo, &["checkout", "-q", "main"]);
        commit_file(
            &repo,
            "tests/test_other.py",
            "def test_other():\n    assert other() == 1\n",
            "someone else's merge",
        );
        Upstream { dir, fork }
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().join("upstream").display())
    }

    /// `git clone ARGS URL NAME`, checked out at `feature`.
    fn clone(&self, name: &str, args: &[&str]) -> PathBuf {
        let mut all = vec!["clone", "-q"];
        all.extend(args);
        let url = self.url();
        all.extend([url.as_str(), name]);
        git(self.dir.path(), &all);
        let clone = self.dir.path().join(name);
        git(&clone, &["checkout", "-q", "feature"]);
        clone
    }
}

fn ratchet_auto(dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = isolated(Command::new(env!("CARGO_BIN_EXE_deployguard")));
    command
        .args(["ratchet", "--base", "auto", "--format", "json"])
        .arg(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("no JSON: {}", said(output)))
}

fn codes(output: &Output) -> Vec<String> {
    json(output)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn drone_pr(sha: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DRONE", "true".into()),
        ("DRONE_BUILD_EVENT", "pull_request".into()),
        ("DRONE_TARGET_BRANCH", "main".into()),
        ("DRONE_PULL_REQUEST", "7".into()),
        ("DRONE_COMMIT_SHA", sha.into()),
    ]
}

fn drone_push(sha: &str, before: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DRONE", "true".into()),
        ("DRONE_BUILD_EVENT", "push".into()),
        ("DRONE_COMMIT_SHA", sha.into()),
        ("DRONE_COMMIT_BEFORE", before.into()),
    ]
}

fn run(dir: &Path, env: &[(&'static str, String)]) -> Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ratchet_auto(dir, &env)
}

/// Runs the `git fetch ...` line an error told us to add, as the step would.
fn run_fetch_line(dir: &Path, stderr: &str) {
    let start = stderr
        .find("`git fetch")
        .unwrap_or_else(|| panic!("no `git fetch` line: {stderr}"));
    let line = &stderr[start + 1..];
    let line = &line[..line.find('`').unwrap()];
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    git(dir, &args);
}

#[test]
fn a_pull_request_is_compared_with_its_merge_base_not_the_target_tip() {
    // The PR adds an assertion; main gained a test after the PR was opened. Against main's
    // tip the PR would look like it removed `test_other` (DG011); against the merge base it
    // is clean.
    let strong = format!("{TESTS}    assert replicas() == 1\n");
    let upstream = Upstream::new(&strong);
    let clone = upstream.clone("drone", &[]);
    let head = git(&clone, &["rev-parse", "HEAD"]);
    let output = run(&clone, &drone_pr(&head));
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let summary = &json(&output)["summary"];
    assert_eq!(summary["base"], upstream.fork.as_str(), "{summary}");
    assert_eq!(summary["head"], head.as_str());
    assert!(
        summary["basis"]
            .as_str()
            .unwrap()
            .contains("merge base of origin/main"),
        "{summary}"
    );
    // The old comparison with the tip of the target branch blames the PR.
    let tip = isolated(Command::new(env!("CARGO_BIN_EXE_deployguard")))
        .args([
            "ratchet",
            "--base",
            "origin/main",
            "--head",
            "HEAD",
            "--format",
            "json",
        ])
        .arg(&clone)
        .output()
        .unwrap();
    assert_eq!(codes(&tip), ["DG011"], "{}", said(&tip));
}

#[test]
fn a_pull_request_that_weakens_a_test_is_exit_1() {
    let upstream = Upstream::new(WEAK);
    let clone = upstream.clone("drone", &[]);
    let head = git(&clone, &["rev-parse", "HEAD"]);
    let output = run(&clone, &drone_pr(&head));
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert_eq!(codes(&output), ["DG010"]);
}

#[test]
fn a_pull_request_without_the_target_branch_names_the_fetch_to_add() {
    let upstream = Upstream::new(WEAK);
    // Drone fetches the target branch into FETCH_HEAD only: there is no origin/main.
    let clone = upstream.clone("drone", &[]);
    git(&clone, &["update-ref", "-d", "refs/remotes/origin/main"]);
    let head = git(&clone, &["rev-parse", "HEAD"]);
    let output = run(&clone, &drone_pr(&head));
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("git fetch --no-tags origin +refs/heads/main:refs/remotes/origin/main"),
        "{stderr}"
    );
    run_fetch_line(&clone, &stderr);
    let output = run(&clone, &drone_pr(&head));
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert_eq!(codes(&output), ["DG010"]);
}

#[test]
fn a_shallow_pull_request_clone_names_the_fetch_to_add_and_it_works() {
    let upstream = Upstream::new(WEAK);
    // Only the PR branch, one commit deep: neither origin/main nor the merge base is here.
    let clone = upstream.clone("shallow", &["--depth", "1", "--branch", "feature"]);
    let head = git(&clone, &["rev-parse", "HEAD"]);
    let output = run(&clone, &drone_pr(&head));
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "`git fetch --no-tags --unshallow origin +refs/heads/main:refs/remotes/origin/main`"
        ),
        "{stderr}"
    );
    run_fetch_line(&clone, &stderr);
    let output = run(&clone, &drone_pr(&head));
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert_eq!(codes(&output), ["DG010"]);

    // Both branches there, but cut off above the merge base.
    let clone = upstream.clone("both", &["--depth", "1", "--no-single-branch"]);
    let output = run(&clone, &drone_pr(&head));
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("shallow clone"), "{stderr}");
    run_fetch_line(&clone, &stderr);
    assert_eq!(run(&clone, &drone_pr(&head)).status.code(), Some(1));
}

#[test]
fn a_push_compares_with_drone_commit_before() {
    let upstream = Upstream::new(WEAK);
    let clone = upstream.clone("drone", &[]);
    let head = git(&clone, &["rev-parse", "HEAD"]);
    let output = run(&clone, &drone_push(&head, &upstream.fork));
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert_eq!(codes(&output), ["DG010"]);
    assert_eq!(json(&output)["summary"]["base"], upstream.fork.as_str());
    // Nothing said on stderr: the base was there.
    assert!(output.stderr.is_empty(), "{}", said(&output));
}

#[test]
fn a_first_push_says_so_and_compares_with_the_first_parent() {
    let upstream = Upstream::new(WEAK);
    let clone = upstream.clone("drone", &[]);
    let head = git(&clone, &["rev-parse", "HEAD"]);
    for (before, why) in [
        ("", "DRONE_COMMIT_BEFORE is empty"),
        ("0000000000000000000000000000000000000000", "all zeros"),
        (
            "1234567890123456789012345678901234567890",
            "not in this repository",
        ),
    ] {
        let output = run(&clone, &drone_push(&head, before));
        assert_eq!(output.status.code(), Some(1), "{before}: {}", said(&output));
        assert_eq!(codes(&output), ["DG010"], "{before}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(why), "{before}: {stderr}");
        assert!(stderr.contains("first parent"), "{before}: {stderr}");
        assert_eq!(json(&output)["summary"]["base"], upstream.fork.as_str());
    }
    // The very first commit has no parent: nothing to compare, and that is not a failure.
    let output = run(&clone, &drone_push(&upstream.fork, ""));
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    assert!(
        json(&output)["summary"]["basis"]
            .as_str()
            .unwrap()
            .contains("first commit")
    );
}

#[test]
fn a_shallow_push_clone_without_the_base_names_the_fetch_to_add_and_it_works() {
    let upstream = Upstream::new(WEAK);
    let clone = upstream.clone("shallow", &["--depth", "1", "--branch", "feature"]);
    let head = git(&clone, &["rev-parse", "HEAD"]);
    for before in [upstream.fork.as_str(), ""] {
        let output = run(&clone, &drone_push(&head, before));
        assert_eq!(output.status.code(), Some(2), "{before}: {}", said(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("`git fetch --no-tags --unshallow origin`"),
            "{before}: {stderr}"
        );
    }
    let output = run(&clone, &drone_push(&head, &upstream.fork));
    run_fetch_line(&clone, &String::from_utf8_lossy(&output.stderr));
    let output = run(&clone, &drone_push(&head, &upstream.fork));
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert_eq!(codes(&output), ["DG010"]);
}

#[test]
fn pre_commit_ranges_and_the_index_are_read_from_its_environment() {
    let upstream = Upstream::new(WEAK);
    let clone = upstream.clone("local", &[]);
    let head = git(&clone, &["rev-parse", "HEAD"]);
    // pre-push: exactly PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF.
    let output = ratchet_auto(
        &clone,
        &[
            ("PRE_COMMIT", "1"),
            ("PRE_COMMIT_FROM_REF", &upstream.fork),
            ("PRE_COMMIT_TO_REF", &head),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    assert_eq!(codes(&output), ["DG010"]);
    // pre-commit: HEAD against the index. Restoring the assertion in the index is clean,
    // whatever the working tree holds.
    std::fs::write(clone.join("tests/test_app.py"), TESTS).unwrap();
    git(&clone, &["add", "tests/test_app.py"]);
    std::fs::write(clone.join("tests/test_app.py"), "").unwrap();
    let output = ratchet_auto(&clone, &[("PRE_COMMIT", "1")]);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    assert_eq!(json(&output)["summary"]["head"], "the index");
    // A revision from the environment is checked like one on the command line.
    let output = ratchet_auto(
        &clone,
        &[
            ("PRE_COMMIT", "1"),
            ("PRE_COMMIT_FROM_REF", "--upload-pack=touch pwned"),
            ("PRE_COMMIT_TO_REF", &head),
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("starts with `-`"));
}

#[test]
fn auto_outside_pre_commit_and_drone_is_exit_2_saying_what_to_pass() {
    let upstream = Upstream::new(WEAK);
    let clone = upstream.clone("local", &[]);
    let output = ratchet_auto(&clone, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("found neither a pre-commit hook"),
        "{stderr}"
    );
    assert!(stderr.contains("--base origin/main"), "{stderr}");
    // A Drone build without the commit it builds.
    let output = ratchet_auto(&clone, &[("DRONE", "true")]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("DRONE_COMMIT_SHA"));
}
