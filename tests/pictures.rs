//! `graph --format dot|mermaid [--focus FUNC]` and verify's Mermaid block: the
//! deploy-relevant subgraph, drawn by Graphviz (`dot -Tsvg`) and parsed by the mermaid npm
//! package (`scripts/parse_mermaid.mjs`, installed by `scripts/test.sh` into target/mermaid).
//! The tests that need those tools fail, never skip, without them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;

use common::copy_tree as copy;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// A copy of `testdata/cc-ci`, with `patch` applied when given.
fn harness(patch: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy(&Path::new(MANIFEST_DIR).join("testdata/cc-ci"), dir.path());
    if let Some(patch) = patch {
        let patch = Path::new(MANIFEST_DIR)
            .join("testdata/variants")
            .join(patch);
        let applied = Command::new("git")
            .args(["apply", &patch.to_string_lossy()])
            .current_dir(dir.path())
            .status()
            .expect("git is installed");
        assert!(applied.success());
    }
    dir
}

fn graph(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .arg("graph")
        .arg(root.join("runner"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `program args` with `input` on stdin; fails the test with `hint` if it cannot run.
fn run_tool(program: &Path, args: &[&str], input: &str, hint: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {hint}", program.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn svg(dot_source: &str) -> String {
    let output = run_tool(
        Path::new("dot"),
        &["-Tsvg"],
        dot_source,
        "install Graphviz (apt-get install graphviz; scripts/test.sh does)",
    );
    assert!(
        output.status.success(),
        "dot refused it: {}\n{dot_source}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn parse_mermaid(source: &str) {
    let script = std::env::var_os("DEPLOYGUARD_MERMAID_PARSE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(MANIFEST_DIR).join("target/mermaid/parse_mermaid.mjs"));
    assert!(
        script.is_file(),
        "{} is missing: run scripts/test.sh, which installs mermaid from npm into target/mermaid",
        script.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("picture.mmd");
    std::fs::write(&file, source).unwrap();
    let output = run_tool(
        Path::new("node"),
        &[&script.to_string_lossy(), &file.to_string_lossy()],
        "",
        "install node",
    );
    assert!(
        output.status.success(),
        "mermaid refused it: {}{}\n{source}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("parsed flowchart"));
}

#[test]
fn the_picture_holds_what_reaches_a_deploy_and_marks_the_forbidden_sources() {
    let clean = harness(None);
    let mermaid = stdout(&graph(clean.path(), &["--format", "mermaid"]));
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    for node in [
        "[\"harness.lifecycle.deploy_app\"]:::sink",
        "[\"run_recipe_ci.main\"]:::entry",
        "[\"harness.lifecycle._record_deploy\"]:::counter",
        "[\"harness.generic.perform_backup\"]:::forbidden",
        "[\"run_recipe_ci.promote_canonical\"]",
        "[\"harness.deps.deploy_declared_deps\"]",
    ] {
        assert!(mermaid.contains(node), "{node} missing:\n{mermaid}");
    }
    // The rest is folded away: helpers that deploy nothing, and the harness's own tests.
    assert!(!mermaid.contains("harness.util"), "{mermaid}");
    assert!(!mermaid.contains("tests.test_"), "{mermaid}");
    assert!(
        !mermaid.contains("==>"),
        "no witness without a breach:\n{mermaid}"
    );

    let breach = harness(Some("dg003-direct-call-in-perform-backup.patch"));
    let mermaid = stdout(&graph(breach.path(), &["--format", "mermaid"]));
    assert!(
        mermaid.contains("[\"harness.generic.perform_backup\"]:::breach"),
        "{mermaid}"
    );
    assert!(mermaid.contains("==>"), "{mermaid}");
    assert!(mermaid.contains("linkStyle"), "{mermaid}");
    // Focused on perform_backup: its way to the deploy, not main's.
    let focused = stdout(&graph(
        breach.path(),
        &["--format", "mermaid", "--focus", "perform_backup"],
    ));
    assert!(
        focused.contains("harness.lifecycle.deploy_app"),
        "{focused}"
    );
    assert!(!focused.contains("run_recipe_ci.main"), "{focused}");
    let dot = stdout(&graph(
        breach.path(),
        &["--format", "dot", "--focus", "main"],
    ));
    assert!(dot.contains("-> n"), "{dot}");
    assert!(dot.contains("[color=\"#cc0000\", penwidth=3]"), "{dot}");
}

#[test]
fn focus_needs_a_picture_format_and_a_function_that_exists() {
    let clean = harness(None);
    let output = graph(clean.path(), &["--format", "json", "--focus", "main"]);
    assert_eq!(output.status.code(), Some(2));
    let output = graph(
        clean.path(),
        &["--format", "dot", "--focus", "no_such_function"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("matches no function"));
    // Without --focus, dot is still the whole call graph, as before.
    let whole = stdout(&graph(clean.path(), &["--format", "dot"]));
    assert!(whole.contains("\"harness.util"), "{whole}");
}

#[test]
#[ignore = "needs Graphviz (Debian's graphviz): run scripts/test.sh"]
fn graphviz_draws_the_dot_pictures() {
    let breach = harness(Some("dg003-direct-call-in-perform-backup.patch"));
    for args in [
        &["--format", "dot"][..],
        &["--format", "dot", "--focus", "main"][..],
        &["--format", "dot", "--focus", "perform_backup"][..],
    ] {
        let drawn = svg(&stdout(&graph(breach.path(), args)));
        assert!(drawn.contains("<svg"), "{args:?}");
        assert!(drawn.contains("harness.lifecycle.deploy_app"), "{args:?}");
    }
}

#[test]
#[ignore = "needs node and mermaid from npm: run scripts/test.sh"]
fn mermaid_parses_the_pictures_and_verify_s_block() {
    let breach = harness(Some("dg003-direct-call-in-perform-backup.patch"));
    for args in [
        &["--format", "mermaid"][..],
        &["--format", "mermaid", "--focus", "perform_backup"][..],
    ] {
        parse_mermaid(&stdout(&graph(breach.path(), args)));
    }
    let clean = harness(None);
    let output = Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .arg("verify")
        .arg(clean.path().join("runner"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    let block = report
        .split("```mermaid\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("no mermaid block:\n{report}"));
    parse_mermaid(block);
}
