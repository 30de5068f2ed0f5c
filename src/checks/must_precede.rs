//! "Must precede" analysis over a function's flow skeleton: on every path from the start of
//! the function to a call, has a detaching action (e.g. `os.environ.pop(KEY)`) run, and not
//! been undone since?
//!
//! States are `Option<bool>`: `None` for an unreachable point (after `return`/`raise`),
//! `Some(true)` for "detached on every path". Joining paths takes the worst case.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::facts::{Block, Expr, Step};
use crate::project::Target;
use crate::project::{Evaluator, FileIdx, FuncId, Project, Val};

/// What must precede: a call to `after` (dotted; library or project function), with `key`
/// as its first argument when given. `del X[key]` counts when `after` is `X.pop`.
pub struct Requirement<'a> {
    pub after: &'a str,
    pub key: Option<&'a str>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Effect {
    Detach,
    Restore,
    None,
}

pub struct MustPrecede<'a, 'p> {
    project: &'p Project,
    evaluator: &'a Evaluator<'p>,
    requirement: Requirement<'a>,
    summaries: RefCell<HashMap<FuncId, (bool, bool)>>,
}

type State = Option<bool>;

fn join(a: State, b: State) -> State {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => Some(x && y),
    }
}

#[derive(Default)]
struct Walk {
    /// Worst state seen at each recorded call index.
    at_calls: HashMap<usize, State>,
    returns: Vec<State>,
    breaks: Vec<State>,
    continues: Vec<State>,
    restores: bool,
}

impl<'a, 'p> MustPrecede<'a, 'p> {
    pub fn new(
        project: &'p Project,
        evaluator: &'a Evaluator<'p>,
        requirement: Requirement<'a>,
    ) -> Self {
        MustPrecede {
            project,
            evaluator,
            requirement,
            summaries: RefCell::new(HashMap::new()),
        }
    }

    /// For each call index of `func`'s scope, whether the requirement held on every path to
    /// it. Calls absent from the result were never reached by the walk (treat as unproven).
    pub fn states_at_calls(&self, func: FuncId) -> HashMap<usize, bool> {
        let mut walk = Walk::default();
        let scope = self.project.func_scope(func);
        self.block(func, &scope.flow, Some(false), &mut walk);
        walk.at_calls
            .into_iter()
            .map(|(i, s)| (i, s.unwrap_or(true)))
            .collect()
    }

    /// The first call in `func` that detaches, for the report.
    pub fn first_detach(&self, func: FuncId) -> Option<crate::project::Site> {
        let info = &self.project.funcs[func];
        let scope = self.project.scope(info.file, info.scope);
        (0..scope.calls.len())
            .find(|&i| self.call_effect(info.file, info.scope, i) == Effect::Detach)
            .map(|i| crate::project::Site {
                file: info.file,
                range: scope.calls[i].range,
            })
    }

    /// (detaches on every normal exit, may restore) for a project function.
    fn summary(&self, func: FuncId) -> (bool, bool) {
        if let Some(summary) = self.summaries.borrow().get(&func) {
            return *summary;
        }
        self.summaries.borrow_mut().insert(func, (false, true));
        let mut walk = Walk::default();
        let scope = self.project.func_scope(func);
        let end = self.block(func, &scope.flow, Some(false), &mut walk);
        let exit = walk.returns.iter().fold(end, |acc, s| join(acc, *s));
        let summary = (exit == Some(true) && !scope.flow_truncated, walk.restores);
        self.summaries.borrow_mut().insert(func, summary);
        summary
    }

    fn block(&self, func: FuncId, block: &Block, mut state: State, walk: &mut Walk) -> State {
        for step in block {
            state = self.step(func, step, state, walk);
        }
        state
    }

    fn step(&self, func: FuncId, step: &Step, state: State, walk: &mut Walk) -> State {
        let info = &self.project.funcs[func];
        let (file, scope) = (info.file, info.scope);
        match step {
            Step::Call(index) => {
                if state.is_some() {
                    let seen = walk.at_calls.entry(*index).or_insert(state);
                    *seen = join(*seen, state);
                }
                match self.call_effect(file, scope, *index) {
                    Effect::Detach => state.map(|_| true),
                    Effect::Restore => {
                        walk.restores = true;
                        state.map(|_| false)
                    }
                    Effect::None => state,
                }
            }
            Step::Delete { target, key, .. } => {
                if self.is_guarded_mapping(file, scope, target)
                    && self.key_matches(file, scope, key)
                {
                    state.map(|_| true)
                } else {
                    state
                }
            }
            Step::Store { target, key, .. } => {
                if self.is_guarded_mapping(file, scope, target)
                    && self.key_may_match(file, scope, key)
                {
                    walk.restores = true;
                    state.map(|_| false)
                } else {
                    state
                }
            }
            Step::If {
                branches,
                exhaustive,
                membership,
                ..
            } => {
                // `if KEY in os.environ:` — on the path where it is false, KEY is absent,
                // which is as good as popped.
                let absent = state.map(|_| true);
                let (then_entry, else_entry) = match membership {
                    Some(m)
                        if self.is_guarded_mapping(file, scope, &m.container)
                            && self.key_matches(file, scope, &m.key) =>
                    {
                        if m.negated {
                            (absent, state)
                        } else {
                            (state, absent)
                        }
                    }
                    _ => (state, state),
                };
                let mut after = if *exhaustive { None } else { else_entry };
                for (i, branch) in branches.iter().enumerate() {
                    let entry = if i == 0 { then_entry } else { else_entry };
                    after = join(after, self.block(func, branch, entry, walk));
                }
                after
            }
            Step::Loop {
                body,
                orelse,
                infinite,
                ..
            } => {
                let mut inner = Walk::default();
                let first = self.block(func, body, state, &mut inner);
                let again = inner
                    .continues
                    .iter()
                    .fold(join(state, first), |a, s| join(a, *s));
                let second = self.block(func, body, again, &mut inner);
                let normal_exit = if *infinite {
                    None
                } else {
                    join(join(state, first), second)
                };
                let normal_exit = self.block(func, orelse, normal_exit, &mut inner);
                let exit = inner.breaks.iter().fold(normal_exit, |a, s| join(a, *s));
                for (index, seen) in inner.at_calls {
                    let slot = walk.at_calls.entry(index).or_insert(seen);
                    *slot = join(*slot, seen);
                }
                walk.returns.extend(inner.returns);
                walk.restores |= inner.restores;
                exit
            }
            Step::Try {
                body,
                handlers,
                orelse,
                finally,
            } => {
                let returns_before = walk.returns.len();
                let end_body = self.block(func, body, state, walk);
                let handler_entry = join(state, end_body);
                let mut after = self.block(func, orelse, end_body, walk);
                for handler in handlers {
                    after = join(after, self.block(func, handler, handler_entry, walk));
                }
                // Returns inside the try still run the finally block.
                let pending: Vec<State> = walk.returns.drain(returns_before..).collect();
                for returned in pending {
                    let through = self.block(func, finally, returned, walk);
                    walk.returns.push(through);
                }
                self.block(func, finally, after, walk)
            }
            Step::Bind { .. } => state,
            Step::Return(..) => {
                walk.returns.push(state);
                None
            }
            Step::Raise(_) => None,
            Step::Break => {
                walk.breaks.push(state);
                None
            }
            Step::Continue => {
                walk.continues.push(state);
                None
            }
            Step::Opaque(_) => {
                walk.restores = true;
                state.map(|_| false)
            }
        }
    }

    fn call_effect(&self, file: FileIdx, scope: usize, index: usize) -> Effect {
        let call = &self.project.scope(file, scope).calls[index];
        let targets = self.evaluator.call_targets(file, scope, &call.callee);
        let (prefix, method) = self
            .requirement
            .after
            .rsplit_once('.')
            .unwrap_or(("", self.requirement.after));
        let mut detach = !targets.is_empty();
        let mut restore = false;
        for target in &targets {
            match target {
                Target::External(name) if name == self.requirement.after => {
                    detach &= call
                        .args
                        .first()
                        .is_some_and(|a| self.key_matches(file, scope, a));
                }
                Target::External(name) => {
                    detach = false;
                    if let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.'))
                        && rest != method
                        && matches!(
                            rest,
                            "update" | "setdefault" | "__setitem__" | "clear" | "copy"
                        )
                    {
                        restore |= rest != "copy" && rest != "clear";
                    }
                }
                Target::Func { func, .. } => {
                    let named = crate::policy::Pattern::parse(self.requirement.after)
                        .is_ok_and(|p| p.matches(&self.project.funcs[*func].qualname));
                    let key_ok = self.requirement.key.is_none()
                        || call
                            .args
                            .first()
                            .is_some_and(|a| self.key_matches(file, scope, a));
                    let (detaches, restores) = self.summary(*func);
                    detach &= (named && key_ok) || detaches;
                    restore |= restores;
                }
                Target::Closure(_) | Target::Unknown(_) | Target::Dynamic(_) => detach = false,
            }
        }
        if restore {
            Effect::Restore
        } else if detach && call.certain {
            Effect::Detach
        } else {
            Effect::None
        }
    }

    /// Whether an expression is the mapping `after` pops from (`os.environ`).
    fn is_guarded_mapping(&self, file: FileIdx, scope: usize, target: &Expr) -> bool {
        let Some((prefix, method)) = self.requirement.after.rsplit_once('.') else {
            return false;
        };
        method == "pop"
            && self
                .evaluator
                .eval(file, scope, target)
                .iter()
                .any(|v| matches!(v, Val::External(p) if p == prefix))
    }

    fn key_matches(&self, file: FileIdx, scope: usize, key: &Expr) -> bool {
        let Some(wanted) = self.requirement.key else {
            return true;
        };
        let values = self.evaluator.eval(file, scope, key);
        !values.is_empty()
            && values
                .iter()
                .all(|v| matches!(v, Val::Str(s) if s == wanted))
    }

    fn key_may_match(&self, file: FileIdx, scope: usize, key: &Expr) -> bool {
        let Some(wanted) = self.requirement.key else {
            return true;
        };
        let values = self.evaluator.eval(file, scope, key);
        values.is_empty()
            || values
                .iter()
                .any(|v| !matches!(v, Val::Str(s) if s != wanted))
    }
}
