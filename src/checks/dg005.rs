//! DG005: the run-time deploy-count guard (DG4.1) is missing or weakened.

use super::guard::inspect;
use super::{Analysis, Check, Finding, Hop, Severity};

pub const CHECK: Check = Check {
    code: "DG005",
    name: "guard-weakened",
    summary: "the DG4.1 deploy-count guard is missing, loosened, or no longer fails the run",
    doc: "\
DG005 guard-weakened

What it catches
  The entry (`run_recipe_ci.main`) must enforce the budget at run time, exactly as the
  DG4.1 guard does: compute `expected_deploy_count = 1 + deps_deployed_count` from the cold
  deps actually deployed (`len()` of what the deps code returns; warm deps excluded), read
  `deploy_count` from the file the counter appends to ($CCCI_DEPLOY_COUNT_FILE), compare the
  two exactly (`!=`, or `==` with the failure in the `else`), and on a mismatch set the run's
  status to a failure that reaches `return overall` and `sys.exit(main())`. Each way this
  can be weakened is reported with what is wrong: the guard deleted; `!=` loosened to `>`,
  `>=` or `<`; the constant changed (`2 + ...`); the count taken from somewhere the counter
  does not write (a constant, the expected value itself, `len(declared)`); a failure branch
  that only logs; the status reset or not returned; `sys.exit(0)` at the end.

Why it matters for the deploy budget
  The static proof covers the code as written; the guard is what turns every green run into
  evidence that the run stayed in budget. A guard that cannot fail proves nothing.

Example
  if deploy_count > expected_deploy_count:     # DG005: a missing deploy now passes
      log.error(\"DG4.1 FAIL ...\")
      overall = 1

Fix
  Restore the exact check and its failing status. The summary prints `guard expects:` next
  to the static budget; both must read `1 + N_cold_deps`.",
    run,
};

fn run(analysis: &Analysis) -> Vec<Finding> {
    let mut findings = Vec::new();
    for &entry in &analysis.entry {
        let Some(guard) = inspect(analysis, entry) else {
            continue;
        };
        for problem in guard.problems {
            findings.push(Finding {
                code: CHECK.code,
                severity: Severity::Error,
                message: format!("DG4.1 guard in `{}`: {}", analysis.name(entry), problem.message),
                site: Some(problem.site),
                label: "the guard is weakened here".into(),
                witness: vec![Hop { site: problem.site, label: problem.message.clone() }],
                help: Some(
                    "the guard must be `expected = 1 + len(<cold deps deployed>)`, `count = <lines of $CCCI_DEPLOY_COUNT_FILE>`, \
                     `if count != expected: overall = 1`, and `sys.exit(main())`"
                        .into(),
                ),
            });
        }
        // Budget == guard: both formulas must agree.
        if let Some(expected) = guard.expected {
            let budget = analysis.budget_limit().to_string();
            if expected != budget {
                let site = analysis.definition_site(entry);
                findings.push(Finding {
                    code: CHECK.code,
                    severity: Severity::Error,
                    message: format!(
                        "the guard expects {expected} deploys but the budget is {budget}"
                    ),
                    site: Some(site),
                    label: "guard and budget disagree".into(),
                    witness: Vec::new(),
                    help: None,
                });
            }
        }
    }
    findings.sort_by(|a, b| (a.site, &a.message).cmp(&(b.site, &b.message)));
    findings.dedup_by(|a, b| a.site == b.site && a.message == b.message);
    findings
}
