//! Suite-level weakening in the harness itself: a stage dropped from `ALL_STAGES` (DG016) and
//! an assertion helper no longer called by a tier function in `generic.py` (DG017).

use std::collections::BTreeMap;

use super::compare::{Loc, RatchetFinding};
use super::model::AssertKind;
use super::python_tests::{Candidate, module_assignment};
use crate::parse::parse;

/// The stages listed in a module-level `ALL_STAGES = (...)`, with its line.
pub fn stages(source: &[u8]) -> Option<(Vec<String>, usize)> {
    let tree = parse(source)?;
    let (assignment, value) = module_assignment(tree.root_node(), source, "ALL_STAGES")
        .into_iter()
        .next()?;
    let mut items = value.walk();
    let names = value
        .named_children(&mut items)
        .filter(|n| n.kind() == "string")
        .filter_map(|n| n.utf8_text(source).ok())
        .map(|s| s.trim_matches(|c| c == '"' || c == '\'').to_string())
        .collect();
    Some((names, assignment.start_position().row + 1))
}

pub fn stages_removed(file: &str, base: &[u8], head: &[u8]) -> Vec<RatchetFinding> {
    let (Some((old, old_line)), new) = (stages(base), stages(head)) else {
        return Vec::new();
    };
    let (new_names, new_line) = new.unwrap_or_default();
    old.iter()
        .filter(|stage| !new_names.contains(stage))
        .map(|stage| RatchetFinding {
            code: "DG016",
            message: format!(
                "stage `{stage}` was removed from ALL_STAGES: no run tests it any more"
            ),
            test: format!("{file}::ALL_STAGES"),
            base: Some(Loc {
                file: file.to_string(),
                line: old_line,
            }),
            head: (new_line > 0).then(|| Loc {
                file: file.to_string(),
                line: new_line,
            }),
            waived: None,
        })
        .collect()
}

/// Tier functions that call fewer assertion helpers. A tier is any function or method of
/// the harness, whatever its name or file (`perform_upgrade`, `run_lifecycle_tier`,
/// `Run.tier_upgrade`), that is not a collected test (tests have DG010) and calls an
/// `assert_*` helper.
pub fn helpers_removed(
    base: &[Candidate],
    head: &[Candidate],
    is_test: &dyn Fn(&Candidate) -> bool,
) -> Vec<RatchetFinding> {
    let tiers = |candidates: &[Candidate]| -> BTreeMap<String, (String, usize, Vec<String>)> {
        candidates
            .iter()
            .filter(|c| !is_test(c))
            .map(|c| {
                let helpers = c
                    .case
                    .assertions
                    .iter()
                    .filter_map(|a| {
                        if let AssertKind::Helper(name) = &a.kind {
                            Some(name.clone())
                        } else {
                            None
                        }
                    })
                    .collect();
                let name = c
                    .classes
                    .iter()
                    .chain(std::iter::once(&c.case.name))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(".");
                (
                    format!("{}::{name}", c.case.file),
                    (c.case.file.clone(), c.case.line, helpers),
                )
            })
            .filter(
                |(_, (_, _, helpers)): &(String, (String, usize, Vec<String>))| !helpers.is_empty(),
            )
            .collect()
    };
    let (old, new) = (tiers(base), tiers(head));
    let mut findings = Vec::new();
    for (id, (file, line, helpers)) in &old {
        let name = id.rsplit("::").next().unwrap_or(id);
        let (head_loc, mut remaining) = match new.get(id) {
            Some((f, l, h)) => (
                Some(Loc {
                    file: f.clone(),
                    line: *l,
                }),
                h.clone(),
            ),
            None => (None, Vec::new()),
        };
        for helper in helpers {
            match remaining.iter().position(|h| h == helper) {
                Some(i) => {
                    remaining.remove(i);
                }
                None => findings.push(RatchetFinding {
                    code: "DG017",
                    message: format!(
                        "tier function `{name}` no longer calls the assertion helper `{helper}`"
                    ),
                    test: id.clone(),
                    base: Some(Loc {
                        file: file.clone(),
                        line: *line,
                    }),
                    head: head_loc.clone(),
                    waived: None,
                }),
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratchet::python_tests::extract;

    #[test]
    fn a_dropped_stage_is_dg016() {
        let base =
            b"ALL_STAGES = (\"install\", \"upgrade\", \"backup\", \"restore\", \"custom\")\n";
        let head = b"ALL_STAGES = (\"install\", \"backup\", \"restore\", \"custom\")\n";
        let found = stages_removed("run_recipe_ci.py", base, head);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("`upgrade`"));
        assert!(stages_removed("run_recipe_ci.py", base, base).is_empty());
    }

    #[test]
    fn a_dropped_helper_call_is_dg017() {
        let base = "def perform_upgrade(ctx):\n    chaos_redeploy(ctx)\n    assert_upgraded(ctx)\n    assert_healthy(ctx)\n";
        let head = "def perform_upgrade(ctx):\n    chaos_redeploy(ctx)\n    assert_healthy(ctx)\n";
        let b = extract("harness/generic.py", base.as_bytes()).unwrap();
        let h = extract("harness/generic.py", head.as_bytes()).unwrap();
        let found = helpers_removed(&b, &h, &|_| false);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("assert_upgraded"));
        assert!(helpers_removed(&b, &b, &|_| false).is_empty());
    }

    #[test]
    fn a_tier_is_known_by_what_it_calls_not_by_its_name() {
        // The status document's tiers are `run_lifecycle_tier` and its siblings, and a
        // class-based harness has `Run.tier_upgrade`: neither is `perform_*` in generic.py.
        let base = "def run_lifecycle_tier(ctx, stage):\n    if stage == 'upgrade':\n        assert_upgraded(ctx)\n    assert_healthy(ctx)\n\nclass Run:\n    def tier_upgrade(self):\n        assert_upgraded(self.app)\n";
        let head = "def run_lifecycle_tier(ctx, stage):\n    assert_healthy(ctx)\n\nclass Run:\n    def tier_upgrade(self):\n        pass\n";
        let b = extract("runner/run_recipe_ci.py", base.as_bytes()).unwrap();
        let h = extract("runner/run_recipe_ci.py", head.as_bytes()).unwrap();
        let found = helpers_removed(&b, &h, &|_| false);
        let tests: Vec<&str> = found.iter().map(|f| f.test.as_str()).collect();
        assert_eq!(
            tests,
            [
                "runner/run_recipe_ci.py::Run.tier_upgrade",
                "runner/run_recipe_ci.py::run_lifecycle_tier"
            ]
        );
        // A collected test losing a helper call is DG010's business, not DG017's.
        assert!(helpers_removed(&b, &h, &|_| true).is_empty());
    }
}
