//! The call-semantics suite: one tiny project per Python call protocol under
//! `testdata/call-semantics/<case>/`, each with `expected.json`:
//!   - `edges`: call-graph edges that must be found (`graph --format json`);
//!   - `unreachable`: the clean twin, which uses the same protocol on code that does not
//!     deploy, and must not reach the sink;
//!   - `witness`: text the DG003 witness of `f` must contain (why the hop is taken);
//!   - `speculative`: whether the edge is an over-approximation (`graph --speculative`).
//!
//! Each case's `deployguard.toml` makes `m.f` and `m.clean` forbidden sources of the sink, so
//! `check` must report DG003 for `f` (recall) and nothing for `clean` (precision). The test
//! prints the score and fails on any miss.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/call-semantics");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{} exists: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    cases.sort();
    cases
}

fn run(args: &[&str], dir: &Path) -> (i32, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_deployguard"))
        .args(args)
        .arg(dir)
        .args(["--format", "json"])
        .output()
        .expect("deployguard runs");
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} {}: JSON on stdout ({e}); stderr: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), json)
}

fn pairs(value: &Value) -> Vec<(String, String)> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            let pair = pair.as_array().expect("an edge is [from, to]");
            (
                pair[0].as_str().unwrap().to_string(),
                pair[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn reaches(graph: &BTreeMap<String, Vec<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(node) = stack.pop() {
        if node == to {
            return true;
        }
        if seen.insert(node.clone()) {
            stack.extend(graph.get(&node).into_iter().flatten().cloned());
        }
    }
    false
}

#[test]
fn every_call_protocol_is_an_edge_with_a_witness_that_names_it() {
    let cases = cases();
    assert!(cases.len() >= 40, "the suite has its cases");
    let mut failures = Vec::new();
    let (mut edges_expected, mut edges_found, mut clean_quiet) = (0, 0, 0);
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let protocol = expected["protocol"].as_str().unwrap();
        let speculative = expected["speculative"].as_bool().unwrap();
        let mut graph_args = vec!["graph"];
        if speculative {
            graph_args.push("--speculative");
        }
        let (code, json) = run(&graph_args, dir);
        assert_eq!(code, 0, "{name}: graph exits 0");
        let graph: BTreeMap<String, Vec<String>> = serde_json::from_value(json).unwrap();
        for (from, to) in pairs(&expected["edges"]) {
            edges_expected += 1;
            if graph
                .get(&from)
                .is_some_and(|callees| callees.contains(&to))
            {
                edges_found += 1;
            } else {
                failures.push(format!("{name} ({protocol}): no edge {from} -> {to}"));
            }
        }
        let unreachable = pairs(&expected["unreachable"]);
        for (from, to) in &unreachable {
            if reaches(&graph, from, to) {
                failures.push(format!(
                    "{name} ({protocol}): the clean twin {from} reaches {to}"
                ));
            }
        }

        let (code, report) = run(&["check"], dir);
        let dg003: Vec<&Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "DG003")
            .collect();
        let about = |func: &str| {
            dg003
                .iter()
                .filter(|f| {
                    f["message"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("`{func}`"))
                })
                .copied()
                .collect::<Vec<_>>()
        };
        if code != 1 {
            failures.push(format!("{name}: check exits {code}, not 1"));
        }
        let witness = expected["witness"].as_str().unwrap();
        let found = about("m.f");
        if found.is_empty() {
            failures.push(format!("{name} ({protocol}): no DG003 for m.f"));
        } else if !found.iter().any(|f| {
            f["witness"]
                .as_array()
                .unwrap()
                .iter()
                .any(|hop| hop["label"].as_str().unwrap().contains(witness))
        }) {
            failures.push(format!(
                "{name} ({protocol}): the witness does not say `{witness}`: {}",
                found[0]["witness"]
            ));
        }
        if about("m.clean").is_empty() {
            clean_quiet += 1;
        } else {
            failures.push(format!(
                "{name} ({protocol}): DG003 for the clean twin m.clean"
            ));
        }
    }
    println!(
        "call semantics: {edges_found}/{edges_expected} expected edges found; \
         {clean_quiet}/{} clean twins reach no deploy",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
