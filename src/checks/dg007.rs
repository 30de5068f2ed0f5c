//! DG007: an unresolvable call inside a forbidden source's reach.

use super::{Analysis, Check, Finding, Hop, Severity};
use crate::policy::DynamicPolicy;

pub const CHECK: Check = Check {
    code: "DG007",
    name: "unprovable-dynamic-call",
    summary: "a call reachable from upgrade/backup/restore cannot be resolved statically",
    doc: "\
DG007 unprovable-dynamic-call

What it catches
  Inside the reach of a forbidden source (anything `perform_backup` & co. may call), a call
  deployguard cannot resolve: `getattr(obj, name)` with a computed name, `eval`, `exec`,
  `globals()[...]`, `importlib.import_module(...)`, `__import__`, or value flow too deep to
  follow.

Why it matters for the deploy budget
  Such a call could run any function, including `deploy_app`. A guard that says \"no deploy\"
  without seeing the callee would be a guess, so deployguard fails closed: the proof is
  \"not proven\" until the call is made static.

Example
  # harness/generic.py
  def perform_restore(app, action):
      getattr(lifecycle, action)(app)      # DG007: which function? any of them

Fix
  Call the function by name, or use a literal attribute (`getattr(lifecycle, \"restore_app\")`)
  or an explicit dict of allowed functions. `dynamic = \"warn\"` in the policy turns this into a
  warning, which a reviewer must then accept by hand.",
    run,
};

fn run(analysis: &Analysis) -> Vec<Finding> {
    let mut findings = Vec::new();
    let severity = match analysis.policy.dynamic {
        DynamicPolicy::Deny => Severity::Error,
        DynamicPolicy::Warn => Severity::Warning,
    };
    if analysis.graph.unsettled {
        let changing = &analysis.graph.unsettled_in;
        let mut names: Vec<&str> = changing.iter().take(3).map(|&n| analysis.name(n)).collect();
        if changing.len() > 3 {
            names.push("...");
        }
        let where_ = if names.is_empty() {
            String::new()
        } else {
            format!(" (still changing: calls in `{}`)", names.join("`, `"))
        };
        findings.push(Finding {
            code: CHECK.code,
            severity,
            message: format!(
                "value flow did not settle within deployguard's work budget{where_}: calls through parameters may be incomplete, so nothing is proven"
            ),
            site: changing.first().map(|&n| analysis.definition_site(n)),
            label: "value flow still changing here".into(),
            witness: Vec::new(),
            help: Some("report this tree to the deployguard maintainers; it needs a larger work budget".into()),
        });
    }
    let sources: Vec<usize> = analysis
        .forbidden
        .iter()
        .flat_map(|(_, funcs)| funcs.iter().copied())
        .collect();
    if sources.is_empty() {
        return findings;
    }
    let reach = analysis.graph.reachable(&sources);
    for dynamic in &analysis.graph.dynamic {
        if !reach.contains(&dynamic.func) {
            continue;
        }
        let path = analysis
            .graph
            .path_to(&sources, dynamic.func)
            .unwrap_or_default();
        let source = path
            .first()
            .map_or(dynamic.func, |&i| analysis.graph.edges[i].from);
        let mut witness = analysis.witness(&path);
        witness.push(Hop {
            site: dynamic.site,
            label: format!(
                "{} calls `{}`: {}",
                analysis.name(dynamic.func),
                dynamic.callee_text,
                dynamic.reason
            ),
        });
        findings.push(Finding {
            code: CHECK.code,
            severity,
            message: format!(
                "cannot prove `{}` never deploys: `{}` in `{}` {}",
                analysis.name(source),
                dynamic.callee_text,
                analysis.name(dynamic.func),
                dynamic.reason
            ),
            site: Some(dynamic.site),
            label: format!("unresolvable call: {}", dynamic.reason),
            witness,
            help: Some(
                "call the function by name (or through a literal attribute) so the callee is known"
                    .into(),
            ),
        });
    }
    findings
}
