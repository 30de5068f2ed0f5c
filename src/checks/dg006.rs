//! DG006: an exempt deploy not preceded, on every path, by detaching the deploy counter.

use super::must_precede::{MustPrecede, Requirement};
use super::{Analysis, Check, Finding, Hop, Severity, SiteClass};
use crate::project::EdgeKind;

pub const CHECK: Check = Check {
    code: "DG006",
    name: "exempt-deploy-not-detached",
    summary: "an exempt deploy can run while the deploy counter is still attached",
    doc: "\
DG006 exempt-deploy-not-detached

What it catches
  An exempt deploy (in cc-ci: `promote_canonical`, the WC5 post-green warm-cache promotion)
  that is not preceded, on every path through the function, by the call that detaches the
  deploy counter: `os.environ.pop(\"CCCI_DEPLOY_COUNT_FILE\", ...)` (or `del os.environ[...]`,
  or a helper that always does one of them). Putting the variable back
  (`os.environ[\"CCCI_DEPLOY_COUNT_FILE\"] = saved`, `os.environ.update(...)`) before the deploy
  undoes the detach. Branches, loops, `try`/`finally` and early returns are followed.

Why it matters for the deploy budget
  The exempt deploy is outside the per-run budget only because `_record_deploy` finds no
  counter file to append to. If the pop can be skipped, the promotion is counted, and the
  DG4.1 guard fails a green run (or a real extra deploy gets hidden behind it).

Example
  def promote_canonical(app):
      if app.is_canonical:
          os.environ.pop(\"CCCI_DEPLOY_COUNT_FILE\", None)
      deploy_app(app)       # DG006: not detached when app.is_canonical is false

Fix
  Pop the variable unconditionally, first thing, before any deploy.",
    run,
};

fn run(analysis: &Analysis) -> Vec<Finding> {
    let mut findings = Vec::new();
    for site in analysis
        .deploy_sites
        .iter()
        .filter(|s| s.class == SiteClass::Exempt)
    {
        let Some(rule) = site.exempt_rule.map(|i| &analysis.policy.exempt[i]) else {
            continue;
        };
        let edge = &analysis.graph.edges[site.edge];
        let requirement = Requirement {
            after: &rule.after,
            key: rule.key.as_deref(),
        };
        let checker = MustPrecede::new(analysis.project, &analysis.evaluator, requirement);
        let scope = analysis.project.scope(
            edge.site.file,
            analysis.project.funcs[analysis.graph.node_func[edge.from]].scope,
        );
        let call_index = scope.calls.iter().position(|c| c.range == edge.site.range);
        let detached = match (call_index, &edge.kind) {
            (Some(index), EdgeKind::Call) => checker
                .states_at_calls(edge.from)
                .get(&index)
                .copied()
                .unwrap_or(false),
            _ => false,
        };
        if detached && !scope.flow_truncated {
            continue;
        }
        let required = match &rule.key {
            Some(key) => format!("{}({key:?})", rule.after),
            None => format!("{}(...)", rule.after),
        };
        findings.push(Finding {
            code: CHECK.code,
            severity: Severity::Error,
            message: format!(
                "exempt deploy in `{}` is not preceded by `{required}` on every path",
                analysis.name(edge.from)
            ),
            site: Some(edge.site),
            label: format!("this deploy can run with the counter attached: `{required}` has not run on every path here"),
            witness: vec![
                Hop { site: analysis.definition_site(edge.from), label: format!("{} starts with the counter attached", analysis.name(edge.from)) },
                Hop { site: edge.site, label: analysis.describe_edge(edge) },
            ],
            help: Some(format!("call `{required}` unconditionally before the deploy, and do not put it back before it")),
        });
    }
    findings
}
