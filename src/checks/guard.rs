//! The run-time deploy-count guard (DG4.1), read from the entry's code: what it expects,
//! where the count comes from, how it compares, and whether a mismatch fails the process.

use crate::facts::{Block, Expr, ScopeIdx, Step, TextRange};
use crate::project::{FileIdx, Site, Target, Val};

use super::Analysis;
use super::analysis::functions_matching;

/// One thing wrong with the guard, with where it is.
pub struct Problem {
    pub site: Site,
    pub message: String,
}

/// The guard as found in one entry function.
pub struct Guard {
    /// What the guard expects, as a formula (`1 + N_cold_deps`), when it could be read.
    pub expected: Option<String>,
    pub problems: Vec<Problem>,
}

struct Entry<'a, 'p> {
    analysis: &'a Analysis<'p>,
    file: FileIdx,
    scope: ScopeIdx,
    site: Site,
}

/// The guard's expected formula, for the summary.
pub fn expected_formula(analysis: &Analysis) -> Option<String> {
    let &entry = analysis.entry.first()?;
    inspect(analysis, entry)?.expected
}

/// Reads the guard of `entry`; `None` when the policy names no guard.
pub fn inspect(analysis: &Analysis, entry: usize) -> Option<Guard> {
    let policy = analysis.policy.guard.as_ref()?;
    let func = analysis.graph.node_func[entry];
    let info = &analysis.project.funcs[func];
    let e = Entry {
        analysis,
        file: info.file,
        scope: info.scope,
        site: analysis.definition_site(entry),
    };
    let flow = &analysis.project.scope(e.file, e.scope).flow;
    let mut problems = Vec::new();
    let expected = e.expected_formula(&policy.expected, &mut problems);
    e.check_count_source(&policy.actual, policy.count_env.as_deref(), &mut problems);
    match find_comparison(flow, &policy.actual, &policy.expected) {
        None => match e.guard_helper(flow, policy) {
            Some((bind_range, helper_problems)) => {
                problems.extend(helper_problems);
                e.check_status_kept(flow, bind_range, &policy.status, &mut problems);
            }
            None => problems.push(Problem {
                site: e.site,
                message: format!(
                    "no comparison of `{}` with `{}` in `{}`: the deploy-count guard is missing",
                    policy.actual,
                    policy.expected,
                    analysis.name(entry)
                ),
            }),
        },
        Some(found) => e.check_comparison(found, flow, policy, &mut problems),
    }
    e.check_exit_status(entry, &mut problems);
    Some(Guard { expected, problems })
}

struct Comparison<'f> {
    op: String,
    negated: bool,
    branches: &'f [Block],
    exhaustive: bool,
    range: TextRange,
}

/// The `if` that compares the two names, anywhere in the function.
fn find_comparison<'f>(block: &'f Block, actual: &str, expected: &str) -> Option<Comparison<'f>> {
    for step in block {
        if let Step::If {
            branches,
            exhaustive,
            condition: Some(condition),
            range,
            ..
        } = step
        {
            let (negated, test) = match condition {
                Expr::Not(inner) => (true, inner.as_ref()),
                test => (false, test),
            };
            if let Expr::Compare(op, a, b) = test {
                let names = (name_of(a), name_of(b));
                if names == (Some(actual), Some(expected))
                    || names == (Some(expected), Some(actual))
                {
                    return Some(Comparison {
                        op: op.clone(),
                        negated,
                        branches,
                        exhaustive: *exhaustive,
                        range: *range,
                    });
                }
            }
        }
        if let Some(found) = step
            .blocks()
            .into_iter()
            .find_map(|b| find_comparison(b, actual, expected))
        {
            return Some(found);
        }
    }
    None
}

fn name_of(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n),
        _ => None,
    }
}

impl Entry<'_, '_> {
    fn bindings(&self, name: &str) -> Vec<&Expr> {
        self.analysis
            .project
            .scope(self.file, self.scope)
            .bindings
            .iter()
            .filter(|b| b.name == name)
            .map(|b| &b.value)
            .collect()
    }

    /// An integer constant, directly or through a module-level name (`EXIT_FAIL = 1`).
    fn int_value(&self, expr: &Expr) -> Option<i64> {
        match expr {
            Expr::Int(i) => Some(*i),
            Expr::Name(name) => {
                let module = self.analysis.project.scope(self.file, 0);
                let values: Vec<i64> = module
                    .bindings
                    .iter()
                    .filter(|b| &b.name == name)
                    .filter_map(|b| {
                        if let Expr::Int(i) = b.value {
                            Some(i)
                        } else {
                            None
                        }
                    })
                    .collect();
                let all = module.bindings.iter().filter(|b| &b.name == name).count();
                (values.len() == all
                    && !values.is_empty()
                    && values.iter().all(|v| *v == values[0]))
                .then(|| values[0])
            }
            _ => None,
        }
    }

    /// `expected = BASE + count` with `count = len(cold)` and `cold = deploy_declared_deps(...)`.
    fn expected_formula(&self, expected: &str, problems: &mut Vec<Problem>) -> Option<String> {
        let bindings = self.bindings(expected);
        let base = self.analysis.policy.budget.base as i64;
        if bindings.is_empty() {
            return None;
        }
        let mut formula = None;
        for value in bindings {
            let inlined = self.inline(value);
            let value = &inlined;
            let (constant, rest) = match value {
                Expr::BinOp(op, a, b) if op == "+" => {
                    match (self.int_value(a), self.int_value(b)) {
                        (Some(k), _) => (Some(k), b.as_ref()),
                        (_, Some(k)) => (Some(k), a.as_ref()),
                        _ => (None, value),
                    }
                }
                _ => (None, value),
            };
            let Some(constant) = constant else {
                problems.push(self.problem(format!(
                    "`{expected} = {}` is not `{base} + <number of cold deps deployed>`",
                    value.show()
                )));
                continue;
            };
            let cold = self.counts_cold_deps(rest);
            let shown = match &cold {
                Ok(()) => format!("{constant} + N_cold_deps"),
                Err(_) => format!("{constant} + {}", rest.show()),
            };
            if constant != base {
                problems.push(self.problem(format!(
                    "`{expected} = {}` adds {constant} base deploy(s); the budget has {base}",
                    value.show()
                )));
            }
            if let Err(why) = cold {
                problems.push(self.problem(format!(
                    "`{expected}` does not count the cold deps actually deployed: {why}"
                )));
            }
            formula = Some(shown);
        }
        formula
    }

    /// `helper(args)` where the helper is `return <expr>`: that expression with the arguments
    /// put in for the parameters (`deploy_budget(deps)` -> `1 + len(deps)`).
    fn inline(&self, expr: &Expr) -> Expr {
        let Expr::Call(callee, args) = expr else {
            return expr.clone();
        };
        let targets = self
            .analysis
            .evaluator
            .call_targets(self.file, self.scope, callee);
        let Some(Target::Func {
            func, offset: 0, ..
        }) = targets.iter().next().filter(|_| targets.len() == 1)
        else {
            return expr.clone();
        };
        let scope = self.analysis.project.func_scope(*func);
        let [returned] = scope.returns.as_slice() else {
            return expr.clone();
        };
        let mut given = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            match arg {
                Expr::Keyword(name, value) => given.push((name.clone(), value.as_ref().clone())),
                Expr::Element(_) => return expr.clone(),
                value => match scope.params.get(i) {
                    Some(param) => given.push((param.name.clone(), value.clone())),
                    None => return expr.clone(),
                },
            }
        }
        substitute(returned, &given)
    }

    /// Whether `expr` is `len(L)` (directly or through a name) where `L` only ever holds
    /// what a dep-site function (the deps code) returned.
    fn counts_cold_deps(&self, expr: &Expr) -> Result<(), String> {
        let len_of = |e: &Expr| -> Option<Expr> {
            match e {
                Expr::Call(callee, args)
                    if matches!(callee.as_ref(), Expr::Name(n) if n == "len")
                        && args.len() == 1 =>
                {
                    Some(args[0].clone())
                }
                _ => None,
            }
        };
        let list = match (len_of(expr), expr) {
            (Some(list), _) => list,
            (None, Expr::Name(name)) => {
                let values = self.bindings(name);
                let lists: Vec<Expr> = values.iter().filter_map(|v| len_of(v)).collect();
                if lists.is_empty() || lists.len() != values.len() {
                    return Err(format!("`{name}` is not `len(...)` of the cold deps list"));
                }
                lists[0].clone()
            }
            _ => {
                return Err(format!(
                    "`{}` is not `len(...)` of the cold deps list",
                    expr.show()
                ));
            }
        };
        let Expr::Name(list) = list else {
            return Err(format!(
                "`{}` is not the list the deps code returned",
                list.show()
            ));
        };
        // The deps code proper: dep-site functions that deploy (not parsers or helpers).
        let budget = super::budget::Budget::new(self.analysis);
        let dep_functions: Vec<usize> = self
            .analysis
            .policy
            .sites
            .iter()
            .filter(|r| r.kind == crate::policy::SiteKind::Dep)
            .flat_map(|r| r.functions.iter())
            .flat_map(|p| functions_matching(self.analysis.project, p))
            .filter(|&f| !budget.of(f).is_zero())
            .collect();
        let mut from_deps = false;
        let failed_handlers = self.failing_handler_ranges();
        let scope = self.analysis.project.scope(self.file, self.scope);
        for binding in scope.bindings.iter().filter(|b| b.name == list) {
            let value = &binding.value;
            // In an `except` that fails the run anyway, the list may hold anything.
            if failed_handlers
                .iter()
                .any(|h| h.start <= binding.range.start && binding.range.end <= h.end)
            {
                continue;
            }
            match value {
                Expr::Container(items) if items.is_empty() => {}
                Expr::Call(callee, _) => {
                    let targets = self
                        .analysis
                        .evaluator
                        .call_targets(self.file, self.scope, callee);
                    let is_deps = !targets.is_empty()
                        && targets.iter().all(|t| matches!(t, Target::Func { func, .. } if dep_functions.contains(func)));
                    if !is_deps {
                        return Err(format!(
                            "`{list}` is assigned `{}`, not the cold deps the deps code deployed",
                            value.show()
                        ));
                    }
                    from_deps = true;
                }
                other => {
                    return Err(format!(
                        "`{list}` is assigned `{}`, not the cold deps the deps code deployed",
                        other.show()
                    ));
                }
            }
        }
        if from_deps {
            Ok(())
        } else {
            Err(format!("`{list}` never holds what the deps code returns"))
        }
    }

    /// Ranges of the `except` handlers in the entry that fail the run unconditionally.
    fn failing_handler_ranges(&self) -> Vec<TextRange> {
        let status = self
            .analysis
            .policy
            .guard
            .as_ref()
            .map_or("", |g| g.status.as_str());
        let mut ranges = Vec::new();
        let flow = &self.analysis.project.scope(self.file, self.scope).flow;
        let mut stack: Vec<&Block> = vec![flow];
        while let Some(block) = stack.pop() {
            for step in block {
                if let Step::Try { handlers, .. } = step {
                    let failing = handlers.iter().filter(|h| self.fails_status(h, status));
                    ranges.extend(failing.filter_map(block_range));
                }
                stack.extend(step.blocks());
            }
        }
        ranges
    }

    /// The actual count must come from the file the counter appends to.
    fn check_count_source(
        &self,
        actual: &str,
        count_env: Option<&str>,
        problems: &mut Vec<Problem>,
    ) {
        let bindings = self.bindings(actual);
        if bindings.is_empty() {
            problems.push(self.problem(format!(
                "`{actual}` is never assigned: nothing reads the deploy count"
            )));
            return;
        }
        let mut read = false;
        for value in bindings {
            match value {
                // A sentinel such as -1 ("file missing") can never match the expected count.
                Expr::Int(i) if *i < 0 => {}
                Expr::Call(..) if count_env.is_none_or(|env| self.mentions(value, env, 8)) => {
                    read = true
                }
                other => problems.push(self.problem(format!(
                    "`{actual} = {}` does not read the file the deploy counter writes{}",
                    other.show(),
                    count_env.map(|e| format!(" (${e})")).unwrap_or_default()
                ))),
            }
        }
        if !read {
            problems.push(self.problem(format!(
                "`{actual}` is never read from the deploy counter's file"
            )));
        }
    }

    /// Whether an expression (following the entry's own names and the callee's body) refers
    /// to the string `needle`.
    fn mentions(&self, expr: &Expr, needle: &str, depth: usize) -> bool {
        if depth == 0 {
            return false;
        }
        match expr {
            Expr::Str(s) => s == needle,
            Expr::Name(name) => {
                let module = self.analysis.project.scope(self.file, 0);
                let module_values = module
                    .bindings
                    .iter()
                    .filter(|b| &b.name == name)
                    .map(|b| &b.value);
                self.bindings(name)
                    .into_iter()
                    .chain(module_values)
                    .any(|v| self.mentions(v, needle, depth - 1))
            }
            Expr::Call(callee, args) => {
                args.iter().any(|a| self.mentions(a, needle, depth - 1))
                    || self.mentions(callee, needle, depth - 1)
                    || {
                        // The reader itself may look the variable up.
                        let values = self.analysis.evaluator.eval(self.file, self.scope, callee);
                        values.iter().any(|v| match v {
                            Val::Func(f) => {
                                let scope = self.analysis.project.func_scope(*f);
                                scope.calls.iter().any(|c| {
                                    c.args
                                        .iter()
                                        .any(|a| matches!(a, Expr::Str(s) if s == needle))
                                })
                            }
                            _ => false,
                        })
                    }
            }
            Expr::Attr(object, _)
            | Expr::Element(object)
            | Expr::Not(object)
            | Expr::Keyword(_, object) => self.mentions(object, needle, depth - 1),
            Expr::BinOp(_, a, b) | Expr::Compare(_, a, b) => {
                self.mentions(a, needle, depth - 1) || self.mentions(b, needle, depth - 1)
            }
            Expr::Container(items) | Expr::Union(items) => {
                items.iter().any(|i| self.mentions(i, needle, depth - 1))
            }
            _ => false,
        }
    }

    /// The guard moved into a helper: `status = helper(actual, expected) [or status]`, where
    /// the helper compares its two parameters and returns non-zero (or raises) on a mismatch.
    /// Returns the binding's range and what is wrong with the helper.
    fn guard_helper(
        &self,
        flow: &Block,
        policy: &crate::policy::GuardPolicy,
    ) -> Option<(TextRange, Vec<Problem>)> {
        let mut binds = Vec::new();
        collect_after(flow, 0, &mut binds);
        for step in binds {
            let Step::Bind { name, value, range } = step else {
                continue;
            };
            if name != &policy.status {
                continue;
            }
            for (callee, args) in calls_in(value) {
                let position = |wanted: &str| {
                    args.iter()
                        .position(|a| matches!(a, Expr::Name(n) if n == wanted))
                };
                let (Some(actual_at), Some(expected_at)) =
                    (position(&policy.actual), position(&policy.expected))
                else {
                    continue;
                };
                let targets = self
                    .analysis
                    .evaluator
                    .call_targets(self.file, self.scope, callee);
                let Some(Target::Func { func, .. }) =
                    targets.iter().next().filter(|_| targets.len() == 1)
                else {
                    continue;
                };
                let helper_info = &self.analysis.project.funcs[*func];
                let helper_scope = self.analysis.project.func_scope(*func);
                let (Some(pa), Some(pe)) = (
                    helper_scope.params.get(actual_at),
                    helper_scope.params.get(expected_at),
                ) else {
                    continue;
                };
                let helper = Entry {
                    analysis: self.analysis,
                    file: helper_info.file,
                    scope: helper_info.scope,
                    site: Site {
                        file: helper_info.file,
                        range: helper_scope.name_range,
                    },
                };
                let mut problems = Vec::new();
                match find_comparison(&helper_scope.flow, &pa.name, &pe.name) {
                    None => problems.push(helper.problem(format!(
                        "`{}` never compares `{}` with `{}`: the deploy-count guard is missing",
                        helper_info.qualname, pa.name, pe.name
                    ))),
                    Some(found) => {
                        let site = Site {
                            file: helper.file,
                            range: found.range,
                        };
                        match helper.failure_branch(&found) {
                            Err(message) => problems.push(Problem { site, message }),
                            Ok(failure) if !helper.fails_by_return(failure) => problems.push(Problem {
                                site,
                                message: format!("on a mismatch `{}` neither returns a failing status nor raises", helper_info.qualname),
                            }),
                            Ok(_) => {}
                        }
                    }
                }
                return Some((*range, problems));
            }
        }
        None
    }

    /// The branch that runs when the counts differ, or what is wrong with the comparison.
    fn failure_branch<'f>(&self, found: &Comparison<'f>) -> Result<&'f Block, String> {
        let failure = match (found.op.as_str(), found.negated) {
            ("!=", false) | ("==", true) => found.branches.first(),
            ("==", false) | ("!=", true) => {
                if found.exhaustive {
                    found.branches.get(1)
                } else {
                    None
                }
            }
            (op, _) => {
                return Err(format!(
                    "the guard compares with `{op}`: a run whose deploy count differs from the expected one in the other direction passes; it must be an exact check (`!=`)"
                ));
            }
        };
        failure.ok_or_else(|| {
            "the guard's mismatch branch is missing: nothing happens when the counts differ".into()
        })
    }

    /// A helper's failure branch returns a non-zero status or raises, unconditionally.
    fn fails_by_return(&self, block: &Block) -> bool {
        block.iter().any(|step| match step {
            Step::Return(_, Some(value)) => self.int_value(value).is_some_and(|v| v != 0),
            Step::Raise(_) => true,
            _ => false,
        })
    }

    fn check_comparison(
        &self,
        found: Comparison,
        flow: &Block,
        policy: &crate::policy::GuardPolicy,
        problems: &mut Vec<Problem>,
    ) {
        let site = Site {
            file: self.file,
            range: found.range,
        };
        let failure = match self.failure_branch(&found) {
            Ok(failure) => failure,
            Err(message) => {
                problems.push(Problem { site, message });
                return;
            }
        };
        if !self.fails_status(failure, &policy.status) {
            problems.push(Problem {
                site,
                message: format!(
                    "on a mismatch the guard does not fail the run: it never sets `{}` to a failing status, raises or exits non-zero",
                    policy.status
                ),
            });
        }
        self.check_status_kept(flow, found.range, &policy.status, problems);
    }

    /// The failure branch, unconditionally, sets the status to non-zero, raises or exits.
    fn fails_status(&self, block: &Block, status: &str) -> bool {
        let calls = &self.analysis.project.scope(self.file, self.scope).calls;
        block.iter().any(|step| match step {
            Step::Bind { name, value, .. } if name == status => {
                self.int_value(value).is_some_and(|v| v != 0)
            }
            Step::Raise(_) => true,
            Step::Call(i) => {
                let call = &calls[*i];
                let exits = self
                    .analysis
                    .evaluator
                    .call_targets(self.file, self.scope, &call.callee)
                    .iter()
                    .any(
                        |t| matches!(t, Target::External(n) if n == "sys.exit" || n == "os._exit"),
                    );
                exits
                    && call
                        .args
                        .first()
                        .and_then(|a| self.int_value(a))
                        .is_some_and(|v| v != 0)
            }
            _ => false,
        })
    }

    /// After the guard, the status is not reset to success and is what the entry returns.
    fn check_status_kept(
        &self,
        flow: &Block,
        guard: TextRange,
        status: &str,
        problems: &mut Vec<Problem>,
    ) {
        let mut later = Vec::new();
        collect_after(flow, guard.end, &mut later);
        for step in later {
            match step {
                Step::Bind { name, value, range }
                    if name == status && self.int_value(value) == Some(0) =>
                {
                    problems.push(Problem {
                        site: Site { file: self.file, range: *range },
                        message: format!("`{status}` is reset to success after the guard, so a mismatch no longer fails the run"),
                    });
                }
                Step::Return(range, value) => {
                    let returns_status = matches!(value, Some(Expr::Name(n)) if n == status)
                        || value
                            .as_ref()
                            .and_then(|v| self.int_value(v))
                            .is_some_and(|v| v != 0);
                    if !returns_status {
                        problems.push(Problem {
                            site: Site { file: self.file, range: *range },
                            message: format!(
                                "after the guard this returns `{}`, not `{status}`: a mismatch does not reach the exit status",
                                value.as_ref().map_or_else(|| "None".into(), Expr::show)
                            ),
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// The module must hand the entry's result to the process exit: `sys.exit(main())`.
    fn check_exit_status(&self, entry: usize, problems: &mut Vec<Problem>) {
        let module = self.analysis.project.scope(self.file, 0);
        let entry_func = self.analysis.graph.node_func[entry];
        let calls_entry = |expr: &Expr| -> bool {
            matches!(expr, Expr::Call(callee, _) if self.analysis.evaluator.call_targets(self.file, 0, callee).iter().any(|t| matches!(t, Target::Func { func, .. } if *func == entry_func)))
        };
        let propagates = module.calls.iter().any(|call| {
            let targets = self.analysis.evaluator.call_targets(self.file, 0, &call.callee);
            let exits = targets.iter().any(|t| {
                matches!(t, Target::External(n) if matches!(n.as_str(), "sys.exit" | "<builtin>.exit" | "<builtin>.SystemExit" | "<builtin>.quit"))
            });
            exits && call.args.first().is_some_and(calls_entry)
        });
        if !propagates {
            problems.push(Problem {
                site: self.site,
                message: format!(
                    "`{}`'s status never reaches the process exit (`sys.exit({}())` is missing), so a failed guard exits 0",
                    self.analysis.name(entry),
                    self.analysis.short_name(entry)
                ),
            });
        }
    }

    fn problem(&self, message: String) -> Problem {
        Problem {
            site: self.site,
            message,
        }
    }
}

/// The span of a block's simple-statement steps (binds and returns), for containment tests.
fn block_range(block: &Block) -> Option<TextRange> {
    let ranges: Vec<TextRange> = block
        .iter()
        .filter_map(|s| match s {
            Step::Bind { range, .. } | Step::Return(range, _) | Step::Raise(range) => Some(*range),
            _ => None,
        })
        .collect();
    let start = ranges.iter().map(|r| r.start).min()?;
    let end = ranges.iter().map(|r| r.end).max()?;
    Some(TextRange { start, end })
}

fn substitute(expr: &Expr, given: &[(String, Expr)]) -> Expr {
    let sub = |e: &Expr| Box::new(substitute(e, given));
    match expr {
        Expr::Name(name) => given
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| expr.clone(), |(_, v)| v.clone()),
        Expr::Call(callee, args) => Expr::Call(
            sub(callee),
            args.iter().map(|a| substitute(a, given)).collect(),
        ),
        Expr::BinOp(op, a, b) => Expr::BinOp(op.clone(), sub(a), sub(b)),
        Expr::Compare(op, a, b) => Expr::Compare(op.clone(), sub(a), sub(b)),
        Expr::Attr(object, attr) => Expr::Attr(sub(object), attr.clone()),
        Expr::Keyword(name, value) => Expr::Keyword(name.clone(), sub(value)),
        Expr::Not(inner) => Expr::Not(sub(inner)),
        other => other.clone(),
    }
}

/// The calls inside an expression (`helper(a, b) or status`).
fn calls_in(expr: &Expr) -> Vec<(&Expr, &[Expr])> {
    let mut found = Vec::new();
    let mut stack = vec![expr];
    while let Some(expr) = stack.pop() {
        match expr {
            Expr::Call(callee, args) => {
                found.push((callee.as_ref(), args.as_slice()));
                stack.extend(args.iter());
            }
            Expr::Union(items) | Expr::Container(items) => stack.extend(items.iter()),
            Expr::BinOp(_, a, b) | Expr::Compare(_, a, b) => {
                stack.push(a);
                stack.push(b);
            }
            Expr::Not(inner) | Expr::Keyword(_, inner) => stack.push(inner),
            _ => {}
        }
    }
    found
}

/// Steps that start after `offset`, at any depth.
fn collect_after<'f>(block: &'f Block, offset: u32, out: &mut Vec<&'f Step>) {
    for step in block {
        let start = match step {
            Step::Bind { range, .. } | Step::Return(range, _) => Some(range.start),
            _ => None,
        };
        if start.is_some_and(|s| s >= offset) {
            out.push(step);
        }
        for nested in step.blocks() {
            collect_after(nested, offset, out);
        }
    }
}
