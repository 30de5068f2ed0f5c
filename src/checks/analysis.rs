//! The analyzed project as the checks see it: facts, policy, call graph, and the policy's
//! names resolved to functions.

use std::collections::{BTreeSet, HashMap};

use crate::policy::{ExemptRule, Pattern, Policy, SiteKind, SiteRule};
use crate::project::{CallGraph, Edge, EdgeKind, Evaluator, FileIdx, FuncId, Project, Site};

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
    /// The call that deploys (for a wrapper closure: the call of the wrapper).
    pub edge: usize,
    /// The sink (or counter) it reaches.
    pub target: usize,
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
    files_in_reach: std::cell::OnceCell<BTreeSet<FileIdx>>,
    /// The DG4.1 guard of each entry, read once for DG005 and the summary.
    guards: std::cell::OnceCell<Vec<Option<super::guard::Guard>>>,
    /// The static budget, computed once for DG004, DG005 and the summary.
    budget: std::cell::OnceCell<super::budget::BudgetFacts>,
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
            files_in_reach: std::cell::OnceCell::new(),
            guards: std::cell::OnceCell::new(),
            budget: std::cell::OnceCell::new(),
        };
        analysis.classify_sites();
        analysis
    }

    /// Files holding code reachable from what the policy names (the entry, the forbidden
    /// sources, the sinks and counters), guarded or not.
    pub fn files_in_reach(&self) -> &BTreeSet<FileIdx> {
        self.files_in_reach.get_or_init(|| {
            let mut roots: Vec<FuncId> = self.entry.clone();
            roots.extend(
                self.forbidden
                    .iter()
                    .flat_map(|(_, funcs)| funcs.iter().copied()),
            );
            roots.extend(self.sinks.iter().copied());
            roots.extend(self.counters.iter().copied());
            self.graph
                .reachable(&roots)
                .into_iter()
                .map(|node| self.project.funcs[self.graph.node_func[node]].file)
                .collect()
        })
    }

    fn classify_sites(&mut self) {
        let live = self.graph.live(self.project);
        let mut callers_of: HashMap<usize, Vec<usize>> = HashMap::new();
        for edge in &self.graph.edges {
            let guarded = self.project.files[edge.site.file].source.guarded;
            if guarded && edge.kind != EdgeKind::Import {
                callers_of.entry(edge.to).or_default().push(edge.from);
            }
        }
        let mut deploy_sites = Vec::new();
        let mut counter_sites = Vec::new();
        for (i, edge) in self.graph.edges.iter().enumerate() {
            // A sink called in a context of its own (`deploy_app(app, on_ready=f)`) is
            // still the sink.
            let target = self.graph.node_func[edge.to];
            let into_sink = self.sinks.contains(&target);
            let into_counter = self.counters.contains(&target);
            if !(into_sink || into_counter)
                || edge.kind.is_speculative()
                || !live.contains(&edge.from)
            {
                continue;
            }
            // A closure (a decorator's wrapper) deploys on behalf of whoever calls it.
            for site_edge in self.attributed(i) {
                let site = &self.graph.edges[site_edge];
                if !self.project.files[site.site.file].source.guarded
                    || site.kind == EdgeKind::Import
                {
                    continue;
                }
                let caller_func = self.graph.node_func[site.from];
                let caller = &self.project.funcs[caller_func].qualname;
                if into_sink {
                    let exempt_rule = self.policy.exempt.iter().position(|rule: &ExemptRule| {
                        rule.functions.iter().any(|p| p.matches(caller))
                    });
                    let class = if self.sinks.contains(&caller_func) {
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
                    deploy_sites.push(DeploySite {
                        edge: site_edge,
                        target,
                        class,
                        exempt_rule,
                    });
                }
                if into_counter {
                    let class = if self.sinks.contains(&caller_func) {
                        SiteClass::Counter
                    } else {
                        SiteClass::Unexpected
                    };
                    counter_sites.push(DeploySite {
                        edge: site_edge,
                        target,
                        class,
                        exempt_rule: None,
                    });
                }
            }
        }
        self.adopt_helper_sites(&mut deploy_sites, &callers_of);
        // One row per place: a direct call and a call through a wrapper at the same site
        // are the same deploy.
        for sites in [&mut deploy_sites, &mut counter_sites] {
            sites.sort_by_key(|s| (self.graph.edges[s.edge].site, s.target));
            sites.dedup_by_key(|s| (self.graph.edges[s.edge].site, s.target));
        }
        self.deploy_sites = deploy_sites;
        self.counter_sites = counter_sites;
    }

    /// The base deploy may sit in a helper the entry calls (`main` -> `Run(cfg).execute()`
    /// -> `Run._deploy_base`). When no deploy site lies in the functions a site rule names,
    /// and exactly one unexpected site is reached only through them, that site is the one
    /// the rule accounts for. A second such site, or one with a direct site beside it, stays
    /// unexpected: the policy accounts for one place, not for whatever the entry calls.
    fn adopt_helper_sites(
        &self,
        sites: &mut [DeploySite],
        callers_of: &HashMap<usize, Vec<usize>>,
    ) {
        // A deploy that upgrade, backup or restore can reach is never the base (DG003).
        let roots: Vec<usize> = self
            .forbidden
            .iter()
            .flat_map(|(_, funcs)| funcs.iter().flat_map(|&f| self.as_called(f)))
            .collect();
        let forbidden_reach = self.graph.reachable(&roots);
        for rule in &self.policy.sites {
            let kind = SiteClass::from(rule.kind);
            if sites.iter().any(|s| s.class == kind) {
                continue;
            }
            let owned: BTreeSet<Site> = sites
                .iter()
                .filter(|s| s.class == SiteClass::Unexpected)
                .filter(|s| !forbidden_reach.contains(&self.graph.edges[s.edge].from))
                .filter(|s| self.only_called_from(self.graph.edges[s.edge].from, rule, callers_of))
                .map(|s| self.graph.edges[s.edge].site)
                .collect();
            let [only] = owned.into_iter().collect::<Vec<_>>()[..] else {
                continue;
            };
            for site in sites
                .iter_mut()
                .filter(|s| self.graph.edges[s.edge].site == only)
            {
                site.class = kind;
            }
        }
    }

    /// Whether every chain of calls in the guarded scope that reaches `node` starts in a
    /// function the rule names: a helper only the entry calls deploys on the entry's behalf
    /// (`main` -> `Run(cfg).execute()` -> `Run._deploy_base`). A chain from anywhere else, or
    /// a function nothing calls, keeps the site unexpected.
    fn only_called_from(
        &self,
        node: usize,
        rule: &SiteRule,
        callers_of: &HashMap<usize, Vec<usize>>,
    ) -> bool {
        const MAX_VISITED: usize = 10_000;
        let named = |n: usize| {
            let qualname = &self.project.funcs[self.graph.node_func[n]].qualname;
            rule.functions.iter().any(|p| p.matches(qualname))
        };
        let mut seen = BTreeSet::from([node]);
        let mut stack = vec![node];
        while let Some(current) = stack.pop() {
            let Some(callers) = callers_of.get(&current) else {
                return false;
            };
            for &caller in callers {
                if named(caller) || !seen.insert(caller) {
                    continue;
                }
                if seen.len() > MAX_VISITED {
                    return false;
                }
                stack.push(caller);
            }
        }
        true
    }

    /// The edges that account for `edge`: itself, or, when it leaves a closure, the calls
    /// of that closure (transitively).
    fn attributed(&self, edge: usize) -> Vec<usize> {
        let first_closure = self.project.funcs.len();
        let mut out = Vec::new();
        let mut seen = BTreeSet::from([edge]);
        let mut stack = vec![(edge, 0)];
        while let Some((current, depth)) = stack.pop() {
            let from = self.graph.edges[current].from;
            if from < first_closure || depth >= 8 {
                out.push(current);
                continue;
            }
            let callers: Vec<usize> = (0..self.graph.edges.len())
                .filter(|&j| {
                    self.graph.edges[j].to == from && !self.graph.edges[j].kind.is_speculative()
                })
                .collect();
            if callers.is_empty() {
                out.push(current);
            }
            for caller in callers {
                if seen.insert(caller) {
                    stack.push((caller, depth + 1));
                }
            }
        }
        out
    }

    /// What calling `func` by its name runs first: the function itself and, when it is
    /// decorated, what its name is bound to (a decorator's wrapper closure, or whatever
    /// function the decorator returned). A decorated forbidden source reaches what its
    /// wrapper reaches.
    pub fn as_called(&self, func: FuncId) -> Vec<usize> {
        let mut nodes = vec![func];
        let info = &self.project.funcs[func];
        let facts = self.project.scope(info.file, info.scope);
        if facts.decorators.is_empty() {
            return nodes;
        }
        let name = facts.qualname.rsplit('.').next().unwrap_or(&facts.qualname);
        let parent = facts.parent.unwrap_or(0);
        let first_closure = self.project.funcs.len();
        for value in self.evaluator.eval(
            info.file,
            parent,
            &crate::facts::Expr::Name(name.to_string()),
        ) {
            let node = match value {
                crate::project::Val::Closure(c) => first_closure + c,
                crate::project::Val::Func(f) => f,
                _ => continue,
            };
            if !nodes.contains(&node) {
                nodes.push(node);
            }
        }
        nodes
    }

    /// What the budget analysis found (computed on first use).
    pub fn budget(&self) -> &super::budget::BudgetFacts {
        self.budget
            .get_or_init(|| super::budget::BudgetFacts::new(self))
    }

    /// The DG4.1 guard of the `index`-th entry (`None` when the policy asks for no guard).
    pub fn guard(&self, index: usize) -> Option<&super::guard::Guard> {
        let guards = self.guards.get_or_init(|| {
            self.entry
                .iter()
                .map(|&entry| super::guard::inspect(self, entry))
                .collect()
        });
        guards.get(index)?.as_ref()
    }

    /// The policy's budget for one run.
    pub fn budget_limit(&self) -> super::budget::Cost {
        super::budget::Cost::limit(self.policy.budget.base)
    }

    /// A call-graph node's name (a function's qualified name, or a closure's label).
    pub fn name(&self, node: usize) -> &str {
        &self.graph.node_name[node]
    }

    /// The last segment of a function's name (`deploy_app`).
    pub fn short_name(&self, node: usize) -> &str {
        let func = self.graph.node_func[node];
        self.project.funcs[func]
            .qualname
            .rsplit('.')
            .next()
            .unwrap_or("")
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
        if let Some((code, why)) = implicit_call(written) {
            let why = match (why, short) {
                ("attribute read", "__get__") => "the descriptor's `__get__`".to_string(),
                ("attribute read", "__getattr__") => {
                    "`__getattr__` for a missing attribute".to_string()
                }
                ("attribute read", _) => "the property getter".to_string(),
                ("attribute store", "__set__") => "the descriptor's `__set__`".to_string(),
                ("attribute store", "__setattr__") => "`__setattr__`".to_string(),
                ("attribute store", _) => "the property setter".to_string(),
                ("instantiates it", _) => "the class's constructor".to_string(),
                (dunder, _) => format!("`{dunder}`"),
            };
            return format!("{from} runs {to} implicitly: `{code}` calls {why}");
        }
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
    pub fn via(&self, edge: &Edge, target: usize) -> Option<String> {
        let short = self.short_name(target);
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
    pub fn definition_site(&self, node: usize) -> Site {
        let info = &self.project.funcs[self.graph.node_func[node]];
        Site {
            file: info.file,
            range: self.project.scope(info.file, info.scope).name_range,
        }
    }
}

/// A call Python makes implicitly, as the extractor labels it (`a + b (__add__)`,
/// `c.val (attribute read)`): the code and why it calls.
fn implicit_call(callee_text: &str) -> Option<(&str, &str)> {
    let (code, why) = callee_text.strip_suffix(')')?.rsplit_once(" (")?;
    let implicit = why.starts_with("__") && why.ends_with("__")
        || matches!(
            why,
            "attribute read" | "attribute store" | "instantiates it"
        );
    implicit.then_some((code, why))
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
