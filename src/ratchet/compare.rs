//! Comparing the tests of two revisions: match each base test to its head self (same id,
//! else the most similar body, for moves and renames), then report what got weaker.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::model::{AssertKind, Assertion, TestCase};

/// A test with whether the test runner would collect it.
#[derive(Clone, Debug)]
pub struct Collected {
    pub case: TestCase,
    pub collected: bool,
}

/// Where something is on one side.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Loc {
    pub file: String,
    pub line: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct RatchetFinding {
    pub code: &'static str,
    pub message: String,
    /// The test id (base side when it is gone).
    pub test: String,
    pub base: Option<Loc>,
    pub head: Option<Loc>,
    /// The waiver that accepts this finding, with its reason.
    pub waived: Option<String>,
}

/// Bodies at least this similar are the same test moved or renamed.
const SAME_TEST: f64 = 0.6;

/// Compares the collected tests of two revisions. `fixture_cases` names the head's
/// parametrized fixtures with their number of cases: a test whose parametrize cases moved
/// into such a fixture keeps its cases.
pub fn compare(
    base: &[Collected],
    head: &[Collected],
    fixture_cases: &HashMap<String, usize>,
) -> Vec<RatchetFinding> {
    let mut findings = Vec::new();
    let mut head_by_id: HashMap<&str, usize> = HashMap::new();
    for (i, test) in head.iter().enumerate() {
        head_by_id.entry(test.case.id.as_str()).or_insert(i);
    }
    let mut head_taken = vec![false; head.len()];
    let mut unmatched = Vec::new();
    let mut pairs = Vec::new();
    for (b, old) in base.iter().enumerate().filter(|(_, t)| t.collected) {
        match head_by_id.get(old.case.id.as_str()) {
            Some(&h) if head[h].collected && !head_taken[h] => {
                head_taken[h] = true;
                pairs.push((b, h));
            }
            _ => unmatched.push(b),
        }
    }
    // Moves and renames: the most similar unclaimed collected head test.
    let mut still = Vec::new();
    for b in unmatched {
        let old = &base[b].case;
        let best = head
            .iter()
            .enumerate()
            .filter(|(h, t)| !head_taken[*h] && t.collected && t.case.lang == old.lang)
            .map(|(h, t)| (h, similarity(&old.body_tokens, &t.case.body_tokens)))
            .filter(|(_, s)| *s >= SAME_TEST)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((h, _)) => {
                head_taken[h] = true;
                pairs.push((b, h));
            }
            None => still.push(b),
        }
    }
    for b in still {
        let old = &base[b].case;
        // Still there (by id, or moved/renamed) but no longer collected?
        let hidden = head
            .iter()
            .enumerate()
            .filter(|(h, t)| !head_taken[*h] && !t.collected && t.case.lang == old.lang)
            .find(|(_, t)| {
                t.case.id == old.id
                    || similarity(&old.body_tokens, &t.case.body_tokens) >= SAME_TEST
            });
        match hidden {
            Some((h, t)) => {
                head_taken[h] = true;
                findings.push(finding(
                    "DG014",
                    format!("`{}` is no longer collected as `{}`: its name, class or file no longer matches what the test runner collects", old.id, t.case.id),
                    old,
                    Some(&t.case),
                ));
            }
            None => findings.push(finding(
                "DG011",
                format!(
                    "`{}` was removed, and no test in the new revision matches its body",
                    old.id
                ),
                old,
                None,
            )),
        }
    }
    for (b, h) in pairs {
        compare_pair(&base[b].case, &head[h].case, fixture_cases, &mut findings);
    }
    findings.sort_by(|a, b| (&a.test, a.code).cmp(&(&b.test, b.code)));
    findings
}

fn loc(case: &TestCase, line: usize) -> Loc {
    Loc {
        file: case.file.clone(),
        line,
    }
}

fn finding(
    code: &'static str,
    message: String,
    old: &TestCase,
    new: Option<&TestCase>,
) -> RatchetFinding {
    RatchetFinding {
        code,
        message,
        test: old.id.clone(),
        base: Some(loc(old, old.line)),
        head: new.map(|n| loc(n, n.line)),
        waived: None,
    }
}

fn effective(assertions: &[Assertion]) -> usize {
    assertions
        .iter()
        .filter(|a| a.unreachable.is_none() && a.vacuous.is_none())
        .count()
}

fn compare_pair(
    old: &TestCase,
    new: &TestCase,
    fixture_cases: &HashMap<String, usize>,
    findings: &mut Vec<RatchetFinding>,
) {
    let mut pair = |code: &'static str, message: String, base_line: usize, head_line: usize| {
        findings.push(RatchetFinding {
            code,
            message,
            test: new.id.clone(),
            base: Some(loc(old, base_line)),
            head: Some(loc(new, head_line)),
            waived: None,
        });
    };
    // DG012: newly skipped or expected to fail. What a skip hides is part of that finding,
    // not a separate DG015/DG010.
    let mut newly_skipped = false;
    for skip in &new.skips {
        let existed = old
            .skips
            .iter()
            .any(|s| s.kind == skip.kind && s.condition == skip.condition);
        if !existed {
            newly_skipped |= skip.condition.is_none();
            let condition = skip
                .condition
                .as_ref()
                .map(|c| format!(" if `{c}`"))
                .unwrap_or_default();
            pair(
                "DG012",
                format!("`{}` is newly skipped: `{}`{condition}", new.id, skip.kind),
                old.line,
                skip.line,
            );
        }
    }
    // DG015: an assertion that used to run can no longer run.
    let mut explained = if newly_skipped {
        old.assertions.len()
    } else {
        0
    };
    for assertion in new
        .assertions
        .iter()
        .filter(|a| a.unreachable.is_some() && !newly_skipped)
    {
        let was_live = old
            .assertions
            .iter()
            .any(|a| a.fingerprint == assertion.fingerprint && a.unreachable.is_none());
        if was_live {
            explained += 1;
            let why = assertion.unreachable.as_deref().unwrap_or("");
            pair(
                "DG015",
                format!(
                    "`{}` can never run in `{}`: {why}",
                    assertion.fingerprint, new.id
                ),
                old.line,
                assertion.line,
            );
        }
    }
    // DG013: vacuous or weaker assertions.
    for assertion in new.assertions.iter().filter(|a| a.vacuous.is_some()) {
        let was_vacuous = old
            .assertions
            .iter()
            .any(|a| a.fingerprint == assertion.fingerprint && a.vacuous.is_some());
        if !was_vacuous {
            explained += 1;
            let why = assertion.vacuous.as_deref().unwrap_or("");
            pair(
                "DG013",
                format!(
                    "`{}` in `{}` is vacuous: {why}",
                    assertion.fingerprint, new.id
                ),
                old.line,
                assertion.line,
            );
        }
    }
    let gone = difference(&old.assertions, &new.assertions);
    let added = difference(&new.assertions, &old.assertions);
    let mut used = vec![false; added.len()];
    for before in &gone {
        let weaker = added
            .iter()
            .enumerate()
            .find(|(i, after)| !used[*i] && weakened(before, after).is_some());
        if let Some((i, after)) = weaker {
            used[i] = true;
            explained += 1;
            let why = weakened(before, after).unwrap_or_default();
            pair(
                "DG013",
                format!(
                    "`{}` became `{}` in `{}`: {why}",
                    before.fingerprint, after.fingerprint, new.id
                ),
                before.line,
                after.line,
            );
        }
    }
    if old.should_panic.is_some() && new.should_panic.is_none() {
        pair(
            "DG013",
            format!(
                "`{}` no longer expects a panic (#[should_panic] removed)",
                new.id
            ),
            old.line,
            new.line,
        );
    }
    // DG010: fewer assertions than before (beyond those already explained), or fewer cases.
    let (before, after) = (effective(&old.assertions), effective(&new.assertions));
    if after + explained < before {
        pair(
            "DG010",
            format!(
                "`{}` has {after} effective assertion(s), {before} before",
                new.id
            ),
            old.line,
            new.line,
        );
    }
    let lost: Vec<&String> = old
        .params
        .iter()
        .filter(|p| !new.params.contains(p))
        .collect();
    // Cases moved into a parametrized fixture the test now uses are still run.
    let moved_to_fixture: usize = new
        .fixtures
        .iter()
        .filter(|f| !old.fixtures.contains(f))
        .filter_map(|f| fixture_cases.get(f))
        .fold(0usize, |total, n| total.saturating_add(*n));
    if !lost.is_empty()
        && new.params.len() < old.params.len()
        && moved_to_fixture < old.params.len()
    {
        let shown: Vec<&str> = lost.iter().map(|s| s.as_str()).collect();
        pair(
            "DG010",
            format!(
                "`{}` lost parametrize case(s): {}",
                new.id,
                shown.join("; ")
            ),
            old.line,
            new.line,
        );
    }
}

/// Assertions in `a` not matched (by fingerprint) in `b`, as a multiset difference.
fn difference<'a>(a: &'a [Assertion], b: &[Assertion]) -> Vec<&'a Assertion> {
    let mut remaining: BTreeMap<&str, usize> = BTreeMap::new();
    for x in b {
        *remaining.entry(x.fingerprint.as_str()).or_default() += 1;
    }
    a.iter()
        .filter(|x| match remaining.get_mut(x.fingerprint.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

/// Why `after` checks less than `before`, if it plainly does.
pub fn weakened(before: &Assertion, after: &Assertion) -> Option<String> {
    let strip = |f: &str| f.strip_prefix("assert ").unwrap_or(f).to_string();
    match (&before.kind, &after.kind) {
        (AssertKind::Raises(specific), AssertKind::Raises(broad))
            if specific != broad && is_broad(broad) =>
        {
            Some(format!(
                "`{broad}` accepts any error where `{specific}` was required"
            ))
        }
        (AssertKind::Approx, AssertKind::Approx) => {
            let (old, new) = (
                tolerance(&before.fingerprint),
                tolerance(&after.fingerprint),
            );
            match (old, new) {
                (Some(o), Some(n)) if n > o => {
                    Some(format!("the approx tolerance grew from {o} to {n}"))
                }
                (Some(o), None) if o > 1e-6 => None,
                _ => None,
            }
        }
        (AssertKind::Assert | AssertKind::Approx, AssertKind::Assert) => {
            let (old, new) = (strip(&before.fingerprint), strip(&after.fingerprint));
            // `assert x == y` -> `assert x`: only the truthiness of one side is left.
            let comparison = [" == ", " != ", " in ", " is ", " < ", " > ", " <= ", " >= "];
            let left = comparison
                .iter()
                .find_map(|op| old.split_once(op).map(|(l, _)| l.trim().to_string()));
            (left.as_deref() == Some(new.as_str())).then(|| {
                "the comparison was dropped: only the truthiness of one side is checked".into()
            })
        }
        (AssertKind::Unittest(strong), AssertKind::Unittest(weak)) if strong != weak => {
            let weak_methods = ["assertTrue", "assertIsNotNone", "assertFalse"];
            let first = |f: &str| {
                f.split_once("( ").map(|(_, rest)| {
                    rest.split(" , ")
                        .next()
                        .unwrap_or("")
                        .trim_end_matches(" )")
                        .to_string()
                })
            };
            (weak_methods.contains(&weak.as_str())
                && !weak_methods.contains(&strong.as_str())
                && first(&before.fingerprint) == first(&after.fingerprint))
            .then(|| format!("`{strong}` became `{weak}`, which checks only truthiness"))
        }
        _ => None,
    }
}

fn is_broad(exception: &str) -> bool {
    matches!(
        exception,
        "Exception" | "BaseException" | "( Exception )" | "object"
    )
}

/// The `rel=`/`abs=` tolerance of a `pytest.approx(...)` fingerprint.
fn tolerance(fingerprint: &str) -> Option<f64> {
    ["rel = ", "abs = "]
        .iter()
        .filter_map(|key| fingerprint.split_once(key).map(|(_, rest)| rest))
        .filter_map(|rest| rest.split([' ', ',', ')']).next()?.parse::<f64>().ok())
        .reduce(f64::max)
}

/// Jaccard similarity of two token multisets.
pub fn similarity(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for t in a {
        counts.entry(t).or_default().0 += 1;
    }
    for t in b {
        counts.entry(t).or_default().1 += 1;
    }
    let (mut both, mut either) = (0usize, 0usize);
    for (x, y) in counts.values() {
        both += x.min(y);
        either += x.max(y);
    }
    both as f64 / either as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratchet::python_tests::extract;

    fn collected(path: &str, source: &str) -> Vec<Collected> {
        extract(path, source.as_bytes())
            .unwrap()
            .into_iter()
            .map(|c| Collected {
                collected: c.case.name.starts_with("test"),
                case: c.case,
            })
            .collect()
    }

    fn codes(base: &str, head: &str) -> Vec<&'static str> {
        compare(
            &collected("tests/test_x.py", base),
            &collected("tests/test_x.py", head),
            &HashMap::new(),
        )
        .iter()
        .map(|f| f.code)
        .collect()
    }

    const BASE: &str = "import pytest\n\ndef test_upgrade():\n    app = deploy()\n    assert app.version == '2.0'\n    assert app.healthy()\n";

    #[test]
    fn identical_and_reformatted_tests_are_quiet() {
        assert!(codes(BASE, BASE).is_empty());
        let reformatted = "import pytest\n\n\ndef test_upgrade():\n    app = deploy()\n    assert (app.version\n            == '2.0')\n    assert app.healthy()  # still\n";
        assert!(codes(BASE, reformatted).is_empty());
    }

    #[test]
    fn more_assertions_are_quiet() {
        let head = format!("{BASE}    assert app.port == 80\n");
        assert!(codes(BASE, &head).is_empty());
    }

    #[test]
    fn fewer_assertions_are_dg010() {
        let head = "import pytest\n\ndef test_upgrade():\n    app = deploy()\n    assert app.version == '2.0'\n";
        assert_eq!(codes(BASE, head), ["DG010"]);
    }

    #[test]
    fn a_removed_test_is_dg011_and_a_renamed_one_is_not() {
        assert_eq!(codes(BASE, "import pytest\n"), ["DG011"]);
        let renamed = BASE.replace("test_upgrade", "test_upgrade_keeps_data");
        assert!(codes(BASE, &renamed).is_empty());
    }

    #[test]
    fn renamed_out_of_collection_is_dg014() {
        let hidden = BASE.replace("def test_upgrade", "def check_upgrade");
        assert_eq!(codes(BASE, &hidden), ["DG014"]);
    }

    #[test]
    fn skips_are_dg012() {
        let head = BASE.replace(
            "def test_upgrade",
            "@pytest.mark.skip(reason='slow')\ndef test_upgrade",
        );
        assert_eq!(codes(BASE, &head), ["DG012"]);
    }

    #[test]
    fn weakened_assertions_are_dg013() {
        assert_eq!(
            codes(BASE, &BASE.replace("app.version == '2.0'", "app.version")),
            ["DG013"]
        );
        assert_eq!(
            codes(
                BASE,
                &BASE.replace("app.healthy()", "app.healthy() or True")
            ),
            ["DG013"]
        );
        let raises = "import pytest\n\ndef test_bad():\n    with pytest.raises(ValueError):\n        parse('x')\n";
        assert_eq!(
            codes(raises, &raises.replace("ValueError", "Exception")),
            ["DG013"]
        );
        let approx = "import pytest\n\ndef test_sum():\n    assert total() == pytest.approx(3.0, rel=1e-6)\n";
        assert_eq!(codes(approx, &approx.replace("1e-6", "0.5")), ["DG013"]);
    }

    #[test]
    fn unreachable_assertions_are_dg015() {
        let head = BASE.replace("    app = deploy()\n", "    app = deploy()\n    return\n");
        assert_eq!(codes(BASE, &head), ["DG015", "DG015"]);
    }

    #[test]
    fn removed_parametrize_cases_are_dg010() {
        let base = "import pytest\n\n@pytest.mark.parametrize('v', ['1.0', '2.0'])\ndef test_v(v):\n    assert ok(v)\n";
        assert_eq!(codes(base, &base.replace(", '2.0'", "")), ["DG010"]);
    }

    #[test]
    fn cases_moved_into_a_parametrized_fixture_are_kept() {
        let base = "import pytest\n\n@pytest.mark.parametrize('with_validation', [True, False])\ndef test_v(with_validation):\n    assert ok(with_validation)\n";
        let head = "import pytest\n\n@pytest.mark.usefixtures('with_and_without_validation')\ndef test_v():\n    assert ok(with_validation)\n";
        let run = |cases: usize| {
            let fixtures = HashMap::from([("with_and_without_validation".to_string(), cases)]);
            compare(
                &collected("tests/test_x.py", base),
                &collected("tests/test_x.py", head),
                &fixtures,
            )
            .iter()
            .map(|f| f.code)
            .collect::<Vec<_>>()
        };
        assert!(run(2).is_empty());
        assert_eq!(run(1), ["DG010"]);
    }
}
