//! DG005: the run-time deploy-count guard (DG4.1) is missing or weakened.

use super::{Analysis, Check, Finding, Hop, Severity};

pub const CHECK: Check = Check {
    code: "DG005",
    name: "guard-weakened",
    summary: "the DG4.1 deploy-count guard is missing, loosened, or no longer fails the run",
    doc: "\
DG005 guard-weakened

What it catches
  The entry (`run_recipe_ci.main`) must enforce the budget at run time, as the DG4.1 guard
  does. deployguard looks for it by meaning, not by name, in the entry and every function
  it calls (entered with their arguments): a comparison whose sides are
    - the deploy count: a value that is the number of lines of the file named by
      $CCCI_DEPLOY_COUNT_FILE -- `len(open(p).readlines())`, `len(Path(p).read_text()
      .splitlines())`, `sum(1 for line in fh if line.strip())`, a loop that adds one per
      line, a helper in any module that returns one of these -- where `p` is
      `os.environ[K]`, `os.getenv(K)`, or an object stored into `os.environ[K]` (a
      `@contextmanager` that sets the variable and yields the path is fine). A constant below
      the base (\"file missing\": -1 or 0) may stand in, since it never equals the expectation;
    - the expectation: exactly `1 + N_cold_deps`, where N_cold_deps is the deps code's record
      of the cold deps it deployed (see DG004): `len(cold)`, `1 + sum(1 for d in cold)`, an
      integer the deps code counts, a property of a record built from them.
  The comparison must be exact (`!=`, `not ==`, `==` with an `else`, `a - b != 0`), through
  variables, walrus or helpers (`if not budget_ok(count, cold)`); its failing side must
  raise, exit non-zero, return a failing status, or set a status that reaches the process
  exit on every later path and through the callers: `sys.exit(main())`, `rc = main();
  sys.exit(rc)`, `raise SystemExit(main())`, `sys.exit(status)` in `main`, `status =
  status or check(...)`, `status |= check(...)`. No variable name is required; the
  policy's `guard` names only make messages clearer. Each way this fails is reported with
  what the value really is: the count is a constant (`len(\"CCCI_DEPLOY_COUNT_FILE\")` is the
  constant 22) or another file; the expectation is `2 + N_cold_deps` or counts declared
  deps; `>`, `>=` or `<`; a mismatch that only logs; a status reset after the guard; a
  status that never reaches the exit.

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
    for (index, &entry) in analysis.entry.iter().enumerate() {
        let Some(guard) = analysis.guard(index) else {
            continue;
        };
        for problem in &guard.problems {
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
        if let Some(expected) = &guard.expected {
            let budget = analysis.budget_limit().to_string();
            if *expected != budget {
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
