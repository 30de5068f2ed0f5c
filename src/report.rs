//! What a command found, as plain data: findings plus the inventory a reviewer pastes into a
//! review. Renderers (`crate::render`) turn it into text, JSON or a graph format.

use crate::checks::budget::Cost;
use crate::checks::must_precede::{MustPrecede, Requirement};
use crate::checks::{Analysis, Finding, SiteClass};
use crate::policy::Origin;
use crate::project::Site;

pub struct SiteRow {
    pub site: Site,
    pub class: SiteClass,
    pub function: String,
    pub target: String,
    pub callee: String,
    pub via: Option<String>,
    /// For exempt deploys: where the counter is detached.
    pub detached_at: Option<Site>,
}

pub struct ForbiddenRow {
    pub pattern: String,
    pub functions: Vec<String>,
    pub reaches_sink: bool,
}

pub struct CheckReport {
    pub root: String,
    pub policy: String,
    /// Files parsed and analyzed.
    pub files: usize,
    /// Files over `max-file-size`, left unread (each is a DG009).
    pub files_too_large: usize,
    pub guarded_files: usize,
    pub findings: Vec<Finding>,
    pub sinks: Vec<String>,
    pub counters: Vec<String>,
    pub deploy_sites: Vec<SiteRow>,
    pub counter_sites: Vec<SiteRow>,
    pub forbidden: Vec<ForbiddenRow>,
    /// The entry's static budget and the policy's (`1 + N_cold_deps`).
    pub budget: Option<BudgetRow>,
    pub strict: bool,
}

pub struct BudgetRow {
    pub entry: String,
    pub found: String,
    pub expected: String,
    /// The formula the run-time guard expects, when the policy names a guard.
    pub guard: Option<String>,
    /// Deploys each tier adds (the claim is 0).
    pub tiers: Vec<(String, String)>,
}

impl CheckReport {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == crate::checks::Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }

    /// The invariants hold: no errors (and, under `--strict`, no warnings).
    pub fn holds(&self) -> bool {
        self.errors() == 0 && (!self.strict || self.warnings() == 0)
    }
}

pub fn policy_origin(origin: &Origin) -> String {
    match origin {
        Origin::Embedded => "embedded cc-ci policy".into(),
        Origin::File(path) if path.as_os_str().is_empty() => "none (inventory only)".into(),
        Origin::File(path) => path.display().to_string(),
    }
}

pub fn site_rows(analysis: &Analysis, sites: &[crate::checks::DeploySite]) -> Vec<SiteRow> {
    sites
        .iter()
        .map(|site| {
            let edge = &analysis.graph.edges[site.edge];
            let detached_at = site.exempt_rule.and_then(|i| {
                let rule = &analysis.policy.exempt[i];
                let requirement = Requirement {
                    after: &rule.after,
                    key: rule.key.as_deref(),
                };
                MustPrecede::new(analysis.project, &analysis.evaluator, requirement)
                    .first_detach(analysis.graph.node_func[edge.from])
            });
            SiteRow {
                site: edge.site,
                class: site.class,
                function: analysis.name(edge.from).to_string(),
                target: analysis.name(site.target).to_string(),
                callee: edge.callee_text.clone(),
                via: analysis.via(edge, site.target),
                detached_at,
            }
        })
        .collect()
}

fn budget_row(analysis: &Analysis) -> Option<BudgetRow> {
    let &entry = analysis.entry.first()?;
    let budget = analysis.budget();
    let tiers = budget
        .tiers
        .iter()
        .map(|(name, costs)| {
            let cost = costs.iter().map(Cost::to_string).collect::<Vec<_>>();
            (
                name.clone(),
                if cost.is_empty() {
                    "not found".into()
                } else {
                    cost.join(" | ")
                },
            )
        })
        .collect();
    Some(BudgetRow {
        entry: analysis.name(entry).to_string(),
        found: budget.entries[0].to_string(),
        expected: analysis.budget_limit().to_string(),
        guard: crate::checks::guard::expected_formula(analysis),
        tiers,
    })
}

pub fn check_report(
    analysis: &Analysis,
    root: String,
    findings: Vec<Finding>,
    strict: bool,
) -> CheckReport {
    let project = analysis.project;
    let forbidden = analysis
        .forbidden
        .iter()
        .map(|(pattern, funcs)| ForbiddenRow {
            pattern: pattern.as_str().to_string(),
            functions: funcs
                .iter()
                .map(|&f| analysis.name(f).to_string())
                .collect(),
            reaches_sink: funcs.iter().any(|&f| {
                analysis
                    .graph
                    .shortest_path(&analysis.as_called(f), &analysis.sinks)
                    .is_some()
            }),
        })
        .collect();
    let budget = budget_row(analysis);
    CheckReport {
        budget,
        root,
        policy: policy_origin(&analysis.policy.origin),
        files: project
            .files
            .iter()
            .filter(|f| f.too_large.is_none())
            .count(),
        files_too_large: project
            .files
            .iter()
            .filter(|f| f.too_large.is_some())
            .count(),
        guarded_files: project.files.iter().filter(|f| f.source.guarded).count(),
        findings,
        sinks: analysis
            .sinks
            .iter()
            .map(|&f| analysis.name(f).to_string())
            .collect(),
        counters: analysis
            .counters
            .iter()
            .map(|&f| analysis.name(f).to_string())
            .collect(),
        deploy_sites: site_rows(analysis, &analysis.deploy_sites),
        counter_sites: site_rows(analysis, &analysis.counter_sites),
        forbidden,
        strict,
    }
}
