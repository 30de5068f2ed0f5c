//! `deployguard sites` must count call sites exactly like Python's own `ast`.
//!
//! The oracle is `scripts/ast_sites.py` (stdlib only) and the comparison is
//! `scripts/compare_sites.py`; both need `python3` (3.11 or newer). Set `PYTHON` to use
//! another interpreter. There is no silent skip: without Python these tests fail.
//!
//! The oracle and the comparator are tested here too, on small trees written to a
//! temporary directory, so that neither is merely trusted.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Runs `python3 ARGS` in the repository root; panics with a clear message when
/// Python cannot be started.
fn run_python(args: &[&str]) -> Output {
    let py = python();
    Command::new(&py)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{py}` ({e}). These tests need Python 3.11+ as `python3` \
                 (or set PYTHON=/path/to/python3): it is the independent oracle for \
                 `deployguard sites`."
            )
        })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "exit status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn compared_sites(stdout: &str) -> Option<u64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("compared_sites: "))
        .and_then(|n| n.trim().parse().ok())
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

#[test]
fn sites_agree_with_python_ast_on_the_corpus() {
    let out = run_python(&[
        "scripts/compare_sites.py",
        "--deployguard",
        env!("CARGO_BIN_EXE_deployguard"),
        "--strict-unparsable",
        "--expect-unparsable",
        "app/broken.py",
        "--expect-unparsable",
        "app/broken_hidden.py",
        "testdata/sites-corpus",
        "deploy_app",
        "run",
        "get",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "deployguard sites disagrees with Python's ast on testdata/sites-corpus\n{}",
        describe(&out)
    );
    let n = compared_sites(&stdout)
        .unwrap_or_else(|| panic!("no `compared_sites: N` line\n{}", describe(&out)));
    assert!(n > 0, "no site was compared\n{}", describe(&out));
    assert!(stdout.contains("RESULT: AGREE"), "{}", describe(&out));
}

/// A tiny tree whose answer is known by hand: the oracle must not count strings,
/// comments, docstrings or escaped f-string braces, must count decorator calls,
/// f-string fields and `(name)(...)`, must count columns in characters, must skip
/// the excluded directories and must list the broken file.
#[test]
fn the_oracle_itself_counts_what_python_calls_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "pkg/a.py",
        concat!(
            "\"\"\"deploy_app(1) in a docstring\"\"\"\n",   // 1
            "# deploy_app(2) in a comment\n",               // 2
            "s = \"deploy_app(3)\"\n",                      // 3
            "@deploy_app(4)\n",                             // 4: decorator call, column 2
            "def f(): pass\n",                              // 5
            "x = f\"{deploy_app(5)} {{deploy_app(6)}}\"\n", // 6: one real call, column 8
            "é = 1; obj.deploy_app(7)\n", // 7: column 8 in characters (9 in bytes)
            "@deploy_app\n",              // 8: bare decorator, not a Call
            "def g(): (deploy_app)(8)\n", // 9: func is a Name, column 10
            "y = deploy_app\n",           // 10: not a call
        )
        .as_bytes(),
    );
    // BOM + CRLF: the BOM is not a column, CRLF is one line end.
    write(root, "pkg/b.py", b"\xef\xbb\xbfdeploy_app(1)\r\nrun(2)\r\n");
    write(root, "pkg/broken.py", b"deploy_app(1)\ndef broken(:\n");
    for skipped in [
        "build",
        ".hidden",
        "__pycache__",
        "venv",
        "pkg/x.egg-info",
        "envlike",
    ] {
        write(root, &format!("{skipped}/s.py"), b"deploy_app(1)\n");
    }
    write(root, "envlike/pyvenv.cfg", b"home = /usr\n");
    write(root, "notes.txt", b"deploy_app(1)\n");

    let root_str = root.to_str().unwrap();
    let out = run_python(&["scripts/ast_sites.py", root_str, "deploy_app", "run"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let got: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("oracle output is not JSON ({e})\n{}", describe(&out)));
    let site = |file: &str, line: u64, column: u64, sink: &str| json!({"file": file, "line": line, "column": column, "sink": sink});
    assert_eq!(
        got["sites"],
        json!([
            site("pkg/a.py", 4, 2, "deploy_app"),
            site("pkg/a.py", 6, 8, "deploy_app"),
            site("pkg/a.py", 7, 8, "deploy_app"),
            site("pkg/a.py", 9, 10, "deploy_app"),
            site("pkg/b.py", 1, 1, "deploy_app"),
            site("pkg/b.py", 2, 1, "run"),
        ]),
        "{}",
        describe(&out)
    );
    assert_eq!(
        got["unparsable"],
        json!(["pkg/broken.py"]),
        "{}",
        describe(&out)
    );
    assert_eq!(got["files"], json!(3), "{}", describe(&out));
    assert_eq!(got["self_check_failures"], json!([]), "{}", describe(&out));
}

/// The comparator must see a disagreement when there is one, and agree when the
/// answer is right. A stand-in for deployguard prints a prepared answer.
#[cfg(unix)]
#[test]
fn the_comparator_reports_differences_and_agreement() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    // The second call is at character column 22, byte column 23.
    write(
        &root,
        "m.py",
        "def h():\n    run(1); s = \"é\"; run(2)\n".as_bytes(),
    );
    write(&root, "bad.py", b"def (:\n");

    let entry = |line: u64, column: u64, via: Value| {
        json!({"file": "m.py", "line": line, "column": column, "function": "m.h",
               "kind": "call", "sink": "run", "callee": "run", "via": via})
    };
    let answer = |sites: Vec<Value>| {
        let n = sites.len();
        json!({"sites": sites,
               "summary": {"files": 2, "sites": n, "files_with_syntax_errors": ["bad.py"]}})
    };
    let compare = |answer: &Value| -> Output {
        let json_path = dir.path().join("answer.json");
        fs::write(&json_path, answer.to_string()).unwrap();
        let fake = dir.path().join("fake-deployguard");
        fs::write(&fake, format!("#!/bin/sh\ncat '{}'\n", json_path.display())).unwrap();
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        run_python(&[
            "scripts/compare_sites.py",
            "--deployguard",
            fake.to_str().unwrap(),
            "--strict-unparsable",
            root.to_str().unwrap(),
            "run",
        ])
    };

    // Right answer (the alias entry with a non-null `via` is ignored).
    let right = answer(vec![
        entry(2, 5, Value::Null),
        entry(2, 22, Value::Null),
        entry(1, 1, json!("alias")),
    ]);
    let out = compare(&right);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(
        compared_sites(&text(&out.stdout)),
        Some(2),
        "{}",
        describe(&out)
    );

    // Byte column instead of character column, and a site missing.
    let wrong = answer(vec![entry(2, 23, Value::Null)]);
    let out = compare(&wrong);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stdout.contains("m.py:2:22 [run]  deployguard says 2:23"),
        "{}",
        describe(&out)
    );
    assert!(
        stdout.contains("MISSING from deployguard"),
        "{}",
        describe(&out)
    );
    assert!(stdout.contains("m.py:2:5 [run]"), "{}", describe(&out));
    assert!(stdout.contains("RESULT: DISAGREE"), "{}", describe(&out));
}
