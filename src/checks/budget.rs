//! The static deploy budget: how many counted deploys one run can make, as a formula
//! `base + per_dep × N_cold_deps`, derived from the flow skeletons and the call graph.
//!
//! A sequence adds; branches take the maximum; a loop in a dep-site function whose every
//! iteration deploys exactly as often as it records a cold dep (appends to the list the
//! function returns) costs `N_cold_deps`; any other loop around a deploy is unbounded;
//! `return`, `raise` and `sys.exit` end a path; a call costs its callee's budget. A call to
//! the sink that returns normally is one deploy (one that raises is not counted: the counter
//! runs when the deploy succeeded). An exempt deploy that DG006 proves detached costs 0.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use super::Analysis;
use super::must_precede::{MustPrecede, Requirement};
use crate::facts::{Block, Call, Expr, ScopeIdx, Step};
use crate::project::{EdgeKind, FileIdx, Site, Target};

/// Deploy sites kept per cost, for witnesses.
const MAX_WITNESS_SITES: usize = 12;

/// `base + per_dep × N_cold_deps`, or unbounded, with the deploy sites that make it up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cost {
    pub base: u32,
    pub per_dep: u32,
    pub unbounded: Option<(Site, String)>,
    /// Deploy sites on the costliest path, with `×N` for those in the cold-deps loop.
    pub sites: Vec<(Site, bool)>,
}

impl Cost {
    /// The policy's budget: `base + N_cold_deps`.
    pub fn limit(base: u32) -> Cost {
        Cost {
            base,
            per_dep: 1,
            unbounded: None,
            sites: Vec::new(),
        }
    }

    pub fn zero() -> Cost {
        Cost {
            base: 0,
            per_dep: 0,
            unbounded: None,
            sites: Vec::new(),
        }
    }

    fn deploy(site: Site) -> Cost {
        Cost {
            base: 1,
            sites: vec![(site, false)],
            ..Cost::zero()
        }
    }

    fn unbounded(site: Site, reason: String) -> Cost {
        Cost {
            unbounded: Some((site, reason)),
            ..Cost::zero()
        }
    }

    pub fn is_zero(&self) -> bool {
        self.base == 0 && self.per_dep == 0 && self.unbounded.is_none()
    }

    fn plus(&self, other: &Cost) -> Cost {
        let mut sites = self.sites.clone();
        sites.extend(other.sites.iter().cloned());
        sites.truncate(MAX_WITNESS_SITES);
        Cost {
            base: self.base.saturating_add(other.base),
            per_dep: self.per_dep.saturating_add(other.per_dep),
            unbounded: self.unbounded.clone().or_else(|| other.unbounded.clone()),
            sites,
        }
    }

    /// An upper bound of both (componentwise).
    fn max(&self, other: &Cost) -> Cost {
        if self.unbounded.is_some() {
            return self.clone();
        }
        if other.unbounded.is_some() {
            return other.clone();
        }
        let bigger = if (other.per_dep, other.base) > (self.per_dep, self.base) {
            other
        } else {
            self
        };
        Cost {
            base: self.base.max(other.base),
            per_dep: self.per_dep.max(other.per_dep),
            unbounded: None,
            sites: bigger.sites.clone(),
        }
    }

    /// At most `base` deploys per cold dep: `base × N_cold_deps`.
    fn per_cold_dep(&self, site: Site) -> Cost {
        if self.unbounded.is_some() {
            return self.clone();
        }
        if self.per_dep > 0 {
            return Cost::unbounded(site, "a loop over the cold deps inside another one".into());
        }
        Cost {
            base: 0,
            per_dep: self.base,
            unbounded: None,
            sites: self.sites.iter().map(|(s, _)| (*s, true)).collect(),
        }
    }

    /// Whether this cost fits within `limit`.
    pub fn within(&self, limit: &Cost) -> bool {
        self.unbounded.is_none() && self.base <= limit.base && self.per_dep <= limit.per_dep
    }
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unbounded.is_some() {
            return write!(f, "unbounded");
        }
        let deps = match self.per_dep {
            0 => None,
            1 => Some("N_cold_deps".to_string()),
            n => Some(format!("{n} × N_cold_deps")),
        };
        match (self.base, deps) {
            (base, None) => write!(f, "{base}"),
            (0, Some(deps)) => write!(f, "{deps}"),
            (base, Some(deps)) => write!(f, "{base} + {deps}"),
        }
    }
}

/// The ways control leaves a block, with the worst cost of each.
#[derive(Clone, Debug, Default)]
struct Paths {
    /// Falls through to the next statement.
    fall: Option<Cost>,
    /// `break`/`continue`: leaves the current loop iteration.
    jump: Option<Cost>,
    /// `return`.
    ret: Option<Cost>,
    /// An exception (including `sys.exit`).
    raise: Option<Cost>,
}

fn add(a: &Option<Cost>, b: &Option<Cost>) -> Option<Cost> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.plus(b)),
        _ => None,
    }
}

fn max(a: &Option<Cost>, b: &Option<Cost>) -> Option<Cost> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (Some(x), None) | (None, Some(x)) => Some(x.clone()),
        (None, None) => None,
    }
}

impl Paths {
    fn fall(cost: Cost) -> Paths {
        Paths {
            fall: Some(cost),
            ..Paths::default()
        }
    }

    fn then(&self, next: &Paths) -> Paths {
        Paths {
            fall: add(&self.fall, &next.fall),
            jump: max(&self.jump, &add(&self.fall, &next.jump)),
            ret: max(&self.ret, &add(&self.fall, &next.ret)),
            raise: max(&self.raise, &add(&self.fall, &next.raise)),
        }
    }

    fn or(&self, other: &Paths) -> Paths {
        Paths {
            fall: max(&self.fall, &other.fall),
            jump: max(&self.jump, &other.jump),
            ret: max(&self.ret, &other.ret),
            raise: max(&self.raise, &other.raise),
        }
    }

    /// The worst cost of leaving by any way.
    fn worst(&self) -> Cost {
        [&self.fall, &self.jump, &self.ret, &self.raise]
            .into_iter()
            .fold(None, |acc: Option<Cost>, c| max(&acc, c))
            .unwrap_or_else(Cost::zero)
    }

    /// What a caller sees: a normal return (fall or `return`), or an exception.
    fn as_call(&self) -> Paths {
        Paths {
            fall: max(&self.fall, &self.ret),
            jump: None,
            ret: None,
            raise: self.raise.clone(),
        }
    }
}

/// How the deps code records a cold dep: appends to the list it returns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Count deploys.
    Budget,
    /// Count deploys on paths through the warm branch only.
    Warm,
}

/// What the budget analysis found, computed once per run and read by DG004, DG005 and the
/// summary.
pub struct BudgetFacts {
    /// The worst cost of one call of each entry, in `Analysis::entry` order.
    pub entries: Vec<Cost>,
    /// Each policy tier's name and the cost of each function it names.
    pub tiers: Vec<(String, Vec<Cost>)>,
    /// See `Budget::cold_sources`.
    pub cold_sources: HashMap<usize, Option<Vec<String>>>,
    /// See `Budget::cold_records`.
    pub cold_records: BTreeSet<(super::record::Owner, String)>,
}

impl BudgetFacts {
    pub fn new(analysis: &Analysis) -> BudgetFacts {
        let budget = Budget::new(analysis);
        let entries = analysis.entry.iter().map(|&e| budget.of(e)).collect();
        let tiers = analysis
            .policy
            .budget
            .tiers
            .iter()
            .map(|(name, pattern)| {
                let funcs = super::analysis::functions_matching(analysis.project, pattern);
                (name.clone(), funcs.iter().map(|&f| budget.of(f)).collect())
            })
            .collect();
        BudgetFacts {
            entries,
            tiers,
            cold_sources: budget.cold_sources(),
            cold_records: budget.cold_records(),
        }
    }
}

pub struct Budget<'a, 'p> {
    analysis: &'a Analysis<'p>,
    /// Outgoing edges by (node, call site).
    edges_at: HashMap<(usize, Site), Vec<usize>>,
    /// Exempt deploy sites proven detached by DG006's analysis.
    exempt_detached: HashSet<Site>,
    dep_functions: BTreeSet<usize>,
    warm_checks: BTreeSet<usize>,
    memo: RefCell<HashMap<(usize, bool), Paths>>,
    active: RefCell<HashSet<(usize, bool)>>,
    recursive: RefCell<HashSet<usize>>,
    /// The record of cold deps each proven cold-deps loop keeps, by deps function.
    counters: RefCell<HashMap<usize, Vec<String>>>,
    /// The attribute places proven to be the record.
    records: RefCell<BTreeSet<(super::record::Owner, String)>>,
}

impl<'a, 'p> Budget<'a, 'p> {
    pub fn new(analysis: &'a Analysis<'p>) -> Budget<'a, 'p> {
        let mut edges_at: HashMap<(usize, Site), Vec<usize>> = HashMap::new();
        for (i, edge) in analysis.graph.edges.iter().enumerate() {
            edges_at.entry((edge.from, edge.site)).or_default().push(i);
        }
        let mut exempt_detached = HashSet::new();
        for site in analysis
            .deploy_sites
            .iter()
            .filter(|s| s.exempt_rule.is_some())
        {
            let rule = &analysis.policy.exempt[site.exempt_rule.unwrap_or_default()];
            let edge = &analysis.graph.edges[site.edge];
            let func = analysis.graph.node_func[edge.from];
            let checker = MustPrecede::new(
                analysis.project,
                &analysis.evaluator,
                Requirement {
                    after: &rule.after,
                    key: rule.key.as_deref(),
                },
            );
            let scope = analysis.project.func_scope(func);
            if let Some(index) = scope.calls.iter().position(|c| c.range == edge.site.range)
                && checker.states_at_calls(func).get(&index) == Some(&true)
            {
                exempt_detached.insert(edge.site);
            }
        }
        let dep_functions = analysis
            .policy
            .sites
            .iter()
            .filter(|r| r.kind == crate::policy::SiteKind::Dep)
            .flat_map(|r| r.functions.iter())
            .flat_map(|p| super::analysis::functions_matching(analysis.project, p))
            .collect();
        let warm_checks = analysis
            .policy
            .budget
            .warm_check
            .iter()
            .flat_map(|p| super::analysis::functions_matching(analysis.project, p))
            .collect();
        Budget {
            analysis,
            edges_at,
            exempt_detached,
            dep_functions,
            warm_checks,
            memo: RefCell::new(HashMap::new()),
            active: RefCell::new(HashSet::new()),
            recursive: RefCell::new(HashSet::new()),
            counters: RefCell::new(HashMap::new()),
            records: RefCell::new(BTreeSet::new()),
        }
    }

    /// The deps functions that deploy and return their record of the cold deps they deployed
    /// (a list or a count), with the name of that record. Whether each recorded dep costs
    /// exactly one deploy is the budget's question (DG004); when the loop does not prove it,
    /// the first returned name stands for what the deps code says it deployed.
    /// `None` for a function that returns the record itself (`return [deploy(d) for d in
    /// cold]`, one element per deploy).
    pub fn cold_sources(&self) -> HashMap<usize, Option<Vec<String>>> {
        self.dep_functions
            .iter()
            .filter(|&&f| !self.of(f).is_zero())
            .filter_map(|&f| {
                let returns = &self.analysis.project.func_scope(f).returns;
                if !returns.is_empty()
                    && returns.iter().all(|r| matches!(r, Expr::Comprehension(..)))
                {
                    return Some((f, None));
                }
                let proven = self.counters.borrow().get(&f).cloned();
                let counters =
                    proven.or_else(|| Some(vec![self.returned_list(f)?.into_iter().next()?]))?;
                Some((f, Some(counters)))
            })
            .collect()
    }

    /// The worst number of counted deploys one call of `node` can make.
    pub fn of(&self, node: usize) -> Cost {
        self.paths(node).worst()
    }

    fn paths(&self, node: usize) -> Paths {
        let key = (node, false);
        if let Some(paths) = self.memo.borrow().get(&key) {
            return paths.clone();
        }
        if !self.active.borrow_mut().insert(key) {
            // Recursion: counted once here; a recursive function that deploys is unbounded.
            self.recursive.borrow_mut().insert(node);
            return Paths::fall(Cost::zero());
        }
        let func = self.analysis.graph.node_func[node];
        let info = &self.analysis.project.funcs[func];
        let scope = self.analysis.project.scope(info.file, info.scope);
        let mut paths = self.block(node, info.file, info.scope, &scope.flow, Mode::Budget);
        if scope.flow_truncated {
            let site = self.analysis.definition_site(node);
            paths = paths.then(&Paths::fall(Cost::unbounded(
                site,
                "code nested too deeply to follow".into(),
            )));
        }
        self.active.borrow_mut().remove(&key);
        if self.recursive.borrow().contains(&node) && !paths.worst().is_zero() {
            let site = self.analysis.definition_site(node);
            let reason = format!(
                "{} deploys and calls itself recursively",
                self.analysis.name(node)
            );
            paths = Paths::fall(Cost::unbounded(site, reason));
        }
        self.memo.borrow_mut().insert(key, paths.clone());
        paths
    }

    fn block(
        &self,
        node: usize,
        file: FileIdx,
        scope: ScopeIdx,
        block: &Block,
        mode: Mode,
    ) -> Paths {
        let mut paths = Paths::fall(Cost::zero());
        for step in block {
            if paths.fall.is_none() {
                break;
            }
            let next = self.step(node, file, scope, step, mode);
            paths = paths.then(&next);
        }
        paths
    }

    fn step(&self, node: usize, file: FileIdx, scope: ScopeIdx, step: &Step, mode: Mode) -> Paths {
        let zero = || Paths::fall(Cost::zero());
        match step {
            Step::Call(index) => self.call(node, file, scope, *index),
            Step::If {
                branches,
                exhaustive,
                condition_calls,
                condition,
                ..
            } => {
                let warm = mode == Mode::Warm
                    && (self.is_warm_check(file, scope, condition_calls)
                        || condition
                            .as_ref()
                            .is_some_and(|c| self.holds_warm_check(file, scope, c)));
                if warm {
                    // Only the branch where the dep is live-warm.
                    let negated = matches!(condition, Some(Expr::Not(_)));
                    return match (negated, branches.first(), branches.get(1)) {
                        (false, Some(then), _) => self.block(node, file, scope, then, mode),
                        (true, _, Some(orelse)) => self.block(node, file, scope, orelse, mode),
                        _ => zero(),
                    };
                }
                let mut paths = if *exhaustive {
                    Paths::default()
                } else {
                    zero()
                };
                for branch in branches {
                    paths = paths.or(&self.block(node, file, scope, branch, mode));
                }
                paths
            }
            Step::Loop {
                over,
                body,
                orelse,
                infinite,
                range,
            } => {
                let site = Site {
                    file,
                    range: *range,
                };
                let inner = self.block(node, file, scope, body, mode);
                let iteration = max(&inner.fall, &inner.jump).unwrap_or_else(Cost::zero);
                // Everything the iterations can deploy, however the loop is left.
                let mut per_dep = false;
                let all = if iteration.is_zero() {
                    Cost::zero()
                } else if iteration.unbounded.is_some() {
                    iteration
                } else {
                    let warm_excluded = over
                        .as_ref()
                        .is_some_and(|o| self.excludes_warm(file, scope, o));
                    match self.cold_deps_loop(node, scope, body, &iteration, site, warm_excluded) {
                        Ok(cost) => {
                            per_dep = true;
                            cost
                        }
                        Err(reason) => Cost::unbounded(site, reason),
                    }
                };
                // Leaving from inside an iteration adds what that iteration did so far, except
                // in the cold-deps loop, whose N_cold_deps already covers one deploy for each
                // dep it reached (the one being deployed when it stopped included).
                let partial = |c: &Option<Cost>| match (per_dep, c) {
                    (true, Some(c)) if c.unbounded.is_none() && c.per_dep == 0 && c.base <= 1 => {
                        Some(all.clone())
                    }
                    _ => add(&Some(all.clone()), c),
                };
                let leaving = Paths {
                    ret: inner.ret.as_ref().and(partial(&inner.ret)),
                    raise: inner.raise.as_ref().and(partial(&inner.raise)),
                    ..Paths::default()
                };
                // `while True:` without `break` never falls through.
                let fall = if *infinite && inner.jump.is_none() {
                    None
                } else {
                    Some(all)
                };
                Paths {
                    fall,
                    ..Paths::default()
                }
                .then(&self.block(node, file, scope, orelse, mode))
                .or(&leaving)
            }
            Step::Try {
                body,
                handlers,
                orelse,
                finally,
            } => {
                let body = self.block(node, file, scope, body, mode);
                let normal = Paths {
                    fall: body.fall.clone(),
                    ..Paths::default()
                }
                .then(&self.block(node, file, scope, orelse, mode));
                // Exceptions not caught here still propagate (the handlers may not match).
                let mut paths = Paths {
                    fall: None,
                    ..body.clone()
                }
                .or(&normal);
                if let Some(entry) = &body.raise {
                    for handler in handlers {
                        paths = paths.or(&Paths::fall(entry.clone())
                            .then(&self.block(node, file, scope, handler, mode)));
                    }
                }
                let finally = self.block(node, file, scope, finally, mode);
                let through = |c: &Option<Cost>| add(c, &finally.fall);
                Paths {
                    fall: through(&paths.fall),
                    jump: through(&paths.jump),
                    ret: max(&through(&paths.ret), &add(&paths.fall, &finally.ret)),
                    raise: max(&through(&paths.raise), &add(&paths.fall, &finally.raise)),
                }
            }
            Step::Return(..) => Paths {
                ret: Some(Cost::zero()),
                ..Paths::default()
            },
            Step::Raise(_) => Paths {
                raise: Some(Cost::zero()),
                ..Paths::default()
            },
            Step::Break | Step::Continue => Paths {
                jump: Some(Cost::zero()),
                ..Paths::default()
            },
            Step::Opaque(range) => Paths::fall(Cost::unbounded(
                Site {
                    file,
                    range: *range,
                },
                "code nested too deeply to follow".into(),
            )),
            Step::Store { .. } | Step::Delete { .. } | Step::Bind { .. } => zero(),
        }
    }

    /// Code Python runs implicitly (an operator, a subscript, an attribute read) that runs
    /// no project code: plain data, taken neither to deploy nor to raise.
    fn inert(&self, node: usize, site: Site, call: &Call) -> bool {
        matches!(call.callee, Expr::Implicit(..)) && !self.edges_at.contains_key(&(node, site))
    }

    fn call(&self, node: usize, file: FileIdx, scope: ScopeIdx, index: usize) -> Paths {
        let call = &self.analysis.project.scope(file, scope).calls[index];
        let site = Site {
            file,
            range: call.range,
        };
        if self.exits(file, scope, call) {
            return Paths {
                raise: Some(Cost::zero()),
                ..Paths::default()
            };
        }
        // Recording a cold dep (`deployed.append(dep)`) deploys nothing and does not raise.
        let records = self
            .dep_functions
            .contains(&self.analysis.graph.node_func[node])
            && self
                .returned_list(node)
                .is_some_and(|names| names.iter().any(|n| growth_of_call(call, n) != 0));
        if records {
            return Paths::fall(Cost::zero());
        }
        if self.inert(node, site, call) {
            return Paths::fall(Cost::zero());
        }
        if self.exempt_detached.contains(&site) {
            // The exempt deploy, with the counter detached: outside the budget, including
            // when it goes through a wrapper.
            return Paths {
                fall: Some(Cost::zero()),
                raise: Some(Cost::zero()),
                ..Paths::default()
            };
        }
        // The call itself may raise before it does anything.
        let mut paths = Paths {
            raise: Some(Cost::zero()),
            ..Paths::default()
        };
        let mut any_target = false;
        for &edge_index in self
            .edges_at
            .get(&(node, site))
            .map_or(&[][..], Vec::as_slice)
        {
            let edge = &self.analysis.graph.edges[edge_index];
            any_target = true;
            let sink = self.analysis.graph.node_func[edge.to];
            let target = if self.analysis.sinks.contains(&sink) {
                if self.exempt_detached.contains(&site) {
                    Paths::fall(Cost::zero())
                } else if self.counts_then_may_raise(sink) {
                    // `_record_deploy(...)` then `wait_healthy(...)`: a deploy that raises
                    // may already have been counted, so a retry deploys again.
                    Paths {
                        fall: Some(Cost::deploy(site)),
                        raise: Some(Cost::deploy(site)),
                        ..Paths::default()
                    }
                } else {
                    Paths::fall(Cost::deploy(site))
                }
            } else {
                let callee = self.paths(edge.to).as_call();
                match &edge.kind {
                    // Handed to library code: it may run any number of times, or never.
                    EdgeKind::PassedTo(receiver) if !callee.worst().is_zero() => {
                        Paths::fall(Cost::unbounded(
                            site,
                            format!(
                                "a deploying function is handed to `{receiver}`, which may call it any number of times"
                            ),
                        ))
                    }
                    EdgeKind::PassedTo(_) => Paths::fall(Cost::zero()),
                    _ => callee,
                }
            };
            paths = paths.or(&target);
        }
        if !any_target {
            paths = paths.or(&Paths::fall(Cost::zero()));
        }
        let cost = paths.fall.clone().unwrap_or_else(Cost::zero);
        if let Some(comprehension) = &call.comprehension {
            if cost.is_zero() {
                return paths.or(&Paths::fall(Cost::zero()));
            }
            // One element per iteration: a comprehension that deploys once per element and
            // is the list the deps code returns costs N_cold_deps.
            let returns_it = self.returned_list(node).is_some_and(|names| {
                comprehension.returned
                    || comprehension
                        .assigned_to
                        .as_ref()
                        .is_some_and(|n| names.contains(n))
            });
            let per = if returns_it
                && self
                    .dep_functions
                    .contains(&self.analysis.graph.node_func[node])
                && cost.base <= 1
                && cost.per_dep == 0
            {
                cost.per_cold_dep(site)
            } else {
                Cost::unbounded(
                    site,
                    "a deploy inside a comprehension that is not the list of cold deps".into(),
                )
            };
            return Paths {
                fall: Some(per),
                raise: paths.raise.clone(),
                ..Paths::default()
            };
        }
        if !call.certain {
            paths = paths.or(&Paths::fall(Cost::zero()));
        }
        paths
    }

    /// `sys.exit(...)`, `os._exit(...)`, `exit()`, `quit()`: the path ends.
    fn exits(&self, file: FileIdx, scope: ScopeIdx, call: &Call) -> bool {
        let targets = self
            .analysis
            .evaluator
            .call_targets(file, scope, &call.callee);
        !targets.is_empty()
            && targets.iter().all(|t| {
                matches!(t, Target::External(name) if matches!(name.as_str(), "sys.exit" | "os._exit" | "<builtin>.exit" | "<builtin>.quit"))
            })
    }

    /// `warm` (or `not warm`) where every binding of `warm` here is a call of the live-warm
    /// check: `warm = is_live_warm(dep); if warm: continue`.
    fn holds_warm_check(&self, file: FileIdx, scope: ScopeIdx, condition: &Expr) -> bool {
        let name = match condition {
            Expr::Not(inner) => inner.as_ref(),
            other => other,
        };
        let Expr::Name(name) = name else {
            return false;
        };
        let project = self.analysis.project;
        let bindings = project.bindings_of(file, scope, name);
        !bindings.is_empty()
            && bindings.iter().all(|&i| {
                let value = &project.scope(file, scope).bindings[i].value;
                self.is_warm_call(file, scope, value)
            })
    }

    fn is_warm_call(&self, file: FileIdx, scope: ScopeIdx, expr: &Expr) -> bool {
        let Expr::Call(callee, _) = expr else {
            return false;
        };
        let targets = self.analysis.evaluator.call_targets(file, scope, callee);
        !targets.is_empty()
            && targets
                .iter()
                .all(|t| matches!(t, Target::Func { func, .. } if self.warm_checks.contains(func)))
    }

    /// A loop over `[d for d in deps if not is_live_warm(d)]` (directly or through a name
    /// bound only to such lists) never sees a live-warm dep.
    fn excludes_warm(&self, file: FileIdx, scope: ScopeIdx, over: &Expr) -> bool {
        match over {
            Expr::Comprehension(_, _, Some(filter)) => {
                matches!(filter.as_ref(), Expr::Not(call) if self.is_warm_call(file, scope, call))
            }
            Expr::Name(name) => {
                let project = self.analysis.project;
                let bindings = project.bindings_of(file, scope, name);
                !bindings.is_empty()
                    && bindings.iter().all(|&i| {
                        let value = &project.scope(file, scope).bindings[i].value;
                        !matches!(value, Expr::Name(_)) && self.excludes_warm(file, scope, value)
                    })
            }
            _ => false,
        }
    }

    fn is_warm_check(&self, file: FileIdx, scope: ScopeIdx, calls: &[usize]) -> bool {
        let project_calls = &self.analysis.project.scope(file, scope).calls;
        calls.iter().any(|&i| {
            self.analysis
                .evaluator
                .call_targets(file, scope, &project_calls[i].callee)
                .iter()
                .any(|t| matches!(t, Target::Func { func, .. } if self.warm_checks.contains(func)))
        })
    }

    /// The names a deps function returns in every `return`, alone or in a tuple
    /// (`return deployed`, `return deployed, apps, False`): the candidates for its record of
    /// the cold deps it deployed.
    fn returned_list(&self, node: usize) -> Option<Vec<String>> {
        let func = self.analysis.graph.node_func[node];
        let returns = &self.analysis.project.func_scope(func).returns;
        let info = &self.analysis.project.funcs[func];
        let names_in = |r: &Expr| -> Vec<String> {
            let items = match r {
                Expr::Name(n) => return vec![n.clone()],
                Expr::Container(items) => items,
                // `return DepsResult(deployed, reused)`: a record built from them.
                Expr::Call(callee, args)
                    if self.constructs_record(info.file, info.scope, callee) =>
                {
                    args
                }
                _ => return Vec::new(),
            };
            items
                .iter()
                .filter_map(|i| match i {
                    Expr::Name(n) => Some(n.clone()),
                    _ => None,
                })
                .collect()
        };
        let (first, rest) = returns.split_first()?;
        let mut names = names_in(first);
        for r in rest {
            let here = names_in(r);
            names.retain(|n| here.contains(n));
        }
        (!names.is_empty()).then_some(names)
    }

    /// Whether `callee` is a project class whose instances hold what they are given (a
    /// `NamedTuple` or a `@dataclass`), so a record returned in one is returned.
    fn constructs_record(&self, file: FileIdx, scope: ScopeIdx, callee: &Expr) -> bool {
        super::meaning::record_class(self.analysis, file, scope, callee).is_some()
    }

    /// A `for` loop in a dep-site function that deploys exactly once per cold dep it
    /// records: every iteration appends to the returned list as often as it deploys, the
    /// list starts empty and grows nowhere else, and the live-warm branch deploys nothing.
    /// `site` is the loop (and names its file).
    fn cold_deps_loop(
        &self,
        node: usize,
        scope: ScopeIdx,
        body: &Block,
        iteration: &Cost,
        site: Site,
        warm_excluded: bool,
    ) -> Result<Cost, String> {
        let file = site.file;
        let func = self.analysis.graph.node_func[node];
        if !self.dep_functions.contains(&func) {
            return Err("a deploy inside a loop that is not the loop over the cold deps (it runs any number of times)".into());
        }
        if iteration.per_dep > 0 {
            return Err("a loop over the cold deps inside another loop".into());
        }
        // The record of cold deps is whichever returned name, or attribute of an object the
        // loop grows (`report.deployed`), grows exactly as often as the loop deploys; the
        // first candidate's reason is given when none does.
        let places = super::record::grown_in(self.analysis, file, scope, body);
        let mut candidates = self.returned_list(node).unwrap_or_default();
        candidates.extend(places.iter().map(|p| p.written.clone()));
        if candidates.is_empty() {
            return Err(format!(
                "{} deploys in a loop but does not return the list of cold deps it deployed",
                self.analysis.name(node)
            ));
        }
        let mut first_error = None;
        let mut found = false;
        for counter in &candidates {
            let place = places.iter().find(|p| &p.written == counter);
            let counted = self
                .counts_deploys(node, file, scope, body, counter)
                .and_then(|()| match place {
                    Some(place) => self.fresh_place(file, scope, body, place),
                    None => Ok(()),
                });
            if let (Ok(()), Some(place)) = (&counted, place) {
                self.records
                    .borrow_mut()
                    .insert((place.owner, place.attr.clone()));
                found = true;
                continue;
            }
            match counted {
                Ok(()) => {
                    let mut counters = self.counters.borrow_mut();
                    let names = counters.entry(func).or_default();
                    if !names.contains(counter) {
                        names.push(counter.clone());
                    }
                    found = true;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if !found {
            // The budget fails (DG004); the guard still reads what the deps code says it
            // deployed, as for a returned name.
            for place in &places {
                if self.fresh_place(file, scope, body, place).is_ok() {
                    self.records
                        .borrow_mut()
                        .insert((place.owner, place.attr.clone()));
                }
            }
            return Err(first_error.unwrap_or_default());
        }
        if !self.warm_checks.is_empty() && !warm_excluded {
            let warm = self.block(node, file, scope, body, Mode::Warm);
            let warm_cost = max(&warm.fall, &warm.jump).unwrap_or_else(Cost::zero);
            if !warm_cost.is_zero() {
                return Err(format!(
                    "a live-warm dep can still be deployed in this loop ({warm_cost} on the warm path); warm deps must cost 0"
                ));
            }
            if !self.calls_warm_check(file, scope, body) {
                return Err(
                    "the loop never asks whether a dep is live-warm, so warm deps are deployed too"
                        .into(),
                );
            }
        }
        Ok(iteration.per_cold_dep(site))
    }

    /// Whether the sink can raise after it bumped the counter: any call or `raise` that
    /// follows the counter's call in its body.
    fn counts_then_may_raise(&self, sink: usize) -> bool {
        let func = self.analysis.graph.node_func[sink];
        let info = &self.analysis.project.funcs[func];
        let facts = self.analysis.project.func_scope(func);
        let mut counted = false;
        let mut after = false;
        super::meaning::walk_steps(&facts.flow, &mut |step| match step {
            Step::Call(i) => {
                let counter = self
                    .analysis
                    .evaluator
                    .call_targets(info.file, info.scope, &facts.calls[*i].callee)
                    .iter()
                    .any(|t| matches!(t, Target::Func { func, .. } if self.analysis.counters.contains(func)));
                after |= counted;
                counted |= counter;
            }
            Step::Raise(_) => after |= counted,
            _ => {}
        });
        after
    }

    /// An attribute record starts empty and grows only in this loop.
    fn fresh_place(
        &self,
        file: FileIdx,
        scope: ScopeIdx,
        body: &Block,
        place: &super::record::Place,
    ) -> Result<(), String> {
        let calls = &self.analysis.project.scope(file, scope).calls;
        let mut allowed = Vec::new();
        walk_calls(body, &mut |i| allowed.push((file, calls[i].range)));
        super::record::is_fresh(self.analysis, place, &allowed)
    }

    /// The attribute places that hold the cold deps deployed.
    pub fn cold_records(&self) -> BTreeSet<(super::record::Owner, String)> {
        for &f in &self.dep_functions {
            self.of(f);
        }
        self.records.borrow().clone()
    }

    /// Whether `counter` (a list or an integer the function returns) grows exactly once per
    /// deploy on every path through one iteration, starts empty, and grows nowhere else.
    fn counts_deploys(
        &self,
        node: usize,
        file: FileIdx,
        scope: ScopeIdx,
        body: &Block,
        counter: &str,
    ) -> Result<(), String> {
        let func = self.analysis.graph.node_func[node];
        let facts = self.analysis.project.func_scope(func);
        let starts_empty = facts
            .bindings
            .iter()
            // (`.append` stores are recorded as bindings without a range; growth is counted
            // below.)
            .filter(|b| b.name == counter && b.range != crate::facts::TextRange::default())
            .filter(|b| growth_of_bind(counter, &b.value) == 0)
            .all(|b| {
                matches!(&b.value, Expr::Container(items) if items.is_empty())
                    || b.value == Expr::Int(0)
            });
        if !starts_empty {
            return Err(format!(
                "`{counter}`, the record of cold deps, does not start empty"
            ));
        }
        let (deploys_minus_growth, growth_minus_deploys) =
            self.net(node, file, scope, body, counter);
        if deploys_minus_growth > 0 {
            return Err(format!(
                "an iteration can deploy without recording the dep in `{counter}`, so deploys can exceed N_cold_deps"
            ));
        }
        if growth_minus_deploys > 0 {
            return Err(format!(
                "an iteration can grow `{counter}` by more than it deploys, so N_cold_deps overcounts"
            ));
        }
        if self.count_growth(&facts.flow, file, scope, counter)
            > self.count_growth(body, file, scope, counter)
        {
            return Err(format!(
                "`{counter}` also grows outside the deploy loop, so N_cold_deps overcounts"
            ));
        }
        Ok(())
    }

    fn calls_warm_check(&self, file: FileIdx, scope: ScopeIdx, body: &Block) -> bool {
        let mut found = false;
        walk_calls(body, &mut |i| {
            found |= self.is_warm_check(file, scope, &[i])
        });
        found
    }

    /// Over all paths through one iteration: max(deploys − growth), max(growth − deploys).
    fn net(
        &self,
        node: usize,
        file: FileIdx,
        scope: ScopeIdx,
        body: &Block,
        counter: &str,
    ) -> (i64, i64) {
        let calls = &self.analysis.project.scope(file, scope).calls;
        // (weight, whether the step can raise): recording a dep (`list.append`) does not.
        let weight = |step: &Step, sign: i64| -> (i64, bool) {
            let index = match step {
                Step::Call(index) => *index,
                Step::Bind { name, value, .. } if name == counter => {
                    return (-sign * growth_of_bind(counter, value), false);
                }
                _ => return (0, false),
            };
            let grows = growth_of_call(&calls[index], counter);
            if grows != 0 {
                return (-sign * grows, false);
            }
            let site = Site {
                file,
                range: calls[index].range,
            };
            if self.inert(node, site, &calls[index]) {
                return (0, false);
            }
            let paths = self.call(node, file, scope, index);
            let cost = paths.fall.unwrap_or_else(Cost::zero);
            if cost.unbounded.is_some() || cost.per_dep > 0 {
                return (i64::MAX / 4, true);
            }
            let grows = self.grows_through(file, scope, &calls[index], counter);
            (sign * (i64::from(cost.base) - grows), true)
        };
        (
            net_max(body, &|s| weight(s, 1)),
            net_max(body, &|s| weight(s, -1)),
        )
    }

    /// `_deploy_cold(spec, result)` where the helper grows its parameter's `cold` (or the
    /// list it was given) exactly once, unconditionally: the call records one dep.
    fn grows_through(&self, file: FileIdx, scope: ScopeIdx, call: &Call, counter: &str) -> i64 {
        let (base, attr) = match counter.split_once('.') {
            Some((base, attr)) => (base, Some(attr)),
            None => (counter, None),
        };
        let Some(position) = call
            .args
            .iter()
            .position(|a| matches!(a, Expr::Name(n) if n == base))
        else {
            return 0;
        };
        let targets = self
            .analysis
            .evaluator
            .call_targets(file, scope, &call.callee);
        let [Target::Func { func, offset, .. }] = targets.iter().collect::<Vec<_>>()[..] else {
            return 0;
        };
        let helper = self.analysis.project.func_scope(*func);
        let Some(param) = helper.params.get(position + offset) else {
            return 0;
        };
        let grown = match attr {
            Some(attr) => format!("{}.{attr}", param.name),
            None => param.name.clone(),
        };
        let mut top_level = 0;
        for step in &helper.flow {
            match step {
                Step::Call(i) if growth_of_call(&helper.calls[*i], &grown) == 1 => top_level += 1,
                Step::Return(..) | Step::Raise(_) if top_level == 0 => return 0,
                _ => {}
            }
        }
        let anywhere = helper
            .calls
            .iter()
            .filter(|c| growth_of_call(c, &grown) != 0)
            .count();
        i64::from(top_level == 1 && anywhere == 1)
    }

    /// How many times `counter` grows in a block (each growth step once).
    fn count_growth(&self, block: &Block, file: FileIdx, scope: ScopeIdx, counter: &str) -> i64 {
        let calls = &self.analysis.project.scope(file, scope).calls;
        let mut count = 0;
        super::meaning::walk_steps(block, &mut |step| {
            count += match step {
                Step::Call(i) => growth_of_call(&calls[*i], counter).abs(),
                Step::Bind { name, value, .. } if name == counter => {
                    growth_of_bind(counter, value).abs()
                }
                _ => 0,
            };
        });
        count
    }
}

/// `counter.append(x)`, `counter.extend([x])`, `counter.insert(i, x)`: grows by one. Any
/// other growth (`extend(xs)`) is unknown, which no deploy count can match.
fn growth_of_call(call: &Call, counter: &str) -> i64 {
    let Expr::Attr(object, method) = &call.callee else {
        return 0;
    };
    if object.dotted().as_deref() != Some(counter) {
        return 0;
    }
    match (method.as_str(), call.args.as_slice()) {
        ("append", [_]) | ("insert", [_, _]) => 1,
        ("extend", [Expr::Container(items)]) => items.len() as i64,
        ("extend" | "update" | "add", _) => i64::MAX / 4,
        _ => 0,
    }
}

/// `counter = counter + [x]`, `counter += [x]`, `counter += 1`: how much it grows by (a
/// plain assignment, which restarts it, is 0 here and judged as a start).
fn growth_of_bind(counter: &str, value: &Expr) -> i64 {
    let Expr::BinOp(op, a, b) = value else {
        return 0;
    };
    let added = match (a.as_ref(), b.as_ref()) {
        (Expr::Name(n), other) | (other, Expr::Name(n)) if n == counter && op == "+" => other,
        _ => return 0,
    };
    match added {
        Expr::Container(items) => items.len() as i64,
        Expr::Int(k) => *k,
        _ => i64::MAX / 4,
    }
}

/// The largest sum of call weights over the paths that complete one loop iteration
/// (reach its end, `break`, `continue` or `return`). Paths that raise are failed runs: the
/// exception leaves the deps code. A handler that swallows an exception starts from the
/// worst prefix before a call (the call that raised did not complete).
fn net_max(block: &Block, weight: &dyn Fn(&Step) -> (i64, bool)) -> i64 {
    const HUGE: i64 = i64::MAX / 4;
    /// (falls through, worst completed-and-left, worst prefix at a raise point)
    fn walk(
        block: &Block,
        weight: &dyn Fn(&Step) -> (i64, bool),
        start: i64,
    ) -> (Option<i64>, i64, i64) {
        let mut fall = Some(start);
        let mut left = i64::MIN;
        let mut raising = i64::MIN;
        for step in block {
            let Some(current) = fall else { break };
            match step {
                Step::Call(_) | Step::Bind { .. } => {
                    let (added, may_raise) = weight(step);
                    if may_raise {
                        raising = raising.max(current);
                    }
                    fall = Some(current.saturating_add(added));
                }
                Step::If {
                    branches,
                    exhaustive,
                    ..
                } => {
                    let mut next = if *exhaustive { None } else { Some(current) };
                    for branch in branches {
                        let (f, l, r) = walk(branch, weight, current);
                        next = next.max(f).or(next).or(f);
                        left = left.max(l);
                        raising = raising.max(r);
                    }
                    fall = next;
                }
                Step::Loop { body, orelse, .. } => {
                    let (f, l, r) = walk(body, weight, 0);
                    // A nested loop that changes the balance cannot be bounded per iteration.
                    let per = f.unwrap_or(i64::MIN).max(l);
                    let after = if per > 0 { HUGE } else { current };
                    raising = raising.max(current.saturating_add(r.max(0)));
                    let (of, ol, or) = walk(orelse, weight, after);
                    left = left.max(ol);
                    raising = raising.max(or);
                    fall = of;
                }
                Step::Try {
                    body,
                    handlers,
                    orelse,
                    finally,
                } => {
                    let (f, l, r) = walk(body, weight, current);
                    left = left.max(l);
                    let mut next = None;
                    if let Some(f) = f {
                        let (of, ol, or) = walk(orelse, weight, f);
                        left = left.max(ol);
                        raising = raising.max(or);
                        next = of;
                    }
                    if r > i64::MIN {
                        for handler in handlers {
                            let (hf, hl, hr) = walk(handler, weight, r);
                            left = left.max(hl);
                            raising = raising.max(hr);
                            next = next.max(hf).or(next).or(hf);
                        }
                        raising = raising.max(r);
                    }
                    let (ff, fl, fr) = walk(finally, weight, 0);
                    left = left.max(fl.saturating_add(next.unwrap_or(0)));
                    raising = raising.max(fr);
                    fall = next.map(|n| n.saturating_add(ff.unwrap_or(0)));
                }
                Step::Return(..) | Step::Break | Step::Continue => {
                    left = left.max(current);
                    fall = None;
                }
                Step::Raise(_) => {
                    raising = raising.max(current);
                    fall = None;
                }
                Step::Opaque(_) => fall = Some(HUGE),
                Step::Store { .. } | Step::Delete { .. } => {}
            }
        }
        (fall, left, raising)
    }
    let (fall, left, _) = walk(block, weight, 0);
    fall.unwrap_or(i64::MIN).max(left)
}

fn walk_calls(block: &Block, visit: &mut dyn FnMut(usize)) {
    super::meaning::walk_steps(block, &mut |step| {
        if let Step::Call(i) = step {
            visit(*i);
        }
    });
}

#[cfg(test)]
mod tests {
    //! The budget question on small harnesses: what one run of `main` can deploy, as
    //! `base + per_dep × N_cold_deps` or unbounded, judged with the embedded cc-ci policy.

    use super::BudgetFacts;
    use crate::checks::Analysis;
    use crate::checks::testing::{embedded_policy, small_harness};

    /// The static budget of a `main` with this body (deps and lifecycle as in every test),
    /// as `(base, per_dep)`, or the reason it is unbounded.
    fn budget_of(body: &str, extra: &[(&str, &str)]) -> Result<(u32, u32), String> {
        let entry = format!(
            "import os\nimport sys\nfrom harness.lifecycle import deploy_app\nfrom harness import deps, generic\n\ndef main():\n{body}\n    return 0\n"
        );
        let project = small_harness(&entry, extra);
        let policy = embedded_policy();
        let analysis = Analysis::new(&project, &policy);
        let cost = BudgetFacts::new(&analysis).entries.remove(0);
        match cost.unbounded {
            Some((_, reason)) => Err(reason),
            None => Ok((cost.base, cost.per_dep)),
        }
    }

    const DEPS_THEN_BASE: &str =
        "    cold = deps.deploy_declared_deps([])\n    deploy_app(\"app\")";

    #[test]
    fn one_base_deploy_and_the_deps_loop_is_one_plus_n() {
        assert_eq!(budget_of(DEPS_THEN_BASE, &[]), Ok((1, 1)));
    }

    #[test]
    fn a_second_deploy_on_the_same_path_counts_twice() {
        let body = format!("{DEPS_THEN_BASE}\n    deploy_app(\"warmup\")");
        assert_eq!(budget_of(&body, &[]), Ok((2, 1)));
    }

    #[test]
    fn exclusive_branches_count_the_costliest_one() {
        let body = "    cold = deps.deploy_declared_deps([])\n    if os.environ.get(\"X\"):\n        deploy_app(\"a\")\n    else:\n        deploy_app(\"b\")";
        assert_eq!(budget_of(body, &[]), Ok((1, 1)));
    }

    #[test]
    fn a_deploy_in_a_loop_that_is_not_the_deps_loop_is_unbounded() {
        let body = "    cold = deps.deploy_declared_deps([])\n    for attempt in range(3):\n        deploy_app(\"app\")";
        assert!(budget_of(body, &[]).is_err());
    }

    const RETRY: &str = "    cold = deps.deploy_declared_deps([])\n    try:\n        deploy_app(\"app\")\n    except Exception:\n        deploy_app(\"app\")";

    #[test]
    fn a_retry_after_a_sink_that_failed_before_counting_is_the_one_deploy() {
        // This deploy_app can only raise before `_record_deploy` has counted.
        assert_eq!(budget_of(RETRY, &[]), Ok((1, 1)));
    }

    #[test]
    fn a_retry_after_a_sink_that_can_fail_once_counted_counts_twice() {
        let lifecycle = crate::checks::testing::LIFECYCLE.replace(
            "def deploy_app(app):\n    _record_deploy(app)\n",
            "def wait_healthy(app):\n    raise TimeoutError(app)\n\ndef deploy_app(app):\n    _record_deploy(app)\n    wait_healthy(app)\n",
        );
        assert_ne!(lifecycle, crate::checks::testing::LIFECYCLE);
        assert_eq!(
            budget_of(RETRY, &[("harness.lifecycle", &lifecycle)]),
            Ok((2, 1))
        );
    }

    #[test]
    fn a_deploy_no_call_names_still_counts() {
        // Reading a property whose getter deploys is a deploy of main's.
        let probe = "from harness.lifecycle import deploy_app\n\nclass Probe:\n    @property\n    def ready(self):\n        deploy_app(\"probe\")\n        return True\n";
        let body = format!(
            "{DEPS_THEN_BASE}\n    from harness import probe\n    if probe.Probe().ready:\n        pass"
        );
        assert_eq!(budget_of(&body, &[("harness.probe", probe)]), Ok((2, 1)));
    }

    #[test]
    fn operators_on_plain_data_neither_deploy_nor_raise() {
        // `n + 1`, `items[0]`, `cfg.name` run no project code: the budget is unchanged.
        let body = format!(
            "    n = 0\n    items = [1]\n{DEPS_THEN_BASE}\n    n = n + items[0]\n    name = sys.argv[0] if n > 1 else os.sep"
        );
        assert_eq!(budget_of(&body, &[]), Ok((1, 1)));
    }

    #[test]
    fn the_warm_branch_must_deploy_nothing() {
        let deps = "from harness.lifecycle import deploy_app\n\ndef is_live_warm(dep):\n    return dep.warm\n\ndef deploy_declared_deps(declared):\n    deployed = []\n    for dep in declared:\n        if is_live_warm(dep):\n            deploy_app(dep.name)\n            continue\n        deploy_app(dep.name)\n        deployed.append(dep.name)\n    return deployed\n";
        assert!(budget_of(DEPS_THEN_BASE, &[("harness.deps", deps)]).is_err());
    }
}
