//! The binary's contract: exit codes, clear errors on bad input, and every command's output.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn deployguard() -> Command {
    Command::cargo_bin("deployguard").unwrap()
}

fn emulation() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cc-ci/runner")
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small configured tree: `deploy` is the sink, `backup` must never reach it.
/// `check --format json ROOT`: the exit code and the report.
fn check_json(root: impl AsRef<Path>) -> (i32, serde_json::Value) {
    let output = deployguard()
        .args(["check", "--format", "json"])
        .arg(root.as_ref())
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

fn tiny_tree(backup_body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "deployguard.toml",
        "sinks = [\"ops.deploy\"]\nforbidden = [\"ops.backup\"]\nentry = \"ops.main\"\n[[sites]]\nkind = \"base\"\nin = [\"ops.main\"]\n",
    );
    write(
        dir.path(),
        "ops.py",
        &format!(
            "def deploy(app):\n    return app\n\ndef backup(app):\n{backup_body}\n\ndef main():\n    deploy('x')\n    backup('x')\n"
        ),
    );
    dir
}

#[test]
fn missing_root_is_exit_2_with_a_clear_message() {
    deployguard()
        .args(["check", "/no/such/dir/anywhere"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "/no/such/dir/anywhere: no such file or directory",
        ))
        .stderr(predicate::str::contains(
            "pass the directory that holds the harness",
        ));
}

#[test]
fn unconfigured_tree_says_what_to_configure() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app.py", "def f():\n    pass\n");
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no deployguard policy applies"))
        .stderr(predicate::str::contains("sinks"));
}

#[test]
fn unknown_config_key_points_into_the_toml() {
    let dir = tiny_tree("    pass");
    write(
        dir.path(),
        "deployguard.toml",
        "sinks = [\"ops.deploy\"]\nforbiden = [\"ops.backup\"]\n",
    );
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("forbiden"))
        .stderr(predicate::str::contains("deployguard.toml"))
        .stderr(predicate::str::contains("known keys"));
}

#[test]
fn broken_toml_is_exit_2() {
    let dir = tiny_tree("    pass");
    write(dir.path(), "deployguard.toml", "sinks = [\"ops.deploy\"\n");
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("deployguard.toml"));
}

#[test]
fn broken_pyproject_with_a_deployguard_section_is_exit_2_not_ignored() {
    // In a cc-ci-shaped tree, skipping the broken config would silently apply the embedded
    // policy instead of the maintainer's.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&emulation(), dir.path());
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.deployguard]\nsinks = [\"lifecycle.deploy_app\"\n",
    );
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pyproject.toml"))
        .stdout(predicate::str::contains("embedded").not());
}

#[test]
fn explicit_config_that_does_not_exist_is_exit_2() {
    deployguard()
        .args(["check", "--config", "/no/such/deployguard.toml"])
        .arg(emulation())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/no/such/deployguard.toml"));
}

#[test]
fn configured_tree_passes_and_fails_on_its_own_policy() {
    let clean = tiny_tree("    return app");
    deployguard()
        .arg("check")
        .arg(clean.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("result: ok"));
    let dirty = tiny_tree("    alias = deploy\n    alias(app)");
    deployguard()
        .arg("check")
        .arg(dirty.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DG003"))
        .stdout(predicate::str::contains(
            "ops.backup calls ops.deploy through `alias`",
        ));
}

#[test]
fn pyproject_tool_section_is_a_config() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.deployguard]\nsinks = [\"ops.deploy\"]\nforbidden = [\"ops.backup\"]\n",
    );
    write(
        dir.path(),
        "ops.py",
        "def deploy():\n    pass\n\ndef backup():\n    deploy()\n",
    );
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DG003"));
}

#[test]
fn renamed_sink_fails_closed() {
    let dir = tiny_tree("    pass");
    write(
        dir.path(),
        "deployguard.toml",
        "sinks = [\"ops.deploy_everything\"]\n",
    );
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DG008"))
        .stdout(predicate::str::contains("deploy_everything"));
}

#[test]
fn an_excluded_file_the_policy_reaches_fails_closed_too() {
    // helpers.py is excluded from the guarded scope, but backup calls into it; its syntax
    // error could hide a deploy, so it is an error. unrelated.py is reached by nothing.
    let dir = tiny_tree("    from helpers import tidy\n    tidy(app)");
    let config = std::fs::read_to_string(dir.path().join("deployguard.toml")).unwrap();
    write(
        dir.path(),
        "deployguard.toml",
        &format!("exclude = [\"helpers.py\", \"unrelated.py\"]\n{config}"),
    );
    write(
        dir.path(),
        "helpers.py",
        "def tidy(app):\n    return app\n\ndef broken(:\n    pass\n",
    );
    write(dir.path(), "unrelated.py", "def other(:\n    pass\n");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let severity_of = |file: &str| {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "DG100" && f["file"] == file)
            .map(|f| f["severity"].as_str().unwrap().to_string())
    };
    assert_eq!(
        severity_of("helpers.py").as_deref(),
        Some("error"),
        "{json:#}"
    );
    assert_eq!(
        severity_of("unrelated.py").as_deref(),
        Some("warning"),
        "{json:#}"
    );
}

#[test]
fn globs_that_guard_nothing_fail_closed() {
    let dir = tiny_tree("    return app");
    let config = std::fs::read_to_string(dir.path().join("deployguard.toml")).unwrap();
    write(
        dir.path(),
        "deployguard.toml",
        &format!("include = [\"harnes/**\"]\n{config}"),
    );
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DG008"))
        .stdout(predicate::str::contains("so nothing is guarded"));
}

#[test]
fn syntax_error_in_guarded_code_is_dg100_exit_1() {
    let dir = tiny_tree("    deploy(app\n");
    deployguard()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"code\": \"DG100\""))
        .stdout(predicate::str::contains("\"file\": \"ops.py\""));
}

#[test]
fn the_summary_does_not_say_none_can_reach_a_deploy_when_the_graph_was_blind() {
    // A guarded file that does not parse, or a call that cannot be resolved in backup's
    // reach: "none can reach a deploy" would be a claim the analysis cannot make.
    let unparsed = tiny_tree("    return app");
    write(unparsed.path(), "extra.py", "def f(:\n    deploy('x')\n");
    let dynamic = tiny_tree("    import ops\n    return getattr(ops, app)(app)");
    for (dir, code) in [(&unparsed, "DG100"), (&dynamic, "DG007")] {
        deployguard()
            .args(["check", "--color", "never"])
            .arg(dir.path())
            .assert()
            .code(1)
            .stdout(predicate::str::contains(format!(
                "forbidden sources (1 checked; none found to reach a deploy, NOT PROVEN: see {code})"
            )))
            .stdout(predicate::str::contains("none can reach a deploy").not())
            .stdout(predicate::str::contains("ops.backup"))
            .stdout(predicate::str::contains("no path found (not proven)"))
            .stdout(predicate::str::contains("no path to a deploy").not());
    }
    deployguard()
        .args(["check", "--color", "never"])
        .arg(tiny_tree("    return app").path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "forbidden sources (1 checked; none can reach a deploy)",
        ));
}

#[test]
fn syntax_error_outside_the_guarded_scope_is_a_warning() {
    // The embedded policy excludes tests: a broken test file cannot hide a deploy from a run.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&emulation(), &dir.path().join("runner"));
    write(
        dir.path(),
        "runner/tests/test_broken.py",
        "def test_x(:\n    pass\n",
    );
    let (code, json) = check_json(dir.path().join("runner"));
    assert_eq!(code, 0);
    let finding = &json["findings"][0];
    assert_eq!(finding["code"], "DG100");
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["file"], "tests/test_broken.py");
    assert_eq!(json["summary"]["verdict"], "ok");
    // --strict makes the warning an error.
    deployguard()
        .args(["check", "--strict"])
        .arg(dir.path().join("runner"))
        .assert()
        .code(1);
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn json_output_has_the_documented_fields() {
    let dir = tiny_tree("    deploy(app)");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    assert_eq!(json["version"], 1);
    let finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "DG003")
        .unwrap();
    for key in [
        "code", "severity", "message", "file", "line", "column", "witness",
    ] {
        assert!(!finding[key].is_null(), "missing {key} in {finding}");
    }
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["witness"][0]["line"], 5);
    assert_eq!(json["summary"]["verdict"], "findings");
    assert!(json["summary"]["errors"].as_u64().unwrap() >= 1);
}

#[test]
fn explain_prints_each_rule_and_rejects_unknown_ones() {
    for code in [
        "DG001", "DG002", "DG003", "DG004", "DG005", "DG006", "DG007", "DG008", "DG009", "DG010",
        "DG011", "DG012", "DG013", "DG014", "DG015", "DG016", "DG017", "DG018", "DG100",
    ] {
        deployguard()
            .args(["explain", code])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(code))
            .stdout(predicate::str::contains("Why it matters"))
            .stdout(predicate::str::contains("Example"));
    }
    deployguard().args(["explain", "dg003"]).assert().code(0);
    deployguard()
        .args(["explain", "DG999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule"));
    deployguard()
        .args(["explain", "config"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("[[exempt]]"));
    deployguard()
        .arg("explain")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("DG006"));
}

#[test]
fn sites_lists_the_inventory_with_kinds() {
    deployguard()
        .arg("sites")
        .arg(emulation())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("run_recipe_ci.py:819"))
        .stdout(predicate::str::contains("base"))
        .stdout(predicate::str::contains("exempt"))
        .stdout(predicate::str::contains("counter"))
        .stdout(predicate::str::contains("5 sites").not());
}

#[test]
fn sites_with_sink_works_on_any_tree_and_marks_aliases() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m.py",
        "def run(x):\n    pass\n\nr = run\n# run(1) in a comment\ns = \"run(2)\"\nrun(3)\nr(4)\nobj.run(5)\n",
    );
    let output = deployguard()
        .args(["sites", "--format", "json", "--sink", "run"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let sites = json["sites"].as_array().unwrap();
    let lines: Vec<(u64, bool)> = sites
        .iter()
        .map(|s| (s["line"].as_u64().unwrap(), s["via"].is_null()))
        .collect();
    assert_eq!(lines, vec![(7, true), (8, false), (9, true)]);
}

#[test]
fn paths_shows_the_witness_chain() {
    let dir = tiny_tree("    helper(app)\n\ndef helper(app):\n    deploy(app)");
    deployguard()
        .args(["paths", "--from", "backup"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "ops.backup -> ops.deploy (2 hops)",
        ))
        .stdout(predicate::str::contains(
            "ops.py:5:5  ops.backup calls ops.helper",
        ));
    deployguard()
        .args(["paths", "--from", "nonexistent"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("matches no function"));
}

#[test]
fn paths_from_the_sink_reaches_it_in_zero_hops_and_a_bad_to_says_what_to_give() {
    // The sink is its own target: "no path" from deploy_app to deploy_app was false.
    deployguard()
        .args(["paths", "--from", "lifecycle.deploy_app"])
        .arg(emulation())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "harness.lifecycle.deploy_app -> harness.lifecycle.deploy_app (0 hops)",
        ))
        .stdout(predicate::str::contains("harness.lifecycle.deploy_app: no path").not());
    deployguard()
        .args(["paths", "--from", "perform_backup", "--to", "nothing_here"])
        .arg(emulation())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--to `nothing_here` matches no function",
        ))
        .stderr(predicate::str::contains("deployguard graph"));
}

#[test]
fn paths_no_path_is_not_proven_when_a_guarded_file_does_not_parse() {
    let dir = tiny_tree("    return app");
    write(dir.path(), "extra.py", "def f(:\n    deploy('x')\n");
    deployguard()
        .args(["paths", "--from", "backup"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NOT PROVEN"))
        .stdout(predicate::str::contains("extra.py does not parse (DG100)"));
    let output = deployguard()
        .args(["paths", "--from", "backup", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json[0]["unproven"][0], "extra.py does not parse (DG100)");
    // An excluded file counts too when backup reaches it, as it does for `check`.
    std::fs::remove_file(dir.path().join("extra.py")).unwrap();
    let reached = tiny_tree("    from helpers import tidy\n    tidy(app)");
    let config = std::fs::read_to_string(reached.path().join("deployguard.toml")).unwrap();
    write(
        reached.path(),
        "deployguard.toml",
        &format!("exclude = [\"helpers.py\"]\n{config}"),
    );
    write(
        reached.path(),
        "helpers.py",
        "def tidy(app):\n    return app\n\ndef broken(:\n    pass\n",
    );
    deployguard()
        .args(["paths", "--from", "backup"])
        .arg(reached.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "helpers.py does not parse (DG100)",
        ));
    deployguard()
        .args(["paths", "--from", "backup"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("backup: no path to ops.deploy\n"));
}

#[test]
fn paths_says_not_proven_where_check_says_dg007() {
    // `check` fails closed on an unresolvable call in backup's reach (DG007); `paths` must
    // not answer "no path" from the same analysis.
    let dir = tiny_tree("    import ops\n    return getattr(ops, app)(app)");
    let (code, report) = check_json(dir.path());
    assert_eq!(code, 1);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "DG007"),
        "{report}"
    );
    deployguard()
        .args(["paths", "--from", "backup"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NOT PROVEN"))
        .stdout(predicate::str::contains("`getattr(ops, app)`"))
        .stdout(predicate::str::contains("DG007"));
    let output = deployguard()
        .args(["paths", "--from", "backup", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        json[0]["unproven"][0].as_str().unwrap().contains("DG007"),
        "{json}"
    );
}

#[test]
fn graph_json_uses_the_callgraph_research_format() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pkg/__init__.py", "from .mod import f\n");
    write(
        dir.path(),
        "pkg/mod.py",
        "import os\n\nclass C:\n    def __init__(self):\n        self.m()\n    def m(self):\n        len([])\n\ndef f():\n    def inner():\n        return C()\n    g = lambda: inner()\n    os.path.join('a')\n    return g\n",
    );
    let output = deployguard()
        .args(["graph", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let graph: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let callees = |key: &str| -> Vec<String> {
        graph[key]
            .as_array()
            .unwrap_or_else(|| panic!("no key {key} in {graph}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(callees("pkg.mod.C.__init__"), vec!["pkg.mod.C.m"]);
    assert_eq!(callees("pkg.mod.C.m"), vec!["<builtin>.len"]);
    assert_eq!(callees("pkg.mod.f.inner"), vec!["pkg.mod.C.__init__"]);
    assert_eq!(callees("pkg.mod.f.<lambda1>"), vec!["pkg.mod.f.inner"]);
    assert_eq!(callees("pkg.mod.f"), vec!["os.path.join"]);
    assert!(
        graph.get("pkg").is_some(),
        "the package's __init__ is the package"
    );
    let dot = deployguard()
        .args(["graph", "--format", "dot"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&dot.stdout)
            .contains("\"pkg.mod.f.inner\" -> \"pkg.mod.C.__init__\"")
    );
}

#[test]
fn unsupported_format_is_a_usage_error() {
    deployguard()
        .args(["check", "--format", "dot"])
        .arg(emulation())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not support"));
}

#[test]
fn an_internal_panic_is_exit_2_and_says_it_is_a_bug() {
    // Debug builds panic on purpose when DEPLOYGUARD_DEBUG_PANIC is set; release builds
    // ignore it.
    deployguard()
        .args(["check"])
        .arg(emulation())
        .env("DEPLOYGUARD_DEBUG_PANIC", "1")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("internal error"))
        .stderr(predicate::str::contains("nothing was proven"));
}

#[test]
fn a_closed_stdout_pipe_is_not_a_crash() {
    use std::process::{Command as Std, Stdio};
    let mut child = Std::new(env!("CARGO_BIN_EXE_deployguard"))
        .args(["graph"])
        .arg(emulation())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.code().is_some(), "killed by a signal");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}

/// `A.__call__ = A()` made call resolution recurse forever (found in CPython's test_class.py).
#[test]
fn self_referential_call_does_not_overflow_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.py",
        "class A:\n    pass\nA.__call__ = A()\na = A()\na()\n",
    );
    deployguard()
        .args(["graph", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(0);
}

/// `self.x = [self.x]` grew a deeper container every round and never settled.
/// backup -> f0(deploy) -> f1(p) -> ... -> fN(p) -> p(1): the deploy arrives through N + 1
/// parameters. Returns the error codes of `check`, which must exit 1.
fn check_parameter_chain(n: usize) -> Vec<String> {
    check_chain(n, "p", "p", "p")
}

/// The same chain forwarded as `*ps`: an argument spread from a tuple binds no parameter
/// in a calling context, so each round carries the deploy one call further.
fn check_spread_chain(n: usize) -> Vec<String> {
    check_chain(n, "*ps", "*ps", "ps[0]")
}

fn check_chain(n: usize, param: &str, forward: &str, called: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "deployguard.toml",
        "sinks = [\"ops.deploy\"]\nforbidden = [\"ops.backup\"]\n",
    );
    let mut src = String::from("def deploy(app):\n    return app\n\n");
    for i in 0..n {
        src.push_str(&format!(
            "def f{i}({param}):\n    return f{}({forward})\n\n",
            i + 1
        ));
    }
    src.push_str(&format!(
        "def f{n}({param}):\n    return {called}(1)\n\ndef backup(app):\n    f0(deploy)\n"
    ));
    write(dir.path(), "ops.py", &src);
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["summary"]["verdict"], "findings");
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .filter_map(|f| f["code"].as_str().map(String::from))
        .collect()
}

#[test]
fn an_unsettled_value_flow_names_where_it_was_still_changing() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "deployguard.toml",
        "sinks = [\"ops.deploy\"]\nforbidden = [\"ops.backup\"]\n",
    );
    // Forwarded as `*ps` (see `check_spread_chain`): one call further per round.
    let mut src = String::from("def deploy(app):\n    return app\n\n");
    for i in 0..600 {
        src.push_str(&format!("def f{i}(*ps):\n    return f{}(*ps)\n\n", i + 1));
    }
    src.push_str("def f600(*ps):\n    return ps[0](1)\n\ndef backup(app):\n    f0(deploy)\n");
    write(dir.path(), "ops.py", &src);
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1, "{json:#}");
    let unsettled = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "DG007" && f["message"].as_str().unwrap().contains("did not settle"))
        .unwrap_or_else(|| panic!("{json:#}"));
    let message = unsettled["message"].as_str().unwrap();
    assert!(
        message.contains("still changing: calls in `ops.f"),
        "{message}"
    );
    assert_eq!(unsettled["file"], "ops.py", "{unsettled:#}");
    // `graph` draws what it found, and says on stderr that it may be incomplete.
    let output = deployguard()
        .args(["graph", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: value flow did not settle") && stderr.contains("ops.f"),
        "{stderr}"
    );
}

#[test]
fn a_deploy_passed_down_a_long_parameter_chain_is_found() {
    // 41 parameters deep: a small tree gets enough rounds to follow it to the deploy.
    let codes = check_parameter_chain(40);
    assert!(codes.contains(&"DG003".to_string()), "{codes:?}");
    assert!(!codes.contains(&"DG007".to_string()), "{codes:?}");
}

/// A retry helper shared by a deploying and a non-deploying caller (`fn` is whatever the
/// caller hands over). `backup` is what `perform_backup` hands it.
fn retry_tree(backup_hands: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "deployguard.toml",
        "sinks = [\"ops.deploy_app\"]\nforbidden = [\"ops.perform_backup\"]\n",
    );
    let src = format!(
        "\
def deploy_app(app):
    return app


def backup(app):
    return app


def _with_retry(fn, *args):
    for _ in range(3):
        try:
            return fn(*args)
        except Exception:
            pass


def perform_backup(app):
    _with_retry({backup_hands}, app)


def install(app):
    _with_retry(deploy_app, app)
"
    );
    write(dir.path(), "ops.py", &src);
    dir
}

#[test]
fn a_retry_helper_keeps_its_callers_apart() {
    // Only the chain that hands `deploy_app` over deploys: `perform_backup` hands `backup`.
    let dir = retry_tree("backup");
    let (_, json) = check_json(dir.path());
    let findings = json["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["code"] != "DG003"), "{json:#}");
    assert!(
        findings
            .iter()
            .all(|f| !f.to_string().contains("perform_backup")),
        "{json:#}"
    );
    // The deploying chain is still reported, at the caller that hands the deploy over.
    let deploy = findings
        .iter()
        .find(|f| f["code"] == "DG002")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert!(
        deploy
            .to_string()
            .contains("ops._with_retry[fn=ops.deploy_app]"),
        "{deploy:#}"
    );

    // The violating twin: `perform_backup` hands the deploy over.
    let dir = retry_tree("deploy_app");
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1, "{json:#}");
    let reach = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "DG003")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert!(
        reach
            .to_string()
            .contains("ops._with_retry[fn=ops.deploy_app]"),
        "{reach:#}"
    );
}

#[test]
fn a_parameter_chain_past_the_round_limit_is_not_proven() {
    // 601 parameters deep, forwarded as `*ps`: each round carries the deploy one call
    // further, and no tree gets more than 500 rounds. Value flow does not settle, so the
    // verdict is "not proven" (DG007), never "ok".
    let codes = check_spread_chain(600);
    assert!(codes.contains(&"DG007".to_string()), "{codes:?}");
}

#[test]
fn a_function_handed_down_601_parameters_is_followed_to_the_deploy() {
    // Passed by name, the deploy gives each call a context of its own (`f1[p=deploy]`),
    // which is followed in one pass: no round limit stands in the way.
    let codes = check_parameter_chain(600);
    assert!(codes.contains(&"DG003".to_string()), "{codes:?}");
    assert!(!codes.contains(&"DG007".to_string()), "{codes:?}");
}

#[test]
fn self_nesting_container_settles() {
    let dir = tiny_tree("    for _ in range(3):\n        box = [box]\n    box[0]()");
    write(
        dir.path(),
        "stack.py",
        "class S:\n    def push(self):\n        self.s.append(self.x)\n        self.x = [self.x]\n    def pop(self):\n        self.x = self.s.pop()\n",
    );
    let output = deployguard()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(matches!(output.status.code(), Some(0 | 1)), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] != "DG007"),
        "{json}"
    );
}

#[test]
fn budget_and_guard_are_reported_for_a_configured_tree() {
    let dir = tiny_tree("    return app");
    write(
        dir.path(),
        "ops.py",
        "def deploy(app):\n    return app\n\ndef backup(app):\n    return app\n\ndef main():\n    for attempt in range(3):\n        deploy('x')\n",
    );
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DG004"))
        .stdout(predicate::str::contains(
            "static budget of ops.main: unbounded",
        ))
        .stdout(predicate::str::contains(
            "a deploy inside a loop that is not the loop over the cold deps",
        ));
}

/// Half-written, binary, foreign-encoded and odd files never crash the check; the ones
/// Python would refuse fail closed (DG100), the ones it accepts pass.
#[test]
fn hostile_files_fail_closed_or_pass_cleanly() {
    let dir = tiny_tree("    return app");
    let put = |rel: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(rel), bytes).unwrap();
    };
    put("nul.py", b"x = 1\x00\ny = 2\n");
    put("latin.py", b"x = \"\xff\xfe\"\n");
    put("py2.py", b"print \"hello\"\n");
    put("bom.py", b"\xef\xbb\xbfdef f():\n    return 1\n");
    put("crlf.py", b"def f():\r\n    if x:\r\n        return 1\r\n");
    put("declared.py", b"# -*- coding: latin-1 -*-\nx = \"\xff\"\n");
    put("empty.py", b"");
    put("tabs.py", b"if x:\n        a = 1\n\tb = 2\n");
    put("tabs_ok.py", b"if x:\n\ta = 1\n\tif y:\n\t\tb = 2\n");
    put(
        "parens.py",
        format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000)).as_bytes(),
    );
    std::fs::create_dir(dir.path().join("dir.py")).unwrap();
    std::os::unix::fs::symlink("loop", dir.path().join("loop")).unwrap();
    std::os::unix::fs::symlink(".", dir.path().join("self")).unwrap();
    let output = deployguard()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut flagged: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "DG100")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    flagged.sort();
    assert_eq!(
        flagged,
        ["latin.py", "nul.py", "parens.py", "py2.py", "tabs.py"],
        "{json:#}"
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}

#[test]
fn an_unreadable_file_is_exit_2_naming_it() {
    // Permissions do not stop root (CI may run as root), but reading /proc/self/mem from
    // offset 0 fails with EIO for anyone: a real unreadable file behind a symlinked module.
    let dir = tiny_tree("    return app");
    std::os::unix::fs::symlink("/proc/self/mem", dir.path().join("mem.py")).unwrap();
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"))
        .stderr(predicate::str::contains("mem.py"))
        .stderr(predicate::str::contains("make the file readable"));
}

#[test]
fn a_symlinked_module_is_analyzed_like_any_other() {
    // Python imports through symlinks, so a deploy in a linked module must be seen.
    let dir = tiny_tree("    return app");
    write(
        dir.path(),
        "shared/backup_impl.py",
        "from ops import deploy\n\ndef backup(app):\n    deploy(app)\n",
    );
    std::os::unix::fs::symlink("shared/backup_impl.py", dir.path().join("impl.py")).unwrap();
    write(
        dir.path(),
        "ops.py",
        "def deploy(app):\n    return app\n\ndef backup(app):\n    from impl import backup as b\n    b(app)\n\ndef main():\n    deploy('x')\n    backup('x')\n",
    );
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DG003"))
        .stdout(predicate::str::contains("impl.py"));
}

#[test]
fn look_alike_identifiers_are_read_as_python_reads_them() {
    // Python normalises identifiers with NFKC: `ｄｅｐｌｏｙ` (fullwidth) *is* `deploy`.
    let dir = tiny_tree("    ｄｅｐｌｏｙ(app)\n    ops.ｄｅｐｌｏｙ(app)");
    deployguard()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DG003"));
    let output = deployguard()
        .args(["sites", "--sink", "deploy", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["summary"]["sites"], 3, "{json:#}");
}

#[test]
fn a_file_over_the_size_limit_fails_closed_without_being_read() {
    // 11 MiB of valid code: over the default 10 MiB limit, so it is DG009 and never parsed
    // (parsing it would take seconds and gigabytes).
    let dir = tiny_tree("    return app");
    let line = "def f():\n    return 1\n";
    write(
        dir.path(),
        "generated.py",
        &line.repeat(11 * 1024 * 1024 / line.len()),
    );
    let (code, json) = check_json(dir.path());
    assert_eq!(code, 1);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{json:#}");
    assert_eq!(findings[0]["code"], "DG009");
    assert_eq!(findings[0]["severity"], "error");
    assert_eq!(findings[0]["file"], "generated.py");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("11.0 MiB, over the 10.0 MiB limit")
    );
    assert_eq!(json["summary"]["files_too_large"], 1);

    // Outside the guarded scope it is a warning.
    let config = std::fs::read_to_string(dir.path().join("deployguard.toml")).unwrap();
    write(
        dir.path(),
        "deployguard.toml",
        &format!("exclude = [\"generated.py\"]\n{config}"),
    );
    deployguard()
        .args(["check"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("DG009"))
        .stdout(predicate::str::contains("1 too large to analyze"));
    // The limit is the policy's: at 100 bytes the small guarded module is not read either.
    write(
        dir.path(),
        "deployguard.toml",
        &format!("max-file-size = 100\nexclude = [\"generated.py\"]\n{config}"),
    );
    deployguard()
        .args(["check"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("ops.py was not analyzed"));
}
