//! Name resolution and value flow: what each expression may evaluate to.
//!
//! Flow-insensitive and deliberately over-approximating: every binding of a name is a
//! possible value, containers remember what was put in them, parameters receive whatever any
//! call site passes. What cannot be followed is `Unresolved` (fails closed) or `Unknown`
//! (comes from outside the project; attribute calls on it may be any project method of
//! that name).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, HashSet};

use super::{ClassId, FileIdx, FuncId, Project};
use crate::facts::{Call, Expr, ParamKind, Protocol, ScopeIdx, ScopeKind};

pub type ValSet = BTreeSet<Val>;

/// An abstract value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Val {
    Func(FuncId),
    /// A nested function together with what its enclosing call was given (a decorator's
    /// wrapper for one decorated function): see `Closure`.
    Closure(usize),
    /// A method looked up on an instance or class object: calling it passes `self`.
    Bound(FuncId),
    Class(ClassId),
    Instance(ClassId),
    /// An instance of this class or of any of its subclasses: `self` in a method of a class
    /// with more than `FAMILY_LIMIT` subclasses (a test base class), one value instead of
    /// thousands. Attributes are looked up on every member.
    Family(ClassId),
    /// This class or any of its subclasses: `cls` in such a class.
    Subclasses(ClassId),
    /// `super()` inside a method of this class.
    Super(ClassId),
    Module(FileIdx),
    External(String),
    Builtin(String),
    /// Something held in a container (list, dict, tuple, set).
    Held(Box<Val>),
    /// A callable that returns this value and runs no project code (`d.get`).
    Returns(Box<Val>),
    /// A callable that returns its first argument (`functools.wraps(f)`, `lru_cache()`).
    Identity,
    Str(String),
    /// Some string: a set that held more than `MAX_STRINGS` literals (django's field names
    /// flowing everywhere) keeps this one instead. It behaves as each of them would.
    AnyStr,
    /// Comes from outside the project.
    Unknown,
    /// An attribute of something unknown: calls to it may be any project method of that name.
    UnknownAttr(String),
    /// Cannot be known statically: any code could run.
    Unresolved(&'static str),
}

/// What one call expression may invoke.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A project function; `offset` is 1 when `self`/`cls` is passed implicitly.
    Func {
        func: FuncId,
        offset: usize,
        instantiates: bool,
    },
    /// A closure (an index into `Evaluator::closures`).
    Closure(usize),
    /// Code outside the project (`os.environ.pop`, `<builtin>.len`).
    External(String),
    /// Unknowable: dynamic lookup, eval/exec, importlib.
    Dynamic(&'static str),
    /// A callable from outside the project; with the attribute name if it was `x.name(...)`.
    Unknown(Option<String>),
}

/// Builtins and library functions that run arbitrary code chosen at run time.
const DYNAMIC_BUILTINS: &[&str] = &[
    "eval",
    "exec",
    "__import__",
    "compile",
    "globals",
    "locals",
    "vars",
];
const DYNAMIC_EXTERNALS: &[&str] = &[
    "importlib.import_module",
    "importlib.__import__",
    "importlib.reload",
    "runpy.run_module",
    "runpy.run_path",
    "pydoc.locate",
    "operator.methodcaller",
];
/// Library wrappers that return the function they wrap (or a decorator doing so).
const TRANSPARENT_WRAPPERS: &[&str] = &[
    "functools.wraps",
    "functools.update_wrapper",
    "functools.lru_cache",
    "functools.cache",
    "functools.cached_property",
    "functools.total_ordering",
    "functools.singledispatch",
    "contextlib.contextmanager",
    "contextlib.asynccontextmanager",
    "dataclasses.dataclass",
    "typing.overload",
    "typing.final",
    "abc.abstractmethod",
    "staticmethod",
    "classmethod",
    "property",
];
/// Library functions known not to call the functions passed to them.
pub const NON_CALLING: &[&str] = &[
    // Containers built from functions hold them (`dict(deploy=deploy_app)`); `iter(f, end)`
    // and `sorted(key=f)` do call theirs, so they are not here.
    "dict",
    "list",
    "tuple",
    "set",
    "frozenset",
    "print",
    "repr",
    "str",
    "id",
    "type",
    "isinstance",
    "issubclass",
    "callable",
    "hasattr",
    "getattr",
    "setattr",
    "len",
    "hash",
    "format",
    "functools.wraps",
    "functools.update_wrapper",
    "functools.partial",
    "inspect.signature",
    "inspect.getsource",
    "typing.cast",
];
/// Container methods that return an element / a view of the container.
const ELEMENT_ACCESSORS: &[&str] = &[
    "get",
    "pop",
    "popitem",
    "setdefault",
    "__getitem__",
    "popleft",
];
const VIEW_ACCESSORS: &[&str] = &["values", "items", "keys", "copy", "__iter__"];

/// How an argument is passed.
#[derive(Clone, Copy)]
enum Shape<'e> {
    Positional,
    Keyword(&'e str),
    /// `*xs` or `**kw`.
    Spread,
}

/// One evaluated argument of a call (see `Evaluator::shaping_args`).
struct Arg<'e> {
    shape: Shape<'e>,
    values: ValSet,
}

/// A call's arguments as `Evaluator::shape_call` evaluated them, for `specialize`.
pub struct ShapedArgs<'e>(Vec<Arg<'e>>);

/// A calling context: the values bound to one function's parameters by one call, inside
/// the context of the call that created the function (for closures). 0 is "no context".
pub type CtxId = usize;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Ctx {
    func: FuncId,
    /// Per parameter index; an empty set means "not given here".
    bindings: Vec<ValSet>,
    parent: CtxId,
}

/// A function evaluated inside a calling context: a nested function inside the call of its
/// enclosing function that created it, or a function called with functions as arguments
/// (`Evaluator::specialize`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Closure {
    pub func: FuncId,
    pub ctx: CtxId,
}

type NameKey = (CtxId, FileIdx, ScopeIdx, String);

/// A node of the dependency graph: a memo entry, the values passed to one parameter, the
/// stores into one attribute, or a reader from outside (a scope whose calls the call graph
/// resolves).
pub type Node = u32;

/// Who read what. When a node's value grows, the nodes that read it, and the nodes that read
/// those, are stale and recomputed in the next round; nothing else is. Each round is then a
/// worklist over what changed, not a re-evaluation of the whole project.
#[derive(Default)]
struct Deps {
    /// Per node, the nodes that read it (possibly repeated).
    readers: RefCell<Vec<Vec<Node>>>,
    /// The node being computed now: what it reads are its inputs.
    reader: Cell<Option<Node>>,
    /// Nodes whose value grew this round.
    grown: RefCell<Vec<Node>>,
    /// Nodes computed and values produced so far: the work budget counts these.
    work: Cell<u64>,
}

impl Deps {
    fn node(&self) -> Node {
        let mut readers = self.readers.borrow_mut();
        readers.push(Vec::new());
        Node::try_from(readers.len() - 1).unwrap_or(Node::MAX)
    }

    /// The current node reads `node`.
    fn read(&self, node: Node) {
        // A node that reads itself (a cycle met while computing it) is stale when it grows.
        let Some(reader) = self.reader.get() else {
            return;
        };
        if let Some(list) = self.readers.borrow_mut().get_mut(node as usize)
            && list.last() != Some(&reader)
        {
            list.push(reader);
        }
    }

    fn spend(&self, work: u64) {
        self.work.set(self.work.get().saturating_add(work));
    }

    /// Runs `compute` as the computation of `node`.
    fn computing<T>(&self, node: Node, compute: impl FnOnce() -> T) -> T {
        self.spend(1);
        let saved = self.reader.replace(Some(node));
        let result = compute();
        self.reader.set(saved);
        result
    }

    fn grew(&self, node: Node) {
        self.grown.borrow_mut().push(node);
    }

    /// Ends a round: every node that read a grown node, directly or through others.
    fn stale(&self) -> HashSet<Node> {
        let readers = self.readers.borrow();
        let mut stale = HashSet::new();
        let mut stack: Vec<Node> = self.grown.borrow_mut().drain(..).collect();
        while let Some(node) = stack.pop() {
            for &reader in readers.get(node as usize).map_or(&[][..], Vec::as_slice) {
                if stale.insert(reader) {
                    stack.push(reader);
                }
            }
        }
        stale
    }
}

/// A memo whose entries only grow. An entry is computed once and kept until something it
/// read grows (see `Deps`): a lookup that meets itself (a cycle) gets what is known so far,
/// and the entry that grew makes its readers stale, so rounds converge on the least fixed
/// point.
struct Memo<K> {
    ids: RefCell<HashMap<K, Node>>,
    values: RefCell<HashMap<Node, ValSet>>,
    fresh: RefCell<HashSet<Node>>,
    active: RefCell<HashSet<Node>>,
}

impl<K: std::hash::Hash + Eq + Clone> Memo<K> {
    fn new() -> Self {
        Memo {
            ids: RefCell::new(HashMap::new()),
            values: RefCell::new(HashMap::new()),
            fresh: RefCell::new(HashSet::new()),
            active: RefCell::new(HashSet::new()),
        }
    }

    fn get_or_compute(&self, key: K, deps: &Deps, compute: impl FnOnce() -> ValSet) -> ValSet {
        let node = *self
            .ids
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| deps.node());
        deps.read(node);
        if self.fresh.borrow().contains(&node) || !self.active.borrow_mut().insert(node) {
            return self.values.borrow().get(&node).cloned().unwrap_or_default();
        }
        let computed = deps.computing(node, compute);
        self.active.borrow_mut().remove(&node);
        self.fresh.borrow_mut().insert(node);
        let mut values = self.values.borrow_mut();
        let entry = values.entry(node).or_default();
        let before = entry.len();
        entry.extend(computed);
        widen_strings(entry);
        if entry.len() != before {
            deps.grew(node);
        }
        entry.clone()
    }

    /// Stale entries are recomputed when next read.
    fn invalidate(&self, stale: &HashSet<Node>) {
        let mut fresh = self.fresh.borrow_mut();
        if stale.len() < fresh.len() {
            for node in stale {
                fresh.remove(node);
            }
        } else {
            fresh.retain(|node| !stale.contains(node));
        }
    }
}

pub struct Evaluator<'p> {
    pub project: &'p Project,
    /// Values passed to each (function, parameter index) by project call sites.
    param_values: HashMap<(FuncId, usize), ValSet>,
    param_nodes: RefCell<HashMap<(FuncId, usize), Node>>,
    mro: Vec<Vec<ClassId>>,
    subclasses: Vec<Vec<ClassId>>,
    external_base: Vec<bool>,
    /// attribute name -> (file, scope, store index)
    attr_stores: HashMap<String, Vec<(FileIdx, ScopeIdx, usize)>>,
    names: Memo<NameKey>,
    class_attrs: Memo<(ClassId, String, bool)>,
    family_attrs: Memo<(ClassId, String, bool)>,
    /// Attribute stores: attribute -> owner value -> stored values (grow-only).
    stores: RefCell<HashMap<String, HashMap<Val, ValSet>>>,
    store_nodes: RefCell<HashMap<String, Node>>,
    stores_done: RefCell<HashSet<Node>>,
    contexts: RefCell<Vec<Ctx>>,
    contexts_per_function: RefCell<HashMap<FuncId, usize>>,
    context_ids: RefCell<HashMap<Ctx, CtxId>>,
    closures: RefCell<Vec<Closure>>,
    closure_ids: RefCell<HashMap<Closure, usize>>,
    /// The context the current evaluation runs in.
    current: Cell<CtxId>,
    returns: Memo<(FuncId, CtxId)>,
    deps: Deps,
    depth: Cell<usize>,
}

const MAX_DEPTH: usize = 120;
/// Links kept in the dotted path of a library value (`xml.etree.ElementTree.parse` has 4).
const MAX_PATH: usize = 5;
/// Subclasses up to which `self` is each class's instance; past it, the class's `Family`.
const FAMILY_LIMIT: usize = 8;
/// String literals a value set tells apart before it widens them to `AnyStr`.
const MAX_STRINGS: usize = 32;
/// Levels of containers inside containers that are told apart (see `hold`).
const MAX_HELD: usize = 3;
/// Calling contexts kept per function, and in all, before falling back to context-free.
const MAX_CONTEXTS_PER_FUNCTION: usize = 16;
const MAX_CONTEXTS: usize = 20_000;

impl<'p> Evaluator<'p> {
    pub fn new(project: &'p Project) -> Self {
        let classes = project.classes.len();
        let mut attr_stores: HashMap<String, Vec<(FileIdx, ScopeIdx, usize)>> = HashMap::new();
        for (file_idx, file) in project.files.iter().enumerate() {
            for (scope_idx, scope) in file.facts.scopes.iter().enumerate() {
                for (i, store) in scope.attr_stores.iter().enumerate() {
                    attr_stores
                        .entry(store.attr.clone())
                        .or_default()
                        .push((file_idx, scope_idx, i));
                }
            }
        }
        let mut evaluator = Evaluator {
            project,
            param_values: HashMap::new(),
            param_nodes: RefCell::new(HashMap::new()),
            mro: (0..classes).map(|c| vec![c]).collect(),
            subclasses: vec![Vec::new(); classes],
            external_base: vec![false; classes],
            attr_stores,
            names: Memo::new(),
            class_attrs: Memo::new(),
            family_attrs: Memo::new(),
            stores: RefCell::new(HashMap::new()),
            store_nodes: RefCell::new(HashMap::new()),
            stores_done: RefCell::new(HashSet::new()),
            // Context 0 is "no context".
            contexts: RefCell::new(vec![Ctx {
                func: usize::MAX,
                bindings: Vec::new(),
                parent: 0,
            }]),
            context_ids: RefCell::new(HashMap::new()),
            contexts_per_function: RefCell::new(HashMap::new()),
            closures: RefCell::new(Vec::new()),
            closure_ids: RefCell::new(HashMap::new()),
            current: Cell::new(0),
            returns: Memo::new(),
            deps: Deps::default(),
            depth: Cell::new(0),
        };
        evaluator.build_class_table();
        evaluator
    }

    fn build_class_table(&mut self) {
        let project = self.project;
        let mut direct: Vec<Vec<ClassId>> = Vec::with_capacity(project.classes.len());
        for (class, info) in project.classes.iter().enumerate() {
            let scope = project.scope(info.file, info.scope);
            let parent = scope.parent.unwrap_or(0);
            let mut bases = Vec::new();
            for base in &scope.bases {
                let values = self.eval(info.file, parent, base);
                let mut found = false;
                for value in values {
                    if let Val::Class(b) = value
                        && b != class
                    {
                        bases.push(b);
                        found = true;
                    }
                }
                if !found {
                    self.external_base[class] = true;
                }
            }
            direct.push(bases);
        }
        for class in 0..direct.len() {
            // Depth-first, left to right, first occurrence kept: C3 on every tree that
            // Python accepts without diamonds, a sound superset otherwise.
            let mut order = Vec::new();
            let mut stack = vec![class];
            let mut seen = HashSet::new();
            while let Some(c) = stack.pop() {
                if seen.insert(c) {
                    order.push(c);
                    stack.extend(direct[c].iter().rev());
                }
            }
            for &ancestor in &order[1..] {
                self.subclasses[ancestor].push(class);
                if self.external_base[ancestor] {
                    self.external_base[class] = true;
                }
            }
            self.mro[class] = order;
        }
        // What was computed while the class table was incomplete is computed again.
        self.forget_all();
    }

    /// Every memo entry is recomputed when next read (it keeps what it knew: values only
    /// grow).
    pub fn forget_all(&mut self) {
        self.names.fresh.borrow_mut().clear();
        self.class_attrs.fresh.borrow_mut().clear();
        self.family_attrs.fresh.borrow_mut().clear();
        self.returns.fresh.borrow_mut().clear();
        self.stores_done.borrow_mut().clear();
        self.deps.grown.borrow_mut().clear();
    }

    /// Ends a round: what read a value that grew is recomputed when next read. Returns
    /// the stale nodes (the caller re-runs the readers it registered among them).
    pub fn next_round(&mut self) -> HashSet<Node> {
        let stale = self.deps.stale();
        self.names.invalidate(&stale);
        self.class_attrs.invalidate(&stale);
        self.family_attrs.invalidate(&stale);
        self.returns.invalidate(&stale);
        self.stores_done
            .borrow_mut()
            .retain(|node| !stale.contains(node));
        stale
    }

    /// A node for a reader outside the evaluator (see `reading_as`).
    pub fn new_node(&self) -> Node {
        self.deps.node()
    }

    /// Runs `f` as `node`: the values it reads make it stale when they grow.
    pub fn reading_as<T>(&self, node: Node, f: impl FnOnce() -> T) -> T {
        self.deps.computing(node, f)
    }

    /// Nodes computed and values produced so far (the work a budget counts).
    pub fn work(&self) -> u64 {
        self.deps.work.get()
    }

    /// Adds values a call site passes to a parameter, to be seen from the next round on.
    pub fn pass_to(&mut self, func: FuncId, index: usize, values: ValSet) {
        let entry = self.param_values.entry((func, index)).or_default();
        let before = entry.len();
        entry.extend(values);
        widen_strings(entry);
        if entry.len() != before {
            let node = self.param_node(func, index);
            self.deps.grew(node);
        }
    }

    fn param_node(&self, func: FuncId, index: usize) -> Node {
        *self
            .param_nodes
            .borrow_mut()
            .entry((func, index))
            .or_insert_with(|| self.deps.node())
    }

    /// `wrapper[fn=harness.lifecycle.deploy_app]`: a closure's function and the function
    /// values its enclosing calls were given.
    pub fn closure_label(&self, closure: usize) -> String {
        let Closure { func, ctx } = self.closures.borrow()[closure];
        let mut given = Vec::new();
        let contexts = self.contexts.borrow();
        for (ctx, owner) in self.context_chain(ctx) {
            let params = &self.project.func_scope(owner).params;
            for (index, values) in contexts[ctx].bindings.iter().enumerate() {
                let mut names = BTreeSet::new();
                for value in values {
                    let mut nodes = BTreeSet::new();
                    self.functions_in(value, &mut nodes);
                    names.extend(
                        nodes
                            .into_iter()
                            .filter(|&n| n < self.project.funcs.len())
                            .map(|n| self.project.funcs[n].qualname.clone()),
                    );
                }
                if !names.is_empty() {
                    let names: Vec<String> = names.into_iter().collect();
                    given.push(format!("{}={}", params[index].name, names.join("|")));
                }
            }
        }
        let name = &self.project.funcs[func].qualname;
        if given.is_empty() {
            format!("{name}[closure]")
        } else {
            format!("{name}[{}]", given.join(", "))
        }
    }

    /// Closures discovered so far (their ids are stable for the evaluator's life).
    pub fn closures(&self) -> Vec<Closure> {
        self.closures.borrow().clone()
    }

    pub fn closure(&self, id: usize) -> Option<Closure> {
        self.closures.borrow().get(id).copied()
    }

    /// Runs `f` with `ctx` as the current context.
    pub fn in_context<T>(&self, ctx: CtxId, f: impl FnOnce() -> T) -> T {
        let saved = self.current.replace(ctx);
        let result = f();
        self.current.set(saved);
        result
    }

    fn intern_context(&self, ctx: Ctx) -> CtxId {
        if let Some(&id) = self.context_ids.borrow().get(&ctx) {
            return id;
        }
        let mut contexts = self.contexts.borrow_mut();
        let id = contexts.len();
        contexts.push(ctx.clone());
        self.context_ids.borrow_mut().insert(ctx, id);
        id
    }

    fn intern_closure(&self, closure: Closure) -> usize {
        if let Some(&id) = self.closure_ids.borrow().get(&closure) {
            return id;
        }
        let mut closures = self.closures.borrow_mut();
        let id = closures.len();
        closures.push(closure);
        self.closure_ids.borrow_mut().insert(closure, id);
        id
    }

    /// The functions whose parameters a context binds, innermost first.
    fn context_chain(&self, mut ctx: CtxId) -> Vec<(CtxId, FuncId)> {
        let contexts = self.contexts.borrow();
        let mut chain = Vec::new();
        while ctx != 0 && chain.len() < 64 {
            chain.push((ctx, contexts[ctx].func));
            ctx = contexts[ctx].parent;
        }
        chain
    }

    /// Whether `scope` is the scope of `ancestor` or nested inside it.
    fn is_within(&self, file: FileIdx, mut scope: ScopeIdx, ancestor: FuncId) -> bool {
        let info = &self.project.funcs[ancestor];
        if info.file != file {
            return false;
        }
        loop {
            if scope == info.scope {
                return true;
            }
            match self.project.scope(file, scope).parent {
                Some(parent) => scope = parent,
                None => return false,
            }
        }
    }

    /// The innermost part of the current context that can affect code in `scope`.
    fn effective_context(&self, file: FileIdx, scope: ScopeIdx) -> CtxId {
        self.context_chain(self.current.get())
            .into_iter()
            .find(|&(_, func)| self.is_within(file, scope, func))
            .map_or(0, |(ctx, _)| ctx)
    }

    /// A call's arguments, evaluated once for every callee it may reach: only values that
    /// decide what runs (functions, classes; see `shapes_calls`) are kept.
    fn shaping_args<'e>(&self, file: FileIdx, scope: ScopeIdx, args: &'e [Expr]) -> Vec<Arg<'e>> {
        args.iter()
            .map(|arg| match arg {
                Expr::Keyword(name, value) => {
                    self.shaping_arg(file, scope, Shape::Keyword(name), value)
                }
                Expr::Element(_) => Arg {
                    shape: Shape::Spread,
                    values: ValSet::new(),
                },
                _ => self.shaping_arg(file, scope, Shape::Positional, arg),
            })
            .collect()
    }

    fn shaping_arg<'e>(
        &self,
        file: FileIdx,
        scope: ScopeIdx,
        shape: Shape<'e>,
        value: &Expr,
    ) -> Arg<'e> {
        let values = self
            .eval(file, scope, value)
            .into_iter()
            .filter(shapes_calls)
            .collect();
        Arg { shape, values }
    }

    /// The arguments of a call with its positional `args` and keyword `kwargs`, evaluated
    /// once for all the functions it may call (see `specialize`).
    pub fn shape_call<'e>(
        &self,
        file: FileIdx,
        scope: ScopeIdx,
        args: &'e [Expr],
        kwargs: &'e [(String, Expr)],
    ) -> ShapedArgs<'e> {
        let mut shaped = self.shaping_args(file, scope, args);
        shaped.extend(
            kwargs
                .iter()
                .map(|(name, value)| self.shaping_arg(file, scope, Shape::Keyword(name), value)),
        );
        ShapedArgs(shaped)
    }

    /// The node a call of `func` with these arguments runs as: a context of its own when
    /// the arguments bind functions or classes (`_with_retry(backup, app)` runs
    /// `_with_retry[fn=backup]`, which calls `backup` and nothing else), as a closure id.
    /// `None` when no argument decides what runs, or the context budget is spent.
    pub fn specialize(&self, func: FuncId, offset: usize, args: &ShapedArgs) -> Option<usize> {
        match self.call_context(func, offset, &args.0, 0) {
            0 => None,
            ctx => Some(self.intern_closure(Closure { func, ctx })),
        }
    }

    /// A context for a call of `func` from the current context: the arguments (evaluated
    /// where the call is written) mapped onto `func`'s parameters.
    fn call_context(&self, func: FuncId, offset: usize, args: &[Arg], parent: CtxId) -> CtxId {
        let params = &self.project.func_scope(func).params;
        let mut bindings = vec![ValSet::new(); params.len()];
        let var_args = params.iter().position(|p| p.kind == ParamKind::VarArgs);
        let var_keywords = params.iter().position(|p| p.kind == ParamKind::VarKeywords);
        let mut position = offset;
        let mut spread = false;
        for arg in args {
            let (index, held) = match arg.shape {
                Shape::Keyword(name) => {
                    match params
                        .iter()
                        .position(|p| p.name == name && p.kind != ParamKind::VarArgs)
                    {
                        Some(i) => (Some(i), false),
                        None => (var_keywords, true),
                    }
                }
                Shape::Spread => {
                    // After `*args`, positions are unknown: leave the rest to the fallback.
                    spread = true;
                    (None, false)
                }
                Shape::Positional if spread => (None, false),
                Shape::Positional => {
                    let index = match params.get(position) {
                        Some(p) if p.kind == ParamKind::Positional => Some(position),
                        _ => var_args,
                    };
                    position += 1;
                    (index, index == var_args && var_args.is_some())
                }
            };
            if let Some(index) = index {
                bindings[index].extend(
                    arg.values
                        .iter()
                        .cloned()
                        .map(|v| if held { hold(v) } else { v }),
                );
            }
        }
        // Calling contexts are a precision device: past a few per function (mutually
        // recursive code can make many), fall back to the context-free value, which is a
        // sound over-approximation.
        if parent == 0 && bindings.iter().all(ValSet::is_empty) {
            return 0;
        }
        let ctx = Ctx {
            func,
            bindings,
            parent,
        };
        if let Some(&id) = self.context_ids.borrow().get(&ctx) {
            return id;
        }
        let per_function = self
            .contexts_per_function
            .borrow()
            .get(&func)
            .copied()
            .unwrap_or(0);
        if per_function >= MAX_CONTEXTS_PER_FUNCTION || self.contexts.borrow().len() >= MAX_CONTEXTS
        {
            return 0;
        }
        *self
            .contexts_per_function
            .borrow_mut()
            .entry(func)
            .or_insert(0) += 1;
        self.intern_context(ctx)
    }

    /// What `func` returns when called in `ctx`.
    fn returns_in(&self, func: FuncId, ctx: CtxId) -> ValSet {
        self.returns.get_or_compute((func, ctx), &self.deps, || {
            let info = &self.project.funcs[func];
            let scope = self.project.scope(info.file, info.scope);
            self.in_context(ctx, || {
                let mut values = ValSet::new();
                for value in &scope.returns {
                    values.extend(self.eval(info.file, info.scope, value));
                }
                values
            })
        })
    }

    /// What `expr`, written in `scope` of `file`, may evaluate to.
    pub fn eval(&self, file: FileIdx, scope: ScopeIdx, expr: &Expr) -> ValSet {
        let depth = self.depth.get();
        if depth > MAX_DEPTH {
            return ValSet::from([Val::Unresolved("value flow too deep to follow")]);
        }
        self.depth.set(depth + 1);
        let result = self.eval_inner(file, scope, expr);
        self.depth.set(depth);
        // The work budget counts values produced: big sets cost what they cost.
        self.deps.spend(1 + result.len() as u64);
        result
    }

    fn eval_inner(&self, file: FileIdx, scope: ScopeIdx, expr: &Expr) -> ValSet {
        let project = self.project;
        match expr {
            Expr::Name(name) => self.lookup(file, scope, name),
            Expr::Attr(object, attr) => {
                let objects = self.eval(file, scope, object);
                objects.iter().flat_map(|v| self.attr(v, attr)).collect()
            }
            Expr::Call(callee, args) => {
                let callees = self.eval(file, scope, callee);
                self.call_result(file, scope, &callees, args)
            }
            Expr::Element(inner) | Expr::Subscript(inner, _) => self
                .eval(file, scope, inner)
                .into_iter()
                .flat_map(element_of)
                .collect(),
            Expr::Comprehension(element, ..) => self.eval(
                file,
                scope,
                &Expr::Container(vec![element.as_ref().clone()]),
            ),
            Expr::Container(items) => items
                .iter()
                .flat_map(|item| self.eval(file, scope, item))
                .map(hold)
                .collect(),
            Expr::Union(items) => items
                .iter()
                .flat_map(|item| self.eval(file, scope, item))
                .collect(),
            Expr::Def(idx) | Expr::Lambda(idx) => {
                let Some(func) = project.func_of_scope(file, *idx) else {
                    return ValSet::new();
                };
                // Defined inside a call being followed: remember that call's arguments.
                match self.effective_context(file, *idx) {
                    0 => ValSet::from([Val::Func(func)]),
                    ctx => ValSet::from([Val::Closure(self.intern_closure(Closure { func, ctx }))]),
                }
            }
            Expr::Keyword(_, value) => self.eval(file, scope, value),
            Expr::Class(idx) => project
                .class_of_scope(file, *idx)
                .map(Val::Class)
                .into_iter()
                .collect(),
            Expr::Module(name) => ValSet::from([self.module_value(name)]),
            Expr::ImportFrom(module, name) => {
                let absolute = self.absolute_module(file, module);
                match project.module_file(&absolute) {
                    Some(target) => self.module_attr(target, name),
                    None => ValSet::from([Val::External(join(&absolute, name))]),
                }
            }
            // `a + b` of lists holds what both held (`handlers = handlers + [f]`).
            Expr::BinOp(op, a, b) if op == "+" => {
                let mut values = self.eval(file, scope, a);
                values.extend(self.eval(file, scope, b));
                values
            }
            Expr::ImportStar(_)
            | Expr::Opaque
            | Expr::Int(_)
            | Expr::BinOp(..)
            | Expr::Compare(..)
            | Expr::Not(_) => ValSet::new(),
            Expr::Str(s) => ValSet::from([Val::Str(s.clone())]),
            Expr::Dynamic(reason) => ValSet::from([Val::Unresolved(reason)]),
            Expr::Implicit(receiver, protocol) => {
                let receivers = self.eval(file, scope, receiver);
                receivers
                    .iter()
                    .flat_map(|r| self.implicit(r, protocol))
                    .collect()
            }
        }
    }

    /// The project functions Python runs implicitly on `value` (see `Protocol`). Library
    /// values run no project code this way; unknown ones are not guessed at (an operator on
    /// every unknown value would reach every `__add__` of the project).
    fn implicit(&self, value: &Val, protocol: &Protocol) -> ValSet {
        let project_code = |values: ValSet| -> ValSet {
            values
                .into_iter()
                .filter(|v| matches!(v, Val::Func(_) | Val::Bound(_) | Val::Closure(_)))
                .collect()
        };
        let (class, family) = match value {
            Val::Instance(class) => (*class, false),
            Val::Family(class) => (*class, true),
            Val::Class(_) | Val::Subclasses(_) if *protocol == Protocol::Raise => {
                return ValSet::from([value.clone()]);
            }
            _ => return ValSet::new(),
        };
        let lookup = |name: &str, bound: bool| {
            if family {
                self.family_attr(class, name, bound)
            } else {
                self.class_attr(class, name, bound)
            }
        };
        match protocol {
            Protocol::Dunder(name) => project_code(lookup(name, true)),
            Protocol::Raise => ValSet::new(),
            Protocol::Get(name) | Protocol::Set(name) => {
                let setting = matches!(protocol, Protocol::Set(_));
                let found = lookup(name, false);
                let mut runs = ValSet::new();
                for attribute in &found {
                    match attribute {
                        Val::Func(f) | Val::Bound(f) if self.is_accessor(*f, setting) => {
                            runs.insert(Val::Bound(*f));
                        }
                        // A descriptor: a class attribute whose class defines `__get__`.
                        Val::Instance(descriptor) => runs.extend(project_code(self.class_attr(
                            *descriptor,
                            if setting { "__set__" } else { "__get__" },
                            true,
                        ))),
                        _ => {}
                    }
                }
                // A class with a library base answers unknown for what it lacks; a class
                // body's `present = 1` has no value deployguard follows but is there.
                let missing = found.iter().all(|v| matches!(v, Val::UnknownAttr(_)))
                    && !self.mro[class].iter().any(|&ancestor| {
                        let info = &self.project.classes[ancestor];
                        !self
                            .project
                            .bindings_of(info.file, info.scope, name)
                            .is_empty()
                    });
                let fallback = match (setting, missing) {
                    (true, _) => Some("__setattr__"),
                    (false, true) => Some("__getattr__"),
                    (false, false) => None,
                };
                if let Some(fallback) = fallback {
                    runs.extend(project_code(lookup(fallback, true)));
                }
                runs
            }
        }
    }

    /// A property (or `cached_property`) getter, or with `setting` a property setter.
    fn is_accessor(&self, func: FuncId, setting: bool) -> bool {
        let wanted: &[&str] = if setting {
            &["setter"]
        } else {
            &["property", "cached_property", "getter"]
        };
        self.project
            .func_scope(func)
            .decorators
            .iter()
            .any(|d| d.final_name().is_some_and(|n| wanted.contains(&n)))
    }

    fn module_value(&self, name: &str) -> Val {
        match self.project.module_file(name) {
            Some(file) => Val::Module(file),
            None => Val::External(name.to_string()),
        }
    }

    /// Resolves `from .x import y` style module paths against the importing file.
    pub fn absolute_module(&self, file: FileIdx, module: &str) -> String {
        let dots = module.chars().take_while(|c| *c == '.').count();
        if dots == 0 {
            return module.to_string();
        }
        let source = &self.project.files[file].source;
        let mut package: Vec<&str> = source.module.split('.').filter(|p| !p.is_empty()).collect();
        if !source.is_package {
            package.pop();
        }
        for _ in 1..dots {
            package.pop();
        }
        let rest = &module[dots..];
        if !rest.is_empty() {
            package.push(rest);
        }
        package.join(".")
    }

    /// LEGB lookup of a name used in `scope`.
    pub fn lookup(&self, file: FileIdx, scope: ScopeIdx, name: &str) -> ValSet {
        let project = self.project;
        let mut current = scope;
        let mut first = true;
        loop {
            let s = project.scope(file, current);
            if s.globals.iter().any(|g| g == name) {
                current = 0;
                first = false;
                continue;
            }
            // Class bodies are visible only to code directly inside them.
            let visible = first || s.kind != ScopeKind::Class;
            if visible {
                let bound = !project.bindings_of(file, current, name).is_empty();
                let param = s.params.iter().position(|p| p.name == name);
                if bound || param.is_some() {
                    let mut values = self.binding_values(file, current, name);
                    if let Some(index) = param {
                        values.extend(
                            self.context_param(file, current, index)
                                .unwrap_or_else(|| self.param_value(file, current, index)),
                        );
                    }
                    return values;
                }
            }
            match s.parent {
                Some(parent) => {
                    current = parent;
                    first = false;
                }
                None => break,
            }
        }
        // Module level: star imports, then builtins.
        let mut values = ValSet::new();
        for &i in project.bindings_of(file, 0, "*") {
            if let Expr::ImportStar(module) = &project.scope(file, 0).bindings[i].value {
                let absolute = self.absolute_module(file, module);
                match project.module_file(&absolute) {
                    Some(target) => values.extend(self.module_attr(target, name)),
                    None => {
                        values.insert(Val::Unknown);
                    }
                }
            }
        }
        if values.is_empty() && is_builtin(name) {
            values.insert(Val::Builtin(name.to_string()));
        }
        values
    }

    /// The union of every binding of `name` in one scope (memoized, cycle-safe).
    fn binding_values(&self, file: FileIdx, scope: ScopeIdx, name: &str) -> ValSet {
        let ctx = self.effective_context(file, scope);
        self.in_context(ctx, || self.binding_values_in(ctx, file, scope, name))
    }

    fn binding_values_in(&self, ctx: CtxId, file: FileIdx, scope: ScopeIdx, name: &str) -> ValSet {
        self.names
            .get_or_compute((ctx, file, scope, name.to_string()), &self.deps, || {
                let s = self.project.scope(file, scope);
                let mut values = ValSet::new();
                for &i in self.project.bindings_of(file, scope, name) {
                    values.extend(self.eval(file, scope, &s.bindings[i].value));
                }
                // `module.name = f` from anywhere rebinds the module's global.
                if scope == 0 && self.attr_stores.contains_key(name) {
                    values.extend(self.stored_attr(name, &[Val::Module(file)]));
                }
                values
            })
    }

    /// A parameter's value as given by the call being followed, if one is.
    fn context_param(&self, file: FileIdx, scope: ScopeIdx, index: usize) -> Option<ValSet> {
        let func = self.project.func_of_scope(file, scope)?;
        let contexts = self.contexts.borrow();
        let (ctx, _) = self
            .context_chain(self.current.get())
            .into_iter()
            .find(|&(_, f)| f == func)?;
        let given = contexts[ctx].bindings.get(index)?;
        if given.is_empty() {
            return None;
        }
        let mut values = given.clone();
        drop(contexts);
        // The context holds only what decides which code runs (functions, classes); what
        // else the parameter may be comes from every call site.
        values.extend(
            self.param_value(file, scope, index)
                .into_iter()
                .filter(|v| !shapes_calls(v)),
        );
        let param = &self.project.scope(file, scope).params[index];
        if let Some(default) = &param.default {
            values.extend(self.eval(
                file,
                self.project.scope(file, scope).parent.unwrap_or(0),
                default,
            ));
        }
        Some(values)
    }

    fn param_value(&self, file: FileIdx, scope: ScopeIdx, index: usize) -> ValSet {
        let project = self.project;
        let s = project.scope(file, scope);
        let param = &s.params[index];
        let mut values = ValSet::from([Val::Unknown]);
        if let Some(class) = s.parent.and_then(|p| project.class_of_scope(file, p))
            && index == 0
            && s.kind == ScopeKind::Function
            && param.kind == ParamKind::Positional
        {
            let decorated = |n: &str| s.decorators.iter().any(|d| d.final_name() == Some(n));
            if !decorated("staticmethod") {
                let classmethod = decorated("classmethod") || s.qualname.ends_with(".__new__");
                if self.subclasses[class].len() > FAMILY_LIMIT {
                    return ValSet::from([if classmethod {
                        Val::Subclasses(class)
                    } else {
                        Val::Family(class)
                    }]);
                }
                for c in std::iter::once(class).chain(self.subclasses[class].iter().copied()) {
                    values.insert(if classmethod {
                        Val::Class(c)
                    } else {
                        Val::Instance(c)
                    });
                }
                values.remove(&Val::Unknown);
                return values;
            }
        }
        if let Some(default) = &param.default {
            values.extend(self.eval(file, s.parent.unwrap_or(0), default));
        }
        if let Some(func) = project.func_of_scope(file, scope) {
            self.deps.read(self.param_node(func, index));
            if let Some(passed) = self.param_values.get(&(func, index)) {
                values.extend(passed.iter().cloned());
            }
        }
        if matches!(param.kind, ParamKind::VarArgs | ParamKind::VarKeywords) {
            return values.into_iter().map(hold).collect();
        }
        values
    }

    /// What `value.attr` may be.
    pub fn attr(&self, value: &Val, attr: &str) -> ValSet {
        match value {
            // `self.__class__` is the instance's class.
            Val::Instance(class) if attr == "__class__" => ValSet::from([Val::Class(*class)]),
            Val::Family(class) if attr == "__class__" => ValSet::from([Val::Subclasses(*class)]),
            Val::Module(file) => self.module_attr(*file, attr),
            Val::Class(class) => self.class_attr(*class, attr, false),
            Val::Instance(class) => self.class_attr(*class, attr, true),
            Val::Subclasses(class) => self.family_attr(*class, attr, false),
            Val::Family(class) => self.family_attr(*class, attr, true),
            Val::Super(class) => {
                let mut values = ValSet::new();
                for &ancestor in self.mro[*class].iter().skip(1) {
                    values.extend(self.own_class_attr(ancestor, attr, true));
                    if !values.is_empty() {
                        return values;
                    }
                }
                if self.external_base[*class] {
                    ValSet::from([Val::UnknownAttr(attr.into())])
                } else {
                    values
                }
            }
            Val::Func(_) | Val::Bound(_) | Val::Closure(_) => match attr {
                "__call__" | "__wrapped__" | "__func__" => ValSet::from([value.clone()]),
                _ => ValSet::new(),
            },
            // A chain of attributes can grow one link per round (`x = x.__init__` in a
            // loop): past `MAX_PATH` links, or at a link it already has, the value is
            // widened to an unknown attribute, which calls treat as any project method of
            // that name (sound, and finite).
            Val::External(path) | Val::Builtin(path)
                if path.split('.').count() >= MAX_PATH || path.split('.').any(|p| p == attr) =>
            {
                ValSet::from([Val::UnknownAttr(attr.to_string())])
            }
            Val::External(path) => ValSet::from([Val::External(join(path, attr))]),
            Val::Builtin(name) => ValSet::from([Val::Builtin(join(name, attr))]),
            Val::Held(inner) => {
                if ELEMENT_ACCESSORS.contains(&attr) {
                    ValSet::from([Val::Returns(inner.clone())])
                } else if VIEW_ACCESSORS.contains(&attr) {
                    ValSet::from([Val::Returns(Box::new(value.clone()))])
                } else {
                    ValSet::new()
                }
            }
            Val::Unknown | Val::UnknownAttr(_) => {
                ValSet::from([Val::UnknownAttr(attr.to_string())])
            }
            Val::Unresolved(reason) => ValSet::from([Val::Unresolved(reason)]),
            Val::Returns(_) | Val::Identity | Val::Str(_) | Val::AnyStr => ValSet::new(),
        }
    }

    pub fn module_attr(&self, file: FileIdx, attr: &str) -> ValSet {
        let project = self.project;
        let mut values = ValSet::new();
        if !project.bindings_of(file, 0, attr).is_empty() {
            values.extend(self.binding_values(file, 0, attr));
        } else if !project.bindings_of(file, 0, "*").is_empty() {
            values.extend(self.lookup(file, 0, attr));
        }
        let submodule = join(&project.files[file].source.module, attr);
        if let Some(sub) = project.module_file(&submodule) {
            values.insert(Val::Module(sub));
        }
        values.extend(self.stored_attr(attr, &[Val::Module(file)]));
        if values.is_empty() && !project.bindings_of(file, 0, "__getattr__").is_empty() {
            values.insert(Val::Unknown);
        }
        values
    }

    /// Attribute lookup along the MRO; `bound` turns methods into bound methods.
    fn class_attr(&self, class: ClassId, attr: &str, bound: bool) -> ValSet {
        self.class_attrs
            .get_or_compute((class, attr.to_string(), bound), &self.deps, || {
                self.in_context(0, || self.class_attr_uncached(class, attr, bound))
            })
    }

    /// `attr` of any member of a class's family.
    fn family_attr(&self, class: ClassId, attr: &str, bound: bool) -> ValSet {
        self.family_attrs
            .get_or_compute((class, attr.to_string(), bound), &self.deps, || {
                let mut values = ValSet::new();
                for &member in std::iter::once(&class).chain(&self.subclasses[class]) {
                    values.extend(self.class_attr(member, attr, bound));
                }
                values
            })
    }

    fn class_attr_uncached(&self, class: ClassId, attr: &str, bound: bool) -> ValSet {
        // `self.attr = value` in a method of any ancestor with a family stores into this
        // class's instances too, whatever the class bodies say.
        let families: Vec<Val> = self.mro[class]
            .iter()
            .filter(|&&a| self.subclasses[a].len() > FAMILY_LIMIT)
            .flat_map(|&a| [Val::Family(a), Val::Subclasses(a)])
            .collect();
        let family_stores = if families.is_empty() {
            ValSet::new()
        } else {
            self.stored_attr(attr, &families)
        };
        for &ancestor in &self.mro[class] {
            let mut values = self.own_class_attr(ancestor, attr, bound);
            if !values.is_empty() {
                values.extend(family_stores);
                return values;
            }
        }
        if !family_stores.is_empty() {
            return family_stores;
        }
        if self.external_base[class] {
            ValSet::from([Val::UnknownAttr(attr.to_string())])
        } else {
            ValSet::new()
        }
    }

    fn own_class_attr(&self, class: ClassId, attr: &str, bound: bool) -> ValSet {
        let info = &self.project.classes[class];
        let mut values: ValSet = self
            .binding_values(info.file, info.scope, attr)
            .into_iter()
            .map(|v| match v {
                Val::Func(f) if bound && !self.is_static(f) => Val::Bound(f),
                other => other,
            })
            .collect();
        // `self.attr = value` in any method, `obj.attr = value` on an instance.
        values.extend(self.stored_attr(attr, &[Val::Instance(class), Val::Class(class)]));
        values
    }

    fn is_static(&self, func: FuncId) -> bool {
        self.project
            .func_scope(func)
            .decorators
            .iter()
            .any(|d| d.final_name() == Some("staticmethod"))
    }

    /// Values stored with `owner.attr = value`, for any of these owners.
    fn stored_attr(&self, attr: &str, owners: &[Val]) -> ValSet {
        let node = *self
            .store_nodes
            .borrow_mut()
            .entry(attr.to_string())
            .or_insert_with(|| self.deps.node());
        self.deps.read(node);
        self.compute_stores(attr, node);
        let stores = self.stores.borrow();
        let mut values = ValSet::new();
        if let Some(by_owner) = stores.get(attr) {
            for owner in owners {
                if let Some(stored) = by_owner.get(owner) {
                    values.extend(stored.iter().cloned());
                }
            }
        }
        values
    }

    /// Evaluates every `x.attr = value` store, context-free, by owner: once, and again
    /// when what it read grew.
    fn compute_stores(&self, attr: &str, node: Node) {
        if !self.stores_done.borrow_mut().insert(node) {
            return;
        }
        let mut by_owner: HashMap<Val, ValSet> = HashMap::new();
        self.deps.computing(node, || {
            self.in_context(0, || {
                for &(file, scope, i) in self.attr_stores.get(attr).map_or(&[][..], Vec::as_slice) {
                    let store = &self.project.scope(file, scope).attr_stores[i];
                    let owners: Vec<Val> = self
                        .eval(file, scope, &store.object)
                        .into_iter()
                        .filter(|o| {
                            matches!(
                                o,
                                Val::Instance(_)
                                    | Val::Class(_)
                                    | Val::Module(_)
                                    | Val::Family(_)
                                    | Val::Subclasses(_)
                            )
                        })
                        .collect();
                    if owners.is_empty() {
                        continue;
                    }
                    let values = self.eval(file, scope, &store.value);
                    for owner in owners {
                        by_owner
                            .entry(owner)
                            .or_default()
                            .extend(values.iter().cloned());
                    }
                }
            })
        });
        let mut stores = self.stores.borrow_mut();
        let known = stores.entry(attr.to_string()).or_default();
        let mut grew = false;
        for (owner, values) in by_owner {
            let entry = known.entry(owner).or_default();
            let before = entry.len();
            entry.extend(values);
            widen_strings(entry);
            grew |= entry.len() != before;
        }
        if grew {
            self.deps.grew(node);
        }
    }

    /// What calling any of `callees` with `args` returns.
    fn call_result(
        &self,
        file: FileIdx,
        scope: ScopeIdx,
        callees: &ValSet,
        args: &[Expr],
    ) -> ValSet {
        let mut values = ValSet::new();
        let shaping = std::cell::OnceCell::new();
        let shaping = || shaping.get_or_init(|| self.shaping_args(file, scope, args));
        let first_arg = || {
            args.first()
                .map(|a| self.eval(file, scope, a))
                .unwrap_or_default()
        };
        for callee in callees {
            match callee {
                Val::Func(f) | Val::Bound(f) => {
                    let offset = usize::from(matches!(callee, Val::Bound(_)));
                    let ctx = self.call_context(*f, offset, shaping(), 0);
                    values.extend(self.returns_in(*f, ctx));
                }
                Val::Closure(c) => {
                    let closure = self.closures.borrow()[*c];
                    let ctx = self.call_context(closure.func, 0, shaping(), closure.ctx);
                    values.extend(self.returns_in(closure.func, ctx));
                }
                Val::Class(class) => {
                    values.insert(Val::Instance(*class));
                }
                Val::Subclasses(class) => {
                    values.insert(Val::Family(*class));
                }
                Val::Family(class) => {
                    for call in self.family_attr(*class, "__call__", true) {
                        if let Val::Bound(f) = call {
                            let ctx = self.call_context(f, 1, shaping(), 0);
                            values.extend(self.returns_in(f, ctx));
                        }
                    }
                }
                Val::Instance(class) => {
                    for call in self.class_attr(*class, "__call__", true) {
                        if let Val::Bound(f) = call {
                            let ctx = self.call_context(f, 1, shaping(), 0);
                            values.extend(self.returns_in(f, ctx));
                        }
                    }
                }
                Val::External(path) | Val::Builtin(path) => {
                    let name = path.as_str();
                    if let Some(named) = self.named_by_literal(file, scope, name, args) {
                        values.extend(named);
                    } else if DYNAMIC_EXTERNALS.contains(&name) || DYNAMIC_BUILTINS.contains(&name)
                    {
                        values.insert(Val::Unresolved("a dynamic import or evaluation"));
                    } else if name == "type" && args.len() == 1 {
                        // `type(self)` is the instance's class.
                        for value in first_arg() {
                            match value {
                                Val::Instance(class) => values.insert(Val::Class(class)),
                                Val::Family(class) => values.insert(Val::Subclasses(class)),
                                _ => false,
                            };
                        }
                    } else if name == "functools.partial" {
                        values.extend(first_arg());
                    } else if name == "super" {
                        if let Some(class) = self.enclosing_class(file, scope) {
                            values.insert(Val::Super(class));
                        }
                    } else if matches!(name, "functools.wraps" | "functools.update_wrapper") {
                        // `wraps(f)` is a decorator that returns what it decorates.
                        values.insert(Val::Identity);
                    } else if TRANSPARENT_WRAPPERS.contains(&name) {
                        // `lru_cache(f)` wraps `f`; `lru_cache(maxsize=8)` is a decorator.
                        let wrapped: ValSet = first_arg().into_iter().filter(is_callable).collect();
                        if wrapped.is_empty() {
                            values.insert(Val::Identity);
                        } else {
                            values.extend(wrapped);
                        }
                    } else if name == "dict" {
                        // `dict(mapping, key=f)`: the mapping's items, and each keyword's
                        // value held in the dict (a container, not a call of `f`).
                        for arg in args {
                            match arg {
                                Expr::Keyword(_, value) => values
                                    .extend(self.eval(file, scope, value).into_iter().map(hold)),
                                positional => values.extend(self.eval(file, scope, positional)),
                            }
                        }
                    } else if matches!(
                        name,
                        "list" | "tuple" | "set" | "frozenset" | "sorted" | "reversed" | "iter"
                    ) {
                        values.extend(first_arg());
                    } else if name == "next" {
                        values.extend(first_arg().into_iter().flat_map(element_of));
                    } else if matches!(callee, Val::External(_)) {
                        values.insert(Val::Unknown);
                    }
                }
                Val::Identity => values.extend(first_arg()),
                Val::Returns(inner) => {
                    values.insert(inner.as_ref().clone());
                }
                Val::Unknown | Val::UnknownAttr(_) => {
                    values.insert(Val::Unknown);
                }
                Val::Unresolved(reason) => {
                    values.insert(Val::Unresolved(reason));
                }
                Val::Super(_) | Val::Module(_) | Val::Held(_) | Val::Str(_) | Val::AnyStr => {}
            }
        }
        values
    }

    /// `importlib.import_module("pkg.mod")` is the module and `operator.methodcaller("m")`
    /// calls `.m()` on its argument: a literal name makes them no more dynamic than an
    /// import or a method call. `None` when `name` is neither or the name is not literal.
    fn named_by_literal(
        &self,
        file: FileIdx,
        scope: ScopeIdx,
        name: &str,
        args: &[Expr],
    ) -> Option<ValSet> {
        if !matches!(name, "importlib.import_module" | "operator.methodcaller") {
            return None;
        }
        let [arg] = args else {
            return None;
        };
        let names = self.eval(file, scope, arg);
        let literals: Vec<&String> = names
            .iter()
            .filter_map(|v| match v {
                Val::Str(s) => Some(s),
                _ => None,
            })
            .collect();
        if literals.is_empty() || literals.len() != names.len() {
            return None;
        }
        let mut values = ValSet::new();
        for literal in literals {
            match name {
                "importlib.import_module" if !literal.starts_with('.') => {
                    values.insert(self.module_value(literal));
                }
                "operator.methodcaller" => {
                    values.insert(Val::UnknownAttr(literal.clone()));
                }
                _ => return None,
            }
        }
        Some(values)
    }

    /// The targets of a written call: `call_targets`, except that a dynamic-looking call
    /// with a literal name (`importlib.import_module("a")`) runs what it names.
    pub fn call_targets_of(&self, file: FileIdx, scope: ScopeIdx, call: &Call) -> BTreeSet<Target> {
        let mut targets = self.call_targets(file, scope, &call.callee);
        if !targets.iter().any(|t| matches!(t, Target::Dynamic(_))) || !call.kwargs.is_empty() {
            return targets;
        }
        for callee in self.eval(file, scope, &call.callee) {
            let (Val::External(name) | Val::Builtin(name)) = &callee else {
                continue;
            };
            let Some(named) = self.named_by_literal(file, scope, name, &call.args) else {
                continue;
            };
            targets.retain(|t| !matches!(t, Target::Dynamic(_)));
            targets.insert(Target::External(name.clone()));
            for value in named {
                if let Val::Module(module) = value
                    && let Some(func) = self.project.func_of_scope(module, 0)
                {
                    targets.insert(Target::Func {
                        func,
                        offset: 0,
                        instantiates: false,
                    });
                }
            }
        }
        targets
    }

    fn enclosing_class(&self, file: FileIdx, mut scope: ScopeIdx) -> Option<ClassId> {
        loop {
            let s = self.project.scope(file, scope);
            let parent = s.parent?;
            if let Some(class) = self.project.class_of_scope(file, parent) {
                return Some(class);
            }
            scope = parent;
        }
    }

    /// Everything a call expression in `scope` may invoke.
    pub fn call_targets(&self, file: FileIdx, scope: ScopeIdx, callee: &Expr) -> BTreeSet<Target> {
        let mut targets = BTreeSet::new();
        let callees = self.eval(file, scope, callee);
        if callees.is_empty() && !matches!(callee, Expr::Implicit(..)) {
            let name = callee.dotted().unwrap_or_else(|| "<expression>".into());
            targets.insert(Target::External(name));
        }
        for value in callees {
            self.targets_of(&value, &mut targets);
        }
        targets
    }

    fn targets_of(&self, value: &Val, targets: &mut BTreeSet<Target>) {
        self.targets_of_at(value, targets, 0);
    }

    fn targets_of_at(&self, value: &Val, targets: &mut BTreeSet<Target>, depth: usize) {
        if depth > 8 {
            // `A.__call__ = A()`: calling an instance calls an instance calls ...
            targets.insert(Target::Dynamic("a chain of __call__ too long to follow"));
            return;
        }
        match value {
            Val::Func(func) => {
                targets.insert(Target::Func {
                    func: *func,
                    offset: 0,
                    instantiates: false,
                });
            }
            Val::Closure(closure) => {
                targets.insert(Target::Closure(*closure));
            }
            Val::Bound(func) => {
                targets.insert(Target::Func {
                    func: *func,
                    offset: 1,
                    instantiates: false,
                });
            }
            Val::Class(_) | Val::Subclasses(_) => {
                // A dataclass's generated `__init__` calls `__post_init__`.
                for name in ["__new__", "__init__", "__post_init__"] {
                    let inits = match value {
                        Val::Class(class) => self.class_attr(*class, name, true),
                        Val::Subclasses(class) => self.family_attr(*class, name, true),
                        _ => ValSet::new(),
                    };
                    for init in inits {
                        if let Val::Bound(func) | Val::Func(func) = init {
                            targets.insert(Target::Func {
                                func,
                                offset: 1,
                                instantiates: true,
                            });
                        }
                    }
                }
            }
            Val::Instance(class) => {
                for call in self.class_attr(*class, "__call__", true) {
                    self.targets_of_at(&call, targets, depth + 1);
                }
            }
            Val::Family(class) => {
                for call in self.family_attr(*class, "__call__", true) {
                    self.targets_of_at(&call, targets, depth + 1);
                }
            }
            Val::External(path) | Val::Builtin(path) => {
                let name = path.as_str();
                if DYNAMIC_EXTERNALS.contains(&name) || DYNAMIC_BUILTINS.contains(&name) {
                    targets.insert(Target::Dynamic(
                        if name.contains("import") || name.starts_with("runpy") {
                            "imports a module chosen at run time"
                        } else {
                            "evaluates code or looks names up at run time"
                        },
                    ));
                } else if matches!(value, Val::Builtin(_)) {
                    targets.insert(Target::External(format!("<builtin>.{name}")));
                } else {
                    targets.insert(Target::External(name.to_string()));
                }
            }
            Val::Unknown => {
                targets.insert(Target::Unknown(None));
            }
            Val::UnknownAttr(name) => {
                targets.insert(Target::Unknown(Some(name.clone())));
            }
            Val::Unresolved(reason) => {
                targets.insert(Target::Dynamic(reason));
            }
            Val::Held(_)
            | Val::Returns(_)
            | Val::Identity
            | Val::Str(_)
            | Val::AnyStr
            | Val::Super(_)
            | Val::Module(_) => {}
        }
    }

    /// Call-graph nodes a value may stand for when it is passed somewhere: functions by
    /// id, closures after them (`project.funcs.len() + closure`).
    pub fn functions_in(&self, value: &Val, out: &mut BTreeSet<usize>) {
        match value {
            Val::Func(f) | Val::Bound(f) => {
                out.insert(*f);
            }
            Val::Closure(c) => {
                out.insert(self.project.funcs.len() + c);
            }
            Val::Held(inner) | Val::Returns(inner) => self.functions_in(inner, out),
            Val::Class(class) => {
                for init in self.class_attr(*class, "__init__", true) {
                    self.functions_in(&init, out);
                }
            }
            Val::Subclasses(class) => {
                for init in self.family_attr(*class, "__init__", true) {
                    self.functions_in(&init, out);
                }
            }
            _ => {}
        }
    }
}

/// `value` put in a container. `x = [x]` in a loop, or `def f(*a): f(*a)`, would nest
/// forever: three levels are enough to tell what a container holds, deeper ones are
/// folded into the third (a function stays callable whatever it was folded into).
fn hold(value: Val) -> Val {
    if held_depth(&value) >= MAX_HELD {
        value
    } else {
        Val::Held(Box::new(value))
    }
}

/// Past `MAX_STRINGS` literals, a set keeps `AnyStr` (at the same container depth) in their
/// place: sound (each literal was a string) and bounded. A literal beside an `AnyStr` at its
/// depth is absorbed into it.
fn widen_strings(values: &mut ValSet) {
    fn is_string(value: &Val) -> bool {
        match value {
            Val::Str(_) => true,
            Val::Held(inner) => is_string(inner),
            _ => false,
        }
    }
    fn widened(value: Val) -> Val {
        match value {
            Val::Str(_) => Val::AnyStr,
            Val::Held(inner) => Val::Held(Box::new(widened(*inner))),
            other => other,
        }
    }
    let strings: Vec<Val> = values.iter().filter(|v| is_string(v)).cloned().collect();
    // `AnyStr` already stands for every literal at its depth: absorbing them keeps the set
    // from shrinking and growing back in turns (a widened set must stay widened).
    let many = strings.len() > MAX_STRINGS;
    for value in strings {
        let wide = widened(value.clone());
        if many || values.contains(&wide) {
            values.remove(&value);
            values.insert(wide);
        }
    }
}

fn held_depth(value: &Val) -> usize {
    match value {
        Val::Held(inner) | Val::Returns(inner) => 1 + held_depth(inner),
        _ => 0,
    }
}

/// Values that decide which code runs when passed to a function (they key its contexts).
pub fn shapes_calls(value: &Val) -> bool {
    match value {
        Val::Held(inner) | Val::Returns(inner) => shapes_calls(inner),
        Val::Func(_) | Val::Bound(_) | Val::Closure(_) | Val::Class(_) | Val::Subclasses(_) => true,
        _ => false,
    }
}

fn is_callable(value: &Val) -> bool {
    matches!(
        value,
        Val::Func(_)
            | Val::Bound(_)
            | Val::Closure(_)
            | Val::Class(_)
            | Val::Instance(_)
            | Val::Family(_)
            | Val::Subclasses(_)
    )
}

/// An element of a value that is iterated or subscripted.
fn element_of(value: Val) -> ValSet {
    match value {
        Val::Held(inner) => ValSet::from([*inner]),
        // Generators yield what their function yields: `returns` already holds it.
        Val::Func(_) | Val::Bound(_) | Val::Closure(_) | Val::Unresolved(_) => {
            ValSet::from([value])
        }
        Val::Str(_) | Val::AnyStr | Val::Returns(_) | Val::Identity => ValSet::new(),
        _ => ValSet::from([Val::Unknown]),
    }
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}.{name}")
    }
}

fn is_builtin(name: &str) -> bool {
    BUILTINS.binary_search(&name).is_ok()
}

/// Python 3.11 builtins (sorted for binary search).
const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "False",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "None",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "True",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
    "__build_class__",
    "__debug__",
    "__doc__",
    "__import__",
    "__name__",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
];

#[cfg(test)]
mod tests {
    #[test]
    fn builtins_are_sorted() {
        let mut sorted = super::BUILTINS.to_vec();
        sorted.sort();
        assert_eq!(sorted, super::BUILTINS);
    }
}
