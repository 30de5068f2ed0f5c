//! DG001: the deploy counter bumped outside the deploy sink.

use super::{Analysis, Check, Finding, Severity, SiteClass};

pub const CHECK: Check = Check {
    code: "DG001",
    name: "counter-outside-sink",
    summary: "the deploy counter is called somewhere other than inside the deploy sink",
    doc: "\
DG001 counter-outside-sink

What it catches
  A call to the deploy counter (`_record_deploy` in cc-ci) from anywhere except the body of
  the deploy sink (`deploy_app`), directly, through an alias (`rec = _record_deploy`), or by
  handing the counter to other code as a value.

Why it matters for the deploy budget
  The DG4.1 guard compares the number of lines the counter wrote with `1 + N_cold_deps`. If
  anything but `deploy_app` bumps the counter, the count no longer measures deploys: an extra
  bump can hide a missing deploy, and the guard proves nothing.

Example
  # harness/generic.py
  from harness.lifecycle import _record_deploy as rec
  def perform_restore(app):
      rec(app)          # DG001: counted, but nothing was deployed

Fix
  Only `deploy_app` may call the counter. Configure the names with `sinks` and `counters`.",
    run,
};

fn run(analysis: &Analysis) -> Vec<Finding> {
    analysis
        .counter_sites
        .iter()
        .filter(|site| site.class == SiteClass::Unexpected)
        .map(|site| {
            let edge = &analysis.graph.edges[site.edge];
            let sinks: Vec<&str> = analysis
                .sinks
                .iter()
                .map(|&s| analysis.short_name(s))
                .collect();
            Finding {
                code: CHECK.code,
                severity: Severity::Error,
                message: format!(
                    "the deploy counter `{}` is reached from `{}`, outside the deploy sink",
                    analysis.short_name(site.target),
                    analysis.name(edge.from)
                ),
                site: Some(edge.site),
                label: analysis.describe_edge(edge),
                witness: analysis.witness(&[site.edge]),
                help: Some(format!(
                    "only {} may call the counter; deploy through it instead of counting by hand",
                    sinks.join(", ")
                )),
            }
        })
        .collect()
}
