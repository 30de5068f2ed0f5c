//! The analyzed project as the checks see it: facts, policy, call graph, and the policy's
//! names resolved to functions.

use std::collections::BTreeSet;

use crate::policy::{ExemptRule, Pattern, Policy, SiteKind};
use crate::project::{CallGraph, Edge, EdgeKind, Evaluator, FuncId, Project, Site};

use super::Hop;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteClass {
    Base,
    Dep,
    Exempt,
    Counter,
    Unexpected,
}

impl From<SiteKind> for SiteClass {
    fn from(kind: SiteKind) -> Self {
        match kind {
            SiteKind::Base => SiteClass::Base,
            SiteKind::Dep => SiteClass::Dep,
        }
    }
}

/// A place that deploys (an edge into a sink) or bumps the counter (an edge into a counter).
#[derive(Clone, Debug)]
pub struct DeploySite {
    pub edge: usize,
    pub class: SiteClass,
    /// The exemption rule that applies, for exempt sites.
    pub exempt_rule: Option<usize>,
}

pub struct Analysis<'p> {
    pub project: &'p Project,
    pub policy: &'p Policy,
    pub graph: CallGraph,
    pub evaluator: Evaluator<'p>,
    pub sinks: BTreeSet<FuncId>,
    pub counters: BTreeSet<FuncId>,
    pub entry: Vec<FuncId>,
    /// Each forbidden pattern with the functions it names.
    pub forbidden: Vec<(Pattern, Vec<FuncId>)>,
    /// Every certain edge into a sink, classified; then every edge into a counter.
    pub deploy_sites: Vec<DeploySite>,
    pub counter_sites: Vec<DeploySite>,
}

impl<'p> Analysis<'p> {
    pub fn new(project: &'p Project, policy: &'p Policy) -> Analysis<'p> {
        let (graph, evaluator) = CallGraph::build(project);
        let named = |patterns: &[Pattern]| -> BTreeSet<FuncId> {
            patterns
                .iter()
                .flat_map(|p| functions_matching(project, p))
                .collect()
        };
        let sinks = named(&policy.sinks);
        let counters = named(&policy.counters);
        let entry = policy
            .entry
            .iter()
            .flat_map(|p| functions_matching(project, p))
            .collect();
        let forbidden = policy
            .forbidden
            .iter()
            .map(|p| (p.clone(), functions_matching(project, p)))
            .collect();
        let mut analysis = Analysis {
            project,
            policy,
            graph,
            evaluator,
            sinks,
            counters,
            entry,
            forbidden,
            deploy_sites: Vec::new(),
            counter_sites: Vec::new(),
        };
        analysis.classify_sites();
        analysis
    }

    fn classify_sites(&mut self) {
        for (i, edge) in self.graph.edges.iter().enumerate() {
            let outside_scope = !self.project.files[edge.site.file].source.guarded;
            if edge.kind.is_speculative() || edge.kind == EdgeKind::Import || outside_scope {
                continue;
            }
            let caller = &self.project.funcs[edge.from].qualname;
            if self.sinks.contains(&edge.to) {
                let exempt_rule =
                    self.policy.exempt.iter().position(|rule: &ExemptRule| {
                        rule.functions.iter().any(|p| p.matches(caller))
                    });
                let class = if self.sinks.contains(&edge.from) {
                    SiteClass::Unexpected
                } else if exempt_rule.is_some() {
                    SiteClass::Exempt
                } else {
                    self.policy
                        .sites
                        .iter()
                        .find(|rule| rule.functions.iter().any(|p| p.matches(caller)))
                        .map_or(SiteClass::Unexpected, |rule| rule.kind.into())
                };
                self.deploy_sites.push(DeploySite {
                    edge: i,
                    class,
                    exempt_rule,
                });
            }
            if self.counters.contains(&edge.to) {
                let class = if self.sinks.contains(&edge.from) {
                    SiteClass::Counter
                } else {
                    SiteClass::Unexpected
                };
                self.counter_sites.push(DeploySite {
                    edge: i,
                    class,
                    exempt_rule: None,
                });
            }
        }
    }

    pub fn name(&self, func: FuncId) -> &str {
        &self.project.funcs[func].qualname
    }

    /// The last segment of a function's name (`deploy_app`).
    pub fn short_name(&self, func: FuncId) -> &str {
        self.name(func).rsplit('.').next().unwrap_or("")
    }

    /// How an edge reaches its target, for witnesses: `calls deploy_app`,
    /// `calls deploy_app (as d)`, `passes deploy_app to executor.submit`.
    pub fn describe_edge(&self, edge: &Edge) -> String {
        let (from, to) = (self.name(edge.from), self.name(edge.to));
        let short = self.short_name(edge.to);
        let written = edge.callee_text.as_str();
        let alias = |text: &str| {
            let last = text.rsplit('.').next().unwrap_or(text);
            if last == short {
                String::new()
            } else {
                format!(" through `{text}`")
            }
        };
        match &edge.kind {
            EdgeKind::Call => format!("{from} calls {to}{}", alias(written)),
            EdgeKind::Instantiate => format!("{from} instantiates `{written}`, running {to}"),
            EdgeKind::PassedTo(receiver) => {
                format!("{from} passes {to} to `{receiver}`, which may call it")
            }
            EdgeKind::Import => format!("{from} runs `{written}`, executing {to}'s top-level code"),
            EdgeKind::ByName(name) => {
                format!("{from} calls `.{name}(...)` on an unknown object, which may be {to}")
            }
        }
    }

    /// The sink name of a site's callee as written, when it is not the plain name.
    pub fn via(&self, edge: &Edge) -> Option<String> {
        let short = self.short_name(edge.to);
        match &edge.kind {
            EdgeKind::PassedTo(receiver) => Some(format!("passed to {receiver}")),
            _ => {
                let last = edge
                    .callee_text
                    .rsplit('.')
                    .next()
                    .unwrap_or(&edge.callee_text);
                (last != short).then(|| edge.callee_text.clone())
            }
        }
    }

    pub fn witness(&self, path: &[usize]) -> Vec<Hop> {
        path.iter()
            .map(|&i| {
                let edge = &self.graph.edges[i];
                Hop {
                    site: edge.site,
                    label: self.describe_edge(edge),
                }
            })
            .collect()
    }

    /// Where a function is defined (its name).
    pub fn definition_site(&self, func: FuncId) -> Site {
        let info = &self.project.funcs[func];
        Site {
            file: info.file,
            range: self.project.scope(info.file, info.scope).name_range,
        }
    }
}

/// Functions (not modules or lambdas) whose qualified name matches.
pub fn functions_matching(project: &Project, pattern: &Pattern) -> Vec<FuncId> {
    project
        .funcs
        .iter()
        .enumerate()
        .filter(|(func, info)| {
            project.func_scope(*func).kind == crate::facts::ScopeKind::Function
                && pattern.matches(&info.qualname)
        })
        .map(|(func, _)| func)
        .collect()
}
