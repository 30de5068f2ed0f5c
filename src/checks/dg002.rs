//! DG002: a deploy site the policy does not account for.

use super::{Analysis, Check, Finding, Severity, SiteClass};

pub const CHECK: Check = Check {
    code: "DG002",
    name: "unexpected-deploy-site",
    summary: "a deploy call site is not the base deploy, a per-cold-dep deploy or an exempt deploy",
    doc: "\
DG002 unexpected-deploy-site

What it catches
  A call that reaches the deploy sink (`deploy_app`) from a function the policy does not
  classify: not the base deploy (in the entry, `run_recipe_ci.main`), not a per-cold-dep
  deploy (in `harness.deps`), not an exempt deploy (`promote_canonical`). Aliases, re-exports,
  dict dispatch, `functools.partial` and methods are all resolved, so a renamed call is still
  a call.

Why it matters for the deploy budget
  The budget `1 + N_cold_deps` holds only if every deploy is one of those three kinds. A new
  deploy anywhere else, say a \"quick redeploy\" in a tier, adds a deploy per run that the
  budget does not include.

Example
  # run_recipe_ci.py
  def run_lifecycle_tier(stage, app):
      if stage == \"restore\":
          deploy_app(app)     # DG002: not base, dep or exempt

Fix
  Remove the deploy, or, if it is intended, classify it in deployguard.toml with [[sites]]
  (kind = \"base\" or \"dep\") or [[exempt]] and explain why in the review.",
    run,
};

fn run(analysis: &Analysis) -> Vec<Finding> {
    analysis
        .deploy_sites
        .iter()
        .filter(|site| site.class == SiteClass::Unexpected)
        .map(|site| {
            let edge = &analysis.graph.edges[site.edge];
            Finding {
                code: CHECK.code,
                severity: Severity::Error,
                message: format!(
                    "`{}` deploys through `{}`, but the policy accounts for no deploy there",
                    analysis.name(edge.from),
                    analysis.short_name(site.target)
                ),
                site: Some(edge.site),
                label: analysis.describe_edge(edge),
                witness: analysis.witness(&[site.edge]),
                help: Some(
                    "deploys are allowed only as the base deploy, one per cold dep, or an exempt \
                     deploy that detaches the counter first; remove this one or classify it in \
                     deployguard.toml ([[sites]] / [[exempt]])"
                        .into(),
                ),
            }
        })
        .collect()
}
