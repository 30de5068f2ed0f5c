//! The run-time deploy-count guard (DG4.1), read from what the entry's code means.
//!
//! The guard is any comparison, in the entry or a function it calls (entered with its
//! arguments), between the number of lines of the file the counter appends to and
//! `base + N_cold_deps`. It must be exact (`!=`, or `==` with an `else`), and its failing side
//! must raise, exit non-zero, return a failing status, or set a status that reaches the
//! process exit on every later path. Variable names are never conditions; the policy's names
//! only make messages clearer.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use super::Analysis;
use super::meaning::{Abs, Frame, Meaning, formula, show_set, walk_steps};
use crate::facts::{Block, Expr, Step, TextRange};
use crate::project::{FuncId, Site, Target};

/// Functions searched for the guard, however they nest (a bound on the work).
const MAX_FRAMES: usize = 400;
/// How deep the search follows calls from the entry.
const MAX_SEARCH_DEPTH: usize = 4;
/// How many callers up a returned status is followed to the process exit.
const MAX_EXIT_DEPTH: usize = 6;

/// One thing wrong with the guard, with where it is.
pub struct Problem {
    pub site: Site,
    pub message: String,
}

/// The guard as found for one entry function.
pub struct Guard {
    /// What the guard expects, as a formula (`1 + N_cold_deps`), when it could be read.
    pub expected: Option<String>,
    pub problems: Vec<Problem>,
    /// The comparison that holds the guard, when one does (for the reviewer's report).
    pub comparison: Option<Site>,
    /// Where its failure leaves the process (the `raise`, or the `sys.exit` its status reaches).
    pub exits: Vec<Site>,
}

/// The guard's expected formula, for the summary.
pub fn expected_formula(analysis: &Analysis) -> Option<String> {
    analysis.guard(0)?.expected.clone()
}

/// Reads the guard of `entry`; `None` when the policy names no guard.
pub fn inspect(analysis: &Analysis, entry: usize) -> Option<Guard> {
    let policy = analysis.policy.guard.as_ref()?;
    let budget = analysis.budget();
    let meaning = Meaning::new(
        analysis,
        budget.cold_sources.clone(),
        budget.cold_records.clone(),
    );
    let reader = Reader {
        analysis,
        meaning: &meaning,
        count_env: policy.count_env.clone(),
        base: analysis.policy.budget.base as i64,
        exits: RefCell::new(Vec::new()),
    };
    let func = analysis.graph.node_func[entry];
    let info = &analysis.project.funcs[func];
    let mut candidates = Vec::new();
    let mut frames = 0;
    reader.search(
        func,
        Frame::new(info.file, info.scope),
        &mut candidates,
        &mut frames,
    );
    let mut judged: Vec<(Option<String>, Vec<Problem>)> = Vec::new();
    let mut evidence: Vec<(Site, Vec<Site>)> = Vec::new();
    for candidate in &candidates {
        reader.exits.borrow_mut().clear();
        judged.push(reader.judge(candidate));
        let site = Site {
            file: candidate.frame.file,
            range: candidate.range,
        };
        evidence.push((site, reader.exits.take()));
    }
    if meaning.exhausted() {
        let site = analysis.definition_site(entry);
        judged.clear();
        evidence.clear();
        judged.push((
            None,
            vec![Problem {
                site,
                message: "the guard's values took more work to follow than deployguard allows, so it is not proven".into(),
            }],
        ));
    }
    if let Some(i) = judged.iter().position(|(_, problems)| problems.is_empty()) {
        let (comparison, mut exits) = evidence.swap_remove(i);
        exits.sort_by_key(|site| (site.file, site.range.start));
        exits.dedup();
        return Some(Guard {
            expected: judged.swap_remove(i).0,
            problems: Vec::new(),
            comparison: Some(comparison),
            exits,
        });
    }
    if judged.is_empty() {
        let hint = reader.hint(func, &policy.actual, &policy.expected);
        return Some(Guard {
            expected: None,
            comparison: None,
            exits: Vec::new(),
            problems: vec![Problem {
                site: analysis.definition_site(entry),
                message: format!(
                    "nothing in `{}` or what it calls compares the deploy count (the lines of {}) with {}: the deploy-count guard is missing{hint}",
                    analysis.name(entry),
                    reader.count_file(),
                    formula(reader.base, 1),
                ),
            }],
        });
    }
    let expected = judged.iter().find_map(|(e, _)| e.clone());
    let mut seen = BTreeSet::new();
    let problems = judged
        .into_iter()
        .flat_map(|(_, p)| p)
        .filter(|p| seen.insert((p.site, p.message.clone())))
        .collect();
    Some(Guard {
        expected,
        problems,
        comparison: None,
        exits: Vec::new(),
    })
}

/// A comparison that involves the deploy count or the cold deps.
struct Candidate<'f> {
    func: FuncId,
    frame: Frame,
    op: String,
    negated: bool,
    count: Vec<Abs>,
    expected: Vec<Abs>,
    branches: &'f [Block],
    exhaustive: bool,
    range: TextRange,
}

/// How the failing side of the guard fails the run.
enum Failure {
    /// Raises or exits non-zero right there.
    Ends,
    /// Sets a status variable; it must reach the exit.
    Sets(String, u32),
    /// Returns this constant; the caller must pass it on (a status) or act on it (a verdict
    /// such as `False`).
    Returns(i64),
}

struct Reader<'a, 'p> {
    analysis: &'a Analysis<'p>,
    meaning: &'a Meaning<'a, 'p>,
    count_env: Option<String>,
    base: i64,
    /// Where the failure being followed leaves the process, as the search finds them; a
    /// way that turns out not to fail the run takes its own back out ([`Reader::traced`]).
    exits: RefCell<Vec<Site>>,
}

impl<'a> Reader<'a, '_> {
    fn count_file(&self) -> String {
        self.count_env
            .as_ref()
            .map_or("the counter's file".into(), |k| format!("${k}"))
    }

    fn is_count(&self, value: &Abs) -> bool {
        match (&self.count_env, value) {
            (Some(env), value) => value.is_count_of(env),
            (None, Abs::LineCount(path)) => matches!(path.as_ref(), Abs::Env(_)),
            _ => false,
        }
    }

    /// Looks for guard candidates in `func` (evaluated in `frame`) and what it calls.
    fn search(&self, func: FuncId, frame: Frame, out: &mut Vec<Candidate<'a>>, frames: &mut usize) {
        *frames += 1;
        if *frames > MAX_FRAMES {
            return;
        }
        let project = self.analysis.project;
        let scope = project.func_scope(func);
        walk_steps(&scope.flow, &mut |step| {
            if let Step::If {
                branches,
                exhaustive,
                condition: Some(condition),
                range,
                ..
            } = step
            {
                for value in self.meaning.eval(&frame, condition) {
                    if let Some(candidate) =
                        self.candidate(func, &frame, value, branches, *exhaustive, *range)
                    {
                        out.push(candidate);
                    }
                }
            }
        });
        if frame.depth >= MAX_SEARCH_DEPTH {
            return;
        }
        let mut entered = BTreeSet::new();
        for call in &scope.calls {
            let targets =
                self.analysis
                    .evaluator
                    .call_targets(frame.file, frame.scope, &call.callee);
            for target in targets {
                let Target::Func {
                    func: callee,
                    offset,
                    instantiates: false,
                } = target
                else {
                    continue;
                };
                let skip = self.analysis.sinks.contains(&callee)
                    || self.analysis.counters.contains(&callee)
                    || !entered.insert((callee, call.range));
                if skip {
                    continue;
                }
                let Some(given) = self
                    .meaning
                    .bind_arguments(&frame, callee, offset, &call.args)
                else {
                    continue;
                };
                let info = &project.funcs[callee];
                let inner = Frame {
                    file: info.file,
                    scope: info.scope,
                    args: Some(Rc::new(given)),
                    depth: frame.depth + 1,
                };
                self.search(callee, inner, out, frames);
            }
        }
    }

    fn candidate(
        &self,
        func: FuncId,
        frame: &Frame,
        value: Abs,
        branches: &'a [Block],
        exhaustive: bool,
        range: TextRange,
    ) -> Option<Candidate<'a>> {
        let (negated, value) = match value {
            Abs::Not(inner) => (true, *inner),
            value => (false, value),
        };
        let Abs::Cmp(op, a, b) = value else {
            return None;
        };
        let (a, b) = unfold_difference(a, b);
        let counts = |side: &[Abs]| side.iter().any(|v| self.is_count(v));
        let colds = |side: &[Abs]| side.iter().any(|v| matches!(v, Abs::Num(_, n) if *n != 0));
        let (count, expected) = if counts(&a) || colds(&b) {
            (a, b)
        } else if counts(&b) || colds(&a) {
            (b, a)
        } else {
            return None;
        };
        Some(Candidate {
            func,
            frame: frame.clone(),
            op,
            negated,
            count,
            expected,
            branches,
            exhaustive,
            range,
        })
    }

    /// The candidate's expected formula and everything that keeps it from being the guard.
    fn judge(&self, c: &Candidate) -> (Option<String>, Vec<Problem>) {
        let site = Site {
            file: c.frame.file,
            range: c.range,
        };
        let mut problems = Vec::new();
        let mut problem = |message: String| problems.push(Problem { site, message });
        // The count: the lines the counter wrote. A constant below the base ("file missing":
        // -1 or 0) can never equal the expected count, so it fails the run as a mismatch.
        let read = c.count.iter().any(|v| self.is_count(v));
        let other = c
            .count
            .iter()
            .find(|v| !self.is_count(v) && !matches!(v, Abs::Num(k, 0) if *k < self.base));
        if !read || other.is_some() {
            problem(format!(
                "the deploy count it compares is {}, not the number of lines of {} (the file the counter appends to)",
                show_set(&c.count),
                self.count_file()
            ));
        }
        let expected = match c.expected.as_slice() {
            [Abs::Num(k, n)] => Some((*k, *n)),
            _ => None,
        };
        match expected {
            Some((k, 1)) if k == self.base => {}
            Some((k, 1)) => problem(format!(
                "it expects {}: {k} base deploy(s), but the budget has {}",
                formula(k, 1),
                self.base
            )),
            _ => problem(format!(
                "it expects {}, not {} (the base deploy plus one per cold dep the deps code deployed)",
                show_set(&c.expected),
                formula(self.base, 1)
            )),
        }
        let shown = expected.map(|(k, n)| formula(k, n));
        let failure = match (c.op.as_str(), c.negated) {
            ("!=", false) | ("==", true) => c.branches.first(),
            ("==", false) | ("!=", true) if c.exhaustive => c.branches.get(1),
            ("==", false) | ("!=", true) => None,
            (op, _) => {
                problem(format!(
                    "it compares with `{op}`: a run whose deploy count differs from the expected one in the other direction passes; it must be an exact check (`!=`)"
                ));
                return (shown, problems);
            }
        };
        let Some(failure) = failure else {
            problem(
                "its mismatch branch is missing: nothing happens when the counts differ".into(),
            );
            return (shown, problems);
        };
        match self.fails(&c.frame, failure) {
            None => problem(
                "on a mismatch it does not fail the run: it never sets a failing status, raises or exits non-zero".into(),
            ),
            Some(Failure::Ends) => {}
            Some(Failure::Sets(status, after)) => {
                problems.extend(self.status_reaches_exit(c.func, &c.frame, &status, after, 0))
            }
            Some(Failure::Returns(value)) => {
                problems.extend(self.result_reaches_exit(c.func, value, site, 0))
            }
        }
        (shown, problems)
    }

    /// How a block fails the run unconditionally (its own top-level steps), if it does.
    fn fails(&self, frame: &Frame, block: &Block) -> Option<Failure> {
        let calls = &self.analysis.project.scope(frame.file, frame.scope).calls;
        let ends = |range: TextRange| {
            self.exits.borrow_mut().push(Site {
                file: frame.file,
                range,
            });
            Some(Failure::Ends)
        };
        block.iter().find_map(|step| match step {
            Step::Raise(range) => ends(*range),
            Step::Call(i) => {
                let call = &calls[*i];
                if self.is_exit(frame, &call.callee)
                    && call.args.first().is_some_and(|a| self.failing(frame, a))
                {
                    ends(call.range)
                } else {
                    None
                }
            }
            Step::Bind { name, value, range } => self
                .keeps_failing(frame, name, value)
                .then(|| Failure::Sets(name.clone(), range.end)),
            Step::Return(_, Some(value)) => match self.meaning.eval(frame, value).as_slice() {
                [Abs::Num(k, 0)] => Some(Failure::Returns(*k)),
                _ => None,
            },
            _ => None,
        })
    }

    /// Every value of `expr` is a failing exit status (a non-zero integer or a message).
    fn failing(&self, frame: &Frame, expr: &Expr) -> bool {
        let values = self.meaning.eval(frame, expr);
        values
            .iter()
            .all(|v| matches!(v, Abs::Num(k, 0) if *k != 0) || matches!(v, Abs::Str(_)))
    }

    /// `status = 1`, `status = EXIT_FAIL`, `status = status or 1`: a failing status stays so.
    fn keeps_failing(&self, frame: &Frame, name: &str, value: &Expr) -> bool {
        let items: Vec<&Expr> = match value {
            Expr::Union(items) => items.iter().collect(),
            value => vec![value],
        };
        let rest: Vec<&&Expr> = items
            .iter()
            .filter(|e| !matches!(e, Expr::Name(n) if n == name))
            .collect();
        !rest.is_empty() && rest.iter().all(|e| self.failing(frame, e))
    }

    fn is_exit(&self, frame: &Frame, callee: &Expr) -> bool {
        let targets = self
            .analysis
            .evaluator
            .call_targets(frame.file, frame.scope, callee);
        !targets.is_empty()
            && targets.iter().all(|t| {
                matches!(t, Target::External(n) if matches!(n.as_str(), "sys.exit" | "os._exit" | "<builtin>.exit" | "<builtin>.quit" | "<builtin>.SystemExit"))
            })
    }

    /// A status set at `after` in `func` is neither reset nor dropped, and reaches the exit.
    fn status_reaches_exit(
        &self,
        func: FuncId,
        frame: &Frame,
        status: &str,
        after: u32,
        depth: usize,
    ) -> Vec<Problem> {
        let project = self.analysis.project;
        let scope = project.func_scope(func);
        let mut problems = Vec::new();
        let mut exits_with_it = false;
        let mut returns = 0;
        let site = |range: TextRange| Site {
            file: frame.file,
            range,
        };
        walk_steps(&scope.flow, &mut |step| match step {
            // `status = status or x` keeps a failing status failing.
            Step::Bind { name, value, range }
                if name == status
                    && range.start >= after
                    && !mentions_name(value, status)
                    && !self.keeps_failing(frame, status, value) =>
            {
                problems.push(Problem {
                    site: site(*range),
                    message: format!(
                        "after the guard, `{status} = {}` can replace the failing status, so a mismatch no longer fails the run",
                        value.show()
                    ),
                });
            }
            Step::Call(i) if scope.calls[*i].range.start >= after => {
                let call = &scope.calls[*i];
                if self.is_exit(frame, &call.callee)
                    && call.args.first().is_some_and(|a| mentions_name(a, status))
                {
                    exits_with_it = true;
                    self.exits.borrow_mut().push(site(call.range));
                }
            }
            Step::Return(range, value) if range.start >= after => {
                returns += 1;
                let passes = value
                    .as_ref()
                    .is_some_and(|v| mentions_name(v, status) || self.failing(frame, v));
                if !passes {
                    problems.push(Problem {
                        site: site(*range),
                        message: format!(
                            "after the guard this returns `{}`, not `{status}`: a mismatch does not reach the exit status",
                            value.as_ref().map_or_else(|| "None".into(), Expr::show)
                        ),
                    });
                }
            }
            _ => {}
        });
        if exits_with_it {
            return problems;
        }
        if returns == 0 {
            problems.push(Problem {
                site: self.analysis.definition_site(func),
                message: format!(
                    "`{status}` never reaches the process exit: `{}` neither exits with it nor returns it",
                    self.analysis.name(func)
                ),
            });
            return problems;
        }
        let guard_site = self.analysis.definition_site(func);
        problems.extend(self.result_reaches_exit(func, 1, guard_site, depth + 1));
        problems
    }

    /// `func` returning `failed` on a mismatch fails the run through one of its callers.
    fn result_reaches_exit(
        &self,
        func: FuncId,
        failed: i64,
        site: Site,
        depth: usize,
    ) -> Vec<Problem> {
        let missing = || {
            vec![Problem {
                site,
                message: format!(
                    "`{}`'s status never reaches the process exit (`sys.exit({}())` or an equivalent is missing), so a failed guard exits 0",
                    self.analysis.name(func),
                    self.analysis.short_name(func)
                ),
            }]
        };
        if depth > MAX_EXIT_DEPTH {
            return missing();
        }
        let callers: BTreeSet<FuncId> = self
            .analysis
            .graph
            .edges
            .iter()
            .filter(|e| self.analysis.graph.node_func[e.to] == func)
            .map(|e| self.analysis.graph.node_func[e.from])
            .collect();
        let mut best: Option<Vec<Problem>> = None;
        for caller in callers {
            let info = &self.analysis.project.funcs[caller];
            let frame = Frame::new(info.file, info.scope);
            for (problems, exits) in self.caller_passes_on(caller, &frame, func, failed, depth) {
                if problems.is_empty() {
                    self.exits.borrow_mut().extend(exits);
                    return problems;
                }
                best.get_or_insert(problems);
            }
        }
        best.unwrap_or_else(missing)
    }

    /// Each way `caller` uses the result of calling `func` (which is `failed` on a
    /// mismatch), and what is wrong with it.
    fn caller_passes_on(
        &self,
        caller: FuncId,
        frame: &Frame,
        func: FuncId,
        failed: i64,
        depth: usize,
    ) -> Vec<(Vec<Problem>, Vec<Site>)> {
        let scope = self.analysis.project.func_scope(caller);
        let calls_func = |expr: &Expr| self.calls(frame, expr, func);
        let mut uses = Vec::new();
        walk_steps(&scope.flow, &mut |step| match step {
            // `if not budget_ok(...): status = 1`: the branch the failing verdict takes.
            Step::If {
                branches,
                exhaustive,
                condition: Some(condition),
                ..
            } => {
                let (negated, test) = verdict_test(condition);
                if !calls_func(test) {
                    return;
                }
                let taken = if (failed != 0) != negated {
                    branches.first()
                } else if *exhaustive {
                    branches.get(1)
                } else {
                    None
                };
                let site = self.analysis.definition_site(caller);
                uses.push(self.traced(|| match taken.and_then(|b| self.fails(frame, b)) {
                    None => vec![Problem {
                        site,
                        message: format!(
                            "`{}` acts on the guard's verdict from `{}` without failing the run",
                            self.analysis.name(caller),
                            self.analysis.name(func)
                        ),
                    }],
                    Some(Failure::Ends) => Vec::new(),
                    Some(Failure::Sets(status, after)) => {
                        self.status_reaches_exit(caller, frame, &status, after, depth + 1)
                    }
                    Some(Failure::Returns(value)) => {
                        self.result_reaches_exit(caller, value, site, depth + 1)
                    }
                }));
            }
            // A verdict of 0 (`False`) is no failing status: only non-zero ones pass on.
            _ if failed == 0 => {}
            Step::Call(i) => {
                let call = &scope.calls[*i];
                if self.is_exit(frame, &call.callee) && call.args.first().is_some_and(&calls_func) {
                    let exit = Site {
                        file: frame.file,
                        range: call.range,
                    };
                    uses.push((Vec::new(), vec![exit]));
                }
            }
            Step::Bind { name, value, range } if calls_func(value) => uses.push(
                self.traced(|| self.status_reaches_exit(caller, frame, name, range.end, depth)),
            ),
            Step::Return(_, Some(value)) if calls_func(value) => {
                let site = self.analysis.definition_site(caller);
                uses.push(self.traced(|| self.result_reaches_exit(caller, failed, site, depth + 1)))
            }
            _ => {}
        });
        uses
    }

    /// Runs one way of following the failure, and hands back the exits it found instead of
    /// keeping them: the caller keeps them only if that way fails the run.
    fn traced(&self, follow: impl FnOnce() -> Vec<Problem>) -> (Vec<Problem>, Vec<Site>) {
        let mark = self.exits.borrow().len();
        let problems = follow();
        let exits = self.exits.borrow_mut().split_off(mark);
        (problems, exits)
    }

    /// Whether `expr` is (or is one of the alternatives of) a call of `func`.
    fn calls(&self, frame: &Frame, expr: &Expr, func: FuncId) -> bool {
        match expr {
            Expr::Call(callee, _) => self
                .analysis
                .evaluator
                .call_targets(frame.file, frame.scope, callee)
                .iter()
                .any(|t| matches!(t, Target::Func { func: f, .. } if *f == func)),
            Expr::Union(items) => items.iter().any(|e| self.calls(frame, e, func)),
            // `status | check(...)`: a non-zero result keeps the status non-zero.
            Expr::BinOp(op, a, b) if op == "|" => {
                self.calls(frame, a, func) || self.calls(frame, b, func)
            }
            _ => false,
        }
    }

    /// What the policy's names hold in the entry, to say why no comparison qualified.
    fn hint(&self, func: FuncId, actual: &str, expected: &str) -> String {
        let info = &self.analysis.project.funcs[func];
        let frame = Frame::new(info.file, info.scope);
        let mut said = Vec::new();
        for name in [actual, expected] {
            if self
                .analysis
                .project
                .bindings_of(info.file, info.scope, name)
                .is_empty()
            {
                continue;
            }
            let values = self.meaning.eval(&frame, &Expr::Name(name.to_string()));
            said.push(format!("`{name}` is {}", show_set(&values)));
        }
        if said.is_empty() {
            String::new()
        } else {
            format!(" ({})", said.join("; "))
        }
    }
}

/// How a condition tests a verdict: `v`, `not v`, `v != 0` and `v == 0` (`true` when the
/// branch runs on a falsy verdict).
fn verdict_test(condition: &Expr) -> (bool, &Expr) {
    match condition {
        Expr::Not(inner) => {
            let (negated, test) = verdict_test(inner);
            (!negated, test)
        }
        Expr::Compare(op, value, zero) if **zero == Expr::Int(0) => match op.as_str() {
            "!=" | ">" | "is not" => (false, value),
            "==" | "is" => (true, value),
            _ => (false, condition),
        },
        test => (false, test),
    }
}

/// `count - expected != 0` compares `count` with `expected`. A difference that can never be
/// zero (`-1 - (1 + N_cold_deps)`, from a "file missing" sentinel) stands for that sentinel.
fn unfold_difference(a: Vec<Abs>, b: Vec<Abs>) -> (Vec<Abs>, Vec<Abs>) {
    let diffs = match (a.as_slice(), b.as_slice()) {
        ([Abs::Num(0, 0)], _) => &b,
        (_, [Abs::Num(0, 0)]) => &a,
        _ => return (a, b),
    };
    let mut left = Vec::new();
    let mut right = Vec::new();
    for value in diffs {
        match value {
            Abs::Diff(x, y) => {
                left.push(x.as_ref().clone());
                right.push(y.as_ref().clone());
            }
            Abs::Num(c, n) if *c < 0 && *n <= 0 => left.push(Abs::Num(-1, 0)),
            _ => return (a, b),
        }
    }
    right.sort();
    right.dedup();
    left.sort();
    left.dedup();
    (left, right)
}

/// `status`, `status or x`, `status | x`: the expression passes a failing status on.
fn mentions_name(expr: &Expr, name: &str) -> bool {
    match expr {
        Expr::Name(n) => n == name,
        Expr::Union(items) => items.iter().any(|e| mentions_name(e, name)),
        Expr::BinOp(op, a, b) if op == "|" => mentions_name(a, name) || mentions_name(b, name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    //! The guard questions on small harnesses: each main is one way of writing (or breaking)
    //! the DG4.1 guard, judged with the embedded cc-ci policy.

    use super::inspect;
    use crate::checks::Analysis;
    use crate::checks::testing::{embedded_policy, small_harness};

    /// A run_recipe_ci.py whose `main` reads the count with `count` and checks it with
    /// `guard`, and whose module ends with `tail`.
    fn entry(count: &str, guard: &str, tail: &str) -> String {
        format!(
            r#"
import os
import sys
from harness.lifecycle import deploy_app
from harness import deps, generic

def main():
    status = 0
    os.environ["CCCI_DEPLOY_COUNT_FILE"] = "/tmp/count"
    cold = deps.deploy_declared_deps([])
    deploy_app("app")
    generic.perform_backup("app")
{count}
    expected = 1 + len(cold)
{guard}
    return status

{tail}
"#
        )
    }

    const GUARD: &str = "    if count != expected:\n        status = 1";
    const EXIT: &str = "if __name__ == \"__main__\":\n    sys.exit(main())";
    const READ: &str =
        "    count = len(open(os.environ[\"CCCI_DEPLOY_COUNT_FILE\"]).read().splitlines())";

    fn problems(entry_source: &str, extra: &[(&str, &str)]) -> Vec<String> {
        let project = small_harness(entry_source, extra);
        let policy = embedded_policy();
        let analysis = Analysis::new(&project, &policy);
        let entry = analysis.entry[0];
        let guard = inspect(&analysis, entry).expect("the policy has a guard");
        guard.problems.into_iter().map(|p| p.message).collect()
    }

    fn holds(count: &str, guard: &str, tail: &str) {
        let found = problems(&entry(count, guard, tail), &[]);
        assert!(
            found.is_empty(),
            "expected the guard to hold with\n{count}\n{guard}\n{tail}\ngot {found:?}"
        );
    }

    fn broken(count: &str, guard: &str, tail: &str, says: &str) {
        let found = problems(&entry(count, guard, tail), &[]);
        assert!(
            found.iter().any(|m| m.contains(says)),
            "expected a problem saying {says:?}, got {found:?}"
        );
    }

    #[test]
    fn the_plain_guard_holds() {
        holds(READ, GUARD, EXIT);
    }

    #[test]
    fn the_count_read_any_way_is_the_same_count() {
        for count in [
            "    with open(os.environ[\"CCCI_DEPLOY_COUNT_FILE\"]) as fh:\n        count = sum(1 for line in fh if line.strip())",
            "    count = len(open(os.getenv(\"CCCI_DEPLOY_COUNT_FILE\")).readlines())",
            "    path = os.environ[\"CCCI_DEPLOY_COUNT_FILE\"]\n    count = open(path).read().count(\"\\n\")",
        ] {
            holds(count, GUARD, EXIT);
        }
    }

    #[test]
    fn a_count_that_is_not_the_counter_file_is_refused() {
        broken(
            "    count = len(\"CCCI_DEPLOY_COUNT_FILE\")",
            GUARD,
            EXIT,
            "the constant 22",
        );
        broken(
            "    count = len(open(os.environ[\"OTHER_FILE\"]).readlines())",
            GUARD,
            EXIT,
            "not the number of lines of $CCCI_DEPLOY_COUNT_FILE",
        );
        broken(
            "    count = 1 + len(cold)",
            GUARD,
            EXIT,
            "the deploy count it compares",
        );
    }

    #[test]
    fn the_comparison_may_be_spelled_many_ways() {
        for guard in [
            "    mismatch = count != expected\n    if mismatch:\n        status = 1",
            "    if count != 1 + len(cold):\n        status = 1",
            "    if not count == expected:\n        status = 1",
            "    if count == expected:\n        pass\n    else:\n        status = 1",
            "    if count != expected:\n        status = status or 1",
            "    if count != expected:\n        raise SystemExit(1)",
        ] {
            holds(READ, guard, EXIT);
        }
    }

    #[test]
    fn a_loose_or_toothless_comparison_is_refused() {
        broken(
            READ,
            "    if count > expected:\n        status = 1",
            EXIT,
            "compares with `>`",
        );
        broken(
            READ,
            "    if count != expected:\n        print(\"mismatch\")",
            EXIT,
            "does not fail the run",
        );
        broken(
            READ,
            "    if count == expected:\n        status = 1",
            EXIT,
            "mismatch branch is missing",
        );
        broken(
            READ,
            "    if count != expected:\n        status = 1\n    status = 0",
            EXIT,
            "can replace the failing status",
        );
    }

    #[test]
    fn the_expected_count_must_be_the_budget() {
        let two = "    want = 2 + len(cold)\n    if count != want:\n        status = 1";
        broken(READ, two, EXIT, "2 base deploy(s)");
        let declared = "    if count != 1 + len([1, 2]):\n        status = 1";
        broken(READ, declared, EXIT, "it expects");
    }

    #[test]
    fn the_status_must_reach_the_process_exit() {
        for tail in [
            "if __name__ == \"__main__\":\n    rc = main()\n    sys.exit(rc)",
            "if __name__ == \"__main__\":\n    raise SystemExit(main())",
        ] {
            holds(READ, GUARD, tail);
        }
        broken(
            READ,
            GUARD,
            "if __name__ == \"__main__\":\n    main()",
            "never reaches the process exit",
        );
        broken(
            READ,
            GUARD,
            "if __name__ == \"__main__\":\n    rc = main()\n    sys.exit(0)",
            "never reaches the process exit",
        );
    }

    #[test]
    fn records_and_their_properties_carry_the_cold_deps() {
        let budget = r#"
from dataclasses import dataclass
from typing import NamedTuple

@dataclass(frozen=True)
class Budget:
    cold: tuple

    @property
    def expected(self):
        return 1 + len(self.cold)

class Pair(NamedTuple):
    count: int
    cold: list
"#;
        let source = entry(
            READ,
            "    from harness.budget import Budget, Pair\n    pair = Pair(count, cold)\n    seen, deps_cold = pair\n    if seen != Budget(tuple(deps_cold)).expected:\n        status = 1",
            EXIT,
        );
        let found = problems(&source, &[("harness.budget", budget)]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_value_object_built_by_a_classmethod_compares_in_a_property() {
        let budget = r#"
from dataclasses import dataclass

@dataclass(frozen=True)
class DeployBudget:
    count: int
    cold_deps: tuple

    @classmethod
    def measure(cls, count, cold_deps):
        return cls(count=count, cold_deps=tuple(cold_deps))

    @property
    def expected(self):
        return 1 + len(self.cold_deps)

    @property
    def within(self):
        return self.count == self.expected
"#;
        let source = entry(
            READ,
            "    from harness.budget import DeployBudget\n    budget = DeployBudget.measure(count, cold)\n    if not budget.within:\n        status = 1",
            EXIT,
        );
        let found = problems(&source, &[("harness.budget", budget)]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn the_guard_may_live_in_a_helper_in_another_module() {
        let helper = r#"
import os

def read_count():
    with open(os.environ["CCCI_DEPLOY_COUNT_FILE"]) as fh:
        return len(fh.read().splitlines())

def budget_ok(count, cold):
    if count != 1 + cold:
        return False
    return True
"#;
        let source = entry(
            "    from harness.budget import read_count, budget_ok\n    count = read_count()",
            "    if not budget_ok(count, len(cold)):\n        status = 1",
            EXIT,
        );
        let found = problems(&source, &[("harness.budget", helper)]);
        assert!(found.is_empty(), "{found:?}");
        let ignored = entry(
            "    from harness.budget import read_count, budget_ok\n    count = read_count()",
            "    budget_ok(count, len(cold))",
            EXIT,
        );
        let found = problems(&ignored, &[("harness.budget", helper)]);
        assert!(
            found
                .iter()
                .any(|m| m.contains("never reaches the process exit")),
            "{found:?}"
        );
    }
}
