//! What a command found, as plain data: findings plus the inventory a reviewer pastes into a
//! review. Renderers (`crate::render`) turn it into text, JSON or a graph format.

use std::collections::BTreeSet;

use crate::checks::budget::Cost;
use crate::checks::must_precede::{MustPrecede, Requirement};
use crate::checks::{Analysis, Finding, Hop, SiteClass};
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
    /// The shortest chain to a deploy (call-graph edges), when one exists.
    pub witness_edges: Vec<usize>,
    pub witness: Vec<Hop>,
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
    let forbidden = forbidden_rows(analysis);
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

/// Each forbidden source, whether it can reach a deploy, and the shortest chain that does.
pub fn forbidden_rows(analysis: &Analysis) -> Vec<ForbiddenRow> {
    analysis
        .forbidden
        .iter()
        .map(|(pattern, funcs)| {
            let path = funcs.iter().find_map(|&f| {
                analysis
                    .graph
                    .shortest_path(&analysis.as_called(f), &analysis.sinks)
            });
            ForbiddenRow {
                pattern: pattern.as_str().to_string(),
                functions: funcs
                    .iter()
                    .map(|&f| analysis.name(f).to_string())
                    .collect(),
                reaches_sink: path.is_some(),
                witness: path
                    .as_deref()
                    .map_or_else(Vec::new, |p| analysis.witness(p)),
                witness_edges: path.unwrap_or_default(),
            }
        })
        .collect()
}

/// The part of the call graph a reviewer needs to see: every node that can reach a deploy
/// sink, the forbidden sources, and the witness chains from them.
pub struct DeploySubgraph {
    pub nodes: Vec<SubgraphNode>,
    /// (from, to, on a witness chain) as indices into `nodes`.
    pub edges: Vec<(usize, usize, bool)>,
    /// Nodes left out to keep the picture readable.
    pub folded: usize,
}

pub struct SubgraphNode {
    pub name: String,
    pub role: NodeRole,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    Sink,
    Counter,
    Entry,
    /// A forbidden source, and whether it can reach a deploy.
    Forbidden {
        reaches: bool,
    },
    /// Any other function that can reach a deploy.
    Reaches,
}

/// At most this many nodes are drawn; the rest are folded into a count.
const MAX_SUBGRAPH_NODES: usize = 60;

/// The deploy-relevant subgraph; with `focus`, only what lies on the way from those nodes to
/// a deploy (and the nodes themselves).
pub fn deploy_subgraph(
    analysis: &Analysis,
    forbidden_rows: &[ForbiddenRow],
    focus: Option<&[usize]>,
) -> DeploySubgraph {
    let graph = &analysis.graph;
    let is_sink = |n: usize| analysis.sinks.contains(&graph.node_func[n]);
    // Every node with a (non-speculative) path to a sink, found backwards from the sinks.
    let mut reaches: BTreeSet<usize> = (0..graph.node_func.len()).filter(|&n| is_sink(n)).collect();
    loop {
        let before = reaches.len();
        for edge in graph.edges.iter().filter(|e| !e.kind.is_speculative()) {
            if reaches.contains(&edge.to) {
                reaches.insert(edge.from);
            }
        }
        if reaches.len() == before {
            break;
        }
    }
    let mut witness: BTreeSet<usize> = forbidden_rows
        .iter()
        .flat_map(|row| row.witness_edges.iter().copied())
        .collect();
    // Code outside the guarded scope (the harness's own tests) is left out unless a witness
    // chain runs through it.
    let guarded = |n: usize| {
        let func = &analysis.project.funcs[graph.node_func[n]];
        analysis.project.files[func.file].source.guarded
    };
    let reaches_any = reaches.clone();
    let mut wanted: BTreeSet<usize> = reaches
        .into_iter()
        .filter(|&n| guarded(n) || focus.is_some())
        .collect();
    for &e in &witness {
        wanted.insert(graph.edges[e].from);
        wanted.insert(graph.edges[e].to);
    }
    let forbidden: BTreeSet<usize> = analysis
        .forbidden
        .iter()
        .flat_map(|(_, funcs)| funcs.iter().copied())
        .collect();
    wanted.extend(forbidden.iter().copied());
    if let Some(focus) = focus {
        // Forward from the focus: what it can call on the way to a deploy.
        let mut ahead: BTreeSet<usize> = focus.iter().copied().collect();
        let mut stack: Vec<usize> = focus.to_vec();
        while let Some(n) = stack.pop() {
            for edge in graph
                .edges
                .iter()
                .filter(|e| e.from == n && !e.kind.is_speculative())
            {
                if ahead.insert(edge.to) {
                    stack.push(edge.to);
                }
            }
        }
        let counter = |n: &usize| analysis.counters.contains(&graph.node_func[*n]);
        wanted.retain(|n| {
            ahead.contains(n) && (reaches_any.contains(n) || forbidden.contains(n) || counter(n))
        });
        wanted.extend(focus.iter().copied());
        witness.retain(|&e| wanted.contains(&graph.edges[e].from));
    }
    // The counter, as called by the sink.
    for edge in &graph.edges {
        if is_sink(edge.from) && analysis.counters.contains(&graph.node_func[edge.to]) {
            wanted.insert(edge.to);
        }
    }
    let role = |n: usize| {
        if is_sink(n) {
            NodeRole::Sink
        } else if analysis.counters.contains(&graph.node_func[n]) {
            NodeRole::Counter
        } else if forbidden.contains(&n) {
            NodeRole::Forbidden {
                reaches: forbidden_rows.iter().any(|row| {
                    row.reaches_sink && row.functions.iter().any(|f| f == analysis.name(n))
                }),
            }
        } else if analysis.entry.contains(&n) {
            NodeRole::Entry
        } else {
            NodeRole::Reaches
        }
    };
    // Sinks, entries, forbidden sources and witness nodes first; then the rest by name.
    let mut order: Vec<usize> = wanted.into_iter().collect();
    let keep = |n: &usize| {
        !matches!(role(*n), NodeRole::Reaches)
            || witness
                .iter()
                .any(|&e| graph.edges[e].from == *n || graph.edges[e].to == *n)
    };
    order.sort_by_key(|n| (!keep(n), analysis.name(*n).to_string()));
    let folded = order.len().saturating_sub(MAX_SUBGRAPH_NODES);
    order.truncate(MAX_SUBGRAPH_NODES);
    order.sort_by_key(|n| analysis.name(*n).to_string());
    let index: std::collections::HashMap<usize, usize> =
        order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let nodes = order
        .iter()
        .map(|&n| SubgraphNode {
            name: analysis.name(n).to_string(),
            role: role(n),
        })
        .collect();
    let mut edges: BTreeSet<(usize, usize, bool)> = BTreeSet::new();
    for (i, edge) in graph.edges.iter().enumerate() {
        if edge.kind.is_speculative() && !witness.contains(&i) {
            continue;
        }
        if let (Some(&from), Some(&to)) = (index.get(&edge.from), index.get(&edge.to))
            && from != to
        {
            edges.insert((from, to, witness.contains(&i)));
        }
    }
    // One arrow per pair: a witness edge wins over a plain one.
    let mut drawn: Vec<(usize, usize, bool)> = Vec::new();
    for (from, to, on_witness) in edges {
        match drawn.last_mut() {
            Some(last) if last.0 == from && last.1 == to => last.2 |= on_witness,
            _ => drawn.push((from, to, on_witness)),
        }
    }
    DeploySubgraph {
        nodes,
        edges: drawn,
        folded,
    }
}

/// The reviewer's report (`verify`): the check's report and what B2, B3 and the runs add.
pub struct VerifyReport {
    pub check: CheckReport,
    pub guard: GuardRow,
    pub ratchet: RatchetSection,
    pub runs: Vec<crate::runlog::RunCheck>,
    pub subgraph: DeploySubgraph,
    /// deployguard's version.
    pub version: &'static str,
    /// The commit checked out at ROOT, and whether the working tree differs from it.
    pub head: Option<String>,
    pub dirty: bool,
    /// The command line that reproduces this report.
    pub command: String,
}

/// B2: the guard as the DG005 analysis read it.
pub struct GuardRow {
    /// Whether the policy asks for a guard at all.
    pub named: bool,
    pub expected: Option<String>,
    pub comparison: Option<Site>,
    pub exits: Vec<Site>,
}

pub enum RatchetSection {
    NotChecked(String),
    Checked(crate::ratchet::run::Compared),
}

/// The rule B2 is about; every other rule of `check` belongs to B1.
pub const GUARD_RULE: &str = "DG005";

impl VerifyReport {
    fn failing(&self, in_b2: bool) -> usize {
        self.check
            .findings
            .iter()
            .filter(|f| f.severity == crate::checks::Severity::Error)
            .filter(|f| (f.code == GUARD_RULE) == in_b2)
            .count()
    }

    pub fn b1_passes(&self) -> bool {
        self.failing(false) == 0
    }

    /// `None` when the policy names no guard.
    pub fn b2_passes(&self) -> Option<bool> {
        self.guard
            .named
            .then(|| self.failing(true) == 0 && self.guard.comparison.is_some())
    }

    /// `None` when no base was given.
    pub fn b3_passes(&self) -> Option<bool> {
        match &self.ratchet {
            RatchetSection::NotChecked(_) => None,
            RatchetSection::Checked(compared) => Some(compared.failing() == 0),
        }
    }

    pub fn runs_pass(&self) -> bool {
        self.runs.iter().all(crate::runlog::RunCheck::passed)
    }

    /// What the exit code says: `check`'s verdict, the ratchet and the runs.
    pub fn holds(&self) -> bool {
        self.check.holds()
            && self.b2_passes() != Some(false)
            && self.b3_passes() != Some(false)
            && self.runs_pass()
    }
}
