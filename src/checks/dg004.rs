//! DG004: one run can deploy more than the policy's budget (`1 + N_cold_deps`).

use super::budget::Cost;
use super::{Analysis, Check, Finding, Hop, Severity};
use crate::project::Site;

pub const CHECK: Check = Check {
    code: "DG004",
    name: "budget-exceeded",
    summary: "the static deploy budget of one run exceeds 1 + N_cold_deps",
    doc: "\
DG004 budget-exceeded

What it catches
  The number of counted deploys one run of the entry (`run_recipe_ci.main`) can make,
  computed from the code, exceeds the policy's budget `1 + N_cold_deps`. deployguard derives
  the formula from control flow: a sequence adds, an if/elif/else or match takes the largest
  branch, a loop over the cold deps multiplies its body by N_cold_deps, any other loop around
  a deploy makes it unbounded, return/raise/sys.exit end a path, and a call costs its
  callee's budget. The deps loop counts as N_cold_deps only when, on every path through one
  iteration, it deploys exactly as often as it records the dep, and the live-warm branch
  deploys nothing. What counts as the record is a question about meaning, not a name: a list
  or an integer the deps code returns (alone, in a tuple or in a NamedTuple/dataclass), or an
  attribute of an object it fills (`report.deployed`, `result.cold` of a parameter), that
  starts empty and grows by one per deploy -- `append(x)`, `extend([x])`, `x = x + [x]`,
  `x += [x]`, `n += 1`, or a helper that does one of these to what it is given -- and grows
  nowhere else. The warm branch is whatever condition the live-warm check decides, through a
  variable or `not`; a loop over `[d for d in deps if not is_live_warm(d)]` sees no warm dep.
  A deploy that can raise after it was counted (`_record_deploy` then `wait_healthy`) costs
  one deploy on its raising path too, so a retry after it deploys again. When `main` has no
  deploy of its own, the one site only `main` reaches is its base deploy (`Run.execute`).
  Python's implicit calls cost like written ones: reading a property whose getter deploys,
  an operator or a `for` over an object whose `__add__`/`__iter__` deploys.

Why it matters for the deploy budget
  Counting call sites is not enough: a second base deploy on another path, a deploy moved
  into the tier loop, a retry loop around the base deploy, or warm deps deployed as well all
  keep the same three sites, yet each adds deploys to every run.

Example
  for attempt in range(3):           # DG004: unbounded, the base deploy is in a retry loop
      if deploy_app(app, base):
          break

Fix
  Keep one base deploy per run and one deploy per cold dep; reuse live-warm deps. The
  summary prints `static budget: 1 + N_cold_deps` and the deploys each tier adds (0).",
    run,
};

fn run(analysis: &Analysis) -> Vec<Finding> {
    let mut findings = Vec::new();
    let limit = analysis.budget_limit();
    for (&entry, cost) in analysis.entry.iter().zip(&analysis.budget().entries) {
        if cost.within(&limit) {
            continue;
        }
        findings.push(finding(analysis, entry, cost, &limit));
    }
    findings
}

fn finding(analysis: &Analysis, entry: usize, cost: &Cost, limit: &Cost) -> Finding {
    let entry_site = analysis.definition_site(entry);
    let mut witness: Vec<Hop> = cost
        .sites
        .iter()
        .enumerate()
        .map(|(i, (site, per_dep))| Hop {
            site: *site,
            label: format!(
                "deploy {}{}",
                i + 1,
                if *per_dep { ", once per cold dep" } else { "" }
            ),
        })
        .collect();
    let (site, label): (Site, String) = match &cost.unbounded {
        Some((site, reason)) => {
            witness.push(Hop {
                site: *site,
                label: format!("unbounded: {reason}"),
            });
            (*site, reason.clone())
        }
        None => {
            let extra = cost.sites.last().map_or(entry_site, |(s, _)| *s);
            (extra, format!("this deploy takes the run to {cost}"))
        }
    };
    Finding {
        code: CHECK.code,
        severity: Severity::Error,
        message: format!(
            "one run of `{}` can make {cost} counted deploys; the budget is {limit}",
            analysis.name(entry)
        ),
        site: Some(site),
        label,
        witness,
        help: Some(format!("static budget found: {cost}; expected: {limit}")),
    }
}
