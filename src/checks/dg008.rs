//! DG008: a name in the policy matches no function, so a proof about it would be vacuous.

use super::{Analysis, Check, Finding, Severity};
use crate::checks::analysis::functions_matching;
use crate::policy::Pattern;

pub const CHECK: Check = Check {
    code: "DG008",
    name: "policy-target-missing",
    summary: "the policy names a function (sink, counter, entry, forbidden source, site or exemption) that does not exist",
    doc: "\
DG008 policy-target-missing

What it catches
  A function named in the policy (`sinks`, `counters`, `entry`, `forbidden`, [[sites]] `in`,
  [[exempt]] `in`) that matches no function in the analyzed tree, or `include`/`exclude`
  globs that leave no file in the guarded scope.

Why it matters for the deploy budget
  Every other rule is a statement about those functions. If `deploy_app` was renamed, \"no
  path reaches deploy_app\" is trivially true and proves nothing; if `perform_backup` was
  renamed, its new name is unguarded. deployguard fails closed instead of passing vacuously.

Example
  # deployguard.toml names forbidden = [\"perform_backup\"], but the harness now has
  def run_backup(app): ...     # DG008: `perform_backup` matches nothing

Fix
  Update the policy to the new names (or restore the old ones).",
    run,
};

fn run(analysis: &Analysis) -> Vec<Finding> {
    let policy = analysis.policy;
    let mut named: Vec<(&str, &Pattern)> = Vec::new();
    named.extend(policy.sinks.iter().map(|p| ("sink", p)));
    named.extend(policy.counters.iter().map(|p| ("counter", p)));
    named.extend(policy.entry.iter().map(|p| ("entry", p)));
    named.extend(policy.forbidden.iter().map(|p| ("forbidden source", p)));
    for rule in &policy.sites {
        named.extend(rule.functions.iter().map(|p| ("site rule", p)));
    }
    for rule in &policy.exempt {
        named.extend(rule.functions.iter().map(|p| ("exemption", p)));
    }
    let mut findings = empty_scope(analysis);
    findings.extend(
        named
            .into_iter()
            .filter(|(_, pattern)| !pattern_matches_anything(analysis, pattern))
        .map(|(role, pattern)| Finding {
            code: CHECK.code,
            severity: Severity::Error,
            message: format!(
                "the policy's {role} `{}` matches no function in the analyzed tree, so nothing about it can be proven",
                pattern.as_str()
            ),
            site: None,
            label: String::new(),
            witness: Vec::new(),
            help: Some("update the policy to the function's current name, or check that ROOT covers the harness".into()),
        }),
    );
    findings
}

/// `include`/`exclude` that leave no file guarded make every rule about the guarded scope
/// vacuous (a typo such as `include = ["harnes/**"]`).
fn empty_scope(analysis: &Analysis) -> Vec<Finding> {
    let files = &analysis.project.files;
    if files.is_empty() || files.iter().any(|f| f.source.guarded) {
        return Vec::new();
    }
    vec![Finding {
        code: CHECK.code,
        severity: Severity::Error,
        message: format!(
            "the policy's `include`/`exclude` leave none of the {} files in the guarded scope, so nothing is guarded",
            files.len()
        ),
        site: None,
        label: String::new(),
        witness: Vec::new(),
        help: Some("fix the globs in `include`/`exclude` (they are relative to the config file's directory)".into()),
    }]
}

fn pattern_matches_anything(analysis: &Analysis, pattern: &Pattern) -> bool {
    !functions_matching(analysis.project, pattern).is_empty()
}
