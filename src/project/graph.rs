//! The call graph: who may call whom, with the site and the reason for every edge.
//!
//! Built by resolving every call in every scope with the `Evaluator`, repeated until the
//! values flowing into parameters stop growing. Speculative
//! edges (calls to unknown callables, attribute calls on unknown receivers) are kept, marked,
//! so reachability stays sound and reports can say which edges are certain.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::values::{Closure, CtxId, NON_CALLING, Node, Target, shapes_calls};
use super::{Evaluator, FileIdx, FuncId, Project, ValSet};
use crate::facts::{Call, Expr, ParamKind, ScopeIdx, ScopeKind, TextRange};

/// Each round carries values one call further into parameters and recomputes only what read
/// a value that grew. Rounds and the nodes recomputed in all rounds are bounded; when either
/// is spent the graph is unsettled, which checks report as "not proven" (DG007), naming
/// the functions still changing. Counting work, not time, keeps the verdict the same on
/// every machine.
const MAX_ROUNDS: usize = 500;
/// Work (nodes computed plus values produced) per project function, with a floor: about a
/// microsecond each. The django 5.1.4 package (10,101 functions) settles after 2.0 million,
/// `unittest/mock.py` (186 functions) after 180,000, the bundled harness after 41,000: the
/// budget is five to a hundred times what real code needs, a few seconds for one file, and
/// half a minute at most.
const WORK_PER_FUNCTION: u64 = 1_000;
const MIN_WORK: u64 = 4_000_000;
const MAX_WORK: u64 = 30_000_000;

/// How far value flow is followed before the graph is declared unsettled.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub rounds: usize,
    pub work: u64,
    /// Recompute every node in every round instead of only the stale ones: the slow, plain
    /// fixed point that the worklist must agree with (a test oracle).
    pub recompute_all: bool,
}

impl Limits {
    pub fn for_project(project: &Project) -> Limits {
        Limits {
            rounds: MAX_ROUNDS,
            work: WORK_PER_FUNCTION
                .saturating_mul(project.funcs.len() as u64)
                .clamp(MIN_WORK, MAX_WORK),
            recompute_all: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Site {
    pub file: FileIdx,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    /// A call that resolves to the function.
    Call,
    /// `Class(...)` runs `Class.__init__`.
    Instantiate,
    /// The function is passed to code outside the project, which may call it.
    PassedTo(String),
    /// Importing a module runs its top-level code.
    Import,
    /// `x.name(...)` on an unknown receiver may be any project function called `name`.
    ByName(String),
}

impl EdgeKind {
    /// Speculative edges come from over-approximation, not from a resolved call.
    pub fn is_speculative(&self) -> bool {
        matches!(self, EdgeKind::ByName(_))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Edge {
    pub from: FuncId,
    pub to: FuncId,
    pub site: Site,
    pub kind: EdgeKind,
    /// The callee as written (`lc.deploy_app`, `_ACTIONS[key]`, `@retry(3)`).
    pub callee_text: String,
}

/// A call that cannot be resolved statically.
#[derive(Clone, Debug)]
pub struct DynamicSite {
    pub func: FuncId,
    pub site: Site,
    pub reason: &'static str,
    pub callee_text: String,
}

/// Nodes are the project's functions (`FuncId`s, module top levels included), then the
/// closures the evaluator found (`funcs.len() + closure`): a decorator's wrapper for one
/// decorated function is its own node, so two decorated functions do not merge, and so is
/// a function called with functions as arguments (`_with_retry[fn=backup]`), so its callers
/// do not merge. `node_func` says which function a node runs.
pub struct CallGraph {
    pub edges: Vec<Edge>,
    /// The function each node runs.
    pub node_func: Vec<FuncId>,
    /// Display names (`harness.util.logged.wrapper[fn=harness.lifecycle.deploy_app]`).
    pub node_name: Vec<String>,
    /// Outgoing edge indices per function.
    pub out: Vec<Vec<usize>>,
    /// Calls to code outside the project, per function (for the graph output).
    pub externals: Vec<BTreeSet<String>>,
    pub dynamic: Vec<DynamicSite>,
    /// True when parameter propagation was cut off before it settled.
    pub unsettled: bool,
    /// When unsettled: the nodes whose calls were still changing.
    pub unsettled_in: Vec<usize>,
}

struct UnknownCall {
    from: FuncId,
    site: Site,
    name: Option<String>,
    callee_text: String,
}

#[derive(Default)]
struct Pass {
    edges: Vec<Edge>,
    externals: HashMap<FuncId, BTreeSet<String>>,
    dynamic: Vec<DynamicSite>,
    unknown: Vec<UnknownCall>,
    params: HashMap<(FuncId, usize), ValSet>,
}

impl CallGraph {
    pub fn build(project: &Project) -> (CallGraph, Evaluator<'_>) {
        Self::build_within(project, Limits::for_project(project))
    }

    pub fn build_within(project: &Project, limits: Limits) -> (CallGraph, Evaluator<'_>) {
        let mut evaluator = Evaluator::new(project);
        let mut pass = Pass::default();
        // Every scope and every closure is a reader node: it is resolved in the first round
        // and again only when a value it read grew.
        let mut scopes: Vec<Reader> = Vec::new();
        for (file, source) in project.files.iter().enumerate() {
            for scope in 0..source.facts.scopes.len() {
                scopes.push(Reader {
                    node: evaluator.new_node(),
                    file,
                    scope,
                    from: project.executing_func(file, scope),
                    ctx: 0,
                    due: true,
                });
            }
        }
        let mut unsettled = true;
        for _ in 0..limits.rounds {
            if !one_pass(project, &evaluator, &mut pass, &mut scopes, limits.work) {
                // The budget ran out: what is still due is what was still changing.
                break;
            }
            for ((func, index), values) in std::mem::take(&mut pass.params) {
                evaluator.pass_to(func, index, values);
            }
            let stale = evaluator.next_round();
            let mut due = false;
            for reader in &mut scopes {
                reader.due = stale.contains(&reader.node);
                due |= reader.due;
            }
            if !due {
                unsettled = false;
                break;
            }
            if limits.recompute_all {
                evaluator.forget_all();
                for reader in &mut scopes {
                    reader.due = true;
                }
            }
        }
        let unsettled_in = if unsettled {
            scopes.iter().filter(|r| r.due).map(|r| r.from).collect()
        } else {
            Vec::new()
        };
        let graph = finish(project, &evaluator, pass, unsettled_in, unsettled);
        (graph, evaluator)
    }

    /// Shortest chain of edges from any of `sources` to any of `targets`: a target is a node,
    /// or a function reached through any of its nodes (`_with_retry[fn=deploy_app]` is
    /// `_with_retry`).
    pub fn shortest_path(
        &self,
        sources: &[FuncId],
        targets: &BTreeSet<FuncId>,
    ) -> Option<Vec<usize>> {
        let mut came_by: HashMap<FuncId, Option<usize>> = HashMap::new();
        let mut queue = VecDeque::new();
        for &source in sources {
            came_by.insert(source, None);
            queue.push_back(source);
        }
        while let Some(func) = queue.pop_front() {
            let hit = targets.contains(&func) || targets.contains(&self.node_func[func]);
            if hit && !sources.contains(&func) {
                let mut path = Vec::new();
                let mut current = func;
                while let Some(Some(edge)) = came_by.get(&current) {
                    path.push(*edge);
                    current = self.edges[*edge].from;
                }
                path.reverse();
                return Some(path);
            }
            for &edge in &self.out[func] {
                let to = self.edges[edge].to;
                if let std::collections::hash_map::Entry::Vacant(slot) = came_by.entry(to) {
                    slot.insert(Some(edge));
                    queue.push_back(to);
                }
            }
        }
        None
    }

    /// Every function reachable from `sources` (including them).
    pub fn reachable(&self, sources: &[FuncId]) -> BTreeSet<FuncId> {
        let mut seen: BTreeSet<FuncId> = sources.iter().copied().collect();
        let mut stack: Vec<FuncId> = sources.to_vec();
        while let Some(func) = stack.pop() {
            for &edge in &self.out[func] {
                let to = self.edges[edge].to;
                if seen.insert(to) {
                    stack.push(to);
                }
            }
        }
        seen
    }

    /// Nodes that can run at all: module top levels, and functions defined directly in a
    /// module or class (callable from anywhere), plus everything they reach. A nested
    /// function that only ever runs as a closure is not live on its own.
    pub fn live(&self, project: &Project) -> BTreeSet<usize> {
        let roots: Vec<usize> = (0..project.funcs.len())
            .filter(|&func| {
                let scope = project.func_scope(func);
                match scope.parent {
                    None => true,
                    Some(parent) => {
                        let file = project.funcs[func].file;
                        matches!(
                            project.scope(file, parent).kind,
                            ScopeKind::Module | ScopeKind::Class
                        )
                    }
                }
            })
            .collect();
        self.reachable(&roots)
    }

    /// Edges from `sources` to `func` along a shortest path (for witnesses of things found
    /// inside a reachable function).
    pub fn path_to(&self, sources: &[FuncId], func: FuncId) -> Option<Vec<usize>> {
        if sources.contains(&func) {
            return Some(Vec::new());
        }
        self.shortest_path(sources, &BTreeSet::from([func]))
    }
}

/// A scope whose calls are resolved: a scope of a file (`ctx` 0), or a closure's body in
/// the context that created it.
struct Reader {
    node: Node,
    file: FileIdx,
    scope: ScopeIdx,
    /// The call-graph node its calls come from.
    from: usize,
    ctx: CtxId,
    /// Resolved in the coming round.
    due: bool,
}

/// Resolves the readers that are due; false when the work budget ran out first.
fn one_pass(
    project: &Project,
    evaluator: &Evaluator,
    pass: &mut Pass,
    readers: &mut Vec<Reader>,
    budget: u64,
) -> bool {
    // The readers of the files' scopes come first, one per scope; closures follow in order.
    let scope_readers = project
        .files
        .iter()
        .map(|f| f.facts.scopes.len())
        .sum::<usize>();
    let mut i = 0;
    loop {
        // Closures found while resolving (more may appear as they are resolved).
        if i == readers.len() {
            let closure = readers.len() - scope_readers;
            let Some(Closure { func, ctx }) = evaluator.closure(closure) else {
                break;
            };
            let info = &project.funcs[func];
            readers.push(Reader {
                node: evaluator.new_node(),
                file: info.file,
                scope: info.scope,
                from: project.funcs.len() + closure,
                ctx,
                due: true,
            });
        }
        let reader = &mut readers[i];
        if reader.due {
            if evaluator.work() > budget {
                return false;
            }
            reader.due = false;
            let Reader {
                node,
                file,
                scope,
                from,
                ctx,
                ..
            } = *reader;
            evaluator.reading_as(node, || {
                evaluator.in_context(ctx, || {
                    scope_edges(project, evaluator, pass, file, scope, from)
                })
            });
        }
        i += 1;
    }
    true
}

fn scope_edges(
    project: &Project,
    evaluator: &Evaluator,
    pass: &mut Pass,
    file: FileIdx,
    scope_idx: ScopeIdx,
    from: usize,
) {
    let scope = project.scope(file, scope_idx);
    for call in &scope.calls {
        resolve_call(project, evaluator, pass, file, scope_idx, from, call);
    }
    for import in &scope.imports {
        let site = Site {
            file,
            range: import.range,
        };
        for module in imported_modules(project, evaluator, file, scope_idx, &import.module) {
            if let Some(target) = project
                .module_file(&module)
                .and_then(|f| project.func_of_scope(f, 0))
                && target != from
            {
                pass.edges.push(Edge {
                    from,
                    to: target,
                    site,
                    kind: EdgeKind::Import,
                    callee_text: format!("import {module}"),
                });
            }
        }
    }
}

/// The project modules an import runs: the module and every package above it, plus
/// submodules named by `from pkg import sub`.
fn imported_modules(
    project: &Project,
    evaluator: &Evaluator,
    file: FileIdx,
    scope: ScopeIdx,
    module: &str,
) -> Vec<String> {
    let absolute = evaluator.absolute_module(file, module);
    let mut modules = Vec::new();
    let parts: Vec<&str> = absolute.split('.').collect();
    for i in 1..=parts.len() {
        modules.push(parts[..i].join("."));
    }
    for binding in &project.scope(file, scope).bindings {
        if let Expr::ImportFrom(from, name) = &binding.value
            && from == module
        {
            let sub = format!("{absolute}.{name}");
            if project.module_file(&sub).is_some() {
                modules.push(sub);
            }
        }
    }
    modules
}

fn resolve_call(
    project: &Project,
    evaluator: &Evaluator,
    pass: &mut Pass,
    file: FileIdx,
    scope: ScopeIdx,
    from: FuncId,
    call: &Call,
) {
    let site = Site {
        file,
        range: call.range,
    };
    let targets = evaluator.call_targets_of(file, scope, call);
    // Evaluated once for every project function the call may reach.
    let shaped = std::cell::OnceCell::new();
    let shaped =
        || shaped.get_or_init(|| evaluator.shape_call(file, scope, &call.args, &call.kwargs));
    let mut outside: Option<String> = None;
    for target in targets {
        match target {
            Target::Func {
                func,
                offset,
                instantiates,
            } => {
                let kind = if instantiates {
                    EdgeKind::Instantiate
                } else {
                    EdgeKind::Call
                };
                // A call that hands functions over runs the callee in a context of its own:
                // the functions go there, not into the callee's shared parameter values.
                let special = evaluator.specialize(func, offset, shaped());
                pass.edges.push(Edge {
                    from,
                    to: special.map_or(func, |closure| project.funcs.len() + closure),
                    site,
                    kind,
                    callee_text: call.callee_text.clone(),
                });
                pass_arguments(
                    project,
                    evaluator,
                    pass,
                    file,
                    scope,
                    func,
                    offset,
                    call,
                    special.is_some(),
                );
            }
            Target::Closure(closure) => {
                let Some(Closure { func, .. }) = evaluator.closure(closure) else {
                    continue;
                };
                pass.edges.push(Edge {
                    from,
                    to: project.funcs.len() + closure,
                    site,
                    kind: EdgeKind::Call,
                    callee_text: call.callee_text.clone(),
                });
                pass_arguments(project, evaluator, pass, file, scope, func, 0, call, false);
            }
            Target::External(name) => {
                let passes_through = !NON_CALLING.contains(&name.trim_start_matches("<builtin>."));
                if passes_through && outside.is_none() {
                    outside = Some(name.clone());
                }
                pass.externals.entry(from).or_default().insert(name);
            }
            Target::Unknown(name) => {
                outside = Some(call.callee_text.clone());
                pass.unknown.push(UnknownCall {
                    from,
                    site,
                    name,
                    callee_text: call.callee_text.clone(),
                });
            }
            Target::Dynamic(reason) => {
                pass.dynamic.push(DynamicSite {
                    func: from,
                    site,
                    reason,
                    callee_text: call.callee_text.clone(),
                });
            }
        }
    }
    // A function handed to code outside the project (a callback, a thread target, an
    // `atexit` handler) is taken to run at the point where it is handed over: the edge
    // belongs to the caller that passed it.
    if let Some(receiver) = outside {
        let mut passed = BTreeSet::new();
        for arg in call.args.iter().chain(call.kwargs.iter().map(|(_, v)| v)) {
            for value in evaluator.eval(file, scope, arg) {
                evaluator.functions_in(&value, &mut passed);
            }
        }
        for func in passed {
            pass.edges.push(Edge {
                from,
                to: func,
                site,
                kind: EdgeKind::PassedTo(receiver.clone()),
                callee_text: call.callee_text.clone(),
            });
        }
    }
}

/// Records what a call passes into each parameter of a project function.
#[allow(clippy::too_many_arguments)]
fn pass_arguments(
    project: &Project,
    evaluator: &Evaluator,
    pass: &mut Pass,
    file: FileIdx,
    scope: ScopeIdx,
    func: FuncId,
    offset: usize,
    call: &Call,
    specialized: bool,
) {
    let params = &project.func_scope(func).params;
    let var_args = params.iter().position(|p| p.kind == ParamKind::VarArgs);
    let var_keywords = params.iter().position(|p| p.kind == ParamKind::VarKeywords);
    let mut record = |index: usize, values: ValSet| {
        let values: ValSet = values
            .into_iter()
            .filter(|v| *v != super::Val::Unknown && !(specialized && shapes_calls(v)))
            .collect();
        if !values.is_empty() {
            pass.params.entry((func, index)).or_default().extend(values);
        }
    };
    let mut spread = false;
    for (i, arg) in call.args.iter().enumerate() {
        let position = i + offset;
        spread |= matches!(arg, Expr::Element(_));
        if spread {
            // After `*xs` / `**kw` the positions are unknown: any later parameter may get it.
            let values = evaluator.eval(file, scope, arg);
            for index in position.min(params.len())..params.len() {
                record(index, values.clone());
            }
            continue;
        }
        let index = match params.get(position) {
            Some(p) if p.kind == ParamKind::Positional => Some(position),
            _ => var_args,
        };
        if let Some(index) = index {
            record(index, evaluator.eval(file, scope, arg));
        }
    }
    for (name, arg) in &call.kwargs {
        let index = params
            .iter()
            .position(|p| &p.name == name && p.kind != ParamKind::VarArgs)
            .or(var_keywords);
        if let Some(index) = index {
            record(index, evaluator.eval(file, scope, arg));
        }
    }
}

fn finish(
    project: &Project,
    evaluator: &Evaluator,
    pass: Pass,
    unsettled_in: Vec<usize>,
    unsettled: bool,
) -> CallGraph {
    let closures = evaluator.closures();
    let mut node_func: Vec<FuncId> = (0..project.funcs.len()).collect();
    let mut node_name: Vec<String> = project.funcs.iter().map(|f| f.qualname.clone()).collect();
    for (i, closure) in closures.iter().enumerate() {
        node_func.push(closure.func);
        node_name.push(evaluator.closure_label(i));
    }
    let mut edges = pass.edges;
    // `x.name(...)` on a receiver from outside the project may be any project method
    // called `name` (modules and classes of the project are resolved precisely).
    let mut by_name: HashMap<&str, Vec<FuncId>> = HashMap::new();
    for (func, info) in project.funcs.iter().enumerate() {
        if info.class.is_some() && project.func_scope(func).kind == ScopeKind::Function {
            let name = info.qualname.rsplit('.').next().unwrap_or("");
            by_name.entry(name).or_default().push(func);
        }
    }
    for unknown in &pass.unknown {
        if let Some(name) = &unknown.name {
            for &func in by_name.get(name.as_str()).map_or(&[][..], Vec::as_slice) {
                edges.push(Edge {
                    from: unknown.from,
                    to: func,
                    site: unknown.site,
                    kind: EdgeKind::ByName(name.clone()),
                    callee_text: unknown.callee_text.clone(),
                });
            }
        }
    }
    let mut seen = HashSet::new();
    edges.retain(|e| seen.insert((e.from, e.to, e.site, e.kind.clone())));
    edges.sort_by(|a, b| (a.site, a.from, a.to, &a.kind).cmp(&(b.site, b.from, b.to, &b.kind)));
    let mut out = vec![Vec::new(); node_func.len()];
    // Certain edges first, so shortest paths prefer them.
    let mut order: Vec<usize> = (0..edges.len()).collect();
    order.sort_by_key(|&i| edges[i].kind.is_speculative());
    for i in order {
        out[edges[i].from].push(i);
    }
    let mut externals = vec![BTreeSet::new(); node_func.len()];
    for (func, names) in pass.externals {
        externals[func] = names;
    }
    let mut dynamic = pass.dynamic;
    dynamic.sort_by_key(|a| a.site);
    dynamic.dedup_by(|a, b| a.site == b.site && a.reason == b.reason);
    CallGraph {
        node_func,
        node_name,
        edges,
        out,
        externals,
        dynamic,
        unsettled,
        unsettled_in,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use super::{CallGraph, Limits};
    use crate::discover::SourceFile;
    use crate::project::{Project, ProjectFile};

    fn project(files: &[(&str, &str)]) -> Project {
        Project::index(
            files
                .iter()
                .map(|(module, text)| {
                    let rel = format!("{}.py", module.replace('.', "/"));
                    ProjectFile::new(
                        SourceFile {
                            path: PathBuf::from(&rel),
                            rel,
                            module: (*module).into(),
                            is_package: false,
                            guarded: true,
                        },
                        text.as_bytes().to_vec(),
                    )
                })
                .collect(),
        )
    }

    /// Every `.py` file under a folder of `testdata`, as modules of one project.
    fn testdata(folder: &str) -> Project {
        tree(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .join(folder),
        )
    }

    fn tree(root: &Path) -> Project {
        assert!(root.is_dir(), "{} is missing", root.display());
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            let entry = entry.unwrap();
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "py") {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let is_package = rel.ends_with("__init__.py");
            let module = rel
                .trim_end_matches(".py")
                .trim_end_matches("/__init__")
                .replace('/', ".");
            let text = std::fs::read(path).unwrap();
            files.push(ProjectFile::new(
                SourceFile {
                    path: path.to_path_buf(),
                    rel,
                    module,
                    is_package,
                    guarded: true,
                },
                text,
            ));
        }
        Project::index(files)
    }

    fn edges(graph: &CallGraph) -> BTreeSet<(String, String, String)> {
        graph
            .edges
            .iter()
            .map(|e| {
                (
                    graph.node_name[e.from].clone(),
                    graph.node_name[e.to].clone(),
                    format!("{:?}", e.kind),
                )
            })
            .collect()
    }

    fn chain(n: usize) -> String {
        let mut src = String::from("def deploy(app):\n    return app\n\n");
        for i in 0..n {
            src.push_str(&format!("def f{i}(p):\n    return f{}(p)\n\n", i + 1));
        }
        src.push_str(&format!(
            "def f{n}(p):\n    return p(1)\n\ndef backup():\n    f0(deploy)\n"
        ));
        src
    }

    /// The edges of `project`'s graph, after checking that the worklist and the plain fixed
    /// point (recompute every node in every round) both settle on exactly these edges.
    fn same_fixed_point(project: &Project, label: &str) -> BTreeSet<(String, String, String)> {
        let limits = Limits::for_project(project);
        let (worklist, _) = CallGraph::build_within(project, limits);
        // The oracle recomputes everything every round, so it does more work than the
        // product's budget allows for the worklist: give it room (the worklist keeps the
        // product's budget, and must settle within it).
        let (plain, _) = CallGraph::build_within(
            project,
            Limits {
                recompute_all: true,
                work: limits.work.saturating_mul(8),
                ..limits
            },
        );
        assert!(
            !worklist.unsettled && !plain.unsettled,
            "{label}: worklist unsettled {}, plain unsettled {}",
            worklist.unsettled,
            plain.unsettled
        );
        let found = edges(&worklist);
        assert_eq!(found, edges(&plain), "{label}");
        found
    }

    #[test]
    fn the_worklist_reaches_the_same_fixed_point_as_recomputing_everything() {
        // Recomputing every node in every round is the plain definition of the fixed point;
        // recomputing only what read a grown value must find exactly the same edges.
        for folder in [
            "cc-ci/runner",
            "dialects/class-run/runner",
            "dialects/dataclass-ctx/runner",
            "dialects/procedural/runner",
            "sites-corpus",
            "sites-corpus-extra",
        ] {
            let edges = same_fixed_point(&testdata(folder), folder);
            assert!(!edges.is_empty(), "{folder}");
        }
    }

    #[test]
    #[ignore = "needs the PyPI corpus: run scripts/test.sh (or scripts/fetch_corpus.sh first)"]
    fn real_code_settles_at_the_same_fixed_point_as_recomputing_everything() {
        // unittest/mock.py and django/db once ran for minutes and gigabytes.
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/corpus");
        for root in [corpus.join("mock"), corpus.join("django/django/db")] {
            let label = root.display().to_string();
            let edges = same_fixed_point(&tree(&root), &label);
            assert!(edges.len() > 100, "{label}");
        }
    }

    #[test]
    fn a_value_is_followed_down_a_parameter_chain() {
        let project = project(&[("ops", &chain(40))]);
        let (graph, _) = CallGraph::build(&project);
        assert!(!graph.unsettled);
        let found = edges(&graph);
        assert!(
            found
                .iter()
                .any(|(from, to, _)| from == "ops.f40[p=ops.deploy]" && to == "ops.deploy"),
            "{found:?}"
        );
    }

    #[test]
    fn a_spent_work_budget_is_unsettled_and_says_where() {
        let project = project(&[("ops", &chain(40))]);
        let limits = Limits {
            work: 50,
            ..Limits::for_project(&project)
        };
        let (graph, _) = CallGraph::build_within(&project, limits);
        assert!(graph.unsettled);
        let changing: Vec<&str> = graph
            .unsettled_in
            .iter()
            .map(|&n| graph.node_name[n].as_str())
            .collect();
        assert!(!changing.is_empty());
        assert!(
            changing.iter().all(|n| n.starts_with("ops.")),
            "{changing:?}"
        );
    }

    #[test]
    fn values_that_could_nest_forever_are_widened_and_settle() {
        // `x = x.attr` on a library value, and `*args` handed back to the same function,
        // used to grow one level per round without end (unittest/mock.py, django).
        let source = "\
import types

def grow(x):
    for _ in range(3):
        x = x.keywords
        x = x.pattern
    return grow(x)

def spread(*args):
    return spread(args, *args)

grow(types.NoneType)
spread(1)

COMMON = ('lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit',
          'sed', 'do', 'eiusmod', 'tempor', 'incididunt', 'ut', 'labore', 'et', 'dolore',
          'magna', 'aliqua', 'enim', 'ad', 'minim', 'veniam')

def words(count):
    # django.utils.lorem_ipsum.words: 23 literals held, then taken out again, crossed the
    # widening limit every other round and shrank back in between.
    word_list = list(COMMON)
    word_list = word_list[:count]
    return ' '.join(word_list)
";
        let project = project(&[("m", source)]);
        let (graph, _) = CallGraph::build(&project);
        assert!(!graph.unsettled, "{:?}", graph.unsettled_in);
    }
}
