//! `.pre-commit-hooks.yaml` under the real pre-commit framework (from PyPI, installed by
//! `scripts/test.sh` into `target/venv`; its path comes in `DEPLOYGUARD_PRE_COMMIT`).
//!
//! A temp repository holds a copy of `testdata/cc-ci` and a `.pre-commit-config.yaml` whose
//! `repo:` is a local git repository with this crate's sources (the working tree as it is,
//! so the hooks tested are the ones about to be committed). pre-commit builds the hooks
//! exactly as a user's machine does, with `language: rust`, i.e. `cargo install --path .`.
//! To keep that affordable the build goes to `target/pre-commit-cargo` (reused across runs)
//! with the release profile at opt-level 0: the same code, compiled faster.
//!
//! Missing pre-commit fails these tests; it never skips them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Variables that would make git or the hooks look at something else than the temp repos.
const LEAKING: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CEILING_DIRECTORIES",
    "PRE_COMMIT",
    "PRE_COMMIT_FROM_REF",
    "PRE_COMMIT_TO_REF",
    "PRE_COMMIT_REMOTE_NAME",
    "DRONE",
];

/// The pre-commit executable; a clear failure when it is missing.
fn pre_commit_exe() -> PathBuf {
    let exe = std::env::var_os("DEPLOYGUARD_PRE_COMMIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(MANIFEST_DIR).join("target/venv/bin/pre-commit"));
    let runs = Command::new(&exe)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        runs,
        "pre-commit is not installed at {} (DEPLOYGUARD_PRE_COMMIT): run `bash scripts/test.sh`, \
         which installs it into target/venv, or `python3 -m venv target/venv && \
         target/venv/bin/pip install pre-commit`",
        exe.display()
    );
    exe
}

/// Everything the temp repos and pre-commit share: a throwaway HOME-like config, pre-commit's
/// store, and the hook repository.
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    pre_commit: PathBuf,
    hooks_repo: PathBuf,
    hooks_rev: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let pre_commit = pre_commit_exe();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::write(
            root.join("gitconfig"),
            "[user]\n\tname = t\n\temail = t@example.com\n[commit]\n\tgpgsign = false\n\
             [init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n",
        )
        .unwrap();
        let hooks_repo = root.join("deployguard");
        for rel in [
            "Cargo.toml",
            "Cargo.lock",
            ".pre-commit-hooks.yaml",
            "src",
            "queries",
            "bench",
        ] {
            copy(&Path::new(MANIFEST_DIR).join(rel), &hooks_repo.join(rel));
        }
        let mut fixture = Fixture {
            _dir: dir,
            root,
            pre_commit,
            hooks_repo: hooks_repo.clone(),
            hooks_rev: String::new(),
        };
        fixture.git(&hooks_repo, &["init", "-q"]);
        fixture.git(&hooks_repo, &["add", "-A"]);
        fixture.git(&hooks_repo, &["commit", "-q", "-m", "deployguard as it is"]);
        fixture.hooks_rev = fixture.git(&hooks_repo, &["rev-parse", "HEAD"]);
        fixture
    })
}

impl Fixture {
    /// A command with the isolated environment.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(dir);
        for key in LEAKING {
            command.env_remove(key);
        }
        command
            .env("GIT_CONFIG_GLOBAL", self.root.join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("PRE_COMMIT_HOME", self.root.join("pre-commit-home"))
            .env("PRE_COMMIT_COLOR", "never")
            .env(
                "CARGO_TARGET_DIR",
                Path::new(MANIFEST_DIR).join("target/pre-commit-cargo"),
            )
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
            .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "true")
            .env("CARGO_TERM_COLOR", "never");
        command
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.command("git", dir).args(args).output().unwrap();
        assert!(output.status.success(), "git {args:?}: {}", said(&output));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn pre_commit(&self, dir: &Path, args: &[&str]) -> Output {
        self.command(&self.pre_commit, dir)
            .args(args)
            .output()
            .unwrap()
    }

    /// A repository holding a copy of `testdata/cc-ci`, one commit, with both hooks installed
    /// (pre-commit and pre-push) and a bare `origin` it was pushed to.
    fn harness(&self, name: &str) -> PathBuf {
        let repo = self.root.join(name);
        copy(&Path::new(MANIFEST_DIR).join("testdata/cc-ci"), &repo);
        std::fs::write(
            repo.join(".pre-commit-config.yaml"),
            format!(
                "repos:\n- repo: {}\n  rev: {}\n  hooks:\n  - id: deployguard-check\n    args: [runner]\n  - id: deployguard-ratchet\n    args: [runner]\n",
                self.hooks_repo.display(),
                self.hooks_rev
            ),
        )
        .unwrap();
        self.git(&repo, &["init", "-q"]);
        self.git(&repo, &["add", "-A"]);
        self.git(&repo, &["commit", "-q", "-m", "the harness"]);
        let origin = self.root.join(format!("{name}-origin.git"));
        self.git(
            &self.root,
            &["init", "-q", "--bare", &origin.to_string_lossy()],
        );
        self.git(
            &repo,
            &["remote", "add", "origin", &origin.to_string_lossy()],
        );
        self.git(&repo, &["push", "-q", "origin", "main"]);
        let installed = self.pre_commit(
            &repo,
            &[
                "install",
                "--hook-type",
                "pre-commit",
                "--hook-type",
                "pre-push",
            ],
        );
        assert!(installed.status.success(), "{}", said(&installed));
        repo
    }

    fn commit(&self, repo: &Path, args: &[&str]) -> Output {
        self.command("git", repo)
            .arg("commit")
            .args(args)
            .output()
            .unwrap()
    }
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() == "__pycache__" {
                continue;
            }
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const GUARD_TESTS: &str = "runner/tests/test_guard.py";
const STRONG: &str = "self.assertEqual(run_recipe_ci.read_deploy_count(self.count_file), 2)";
const WEAK: &str = "self.assertTrue(run_recipe_ci.read_deploy_count(self.count_file))";

fn edit(repo: &Path, rel: &str, from: &str, to: &str) {
    let path = repo.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} contains {from:?}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn assert_refused(output: &Output, code: &str, hook: &str) {
    let said = said(output);
    assert!(
        !output.status.success(),
        "the hooks let it through:\n{said}"
    );
    assert!(said.contains(code), "{code} is not shown:\n{said}");
    assert!(said.contains(hook), "{hook} is not named:\n{said}");
}

fn assert_accepted(output: &Output) {
    assert!(output.status.success(), "refused:\n{}", said(output));
}

#[test]
#[ignore = "needs pre-commit from PyPI and builds the hooks with cargo: run scripts/test.sh"]
fn the_hooks_refuse_a_weakened_test_and_a_deploy_in_perform_backup() {
    let fx = fixture();
    let repo = fx.harness("harness");

    // A clean change passes both hooks.
    edit(
        &repo,
        "README.md",
        "\n",
        "\nThe harness as it runs in CI.\n",
    );
    fx.git(&repo, &["add", "README.md"]);
    assert_accepted(&fx.commit(&repo, &["-q", "-m", "docs"]));

    // A weakened test, staged with `git add` and committed plainly: the ratchet compares the
    // index with HEAD and refuses it.
    edit(&repo, GUARD_TESTS, STRONG, WEAK);
    fx.git(&repo, &["add", GUARD_TESTS]);
    assert_refused(
        &fx.commit(&repo, &["-q", "-m", "weaken"]),
        "DG013",
        "deployguard ratchet",
    );
    fx.git(&repo, &["reset", "-q", "--hard", "HEAD"]);

    // The same under `git commit -a`, where git hands the hook a temporary index.
    edit(&repo, GUARD_TESTS, STRONG, WEAK);
    assert_refused(
        &fx.commit(&repo, &["-q", "-a", "-m", "weaken"]),
        "DG013",
        "deployguard ratchet",
    );
    fx.git(&repo, &["reset", "-q", "--hard", "HEAD"]);

    // A deploy added to perform_backup: the check hook refuses it with DG003.
    let patch =
        Path::new(MANIFEST_DIR).join("testdata/variants/dg003-direct-call-in-perform-backup.patch");
    fx.git(&repo, &["apply", &patch.to_string_lossy()]);
    assert_refused(
        &fx.commit(&repo, &["-q", "-a", "-m", "redeploy before the backup"]),
        "DG003",
        "deployguard check",
    );
    fx.git(&repo, &["reset", "-q", "--hard", "HEAD"]);

    // A stronger test is accepted, and pushed through the pre-push hooks.
    edit(
        &repo,
        GUARD_TESTS,
        STRONG,
        &format!("{STRONG}\n        self.assertTrue(self.count_file.exists())"),
    );
    assert_accepted(&fx.commit(&repo, &["-q", "-a", "-m", "stronger"]));
    let pushed = fx
        .command("git", &repo)
        .args(["push", "-q", "origin", "main"])
        .output()
        .unwrap();
    assert_accepted(&pushed);

    // pre-push compares PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF: a weakening committed with
    // --no-verify is still refused when pushed.
    edit(&repo, GUARD_TESTS, STRONG, WEAK);
    assert_accepted(&fx.commit(&repo, &["-q", "-a", "--no-verify", "-m", "weaken quietly"]));
    let refused = fx
        .command("git", &repo)
        .args(["push", "-q", "origin", "main"])
        .output()
        .unwrap();
    assert_refused(&refused, "DG013", "deployguard ratchet");
}

#[test]
#[ignore = "needs pre-commit from PyPI and builds the hooks with cargo: run scripts/test.sh"]
fn pre_commit_try_repo_runs_the_hooks() {
    let fx = fixture();
    let repo = fx.harness("try-repo");
    let try_repo = |hook: &str| {
        fx.pre_commit(
            &repo,
            &[
                "try-repo",
                &fx.hooks_repo.to_string_lossy(),
                hook,
                "--ref",
                &fx.hooks_rev,
                "--all-files",
            ],
        )
    };
    let check = try_repo("deployguard-check");
    assert_accepted(&check);
    assert!(
        said(&check).contains("deployguard check"),
        "{}",
        said(&check)
    );
    assert_accepted(&try_repo("deployguard-ratchet"));

    let patch =
        Path::new(MANIFEST_DIR).join("testdata/variants/dg003-direct-call-in-perform-backup.patch");
    fx.git(&repo, &["apply", "--index", &patch.to_string_lossy()]);
    assert_refused(&try_repo("deployguard-check"), "DG003", "deployguard check");
}
