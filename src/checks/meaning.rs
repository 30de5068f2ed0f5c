//! What a value in the harness can be, as far as the deploy budget and the DG4.1 guard care.
//!
//! A small abstract interpreter over the per-file facts: integers of the form
//! `c + n × N_cold_deps`, the value of an environment variable, a file and its text, lines
//! and line count, the cold-deps collection, and comparisons between them. Names are followed
//! through every binding, helpers are entered with their arguments, and anything else is
//! `Unknown`: a question whose answer depends on an unknown value is not proven. Spelling is
//! never a condition: `len(fh.read().splitlines())`, `sum(1 for _ in open(p))` and a helper in
//! another module that returns either are the same `LineCount(Env(K))`.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::rc::Rc;

use super::Analysis;
use super::record::{FieldDefault, Owner, field_default};
use crate::facts::{Expr, ScopeIdx, ScopeKind, Step, TextRange};
use crate::project::{ClassId, FileIdx, FuncId, Target, Val};

/// Library functions whose result names the same file as their argument.
const PATH_KEEPING: &[&str] = &[
    "str",
    "os.fspath",
    "os.path.abspath",
    "os.path.realpath",
    "os.path.normpath",
    "os.path.expanduser",
    "pathlib.Path",
    "pathlib.PurePath",
    "pathlib.PosixPath",
];

/// More values than this for one expression are folded into `Unknown`.
const MAX_VALUES: usize = 12;
/// Helpers entered one inside the other.
const MAX_CALL_DEPTH: usize = 8;
/// Expressions evaluated for one question, however they nest: a bound on the work.
const FUEL: u32 = 200_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Abs {
    /// `c + n × N_cold_deps`; a plain integer has `n == 0`.
    Num(i64, i64),
    Str(String),
    /// The value of `os.environ[K]` (a path, for the counter's file).
    Env(String),
    /// A path object or open handle on the file whose path is the inner value.
    File(Box<Abs>),
    /// The text of that file.
    Text(Box<Abs>),
    /// Its lines, as a list or an iterator.
    Lines(Box<Abs>),
    /// The number of its lines.
    LineCount(Box<Abs>),
    /// A collection with exactly one element per cold dep deployed.
    Cold,
    /// An empty list, tuple or dict.
    Empty,
    /// A tuple (or list display) with these items, each a single value or `Unknown`.
    Tuple(Vec<Abs>),
    /// An instance of a `NamedTuple` or dataclass, with what each field may hold, in order.
    Object(ClassId, Vec<Vec<Abs>>),
    /// `a - b` of values that are not both numbers (`count - expected`).
    Diff(Box<Abs>, Box<Abs>),
    /// `a op b`, each side the values it may have.
    Cmp(String, Vec<Abs>, Vec<Abs>),
    Not(Box<Abs>),
    Unknown,
}

impl Abs {
    fn int(i: i64) -> Abs {
        Abs::Num(i, 0)
    }

    /// A path-like value's file: `Path(p)`, `open(p)` and `str(p)` name the same file.
    fn path(&self) -> Option<Abs> {
        match self {
            Abs::Env(_) | Abs::Str(_) => Some(self.clone()),
            Abs::File(inner) => Some(inner.as_ref().clone()),
            _ => None,
        }
    }

    /// The deploy count read from the file named by `$env`.
    pub fn is_count_of(&self, env: &str) -> bool {
        matches!(self, Abs::LineCount(path) if matches!(path.as_ref(), Abs::Env(k) if k == env))
    }
}

impl fmt::Display for Abs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Abs::Num(c, 0) => write!(f, "the constant {c}"),
            Abs::Num(c, n) => write!(f, "{}", formula(*c, *n)),
            Abs::Str(s) => write!(f, "the string {s:?}"),
            Abs::Env(k) => write!(f, "${k}"),
            Abs::File(p) => write!(f, "the file {p}"),
            Abs::Text(p) => write!(f, "the text of {p}"),
            Abs::Lines(p) => write!(f, "the lines of {p}"),
            Abs::LineCount(p) => match p.as_ref() {
                Abs::Env(k) => write!(f, "the number of lines of ${k}"),
                other => write!(f, "the number of lines of {other}"),
            },
            Abs::Cold => write!(f, "the cold deps deployed"),
            Abs::Empty => write!(f, "an empty collection"),
            Abs::Tuple(items) => write!(f, "a tuple of {}", items.len()),
            Abs::Object(..) => write!(f, "a record"),
            Abs::Diff(a, b) => write!(f, "({a} - {b})"),
            Abs::Cmp(op, a, b) => write!(f, "({} {op} {})", show_set(a), show_set(b)),
            Abs::Not(inner) => write!(f, "not {inner}"),
            Abs::Unknown => write!(f, "a value deployguard cannot follow"),
        }
    }
}

/// `1 + N_cold_deps`, as the budget prints it.
pub fn formula(c: i64, n: i64) -> String {
    match (c, n) {
        (c, 0) => c.to_string(),
        (0, 1) => "N_cold_deps".into(),
        (0, n) => format!("{n} × N_cold_deps"),
        (c, 1) => format!("{c} + N_cold_deps"),
        (c, n) => format!("{c} + {n} × N_cold_deps"),
    }
}

pub fn show_set(values: &[Abs]) -> String {
    match values {
        [] => "nothing".into(),
        [one] => one.to_string(),
        many => {
            let shown: Vec<String> = many.iter().map(Abs::to_string).collect();
            format!("one of {{{}}}", shown.join(", "))
        }
    }
}

/// A scope's subscript stores (target, key, value) and re-raising handlers.
struct Shape<'p> {
    stores: Vec<(&'p Expr, &'p Expr, &'p Expr)>,
    failing: Vec<TextRange>,
}

/// Attribute stores of one name: (file, scope, index into the scope's `attr_stores`).
type Stores = Rc<Vec<(FileIdx, ScopeIdx, usize)>>;

/// What a parameter was given: its values, or the argument and the frame to evaluate it in.
pub struct Given {
    values: RefCell<Option<Vec<Abs>>>,
    later: Option<(Frame, Expr)>,
}

impl Given {
    pub fn now(values: Vec<Abs>) -> Rc<Given> {
        Rc::new(Given {
            values: RefCell::new(Some(values)),
            later: None,
        })
    }

    fn later(frame: &Frame, expr: &Expr) -> Rc<Given> {
        Rc::new(Given {
            values: RefCell::new(None),
            later: Some((frame.clone(), expr.clone())),
        })
    }
}

/// Where an expression is evaluated: a scope, and what its parameters were given.
#[derive(Clone)]
pub struct Frame {
    pub file: FileIdx,
    pub scope: ScopeIdx,
    pub args: Option<Rc<HashMap<String, Rc<Given>>>>,
    pub depth: usize,
}

impl Frame {
    pub fn new(file: FileIdx, scope: ScopeIdx) -> Frame {
        Frame {
            file,
            scope,
            args: None,
            depth: 0,
        }
    }
}

pub struct Meaning<'a, 'p> {
    analysis: &'a Analysis<'p>,
    /// Functions whose result is the collection of cold deps deployed (the deps code, as the
    /// budget proves it), and the names they return it under.
    cold_sources: HashMap<FuncId, Option<Vec<String>>>,
    /// Attributes that hold the cold deps deployed.
    cold_records: BTreeSet<(Owner, String)>,
    active: RefCell<BTreeSet<(FileIdx, ScopeIdx, String, usize)>>,
    /// Attribute stores by attribute name, found on first use.
    stores: RefCell<HashMap<String, Stores>>,
    shapes: RefCell<HashMap<(FileIdx, ScopeIdx), Rc<Shape<'p>>>>,
    fuel: Cell<u32>,
}

impl<'a, 'p> Meaning<'a, 'p> {
    pub fn new(
        analysis: &'a Analysis<'p>,
        cold_sources: HashMap<FuncId, Option<Vec<String>>>,
        cold_records: BTreeSet<(Owner, String)>,
    ) -> Self {
        Meaning {
            analysis,
            cold_sources,
            cold_records,
            active: RefCell::new(BTreeSet::new()),
            stores: RefCell::new(HashMap::new()),
            shapes: RefCell::new(HashMap::new()),
            fuel: Cell::new(FUEL),
        }
    }

    /// Whether the work budget ran out (answers given since are `Unknown`).
    pub fn exhausted(&self) -> bool {
        self.fuel.get() == 0
    }

    pub fn eval(&self, frame: &Frame, expr: &Expr) -> Vec<Abs> {
        let left = self.fuel.get();
        if left == 0 {
            return vec![Abs::Unknown];
        }
        self.fuel.set(left - 1);
        let mut values = self.eval_inner(frame, expr);
        values.sort();
        values.dedup();
        if values.len() > MAX_VALUES || values.is_empty() {
            return vec![Abs::Unknown];
        }
        values
    }

    fn eval_inner(&self, frame: &Frame, expr: &Expr) -> Vec<Abs> {
        match expr {
            Expr::Int(i) => vec![Abs::int(*i)],
            Expr::Str(s) => vec![Abs::Str(s.clone())],
            Expr::Name(name) => self.name(frame, name),
            Expr::BinOp(op, a, b) => {
                let (a, b) = (self.eval(frame, a), self.eval(frame, b));
                pairs(&a, &b, |x, y| arithmetic(op, x, y))
            }
            Expr::Compare(op, a, b) => {
                vec![Abs::Cmp(
                    op.clone(),
                    self.eval(frame, a),
                    self.eval(frame, b),
                )]
            }
            Expr::Not(inner) => self
                .eval(frame, inner)
                .into_iter()
                .map(|v| match v {
                    Abs::Not(inner) => *inner,
                    v => Abs::Not(Box::new(v)),
                })
                .collect(),
            Expr::Union(items) => items.iter().flat_map(|i| self.eval(frame, i)).collect(),
            Expr::Subscript(object, key) if self.is_environ(frame, object) => self
                .eval(frame, key)
                .into_iter()
                .map(|k| match k {
                    Abs::Str(k) => Abs::Env(k),
                    _ => Abs::Unknown,
                })
                .collect(),
            Expr::Container(items) if items.is_empty() => vec![Abs::Empty],
            Expr::Container(items) if items.len() <= MAX_VALUES => vec![Abs::Tuple(
                items
                    .iter()
                    .map(|i| match self.eval(frame, i).as_slice() {
                        [one] => one.clone(),
                        _ => Abs::Unknown,
                    })
                    .collect(),
            )],
            // `pair[0]`, and `a, b = pair` (which the facts keep as `pair[0]`, `pair[1]`).
            Expr::Subscript(object, key) => {
                let index = match key.as_ref() {
                    Expr::Int(i) => usize::try_from(*i).ok(),
                    _ => None,
                };
                self.eval(frame, object)
                    .into_iter()
                    .flat_map(|v| match (v, index) {
                        (Abs::Tuple(items), Some(i)) => {
                            vec![items.get(i).cloned().unwrap_or(Abs::Unknown)]
                        }
                        (Abs::Object(_, items), Some(i)) => {
                            items.get(i).cloned().unwrap_or_else(|| vec![Abs::Unknown])
                        }
                        _ => vec![Abs::Unknown],
                    })
                    .collect()
            }
            Expr::Call(callee, args) => self.call(frame, callee, args),
            Expr::Attr(object, name) if self.is_cold_record(frame, object, name) => {
                vec![Abs::Cold]
            }
            Expr::Attr(object, name) => {
                if let Some(values) = self.module_or_instance_attribute(frame, object, name) {
                    return values;
                }
                self.eval(frame, object)
                    .iter()
                    .flat_map(|o| self.attribute(frame, o, name))
                    .collect()
            }
            Expr::Comprehension(_, over, filter) => {
                // One element per item: built from the cold deps it is as long as they are;
                // from a file's lines, skipping only blank ones, it has one per counted line.
                self.eval(frame, over)
                    .into_iter()
                    .map(|items| match (items, filter.as_deref()) {
                        (Abs::Cold, None) => Abs::Cold,
                        (Abs::Lines(p) | Abs::File(p), filter)
                            if filter.is_none_or(keeps_non_empty_lines) =>
                        {
                            Abs::Lines(p)
                        }
                        _ => Abs::Unknown,
                    })
                    .collect()
            }
            _ => vec![Abs::Unknown],
        }
    }

    fn is_environ(&self, frame: &Frame, object: &Expr) -> bool {
        let values = self
            .analysis
            .evaluator
            .eval(frame.file, frame.scope, object);
        !values.is_empty()
            && values
                .iter()
                .all(|v| matches!(v, Val::External(n) if n == "os.environ"))
    }

    /// Every value a name can hold where `frame` reads it.
    fn name(&self, frame: &Frame, name: &str) -> Vec<Abs> {
        if let Some(given) = frame.args.as_ref().and_then(|a| a.get(name)) {
            return self.given(given);
        }
        let project = self.analysis.project;
        let mut scope = frame.scope;
        loop {
            let facts = project.scope(frame.file, scope);
            let is_param = facts.params.iter().any(|p| p.name == name);
            let bound = !project.bindings_of(frame.file, scope, name).is_empty();
            if is_param && !bound {
                return vec![Abs::Unknown];
            }
            if bound {
                let here = Frame {
                    scope,
                    args: if scope == frame.scope {
                        frame.args.clone()
                    } else {
                        None
                    },
                    ..frame.clone()
                };
                if let Some(env) = self.stored_in_environ(&here, name) {
                    return vec![Abs::Env(env)];
                }
                if let Some(count) = self.counted_by_loop(&here, name) {
                    return vec![count];
                }
                let passed = self.passed_as_record(&here, name);
                let key = (frame.file, scope, name.to_string(), frame.depth);
                if !self.active.borrow_mut().insert(key.clone()) {
                    // `n = n + 1`: a name that feeds itself can be anything.
                    return vec![Abs::Unknown];
                }
                let failing = self.shape(frame.file, scope).failing.clone();
                let mut values: Vec<Abs> = project
                    .bindings_of(frame.file, scope, name)
                    .iter()
                    .map(|&i| &project.scope(frame.file, scope).bindings[i])
                    // A value set in an `except` that re-raises never reaches later code.
                    .filter(|b| {
                        !failing
                            .iter()
                            .any(|r| r.start <= b.range.start && b.range.end <= r.end)
                    })
                    .flat_map(|b| self.binding(&here, &b.value))
                    .collect();
                if is_param {
                    values.push(Abs::Unknown);
                }
                // Before the deps code runs, the list of cold deps it deployed is empty, and so
                // is the number of cold deploys.
                if values.contains(&Abs::Cold) {
                    values.retain(|v| *v != Abs::Empty);
                }
                if values.contains(&Abs::Num(0, 1)) {
                    values.retain(|v| *v != Abs::int(0));
                }
                // Handed to the deps code, which fills one of its fields with the record.
                for value in &mut values {
                    if let Abs::Object(class, items) = value {
                        let info = &project.classes[*class];
                        let fields = &project.scope(info.file, info.scope).fields;
                        for attr in &passed {
                            if let Some(i) = fields.iter().position(|f| f == attr)
                                && items[i] == [Abs::Empty]
                            {
                                items[i] = vec![Abs::Cold];
                            }
                        }
                    }
                }
                self.active.borrow_mut().remove(&key);
                return values;
            }
            if facts.kind == ScopeKind::Module {
                return vec![Abs::Unknown];
            }
            scope = match facts.parent {
                Some(parent) => parent,
                None => return vec![Abs::Unknown],
            };
            // Class bodies are not visible from their methods.
            while project.scope(frame.file, scope).kind == ScopeKind::Class {
                match project.scope(frame.file, scope).parent {
                    Some(parent) => scope = parent,
                    None => return vec![Abs::Unknown],
                }
            }
        }
    }

    /// One binding's value: imports are followed to the module that defines the name.
    fn binding(&self, frame: &Frame, value: &Expr) -> Vec<Abs> {
        match value {
            Expr::ImportFrom(module, imported) => {
                let absolute = self.analysis.evaluator.absolute_module(frame.file, module);
                match self.analysis.project.module_file(&absolute) {
                    Some(file) if frame.depth < MAX_CALL_DEPTH => self.name(
                        &Frame {
                            file,
                            scope: 0,
                            args: None,
                            depth: frame.depth + 1,
                        },
                        imported,
                    ),
                    _ => vec![Abs::Unknown],
                }
            }
            value => self.eval(frame, value),
        }
    }

    /// The record attributes a name (bound once here) is handed to: `provision(specs, deps)`
    /// where `provision` grows its parameter's `cold` once per deploy gives `["cold"]`.
    fn passed_as_record(&self, frame: &Frame, name: &str) -> Vec<String> {
        let project = self.analysis.project;
        let wanted: Vec<(FuncId, usize, &String)> = self
            .cold_records
            .iter()
            .filter_map(|(owner, attr)| match owner {
                Owner::Param(func, index) => Some((*func, *index, attr)),
                Owner::Class(_) => None,
            })
            .collect();
        if wanted.is_empty() || project.bindings_of(frame.file, frame.scope, name).len() != 1 {
            return Vec::new();
        }
        let mut attrs = Vec::new();
        for call in &project.scope(frame.file, frame.scope).calls {
            let Some(position) = call
                .args
                .iter()
                .position(|a| matches!(a, Expr::Name(n) if n == name))
            else {
                continue;
            };
            let targets =
                self.analysis
                    .evaluator
                    .call_targets(frame.file, frame.scope, &call.callee);
            for target in targets {
                if let Target::Func { func, offset, .. } = target {
                    for (f, index, attr) in &wanted {
                        if *f == func && *index == position + offset {
                            attrs.push((*attr).clone());
                        }
                    }
                }
            }
        }
        attrs
    }

    /// `n = 0; for x in items: n += 1`: `n` is the number of items, when the loop adds one on
    /// every iteration (no `break`, `continue`, `return` or `raise` in it) and nothing else
    /// changes `n`.
    fn counted_by_loop(&self, frame: &Frame, name: &str) -> Option<Abs> {
        let project = self.analysis.project;
        let facts = project.scope(frame.file, frame.scope);
        let one_more = Expr::BinOp(
            "+".into(),
            Box::new(Expr::Name(name.into())),
            Box::new(Expr::Int(1)),
        );
        let bindings = project.bindings_of(frame.file, frame.scope, name);
        let increments = bindings
            .iter()
            .filter(|&&i| facts.bindings[i].value == one_more)
            .count();
        let all_known = bindings.iter().all(|&i| {
            let value = &facts.bindings[i].value;
            *value == one_more || *value == Expr::Int(0)
        });
        if increments != 1 || !all_known || increments == bindings.len() {
            return None;
        }
        let mut found = None;
        walk_steps(&facts.flow, &mut |step| {
            let Step::Loop {
                over: Some(over),
                body,
                ..
            } = step
            else {
                return;
            };
            let counts_here = body
                .iter()
                .any(|s| matches!(s, Step::Bind { name: n, value, .. } if n == name && *value == one_more));
            let mut leaves = false;
            walk_steps(body, &mut |s| {
                leaves |= matches!(
                    s,
                    Step::Break | Step::Continue | Step::Return(..) | Step::Raise(_)
                );
            });
            if counts_here && !leaves {
                found = Some(over);
            }
        });
        let items = self.eval(frame, found?);
        match items.as_slice() {
            [Abs::File(p) | Abs::Lines(p)] => Some(Abs::LineCount(p.clone())),
            [Abs::Cold] => Some(Abs::Num(0, 1)),
            _ => None,
        }
    }

    /// `os.environ[K] = str(name)` with `name` bound once here: the name holds the object
    /// the environment variable was set to, so it names the same file.
    fn stored_in_environ(&self, frame: &Frame, name: &str) -> Option<String> {
        let project = self.analysis.project;
        if project.bindings_of(frame.file, frame.scope, name).len() != 1 {
            return None;
        }
        let shape = self.shape(frame.file, frame.scope);
        shape.stores.iter().find_map(|(target, key, value)| {
            if !self.same_object(frame, value, name) || !self.is_environ(frame, target) {
                return None;
            }
            match self.eval(frame, key).as_slice() {
                [Abs::Str(k)] => Some(k.clone()),
                _ => None,
            }
        })
    }

    /// What the interpreter needs of a scope's flow, walked once: its subscript stores and
    /// the `except` handlers that re-raise.
    fn shape(&self, file: FileIdx, scope: ScopeIdx) -> Rc<Shape<'p>> {
        if let Some(shape) = self.shapes.borrow().get(&(file, scope)) {
            return shape.clone();
        }
        let flow = &self.analysis.project.scope(file, scope).flow;
        let mut stores = Vec::new();
        walk_steps(flow, &mut |step| {
            if let Step::Store { target, key, value } = step {
                stores.push((target, key, value));
            }
        });
        let shape = Rc::new(Shape {
            stores,
            failing: failing_handlers(flow),
        });
        self.shapes
            .borrow_mut()
            .insert((file, scope), shape.clone());
        shape
    }

    /// `name`, `str(name)`, `os.fspath(name)` or `Path(name)`: the same file as `name` (the
    /// library's functions, by what the callee resolves to).
    fn same_object(&self, frame: &Frame, value: &Expr, name: &str) -> bool {
        match value {
            Expr::Name(n) => n == name,
            Expr::Call(callee, args) if args.len() == 1 => {
                let targets = self
                    .analysis
                    .evaluator
                    .call_targets(frame.file, frame.scope, callee);
                !targets.is_empty()
                    && targets.iter().all(|t| {
                        matches!(t, Target::External(n) if PATH_KEEPING
                            .contains(&n.trim_start_matches("<builtin>.")))
                    })
                    && self.same_object(frame, &args[0], name)
            }
            _ => false,
        }
    }

    fn call(&self, frame: &Frame, callee: &Expr, args: &[Expr]) -> Vec<Abs> {
        // Methods of the values this interpreter models (`text.splitlines()`).
        if let Expr::Attr(object, method) = callee {
            let receivers = self.eval(frame, object);
            if receivers.iter().all(|r| !matches!(r, Abs::Unknown)) {
                return receivers
                    .iter()
                    .map(|r| self.method(frame, r, method, args))
                    .collect();
            }
        }
        let targets = self
            .analysis
            .evaluator
            .call_targets(frame.file, frame.scope, callee);
        // A NamedTuple or dataclass (no `__init__` of its own, so no target) built from
        // values holds them as its fields.
        let builds = targets.is_empty()
            || targets.iter().any(|t| {
                matches!(
                    t,
                    Target::Func {
                        instantiates: true,
                        ..
                    }
                )
            });
        if builds && let Some(class) = record_class(self.analysis, frame.file, frame.scope, callee)
        {
            return vec![self.construct(frame, class, args)];
        }
        if targets.is_empty() {
            return vec![Abs::Unknown];
        }
        let mut values = Vec::new();
        for target in &targets {
            match target {
                Target::External(name) => values.extend(self.library(frame, name, args)),
                Target::Func {
                    func,
                    offset,
                    instantiates: false,
                } => values.extend(self.enter(frame, *func, *offset, args)),
                _ => values.push(Abs::Unknown),
            }
        }
        values
    }

    /// An instance of a record class: each field what the call gave it, or its default.
    fn construct(&self, frame: &Frame, class: ClassId, args: &[Expr]) -> Abs {
        let project = self.analysis.project;
        let info = &project.classes[class];
        let facts = project.scope(info.file, info.scope);
        let mut items: Vec<Option<Vec<Abs>>> = vec![None; facts.fields.len()];
        let mut position = 0;
        for arg in args {
            let (slot, value) = match arg {
                Expr::Keyword(name, value) => {
                    (facts.fields.iter().position(|f| f == name), value.as_ref())
                }
                Expr::Element(_) => return Abs::Unknown,
                value => {
                    position += 1;
                    (Some(position - 1), value)
                }
            };
            match slot.and_then(|i| items.get_mut(i)) {
                Some(item) => *item = Some(self.eval(frame, value)),
                None => return Abs::Unknown,
            }
        }
        let class_frame = Frame {
            file: info.file,
            scope: info.scope,
            args: None,
            depth: frame.depth + 1,
        };
        let items = items
            .into_iter()
            .zip(&facts.fields)
            .map(|(given, field)| {
                given.unwrap_or_else(|| {
                    let defaults = project.bindings_of(info.file, info.scope, field);
                    match defaults {
                        [i] => self.default(&class_frame, &facts.bindings[*i].value),
                        _ => vec![Abs::Unknown],
                    }
                })
            })
            .collect();
        Abs::Object(class, items)
    }

    /// A dataclass field's default: `field(default_factory=list)` is an empty list.
    fn default(&self, frame: &Frame, value: &Expr) -> Vec<Abs> {
        match field_default(self.analysis, frame.file, frame.scope, value) {
            FieldDefault::Empty => vec![Abs::Empty],
            FieldDefault::Value(value) => self.eval(frame, value),
            FieldDefault::Unknown => vec![Abs::Unknown],
        }
    }

    /// `module.NAME` (what the module binds) and `self.name` on an instance of a project
    /// class that is not a record (every value any code stores into `name` on such an
    /// instance, flow-insensitively).
    fn module_or_instance_attribute(
        &self,
        frame: &Frame,
        object: &Expr,
        name: &str,
    ) -> Option<Vec<Abs>> {
        if frame.depth >= MAX_CALL_DEPTH {
            return None;
        }
        let values = self
            .analysis
            .evaluator
            .eval(frame.file, frame.scope, object);
        let project = self.analysis.project;
        if let [Val::Module(file)] = values.iter().collect::<Vec<_>>().as_slice() {
            let module = Frame {
                file: *file,
                scope: 0,
                args: None,
                depth: frame.depth + 1,
            };
            return Some(self.name(&module, name));
        }
        let class = super::record::single_instance(self.analysis, frame.file, frame.scope, object)?;
        let info = &project.classes[class];
        if !project.scope(info.file, info.scope).fields.is_empty() {
            return None;
        }
        let mut stored = Vec::new();
        for &(file, scope, index) in self.stores_of(name).iter() {
            let store = &project.scope(file, scope).attr_stores[index];
            if super::record::single_instance(self.analysis, file, scope, &store.object)
                != Some(class)
            {
                continue;
            }
            let at = Frame {
                file,
                scope,
                args: None,
                depth: frame.depth + 1,
            };
            stored.extend(self.eval(&at, &store.value));
        }
        (!stored.is_empty()).then_some(stored)
    }

    /// Every `x.name = v` (or `x.name.append(v)`) in the project, found once per name.
    fn stores_of(&self, name: &str) -> Stores {
        if let Some(found) = self.stores.borrow().get(name) {
            return found.clone();
        }
        let mut found = Vec::new();
        for (file, source) in self.analysis.project.files.iter().enumerate() {
            for (scope, facts) in source.facts.scopes.iter().enumerate() {
                for (index, store) in facts.attr_stores.iter().enumerate() {
                    if store.attr == name {
                        found.push((file, scope, index));
                    }
                }
            }
        }
        let found = Rc::new(found);
        self.stores
            .borrow_mut()
            .insert(name.to_string(), found.clone());
        found
    }

    /// Whether any code stores into, or grows, an attribute called `name`.
    fn ever_changed(&self, name: &str) -> bool {
        !self.stores_of(name).is_empty()
    }

    /// `obj.name` where `obj` is an instance of a class whose `name` the deps code keeps its
    /// record of cold deps in (`deps.report.deployed`).
    fn is_cold_record(&self, frame: &Frame, object: &Expr, name: &str) -> bool {
        !self.cold_records.is_empty()
            && super::record::single_instance(self.analysis, frame.file, frame.scope, object)
                .is_some_and(|class| {
                    self.cold_records
                        .contains(&(Owner::Class(class), name.to_string()))
                })
    }

    /// `obj.name` on a record: the field, or what its `@property` getter returns.
    fn attribute(&self, frame: &Frame, object: &Abs, name: &str) -> Vec<Abs> {
        let Abs::Object(class, items) = object else {
            return vec![Abs::Unknown];
        };
        let project = self.analysis.project;
        let info = &project.classes[*class];
        let facts = project.scope(info.file, info.scope);
        if let Some(i) = facts.fields.iter().position(|f| f == name) {
            let value = items.get(i).cloned().unwrap_or_else(|| vec![Abs::Unknown]);
            // What the instance was built with holds only while nothing changes the field:
            // an assignment or `.append` to any `.name` anywhere may (the record of cold
            // deps excepted, whose growth the budget proved).
            if value != [Abs::Cold] && self.ever_changed(name) {
                return vec![Abs::Unknown];
            }
            return value;
        }
        let getter = project
            .bindings_of(info.file, info.scope, name)
            .iter()
            .find_map(|&i| defined_function(&facts.bindings[i].value));
        let Some(getter) = getter else {
            return vec![Abs::Unknown];
        };
        let getter_facts = project.scope(info.file, getter);
        let is_property = getter_facts
            .decorators
            .iter()
            .any(|d| matches!(d.final_name(), Some("property" | "cached_property")));
        let Some(receiver) = getter_facts.params.first() else {
            return vec![Abs::Unknown];
        };
        if !is_property || frame.depth >= MAX_CALL_DEPTH {
            return vec![Abs::Unknown];
        }
        let inner = Frame {
            file: info.file,
            scope: getter,
            args: Some(Rc::new(HashMap::from([(
                receiver.name.clone(),
                Given::now(vec![object.clone()]),
            )]))),
            depth: frame.depth + 1,
        };
        getter_facts
            .returns
            .iter()
            .flat_map(|r| self.eval(&inner, r))
            .collect()
    }

    /// A call of a project function: its returned values, given these arguments.
    fn enter(&self, frame: &Frame, func: FuncId, offset: usize, args: &[Expr]) -> Vec<Abs> {
        if frame.depth >= MAX_CALL_DEPTH {
            return vec![Abs::Unknown];
        }
        let info = &self.analysis.project.funcs[func];
        let facts = self.analysis.project.func_scope(func);
        let Some(mut given) = self.bind_arguments(frame, func, offset, args) else {
            return vec![Abs::Unknown];
        };
        // The deps code's record of the cold deps it deployed: a list of them, or their count.
        if let Some(None) = self.cold_sources.get(&func) {
            return vec![Abs::Cold];
        }
        for counter in self.cold_sources.get(&func).into_iter().flatten().flatten() {
            let counts = self
                .analysis
                .project
                .bindings_of(info.file, info.scope, counter)
                .iter()
                .any(|&i| facts.bindings[i].value == Expr::Int(0));
            let record = if counts { Abs::Num(0, 1) } else { Abs::Cold };
            given.insert(counter.clone(), Given::now(vec![record]));
        }
        let inner = Frame {
            file: info.file,
            scope: info.scope,
            args: Some(Rc::new(given)),
            depth: frame.depth + 1,
        };
        if facts.returns.is_empty() {
            return vec![Abs::Unknown];
        }
        facts
            .returns
            .iter()
            .flat_map(|r| self.eval(&inner, r))
            .collect()
    }

    /// What a parameter was given, evaluated the first time it is read (a helper that never
    /// reads an argument never pays for it).
    fn given(&self, given: &Given) -> Vec<Abs> {
        if let Some(values) = given.values.borrow().as_ref() {
            return values.clone();
        }
        // Reading it again while it is being evaluated (a cycle) is unknown.
        *given.values.borrow_mut() = Some(vec![Abs::Unknown]);
        let values = match &given.later {
            Some((frame, expr)) => self.eval(frame, expr),
            None => vec![Abs::Unknown],
        };
        *given.values.borrow_mut() = Some(values.clone());
        values
    }

    /// What each parameter of `func` is given by this call; `None` when the call spreads
    /// arguments (`*args`) so positions are unknown.
    pub fn bind_arguments(
        &self,
        frame: &Frame,
        func: FuncId,
        offset: usize,
        args: &[Expr],
    ) -> Option<HashMap<String, Rc<Given>>> {
        let facts = self.analysis.project.func_scope(func);
        let info = &self.analysis.project.funcs[func];
        let mut given: HashMap<String, Rc<Given>> = HashMap::new();
        // `Class.method(...)` on a classmethod passes `cls` implicitly.
        let classmethod = facts
            .decorators
            .iter()
            .any(|d| d.final_name() == Some("classmethod"));
        let offset = if classmethod { offset.max(1) } else { offset };
        let mut position = offset;
        for arg in args {
            match arg {
                Expr::Keyword(name, value) => {
                    given.insert(name.clone(), Given::later(frame, value));
                }
                Expr::Element(_) => return None,
                value => {
                    let param = facts.params.get(position)?;
                    given.insert(param.name.clone(), Given::later(frame, value));
                    position += 1;
                }
            }
        }
        let parent = Frame {
            file: info.file,
            scope: facts.parent.unwrap_or(0),
            args: None,
            depth: frame.depth + 1,
        };
        for (i, param) in facts.params.iter().enumerate() {
            if i < offset || given.contains_key(&param.name) {
                continue;
            }
            let value = match &param.default {
                Some(default) => Given::later(&parent, default),
                None => Given::now(vec![Abs::Unknown]),
            };
            given.insert(param.name.clone(), value);
        }
        Some(given)
    }

    /// What the standard library returns, for the few functions the count and budget use.
    fn library(&self, frame: &Frame, name: &str, args: &[Expr]) -> Vec<Abs> {
        let name = name.strip_prefix("<builtin>.").unwrap_or(name);
        let first = || match args.first() {
            Some(Expr::Keyword(..)) | None => vec![Abs::Unknown],
            Some(arg) => self.eval(frame, arg),
        };
        let keep_path = |values: Vec<Abs>, wrap: fn(Abs) -> Abs| -> Vec<Abs> {
            values
                .into_iter()
                .map(|v| v.path().map_or(Abs::Unknown, wrap))
                .collect()
        };
        match name {
            "os.environ.get" | "os.getenv" | "os.environ.__getitem__" => {
                let mut values: Vec<Abs> = first()
                    .into_iter()
                    .map(|k| match k {
                        Abs::Str(k) => Abs::Env(k),
                        _ => Abs::Unknown,
                    })
                    .collect();
                // When the variable is unset the default is what is read; without one it is
                // `None`, which no file read or arithmetic accepts (it raises).
                match args.get(1) {
                    Some(Expr::Keyword(..)) => values.push(Abs::Unknown),
                    Some(default) => values.extend(self.eval(frame, default)),
                    None => {}
                }
                values
            }
            name if PATH_KEEPING.contains(&name) && !name.starts_with("pathlib") => {
                keep_path(first(), |p| p)
            }
            "pathlib.Path" | "pathlib.PurePath" | "pathlib.PosixPath" | "open" | "io.open"
            | "codecs.open" => keep_path(first(), |p| Abs::File(Box::new(p))),
            "len" => first()
                .into_iter()
                .map(|v| match v {
                    Abs::Lines(p) => Abs::LineCount(p),
                    Abs::Cold => Abs::Num(0, 1),
                    Abs::Empty => Abs::int(0),
                    Abs::Str(s) => Abs::int(s.chars().count() as i64),
                    _ => Abs::Unknown,
                })
                .collect(),
            "list" | "tuple" => first()
                .into_iter()
                .map(|v| match v {
                    Abs::Lines(p) | Abs::File(p) => Abs::Lines(p),
                    Abs::Cold => Abs::Cold,
                    _ => Abs::Unknown,
                })
                .collect(),
            "int" => first()
                .into_iter()
                .map(|v| match v {
                    Abs::Num(..) | Abs::LineCount(_) => v,
                    _ => Abs::Unknown,
                })
                .collect(),
            "sum" => match args {
                [comprehension @ Expr::Comprehension(element, ..)] => {
                    self.count_of(frame, element, comprehension)
                }
                _ => vec![Abs::Unknown],
            },
            _ => vec![Abs::Unknown],
        }
    }

    /// `sum(1 for x in over if filter)`: how many items of `over` pass the filter.
    fn count_of(&self, frame: &Frame, element: &Expr, comprehension: &Expr) -> Vec<Abs> {
        if self.eval(frame, element) != [Abs::int(1)] {
            return vec![Abs::Unknown];
        }
        self.eval(frame, comprehension)
            .into_iter()
            .map(|items| match items {
                Abs::Cold => Abs::Num(0, 1),
                Abs::Lines(p) => Abs::LineCount(p),
                _ => Abs::Unknown,
            })
            .collect()
    }

    fn method(&self, frame: &Frame, receiver: &Abs, method: &str, args: &[Expr]) -> Abs {
        let path = || receiver.path().map(Box::new);
        // The environment holds the path; the object that was stored there may be a `Path`.
        let file = match receiver {
            Abs::Env(_) => Abs::File(Box::new(receiver.clone())),
            other => other.clone(),
        };
        if let (Abs::File(p), "read_text" | "read_bytes") = (&file, method) {
            return Abs::Text(p.clone());
        }
        match (receiver, method) {
            (Abs::File(p), "read") => Abs::Text(p.clone()),
            (Abs::File(p), "readlines") => Abs::Lines(p.clone()),
            (Abs::File(_) | Abs::Env(_), "__enter__" | "resolve" | "absolute" | "expanduser") => {
                receiver.clone()
            }
            (Abs::File(_) | Abs::Env(_) | Abs::Str(_), "open") => {
                path().map_or(Abs::Unknown, Abs::File)
            }
            (Abs::Text(p), "splitlines") if args.is_empty() => Abs::Lines(p.clone()),
            (Abs::Text(p), "strip" | "rstrip") if args.is_empty() => Abs::Text(p.clone()),
            (Abs::Text(p), "count") if matches!(args, [a] if self.eval(frame, a) == [Abs::Str("\n".into())]) => {
                Abs::LineCount(p.clone())
            }
            (Abs::Cold, "copy") => Abs::Cold,
            _ => Abs::Unknown,
        }
    }
}

/// Whether `callee` is a project class whose instances keep their arguments in order: a
/// `typing.NamedTuple` subclass, or a `@dataclass` with no `__init__` of its own.
pub fn record_class(
    analysis: &Analysis,
    file: FileIdx,
    scope: ScopeIdx,
    callee: &Expr,
) -> Option<ClassId> {
    let values = analysis.evaluator.eval(file, scope, callee);
    let project = analysis.project;
    let [Val::Class(class)] = values.iter().collect::<Vec<_>>().as_slice() else {
        return None;
    };
    let info = &project.classes[*class];
    let facts = project.scope(info.file, info.scope);
    let parent = facts.parent.unwrap_or(0);
    let named = |exprs: &[Expr], wanted: &[&str]| {
        exprs.iter().any(|e| {
            // `@dataclass(frozen=True)` names the decorator it calls.
            let e = match e {
                Expr::Call(callee, _) => callee.as_ref(),
                e => e,
            };
            analysis
                .evaluator
                .eval(info.file, parent, e)
                .iter()
                .any(|v| matches!(v, Val::External(n) if wanted.contains(&n.as_str())))
        })
    };
    let own_init = !project
        .bindings_of(info.file, info.scope, "__init__")
        .is_empty();
    let record = named(&facts.bases, &["typing.NamedTuple"])
        || (!own_init && named(&facts.decorators, &["dataclasses.dataclass"]));
    record.then_some(*class)
}

/// The `def` a binding holds, decorated or not (`Union[Def, property(Def)]`).
fn defined_function(value: &Expr) -> Option<ScopeIdx> {
    match value {
        Expr::Def(scope) => Some(*scope),
        Expr::Union(items) => items.iter().find_map(defined_function),
        _ => None,
    }
}

/// `x.strip()`, `x.rstrip()` or `x` as a filter over lines: drops only blank lines.
fn keeps_non_empty_lines(filter: &Expr) -> bool {
    match filter {
        Expr::Name(_) => true,
        Expr::Call(callee, args) if args.is_empty() => {
            matches!(callee.as_ref(), Expr::Attr(object, m) if matches!(m.as_str(), "strip" | "rstrip") && matches!(object.as_ref(), Expr::Name(_)))
        }
        _ => false,
    }
}

fn arithmetic(op: &str, a: &Abs, b: &Abs) -> Abs {
    match (op, a, b) {
        ("+", Abs::Num(c1, n1), Abs::Num(c2, n2)) => Abs::Num(c1 + c2, n1 + n2),
        ("-", Abs::Num(c1, n1), Abs::Num(c2, n2)) => Abs::Num(c1 - c2, n1 - n2),
        ("-", a, b) => Abs::Diff(Box::new(a.clone()), Box::new(b.clone())),
        ("*", Abs::Num(c, 0), Abs::Num(k, n)) | ("*", Abs::Num(k, n), Abs::Num(c, 0)) => {
            Abs::Num(c * k, c * n)
        }
        _ => Abs::Unknown,
    }
}

fn pairs(a: &[Abs], b: &[Abs], f: impl Fn(&Abs, &Abs) -> Abs) -> Vec<Abs> {
    if a.len() * b.len() > MAX_VALUES {
        return vec![Abs::Unknown];
    }
    a.iter()
        .flat_map(|x| b.iter().map(|y| f(x, y)).collect::<Vec<_>>())
        .collect()
}

/// The `except` handlers that end by re-raising: what they bind is never seen after the `try`.
fn failing_handlers(flow: &[Step]) -> Vec<TextRange> {
    let mut ranges = Vec::new();
    walk_steps(flow, &mut |step| {
        if let Step::Try { handlers, .. } = step {
            for handler in handlers {
                if handler.iter().any(|s| matches!(s, Step::Raise(_))) {
                    let binds = handler.iter().filter_map(|s| match s {
                        Step::Bind { range, .. } => Some(*range),
                        _ => None,
                    });
                    let (start, end) =
                        binds.fold((u32::MAX, 0), |(a, b), r| (a.min(r.start), b.max(r.end)));
                    if start < end {
                        ranges.push(TextRange { start, end });
                    }
                }
            }
        }
    });
    ranges
}

/// Every step of a block, nested ones included, in order.
pub fn walk_steps<'f>(block: &'f [Step], visit: &mut dyn FnMut(&'f Step)) {
    for step in block {
        visit(step);
        for nested in step.blocks() {
            walk_steps(nested, visit);
        }
    }
}
