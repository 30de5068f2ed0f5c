//! DG003: a forbidden source (upgrade, backup, restore) can reach the deploy sink.

use super::{Analysis, Check, Finding, Severity};

pub const CHECK: Check = Check {
    code: "DG003",
    name: "forbidden-source-deploys",
    summary: "an upgrade/backup/restore function can reach the deploy sink",
    doc: "\
DG003 forbidden-source-deploys

What it catches
  A path in the call graph from a forbidden source (by default `chaos_redeploy`,
  `perform_upgrade`, `perform_backup`, `perform_restore`, `backup_app`, `restore_app`) to the
  deploy sink, directly or through any chain of calls across modules: aliases, re-exports,
  methods through `self` and base classes, constructors, decorators' wrappers, lambdas,
  `functools.partial`, functions stored in dicts or lists, returned by factories, or passed as
  arguments, and the calls Python makes without a call expression: property getters and
  setters, descriptors, `__getattr__`, `with` (`__enter__`/`__exit__`), `for`
  (`__iter__`/`__next__`), operators, comparisons and subscripts, `raise E`. The shortest such
  chain is shown hop by hop with file:line; an implicit hop says which protocol it is.

Why it matters for the deploy budget
  The claim is that the upgrade is an in-place redeploy of the same app and backup/restore
  operate on the running app: those tiers add 0 deploys. A path from them to `deploy_app`
  adds a deploy per run that the budget `1 + N_cold_deps` does not include.

Example
  # harness/generic.py
  from harness.lifecycle import deploy_app as d
  def perform_restore(app):
      restore_app(app)
      d(app)               # DG003: perform_restore -> deploy_app

Fix
  Operate on the running app (`chaos_redeploy` for the upgrade) instead of deploying.",
    run,
};

fn run(analysis: &Analysis) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (pattern, sources) in &analysis.forbidden {
        for &source in sources {
            let called = analysis.as_called(source);
            let Some(path) = analysis.graph.shortest_path(&called, &analysis.sinks) else {
                continue;
            };
            let Some(&last) = path.last() else { continue };
            let edge = &analysis.graph.edges[last];
            let speculative = path
                .iter()
                .any(|&i| analysis.graph.edges[i].kind.is_speculative());
            findings.push(Finding {
                code: CHECK.code,
                severity: Severity::Error,
                message: format!(
                    "forbidden source `{}` (policy `{}`) can reach the deploy sink `{}` in {} hop{}{}",
                    analysis.name(source),
                    pattern.as_str(),
                    analysis.short_name(edge.to),
                    path.len(),
                    if path.len() == 1 { "" } else { "s" },
                    if speculative { ", through a call deployguard could only over-approximate" } else { "" },
                ),
                site: Some(edge.site),
                label: analysis.describe_edge(edge),
                witness: analysis.witness(&path),
                help: Some(
                    "upgrade, backup and restore must not deploy: they operate on the app the base \
                     deploy created (the upgrade is an in-place chaos redeploy)"
                        .into(),
                ),
            });
        }
    }
    findings
}
