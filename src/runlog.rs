//! The harness's RUN SUMMARY, read from a run's log (`verify --run-log FILE`): the dynamic
//! half of the reviewer's verification, checked against the static budget.
//!
//! The harness prints, after its tiers:
//!
//! ```text
//! RUN SUMMARY ghost run=42 base=1.0.0 target=1.1.0
//!   deploy-count = 1 (expect 1)
//!   deps deployed: []
//!   ...
//!   tiers:
//!     install  pass     12.0s  ...
//! ```
//!
//! Lines may carry a prefix (a CI log's timestamp); only what follows the markers is read.

use crate::checks::budget::Cost;

/// One run as its log tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLog {
    /// The file as given on the command line.
    pub file: String,
    /// The RUN SUMMARY line (`RUN SUMMARY ghost run=...`), or `None` when the log has none.
    pub summary: Option<Quoted>,
    /// `deploy-count = N (expect M)`.
    pub count: Option<(usize, usize, Quoted)>,
    /// The cold deps the run deployed, from `deps deployed: [...]`.
    pub cold_deps: Option<(Vec<String>, Quoted)>,
    /// Each tier's name and status.
    pub tiers: Vec<(String, String, Quoted)>,
}

/// A line of the log, with its 1-based number, for quoting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quoted {
    pub line: usize,
    pub text: String,
}

/// A run checked against the static budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunCheck {
    pub log: RunLog,
    /// The static budget evaluated at this run's number of cold deps (`None`: unbounded).
    pub budget_at_run: Option<usize>,
    /// What disagrees, each with the line it is about (empty: PASS).
    pub problems: Vec<(String, Option<Quoted>)>,
}

impl RunCheck {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

const TIER_STATUSES: [&str; 4] = ["pass", "fail", "skip", "error"];

pub fn parse(file: &str, text: &str) -> RunLog {
    let mut log = RunLog {
        file: file.to_string(),
        summary: None,
        count: None,
        cold_deps: None,
        tiers: Vec::new(),
    };
    let mut in_tiers = false;
    for (i, raw) in text.lines().enumerate() {
        let quoted = || Quoted {
            line: i + 1,
            text: raw.trim().to_string(),
        };
        if let Some(at) = raw.find("RUN SUMMARY") {
            // A second summary (a retried run) replaces the first: the last one counts.
            log = RunLog {
                file: file.to_string(),
                summary: Some(Quoted {
                    line: i + 1,
                    text: raw[at..].trim().to_string(),
                }),
                count: None,
                cold_deps: None,
                tiers: Vec::new(),
            };
            in_tiers = false;
            continue;
        }
        if log.summary.is_none() {
            continue;
        }
        if let Some(rest) = after(raw, "deploy-count = ") {
            log.count = parse_count(rest).map(|(n, m)| (n, m, quoted()));
        } else if let Some(rest) = after(raw, "deps deployed: ") {
            log.cold_deps = Some((parse_list(rest), quoted()));
        } else if raw.trim_end().ends_with("tiers:") {
            in_tiers = true;
        } else if in_tiers {
            let fields: Vec<&str> = raw.split_whitespace().collect();
            match fields.as_slice() {
                [name, status, ..] if TIER_STATUSES.contains(status) => {
                    log.tiers
                        .push((name.to_string(), status.to_string(), quoted()));
                }
                _ => in_tiers = false,
            }
        }
    }
    log
}

/// Checks a run: the count equals the expectation, the expectation equals the static
/// budget at the run's number of cold deps, and every tier passed.
pub fn check(log: RunLog, budget: &Cost) -> RunCheck {
    let mut problems = Vec::new();
    let mut budget_at_run = None;
    if log.summary.is_none() {
        problems.push((
            "the log has no RUN SUMMARY: the run did not finish, or this is not its log".into(),
            None,
        ));
    } else {
        match &log.count {
            None => problems.push((
                "the RUN SUMMARY has no `deploy-count = N (expect M)` line".into(),
                log.summary.clone(),
            )),
            Some((count, expect, line)) if count != expect => problems.push((
                format!("the run deployed {count} times but expected {expect}"),
                Some(line.clone()),
            )),
            Some(_) => {}
        }
        match &log.cold_deps {
            None => problems.push((
                "the RUN SUMMARY has no `deps deployed: [...]` line, so the budget cannot be evaluated"
                    .into(),
                log.summary.clone(),
            )),
            Some((deps, line)) => {
                let n = deps.len();
                budget_at_run = (budget.unbounded.is_none())
                    .then(|| budget.base as usize + budget.per_dep as usize * n);
                match (budget_at_run, &log.count) {
                    (None, _) => problems.push((
                        "the static budget is unbounded, so no count can be checked against it"
                            .into(),
                        Some(line.clone()),
                    )),
                    (Some(at), Some((_, expect, count_line))) if at != *expect => {
                        problems.push((
                            format!(
                                "the run expected {expect}, but the static budget `{budget}` at N_cold_deps = {n} is {at}"
                            ),
                            Some(count_line.clone()),
                        ))
                    }
                    _ => {}
                }
            }
        }
        if log.tiers.is_empty() {
            problems.push(("the RUN SUMMARY lists no tiers".into(), log.summary.clone()));
        }
        for (name, status, line) in &log.tiers {
            if status != "pass" {
                problems.push((
                    format!("tier `{name}` did not pass ({status})"),
                    Some(line.clone()),
                ));
            }
        }
    }
    RunCheck {
        log,
        budget_at_run,
        problems,
    }
}

fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|at| &line[at + marker.len()..])
}

/// `1 (expect 1)` -> (1, 1).
fn parse_count(rest: &str) -> Option<(usize, usize)> {
    let (count, rest) = rest.trim().split_once(' ')?;
    let expect = rest.trim().strip_prefix("(expect ")?.split(')').next()?;
    Some((count.parse().ok()?, expect.trim().parse().ok()?))
}

/// A Python list of strings as printed: `['keycloak', 'postgres']`.
fn parse_list(rest: &str) -> Vec<String> {
    let inner = rest
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim();
    inner
        .split(',')
        .map(|item| item.trim().trim_matches(['\'', '"']).to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLD_DEP: &str = "\
2026-05-31T05:00:01Z tier custom done
RUN SUMMARY lasuite-docs run=7 base=1.0.0 target=1.1.0
  deploy-count = 2 (expect 2)
  deps deployed: ['keycloak']
  declared deps: ['keycloak']
  tiers:
  install  pass     12.0s  ok
  custom   pass      3.5s  ok
  timings (largest first):
";

    fn budget() -> Cost {
        Cost::limit(1)
    }

    #[test]
    fn a_cold_dep_run_within_budget_passes() {
        let run = check(parse("cold.log", COLD_DEP), &budget());
        assert!(run.passed(), "{:?}", run.problems);
        assert_eq!(run.budget_at_run, Some(2));
        assert_eq!(run.log.tiers.len(), 2);
    }

    #[test]
    fn a_count_that_disagrees_fails_quoting_the_line() {
        let text = COLD_DEP.replace("deploy-count = 2 (expect 2)", "deploy-count = 3 (expect 2)");
        let run = check(parse("cold.log", &text), &budget());
        assert!(!run.passed());
        let (message, line) = &run.problems[0];
        assert!(
            message.contains("deployed 3 times but expected 2"),
            "{message}"
        );
        assert_eq!(line.as_ref().unwrap().text, "deploy-count = 3 (expect 2)");
        assert_eq!(line.as_ref().unwrap().line, 3);
    }

    #[test]
    fn an_expectation_other_than_the_budget_fails() {
        let text = COLD_DEP.replace("deploy-count = 2 (expect 2)", "deploy-count = 1 (expect 1)");
        let run = check(parse("cold.log", &text), &budget());
        assert!(run.problems[0].0.contains("at N_cold_deps = 1 is 2"));
    }

    #[test]
    fn a_log_without_a_summary_or_with_a_failed_tier_fails() {
        assert!(!check(parse("x.log", "just noise\n"), &budget()).passed());
        let text = COLD_DEP.replace("custom   pass", "custom   fail");
        let run = check(parse("cold.log", &text), &budget());
        assert_eq!(run.problems.len(), 1);
        assert!(run.problems[0].0.contains("tier `custom` did not pass"));
    }
}
