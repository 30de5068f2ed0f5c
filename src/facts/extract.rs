//! Fact extraction: one tree-sitter pass over `queries/python/facts.scm` captures.
//!
//! Captures arrive in document order. Scopes are created first (so a lambda inside an
//! assignment is known when the assignment is read), then every other capture is attributed
//! to the innermost scope whose body contains it. The tree is never walked recursively, so
//! deep nesting cannot overflow the stack; expression conversion is depth-bounded and marks
//! what it cut as `Expr::Dynamic` so the analysis fails closed on it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, QueryCursor};

use super::flow::build_flow;
use super::identifier;
use super::{
    AttrStore, Binding, Call, Comprehension, Expr, FileFacts, Import, Param, ParamKind, Protocol,
    Scope, ScopeIdx, ScopeKind, SyntaxError, TextRange,
};
use crate::parse::{QUERIES, parse, syntax_errors};

/// How deep an expression is followed before it is treated as unknowable.
const MAX_EXPR_DEPTH: usize = 64;
/// How deep the receiver of an implicit call is followed (see `Extractor::receiver`).
const RECEIVER_DEPTH: usize = 6;
/// How many decorators on one definition are modelled precisely.
const MAX_DECORATORS: usize = 6;
/// Qualnames keep at most this many leading segments before eliding to `….name`: 10,000
/// nested lambdas would otherwise spell out 50 MB of names per copy (quadratic).
const MAX_QUALNAME_SEGMENTS: usize = 32;
/// Container methods that store their arguments into the container they are called on.
const STORING_METHODS: &[&str] = &["append", "appendleft", "insert", "add", "setdefault", "put"];
const MERGING_METHODS: &[&str] = &["extend", "extendleft", "update"];

/// Extracts the facts of one file. Never fails: unparsable input yields syntax errors.
/// `outer.inner`; past [`MAX_QUALNAME_SEGMENTS`], `a.b.….inner`, so names stay bounded while
/// the module, the outer definitions and the name itself (what policy patterns match) remain.
fn nested_qualname(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        return name.to_string();
    }
    if parent.split('.').nth(MAX_QUALNAME_SEGMENTS - 1).is_none() {
        return format!("{parent}.{name}");
    }
    let kept: Vec<&str> = parent.split('.').take(MAX_QUALNAME_SEGMENTS - 2).collect();
    format!("{}.….{name}", kept.join("."))
}

pub fn extract(source: &[u8]) -> FileFacts {
    let module = Scope::new(
        ScopeKind::Module,
        String::new(),
        None,
        whole(source),
        whole(source),
    );
    let Some(tree) = parse(source) else {
        return FileFacts {
            scopes: vec![module],
            syntax_errors: vec![SyntaxError {
                range: TextRange::new(0, 0),
                message: "the parser could not read this file".into(),
            }],
        };
    };
    let errors = syntax_errors(&tree, source);
    let mut extractor = Extractor {
        contexts: Vec::new(),
        source,
        scopes: vec![module],
        scope_of_node: HashMap::new(),
        comprehension_uses: HashMap::new(),
        not_reads: HashSet::new(),
    };
    extractor.run(tree.root_node());
    FileFacts {
        scopes: extractor.scopes,
        syntax_errors: errors,
    }
}

fn whole(source: &[u8]) -> TextRange {
    TextRange::new(0, source.len())
}

impl Scope {
    fn new(
        kind: ScopeKind,
        qualname: String,
        parent: Option<ScopeIdx>,
        name_range: TextRange,
        body_range: TextRange,
    ) -> Self {
        Scope {
            kind,
            qualname,
            parent,
            name_range,
            body_range,
            params: Vec::new(),
            decorators: Vec::new(),
            bases: Vec::new(),
            bindings: Vec::new(),
            globals: Vec::new(),
            nonlocals: Vec::new(),
            calls: Vec::new(),
            returns: Vec::new(),
            attr_stores: Vec::new(),
            fields: Vec::new(),
            imports: Vec::new(),
            flow: Vec::new(),
            flow_truncated: false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    Function,
    Class,
    Lambda,
    Call,
    Decorator,
    Assign,
    Augmented,
    Walrus,
    For,
    With,
    Except,
    Import,
    ImportFrom,
    Global,
    Nonlocal,
    Return,
    /// A conditional expression or a short-circuit operand: calls inside may not run.
    MayNotRun,
    Comprehension,
    /// Code Python calls although no call is written: operators, subscripts, attribute
    /// reads, `raise E` (see `record_implicit`).
    Implicit,
    /// Sub-captures (names, bodies) read through their parent's fields instead.
    Ignored,
}

fn capture_kind(name: &str) -> Capture {
    match name {
        "scope.function" => Capture::Function,
        "scope.class" => Capture::Class,
        "scope.lambda" => Capture::Lambda,
        "call" => Capture::Call,
        "decorator" => Capture::Decorator,
        "bind.assign" => Capture::Assign,
        "bind.augmented" => Capture::Augmented,
        "bind.walrus" => Capture::Walrus,
        "bind.for" => Capture::For,
        "bind.with" => Capture::With,
        "bind.except" => Capture::Except,
        "import" => Capture::Import,
        "import.from" => Capture::ImportFrom,
        "declare.global" => Capture::Global,
        "declare.nonlocal" => Capture::Nonlocal,
        "return" => Capture::Return,
        "context.conditional" | "context.short_circuit" => Capture::MayNotRun,
        "context.comprehension" => Capture::Comprehension,
        _ => Capture::Ignored,
    }
}

pub(super) struct Extractor<'s> {
    /// "May not run" and comprehension ranges open at the current capture (pass 2).
    contexts: Vec<(TextRange, Option<Comprehension>)>,
    source: &'s [u8],
    scopes: Vec<Scope>,
    /// Definition node id -> the scope it opens.
    scope_of_node: HashMap<usize, ScopeIdx>,
    /// Comprehension node id -> what its result is bound to, noted by the assignment or
    /// `return` around it (visited first), so no capture asks tree-sitter for a parent.
    comprehension_uses: HashMap<usize, Comprehension>,
    /// Attribute and subscript nodes that are assigned to (their store is recorded with the
    /// assignment) and attribute nodes that are called (`obj.m(...)` resolves `m` itself):
    /// noted by the outer capture, visited first, so the node's own capture skips them.
    not_reads: HashSet<usize>,
}

/// Finds the innermost scope containing a position, for positions visited in order.
struct ScopeStack {
    open: Vec<(ScopeIdx, TextRange)>,
}

impl ScopeStack {
    fn enclosing(&mut self, offset: u32) -> ScopeIdx {
        while let Some((_, body)) = self.open.last() {
            if body.end <= offset && self.open.len() > 1 {
                self.open.pop();
            } else {
                break;
            }
        }
        self.open
            .iter()
            .rev()
            .find(|(_, body)| body.contains(offset))
            .map_or(0, |(idx, _)| *idx)
    }
}

impl<'s> Extractor<'s> {
    fn run(&mut self, root: Node<'s>) {
        let query = &QUERIES.facts;
        let kinds: Vec<Capture> = query
            .capture_names()
            .iter()
            .map(|n| capture_kind(n))
            .collect();
        let mut captures: Vec<(Capture, Node<'s>)> = Vec::new();
        let mut cursor = QueryCursor::new();
        let mut matches = cursor.captures(query, root, self.source);
        while let Some((m, index)) = matches.next() {
            let capture = m.captures()[*index];
            let kind = kinds[capture.index as usize];
            if kind != Capture::Ignored {
                captures.push((kind, capture.node));
            }
        }
        collect_implicit(root, &mut captures);
        // Outer nodes before the nodes they contain, so open ranges nest.
        captures.sort_by_key(|(_, n)| (n.start_byte(), std::cmp::Reverse(n.end_byte())));

        // Pass 1: open every scope, in document order, under its innermost parent.
        let mut stack = ScopeStack {
            open: vec![(0, self.scopes[0].body_range)],
        };
        let mut opened: Vec<(ScopeIdx, Node<'s>)> = Vec::new();
        let mut lambda_counts: HashMap<ScopeIdx, usize> = HashMap::new();
        for &(kind, node) in &captures {
            let scope_kind = match kind {
                Capture::Function => ScopeKind::Function,
                Capture::Class => ScopeKind::Class,
                Capture::Lambda => ScopeKind::Lambda,
                _ => continue,
            };
            let Some(body) = node.child_by_field_name("body") else {
                continue;
            };
            let parent = stack.enclosing(node.start_byte() as u32);
            let (name, name_range) = if scope_kind == ScopeKind::Lambda {
                let count = lambda_counts.entry(parent).or_insert(0);
                *count += 1;
                (format!("<lambda{count}>"), TextRange::of(&node))
            } else {
                match node.child_by_field_name("name") {
                    Some(n) => (self.text(n).to_string(), TextRange::of(&n)),
                    None => continue,
                }
            };
            let qualname = nested_qualname(&self.scopes[parent].qualname, &name);
            let idx = self.scopes.len();
            let body_range = TextRange::of(&body);
            self.scopes.push(Scope::new(
                scope_kind,
                qualname,
                Some(parent),
                name_range,
                body_range,
            ));
            self.scope_of_node.insert(node.id(), idx);
            stack.open.push((idx, body_range));
            opened.push((idx, node));
        }

        // Pass 1.5: what each definition needs from its surroundings.
        for &(idx, node) in &opened {
            self.fill_definition(idx, node);
        }

        // Pass 2: everything else, attributed to its innermost scope.
        let mut stack = ScopeStack {
            open: vec![(0, self.scopes[0].body_range)],
        };
        let mut next_scope = 0;
        for &(kind, node) in &captures {
            let offset = node.start_byte() as u32;
            while next_scope < opened.len() && opened[next_scope].1.start_byte() as u32 <= offset {
                let idx = opened[next_scope].0;
                stack.enclosing(offset);
                stack.open.push((idx, self.scopes[idx].body_range));
                next_scope += 1;
            }
            let scope = stack.enclosing(offset);
            while self
                .contexts
                .last()
                .is_some_and(|(range, _)| range.end <= offset)
            {
                self.contexts.pop();
            }
            self.record(kind, node, scope);
        }

        // Flow skeletons, once every call is known.
        build_flow(self, root, &opened);
    }

    /// A node's text; identifiers and dotted names as Python reads them (NFKC, PEP 3131).
    /// The value an implicit call runs on, followed `RECEIVER_DEPTH` levels deep: these are
    /// made for every operator and attribute node, and a nested one (`a + b + ... + z`, a
    /// 100,000-link `a.b.b...b`) must not cost its whole depth for each of its nodes. A deeper
    /// receiver is unknowable, so its implicit calls reach no project code.
    fn receiver(&self, node: Node<'s>) -> Expr {
        self.expr_at(node, MAX_EXPR_DEPTH - RECEIVER_DEPTH)
    }

    /// A node's text for a label, shortened, reading at most a bounded prefix of it: labels
    /// are made for nested nodes (a 5 MB `a + a + ...` is a million operators), so reading
    /// the whole text of each would be quadratic.
    fn snippet(&self, node: Node) -> String {
        let (start, end) = (
            node.start_byte(),
            node.end_byte().min(node.start_byte() + 256),
        );
        let bytes = &self.source[start..end];
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        };
        let short = shorten(text);
        if end < node.end_byte() && !short.ends_with("...") {
            format!("{short}...")
        } else {
            short
        }
    }

    pub(super) fn text(&self, node: Node) -> Cow<'s, str> {
        let raw = node.utf8_text(self.source).unwrap_or("");
        match node.kind() {
            "identifier" | "dotted_name" => identifier(raw),
            _ => Cow::Borrowed(raw),
        }
    }

    pub(super) fn scopes_mut(&mut self) -> &mut Vec<Scope> {
        &mut self.scopes
    }

    pub(super) fn scope_of_node(&self, node: Node) -> Option<ScopeIdx> {
        self.scope_of_node.get(&node.id()).copied()
    }

    fn fill_definition(&mut self, idx: ScopeIdx, node: Node<'s>) {
        let parent = self.scopes[idx].parent.unwrap_or(0);
        let params = match node.child_by_field_name("parameters") {
            Some(list) => self.params(list),
            None => Vec::new(),
        };
        // Only a `def` or `class` statement can be decorated; asking a lambda for its parent
        // would cost the depth of the tree, for each of 10,000 nested lambdas.
        let decorated = (self.scopes[idx].kind != ScopeKind::Lambda)
            .then(|| node.parent())
            .flatten()
            .filter(|p| p.kind() == "decorated_definition");
        let decorators: Vec<Expr> = decorated
            .map(|d| {
                let mut walk = d.walk();
                d.named_children(&mut walk)
                    .filter(|c| c.kind() == "decorator")
                    .filter_map(|c| c.named_child(0))
                    .map(|e| self.expr(e))
                    .collect()
            })
            .unwrap_or_default();
        let bases: Vec<Expr> = node
            .child_by_field_name("superclasses")
            .map(|list| {
                let mut walk = list.walk();
                list.named_children(&mut walk)
                    .filter(|c| c.kind() != "keyword_argument")
                    .map(|c| self.expr(c))
                    .collect()
            })
            .unwrap_or_default();
        let kind = self.scopes[idx].kind;
        if kind == ScopeKind::Lambda {
            // A lambda returns its body.
            if let Some(body) = node.child_by_field_name("body") {
                let value = self.expr(body);
                self.scopes[idx].returns.push(value);
            }
        } else {
            // `def f` binds `f` in the parent to the decorated function: `a(b(f))`.
            let mut value = if kind == ScopeKind::Class {
                Expr::Class(idx)
            } else {
                Expr::Def(idx)
            };
            for (applied, decorator) in decorators.iter().rev().enumerate() {
                if applied >= MAX_DECORATORS {
                    value = Expr::Dynamic("too many decorators to follow");
                    break;
                }
                let decorated = Expr::Call(Box::new(decorator.clone()), vec![value.clone()]);
                value = Expr::Union(vec![value, decorated]);
            }
            let name = self.scopes[idx]
                .qualname
                .rsplit('.')
                .next()
                .unwrap_or("")
                .to_string();
            let range = self.scopes[idx].name_range;
            self.scopes[parent]
                .bindings
                .push(Binding { name, value, range });
        }
        let scope = &mut self.scopes[idx];
        scope.params = params;
        scope.decorators = decorators;
        scope.bases = bases;
    }

    fn params(&self, list: Node<'s>) -> Vec<Param> {
        let mut params = Vec::new();
        let mut keyword_only = false;
        let mut walk = list.walk();
        for child in list.named_children(&mut walk) {
            let positional = if keyword_only {
                ParamKind::KeywordOnly
            } else {
                ParamKind::Positional
            };
            let (name_node, kind, default) = match child.kind() {
                "identifier" => (Some(child), positional, None),
                "default_parameter" | "typed_default_parameter" => (
                    child.child_by_field_name("name"),
                    positional,
                    child.child_by_field_name("value").map(|v| self.expr(v)),
                ),
                "typed_parameter" => match child.named_child(0) {
                    Some(inner) if inner.kind() == "list_splat_pattern" => {
                        keyword_only = true;
                        (inner.named_child(0), ParamKind::VarArgs, None)
                    }
                    Some(inner) if inner.kind() == "dictionary_splat_pattern" => {
                        (inner.named_child(0), ParamKind::VarKeywords, None)
                    }
                    inner => (inner, positional, None),
                },
                "list_splat_pattern" => {
                    keyword_only = true;
                    (child.named_child(0), ParamKind::VarArgs, None)
                }
                "dictionary_splat_pattern" => (child.named_child(0), ParamKind::VarKeywords, None),
                "keyword_separator" => {
                    keyword_only = true;
                    continue;
                }
                _ => continue,
            };
            if let Some(name_node) = name_node.filter(|n| n.kind() == "identifier") {
                params.push(Param {
                    name: self.text(name_node).to_string(),
                    kind,
                    default,
                });
            }
        }
        params
    }

    fn record(&mut self, kind: Capture, node: Node<'s>, scope: ScopeIdx) {
        match kind {
            Capture::Call => self.record_call(node, scope),
            Capture::MayNotRun => self.contexts.push((TextRange::of(&node), None)),
            Capture::Comprehension => {
                let info = self.comprehension(node);
                self.contexts.push((TextRange::of(&node), Some(info)));
            }
            Capture::Decorator => self.record_decorator(node, scope),
            Capture::Assign | Capture::Augmented => {
                if let (Some(left), Some(_)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("type"),
                ) && left.kind() == "identifier"
                    && self.scopes[scope].kind == ScopeKind::Class
                {
                    let field = self.text(left).to_string();
                    self.scopes[scope].fields.push(field);
                }
                let (Some(left), Some(mut right)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ) else {
                    return;
                };
                if kind == Capture::Assign && left.kind() == "identifier" {
                    self.note_comprehension_use(right, Some(self.text(left).to_string()), false);
                }
                // `a = b = value`: every target gets the innermost right-hand side.
                while right.kind() == "assignment" {
                    match right.child_by_field_name("right") {
                        Some(inner) => right = inner,
                        None => return,
                    }
                }
                let value = self.expr(right);
                if kind == Capture::Augmented {
                    self.record_augmented_read(node, left, scope);
                }
                let value = match augmented_operator(kind, node, left, self.source) {
                    // `x += v` rebinds `x` to `x + v`: the value keeps what `x` held.
                    Some(op) => Expr::BinOp(op, Box::new(self.expr(left)), Box::new(value)),
                    None => value,
                };
                self.bind_target(scope, left, value, 0);
            }
            Capture::Walrus => {
                if let (Some(name), Some(value)) = (
                    node.child_by_field_name("name"),
                    node.child_by_field_name("value"),
                ) {
                    let value = self.expr(value);
                    self.bind_target(scope, name, value, 0);
                }
            }
            Capture::For => {
                if let (Some(left), Some(right)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ) {
                    self.record_for_protocol(node, right, scope);
                    let value = Expr::Element(Box::new(self.expr(right)));
                    self.bind_target(scope, left, value, 0);
                }
            }
            Capture::With => {
                let Some(value) = node.child_by_field_name("value") else {
                    return;
                };
                self.record_with_protocol(node, value, scope);
                if value.kind() != "as_pattern" {
                    return;
                }
                let (Some(manager), Some(alias)) =
                    (value.named_child(0), value.child_by_field_name("alias"))
                else {
                    return;
                };
                let manager = self.expr(manager);
                let entered = Expr::Call(
                    Box::new(Expr::Attr(Box::new(manager.clone()), "__enter__".into())),
                    Vec::new(),
                );
                let target = alias.named_child(0).unwrap_or(alias);
                self.bind_target(scope, target, Expr::Union(vec![manager, entered]), 0);
            }
            Capture::Except => {
                if let Some(alias) = node.child_by_field_name("alias") {
                    self.bind_target(scope, alias, Expr::Opaque, 0);
                }
            }
            Capture::Import => self.record_import(node, scope),
            Capture::ImportFrom => self.record_import_from(node, scope),
            Capture::Global | Capture::Nonlocal => {
                let mut walk = node.walk();
                let names: Vec<String> = node
                    .named_children(&mut walk)
                    .filter(|c| c.kind() == "identifier")
                    .map(|c| self.text(c).to_string())
                    .collect();
                let target = &mut self.scopes[scope];
                if kind == Capture::Global {
                    target.globals.extend(names);
                } else {
                    target.nonlocals.extend(names);
                }
            }
            Capture::Return => {
                if let (Some(value), "return_statement") = (node.named_child(0), node.kind()) {
                    self.note_comprehension_use(value, None, true);
                }
                if let Some(value) = node.named_child(0) {
                    let value = self.expr(value);
                    self.scopes[scope].returns.push(value);
                }
            }
            Capture::Implicit => self.record_implicit(node, scope),
            Capture::Function | Capture::Class | Capture::Lambda | Capture::Ignored => {}
        }
    }

    /// `t op= v` reads `t` (an attribute read or `__getitem__`, as its own capture would
    /// have recorded before the store claimed the node) and runs `t.__iop__`.
    fn record_augmented_read(&mut self, node: Node<'s>, left: Node<'s>, scope: ScopeIdx) {
        let range = TextRange::of(&left);
        let text = self.snippet(left);
        match (
            left.kind(),
            left.child_by_field_name("object"),
            left.child_by_field_name("attribute"),
        ) {
            ("attribute", Some(object), Some(attr)) => {
                let (object, attr) = (self.receiver(object), self.text(attr).to_string());
                self.push_implicit(
                    scope,
                    range,
                    object,
                    Protocol::Get(attr),
                    format!("{text} (attribute read)"),
                );
            }
            ("subscript", ..) => {
                if let Some(value) = left.child_by_field_name("value") {
                    let value = self.receiver(value);
                    self.push_implicit(
                        scope,
                        range,
                        value,
                        Protocol::Dunder("__getitem__".into()),
                        format!("{text} (__getitem__)"),
                    );
                }
            }
            _ => {}
        }
        let op = node
            .child_by_field_name("operator")
            .map(|o| self.text(o).trim_end_matches('=').to_string());
        if let Some(name) = op.as_deref().and_then(binary_dunder) {
            let target = self.receiver(left);
            let inplace = format!("__i{}", &name[2..]);
            let label = format!("{} ({inplace})", self.snippet(node));
            let whole = TextRange::of(&node);
            self.push_implicit(
                scope,
                whole,
                target.clone(),
                Protocol::Dunder(inplace),
                label,
            );
            let label = format!("{} ({name})", self.snippet(node));
            self.push_implicit(scope, whole, target, Protocol::Dunder(name.into()), label);
        }
    }

    /// `globals()["name"]` is the module's global `name`: a lookup by a literal name, no
    /// more dynamic than writing `name`.
    fn global_by_literal(&self, value: Node<'s>, key: Node<'s>) -> Option<String> {
        if !is_globals_call(value, self.source) || key.kind() != "string" {
            return None;
        }
        string_literal(key, self.source).filter(|name| !name.is_empty())
    }

    /// Pushes a call no one wrote: `receiver`'s `protocol` runs, at `range`. Its callee
    /// evaluates only to the project functions that run (`Expr::Implicit`), so no check that
    /// looks for a library call (`os.environ.pop`) mistakes it for one.
    fn push_implicit(
        &mut self,
        scope: ScopeIdx,
        range: TextRange,
        receiver: Expr,
        protocol: Protocol,
        callee_text: String,
    ) {
        let (certain, comprehension) = self.call_context();
        self.scopes[scope].calls.push(Call {
            range,
            callee: Expr::Implicit(Box::new(receiver), protocol),
            callee_text,
            written_name: None,
            args: Vec::new(),
            kwargs: Vec::new(),
            certain,
            comprehension,
        });
    }

    /// `for x in it` calls `it.__iter__()` and then `__next__()` on what that returned: on
    /// one-character ranges at the iterable's start and at the `for` (no written call has
    /// them).
    fn record_for_protocol(&mut self, node: Node<'s>, right: Node<'s>, scope: ScopeIdx) {
        let iterable = self.receiver(right);
        let text = self.snippet(right);
        let iterator = Expr::Call(
            Box::new(Expr::Implicit(
                Box::new(iterable.clone()),
                Protocol::Dunder("__iter__".into()),
            )),
            Vec::new(),
        );
        let start = right.start_byte();
        self.push_implicit(
            scope,
            TextRange::new(start, start + 1),
            iterable,
            Protocol::Dunder("__iter__".into()),
            format!("for ... in {text} (__iter__)"),
        );
        let at = node.start_byte();
        self.push_implicit(
            scope,
            TextRange::new(at, at + 1),
            iterator,
            Protocol::Dunder("__next__".into()),
            format!("for ... in {text} (__next__)"),
        );
    }

    /// Operators, comparisons, subscripts, attribute reads and `raise E`: each runs the
    /// special method, property or descriptor its operand's class defines.
    fn record_implicit(&mut self, node: Node<'s>, scope: ScopeIdx) {
        if self.not_reads.contains(&node.id()) {
            return;
        }
        let range = TextRange::of(&node);
        let text = self.snippet(node);
        let field = |name: &str| node.child_by_field_name(name);
        match node.kind() {
            "binary_operator" => {
                let (Some(left), Some(op), Some(right)) =
                    (field("left"), field("operator"), field("right"))
                else {
                    return;
                };
                let Some(name) = binary_dunder(&self.text(op)) else {
                    return;
                };
                let (left, right) = (self.receiver(left), self.receiver(right));
                let reflected = format!("__r{}", &name[2..]);
                self.push_implicit(
                    scope,
                    range,
                    left,
                    Protocol::Dunder(name.into()),
                    format!("{text} ({name})"),
                );
                let label = format!("{text} ({reflected})");
                self.push_implicit(scope, range, right, Protocol::Dunder(reflected), label);
            }
            "unary_operator" => {
                let (Some(op), Some(operand)) = (field("operator"), field("argument")) else {
                    return;
                };
                let name = match &*self.text(op) {
                    "-" => "__neg__",
                    "+" => "__pos__",
                    "~" => "__invert__",
                    _ => return,
                };
                let operand = self.receiver(operand);
                self.push_implicit(
                    scope,
                    range,
                    operand,
                    Protocol::Dunder(name.into()),
                    format!("{text} ({name})"),
                );
            }
            "comparison_operator" => {
                let mut walk = node.walk();
                let operands: Vec<Node<'s>> = node.named_children(&mut walk).collect();
                let mut walk = node.walk();
                let operators: Vec<String> = node
                    .children_by_field_name("operators", &mut walk)
                    .map(|o| {
                        self.text(o)
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect();
                for (i, op) in operators.iter().enumerate() {
                    let (Some(&a), Some(&b)) = (operands.get(i), operands.get(i + 1)) else {
                        break;
                    };
                    let (a, b) = (self.receiver(a), self.receiver(b));
                    let (forward, backward) = match op.as_str() {
                        "==" => ("__eq__", Some("__eq__")),
                        "!=" => ("__ne__", Some("__ne__")),
                        "<" => ("__lt__", Some("__gt__")),
                        ">" => ("__gt__", Some("__lt__")),
                        "<=" => ("__le__", Some("__ge__")),
                        ">=" => ("__ge__", Some("__le__")),
                        // `a in b` asks the container.
                        "in" | "not in" => {
                            self.push_implicit(
                                scope,
                                range,
                                b,
                                Protocol::Dunder("__contains__".into()),
                                format!("{text} (__contains__)"),
                            );
                            continue;
                        }
                        _ => continue,
                    };
                    self.push_implicit(
                        scope,
                        range,
                        a,
                        Protocol::Dunder(forward.into()),
                        format!("{text} ({forward})"),
                    );
                    if let Some(backward) = backward {
                        self.push_implicit(
                            scope,
                            range,
                            b,
                            Protocol::Dunder(backward.into()),
                            format!("{text} ({backward})"),
                        );
                    }
                }
            }
            "subscript" => {
                let Some(value) = field("value") else { return };
                let value = self.receiver(value);
                self.push_implicit(
                    scope,
                    range,
                    value,
                    Protocol::Dunder("__getitem__".into()),
                    format!("{text} (__getitem__)"),
                );
            }
            "attribute" => {
                let (Some(object), Some(attr)) = (field("object"), field("attribute")) else {
                    return;
                };
                let attr = self.text(attr).to_string();
                let object = self.receiver(object);
                self.push_implicit(
                    scope,
                    range,
                    object,
                    Protocol::Get(attr),
                    format!("{text} (attribute read)"),
                );
            }
            "raise_statement" => {
                // `raise E()` is a written call; `raise E` instantiates `E` too.
                let Some(raised) = node.named_child(0) else {
                    return;
                };
                if raised.kind() == "call" {
                    return;
                }
                let label = format!("raise {} (instantiates it)", self.snippet(raised));
                let raised_range = TextRange::of(&raised);
                let raised = self.receiver(raised);
                self.push_implicit(scope, raised_range, raised, Protocol::Raise, label);
            }
            _ => {}
        }
    }

    fn record_call(&mut self, node: Node<'s>, scope: ScopeIdx) {
        let Some(written) = node.child_by_field_name("function") else {
            return;
        };
        let function = unsplat(written);
        // `globals()["name"]` reads or binds a global by name (see `global_by_literal`).
        if is_globals_call(node, self.source)
            && let Some(parent) = node.parent()
            && parent.kind() == "subscript"
            && let Some(key) = parent.child_by_field_name("subscript")
            && self.global_by_literal(node, key).is_some()
        {
            return;
        }
        // `*f(x)` and `*a.f(x)` start at `f` / `a`, as Python sees them.
        let start = leftmost_splat(written).map_or(node.start_byte(), |inner| inner.start_byte());
        let callee = self.receiver(function);
        let written_name = written_name(function, self.source);
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        if let Some(arguments) = node.child_by_field_name("arguments") {
            if arguments.kind() == "generator_expression" {
                args.push(self.receiver(arguments));
            } else {
                let mut walk = arguments.walk();
                for arg in arguments.named_children(&mut walk) {
                    match arg.kind() {
                        "keyword_argument" => {
                            if let (Some(name), Some(value)) = (
                                arg.child_by_field_name("name"),
                                arg.child_by_field_name("value"),
                            ) {
                                kwargs.push((self.text(name).to_string(), self.receiver(value)));
                            }
                        }
                        "list_splat" | "dictionary_splat" => {
                            if let Some(inner) = arg.named_child(0) {
                                args.push(Expr::Element(Box::new(self.receiver(inner))));
                            }
                        }
                        "comment" => {}
                        _ => args.push(self.receiver(arg)),
                    }
                }
            }
        }
        // `setattr(obj, "name", value)` is `obj.name = value`.
        if let (Expr::Name(f), [object, Expr::Str(attr), value]) = (&callee, args.as_slice())
            && f == "setattr"
        {
            self.scopes[scope].attr_stores.push(AttrStore {
                object: object.clone(),
                attr: attr.clone(),
                value: value.clone(),
            });
        }
        if unsplat(function).kind() == "attribute" {
            self.not_reads.insert(unsplat(function).id());
        }
        self.record_container_store(scope, &callee, &args);
        let (certain, comprehension) = self.call_context();
        let callee_text = self.snippet(function);
        self.scopes[scope].calls.push(Call {
            range: TextRange::new(start, node.end_byte()),
            callee,
            callee_text,
            written_name,
            args,
            kwargs,
            certain,
            comprehension,
        });
    }

    /// `with m:` calls `m.__enter__()` before the body and `m.__exit__(...)` after it: two
    /// calls no one wrote, on one-character ranges at the item's start and end (no written
    /// call can have those ranges), so the call graph and every check follow them.
    fn record_with_protocol(&mut self, item: Node<'s>, value: Node<'s>, scope: ScopeIdx) {
        let manager_node = match value.kind() {
            "as_pattern" => match value.named_child(0) {
                Some(manager) => manager,
                None => return,
            },
            _ => value,
        };
        let manager = self.expr(manager_node);
        let text = shorten(&self.text(manager_node));
        let (certain, comprehension) = self.call_context();
        let (start, end) = (item.start_byte(), item.end_byte());
        for (method, range) in [
            ("__enter__", TextRange::new(start, start + 1)),
            ("__exit__", TextRange::new(end.saturating_sub(1), end)),
        ] {
            self.scopes[scope].calls.push(Call {
                range,
                callee: Expr::Attr(Box::new(manager.clone()), method.into()),
                callee_text: format!("with {text} ({method})"),
                written_name: None,
                args: Vec::new(),
                kwargs: Vec::new(),
                certain,
                comprehension: comprehension.clone(),
            });
        }
    }

    /// `handlers.append(f)` and `self.hooks.update({...})` store values into the container.
    fn record_container_store(&mut self, scope: ScopeIdx, callee: &Expr, args: &[Expr]) {
        let Expr::Attr(base, method) = callee else {
            return;
        };
        let stored = if STORING_METHODS.contains(&method.as_str()) {
            Expr::Container(args.to_vec())
        } else if MERGING_METHODS.contains(&method.as_str()) {
            Expr::Union(args.to_vec())
        } else {
            return;
        };
        match base.as_ref() {
            Expr::Name(name) => self.scopes[scope].bindings.push(Binding {
                name: name.clone(),
                value: stored,
                range: TextRange::default(),
            }),
            Expr::Attr(object, attr) => self.scopes[scope].attr_stores.push(AttrStore {
                object: object.as_ref().clone(),
                attr: attr.clone(),
                value: stored,
            }),
            _ => {}
        }
    }

    /// Whether a call always runs when its statement runs, and the innermost comprehension
    /// around it: read from the context ranges open at the call (no walk up the tree, which
    /// costs the depth of the tree per step in tree-sitter).
    fn call_context(&self) -> (bool, Option<Comprehension>) {
        let certain = self.contexts.is_empty();
        let comprehension = self.contexts.iter().rev().find_map(|(_, c)| c.clone());
        (certain, comprehension)
    }

    /// What a comprehension's result is bound to (`deployed = [...]`, `return [...]`).
    fn comprehension(&self, node: Node<'s>) -> Comprehension {
        self.comprehension_uses
            .get(&node.id())
            .cloned()
            .unwrap_or(Comprehension {
                assigned_to: None,
                returned: false,
            })
    }

    /// `value` is the right-hand side of `name = value` or the value of `return value`.
    fn note_comprehension_use(
        &mut self,
        value: Node<'s>,
        assigned_to: Option<String>,
        returned: bool,
    ) {
        let comprehensions = [
            "list_comprehension",
            "set_comprehension",
            "dictionary_comprehension",
            "generator_expression",
        ];
        if comprehensions.contains(&value.kind()) {
            self.comprehension_uses.insert(
                value.id(),
                Comprehension {
                    assigned_to,
                    returned,
                },
            );
        }
    }

    /// A decorator runs `decorator(definition)` in the enclosing scope.
    fn record_decorator(&mut self, node: Node<'s>, scope: ScopeIdx) {
        let Some(expression) = node.named_child(0) else {
            return;
        };
        let Some(definition) = node
            .parent()
            .filter(|p| p.kind() == "decorated_definition")
            .and_then(|p| p.child_by_field_name("definition"))
        else {
            return;
        };
        let Some(defined) = self.scope_of_node(definition) else {
            return;
        };
        let arg = match self.scopes[defined].kind {
            ScopeKind::Class => Expr::Class(defined),
            _ => Expr::Def(defined),
        };
        let callee_text = format!("@{}", shorten(&self.text(expression)));
        let callee = self.expr(expression);
        self.scopes[scope].calls.push(Call {
            range: TextRange::of(&node),
            callee,
            callee_text,
            written_name: None,
            args: vec![arg],
            kwargs: Vec::new(),
            certain: true,
            comprehension: None,
        });
    }

    fn record_import(&mut self, node: Node<'s>, scope: ScopeIdx) {
        let mut walk = node.walk();
        let names: Vec<Node> = node.children_by_field_name("name", &mut walk).collect();
        for name in names {
            let (module, bound, value) = if name.kind() == "aliased_import" {
                let (Some(dotted), Some(alias)) = (
                    name.child_by_field_name("name"),
                    name.child_by_field_name("alias"),
                ) else {
                    continue;
                };
                let module = self.text(dotted).to_string();
                (
                    module.clone(),
                    self.text(alias).to_string(),
                    Expr::Module(module),
                )
            } else {
                let module = self.text(name).to_string();
                let top = module.split('.').next().unwrap_or("").to_string();
                (module, top.clone(), Expr::Module(top))
            };
            let range = TextRange::of(&name);
            let target = &mut self.scopes[scope];
            target.imports.push(Import { module, range });
            target.bindings.push(Binding {
                name: bound,
                value,
                range,
            });
        }
    }

    fn record_import_from(&mut self, node: Node<'s>, scope: ScopeIdx) {
        let Some(module_node) = node.child_by_field_name("module_name") else {
            return;
        };
        let module: String = self.text(module_node).split_whitespace().collect();
        let range = TextRange::of(&node);
        self.scopes[scope].imports.push(Import {
            module: module.clone(),
            range,
        });
        let mut walk = node.walk();
        if node
            .named_children(&mut walk)
            .any(|c| c.kind() == "wildcard_import")
        {
            self.scopes[scope].bindings.push(Binding {
                name: "*".into(),
                value: Expr::ImportStar(module),
                range,
            });
            return;
        }
        let mut walk = node.walk();
        let names: Vec<Node> = node.children_by_field_name("name", &mut walk).collect();
        for name in names {
            let (imported, bound) = if name.kind() == "aliased_import" {
                match (
                    name.child_by_field_name("name"),
                    name.child_by_field_name("alias"),
                ) {
                    (Some(n), Some(a)) => (self.text(n).to_string(), self.text(a).to_string()),
                    _ => continue,
                }
            } else {
                (self.text(name).to_string(), self.text(name).to_string())
            };
            self.scopes[scope].bindings.push(Binding {
                name: bound,
                value: Expr::ImportFrom(module.clone(), imported),
                range: TextRange::of(&name),
            });
        }
    }

    /// Binds an assignment target (`x`, `a, b`, `obj.attr`, `d[k]`) to a value.
    fn bind_target(&mut self, scope: ScopeIdx, target: Node<'s>, value: Expr, depth: usize) {
        if depth > MAX_EXPR_DEPTH {
            return;
        }
        match target.kind() {
            "identifier" => {
                let name = self.text(target).to_string();
                self.scopes[scope].bindings.push(Binding {
                    name,
                    value,
                    range: TextRange::of(&target),
                });
            }
            "attribute" => {
                if let (Some(object), Some(attr)) = (
                    target.child_by_field_name("object"),
                    target.child_by_field_name("attribute"),
                ) {
                    let object = self.expr(object);
                    let attr = self.text(attr).to_string();
                    self.not_reads.insert(target.id());
                    let text = self.snippet(target);
                    self.push_implicit(
                        scope,
                        TextRange::of(&target),
                        object.clone(),
                        Protocol::Set(attr.clone()),
                        format!("{text} = ... (attribute store)"),
                    );
                    self.scopes[scope].attr_stores.push(AttrStore {
                        object,
                        attr,
                        value,
                    });
                }
            }
            "subscript" => {
                if let (Some(base), Some(key)) = (
                    target.child_by_field_name("value"),
                    target.child_by_field_name("subscript"),
                ) && let Some(name) = self.global_by_literal(base, key)
                {
                    self.not_reads.insert(target.id());
                    self.scopes[0].bindings.push(Binding {
                        name,
                        value,
                        range: TextRange::of(&target),
                    });
                    return;
                }
                if let Some(base) = target.child_by_field_name("value") {
                    self.not_reads.insert(target.id());
                    let text = self.snippet(target);
                    let container = self.receiver(base);
                    self.push_implicit(
                        scope,
                        TextRange::of(&target),
                        container,
                        Protocol::Dunder("__setitem__".into()),
                        format!("{text} = ... (__setitem__)"),
                    );
                    self.bind_target(scope, base, Expr::Container(vec![value]), depth + 1);
                }
            }
            "pattern_list" | "tuple_pattern" | "list_pattern" | "tuple" | "list"
            | "expression_list" => {
                let mut walk = target.walk();
                let parts: Vec<Node> = target.named_children(&mut walk).collect();
                // `a, b = f()`: each name holds one position, unless a `*rest` shifts them.
                let positional = !parts.iter().any(|p| p.kind() == "list_splat_pattern");
                for (i, part) in parts.into_iter().enumerate() {
                    let element = if positional {
                        Expr::Subscript(Box::new(value.clone()), Box::new(Expr::Int(i as i64)))
                    } else {
                        Expr::Element(Box::new(value.clone()))
                    };
                    self.bind_target(scope, part, element, depth + 1);
                }
            }
            "list_splat_pattern" | "parenthesized_expression" | "as_pattern_target" => {
                if let Some(inner) = target.named_child(0) {
                    self.bind_target(scope, inner, value, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// Converts an expression node, following at most `MAX_EXPR_DEPTH` levels.
    pub(super) fn expr(&self, node: Node<'s>) -> Expr {
        self.expr_at(node, 0)
    }

    fn expr_at(&self, node: Node<'s>, depth: usize) -> Expr {
        if depth > MAX_EXPR_DEPTH {
            return Expr::Dynamic("expression nested too deeply to follow");
        }
        let sub = |n: Node<'s>| self.expr_at(n, depth + 1);
        let field = |name: &str| node.child_by_field_name(name);
        match node.kind() {
            "identifier" => Expr::Name(self.text(node).to_string()),
            "attribute" => match (field("object"), field("attribute")) {
                (Some(object), Some(attr)) => {
                    Expr::Attr(Box::new(sub(object)), self.text(attr).to_string())
                }
                _ => Expr::Opaque,
            },
            "call" => self.call_expr(node, depth),
            "subscript" => match (field("value"), field("subscript")) {
                (Some(value), Some(key)) if let Some(name) = self.global_by_literal(value, key) => {
                    Expr::Name(name)
                }
                (Some(value), Some(key)) => {
                    Expr::Subscript(Box::new(sub(value)), Box::new(sub(key)))
                }
                (Some(value), None) => Expr::Element(Box::new(sub(value))),
                _ => Expr::Opaque,
            },
            "list" | "tuple" | "set" | "expression_list" | "pattern_list" => {
                let mut walk = node.walk();
                Expr::Container(node.named_children(&mut walk).map(sub).collect())
            }
            "dictionary" => {
                let mut walk = node.walk();
                let mut values = Vec::new();
                for child in node.named_children(&mut walk) {
                    match child.kind() {
                        "pair" => values.extend(child.child_by_field_name("value").map(sub)),
                        "dictionary_splat" => values.extend(
                            child
                                .named_child(0)
                                .map(|c| Expr::Element(Box::new(sub(c)))),
                        ),
                        _ => {}
                    }
                }
                Expr::Container(values)
            }
            "list_comprehension" | "set_comprehension" | "generator_expression" => {
                let element = field("body").map_or(Expr::Opaque, sub);
                self.comprehension_expr(node, element, depth)
            }
            "dictionary_comprehension" => {
                let value = field("body").and_then(|pair| pair.child_by_field_name("value"));
                let element = value.map_or(Expr::Opaque, sub);
                self.comprehension_expr(node, element, depth)
            }
            "list_splat" | "dictionary_splat" => match node.named_child(0) {
                Some(inner) => Expr::Element(Box::new(sub(inner))),
                None => Expr::Opaque,
            },
            "conditional_expression" => {
                let mut walk = node.walk();
                let parts: Vec<Node> = node.named_children(&mut walk).collect();
                // `a if cond else b`: the value is `a` or `b`, never `cond`.
                let values = parts
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != 1)
                    .map(|(_, n)| sub(*n));
                Expr::Union(values.collect())
            }
            "boolean_operator" => Expr::Union(
                [field("left"), field("right")]
                    .into_iter()
                    .flatten()
                    .map(sub)
                    .collect(),
            ),
            "parenthesized_expression" | "await" => match node.named_child(0) {
                Some(inner) => sub(inner),
                None => Expr::Opaque,
            },
            "named_expression" => field("value").map_or(Expr::Opaque, sub),
            "lambda" => match self.scope_of_node(node) {
                Some(idx) => Expr::Lambda(idx),
                None => Expr::Opaque,
            },
            "string" | "concatenated_string" => match string_literal(node, self.source) {
                Some(s) => Expr::Str(s),
                None => Expr::Opaque,
            },
            // Python's booleans are the integers 1 and 0.
            "true" => Expr::Int(1),
            "false" => Expr::Int(0),
            "integer" => self
                .text(node)
                .replace('_', "")
                .parse()
                .map_or(Expr::Opaque, Expr::Int),
            "unary_operator" => match (node.child_by_field_name("operator"), field("argument")) {
                (Some(op), Some(arg)) if self.text(op) == "-" => match sub(arg) {
                    Expr::Int(i) => Expr::Int(-i),
                    _ => Expr::Opaque,
                },
                _ => Expr::Opaque,
            },
            "binary_operator" => match (
                field("left"),
                node.child_by_field_name("operator"),
                field("right"),
            ) {
                (Some(left), Some(op), Some(right)) => Expr::BinOp(
                    self.text(op).to_string(),
                    Box::new(sub(left)),
                    Box::new(sub(right)),
                ),
                _ => Expr::Opaque,
            },
            "comparison_operator" if node.named_child_count() == 2 => {
                let mut walk = node.walk();
                let op: String = node
                    .children(&mut walk)
                    .filter(|c| !c.is_named())
                    .map(|c| self.text(c))
                    .collect::<Vec<_>>()
                    .join(" ");
                match (node.named_child(0), node.named_child(1)) {
                    (Some(left), Some(right)) => {
                        Expr::Compare(op, Box::new(sub(left)), Box::new(sub(right)))
                    }
                    _ => Expr::Opaque,
                }
            }
            "not_operator" => {
                field("argument").map_or(Expr::Opaque, |a| Expr::Not(Box::new(sub(a))))
            }
            _ => Expr::Opaque,
        }
    }

    /// The iterable and filter of a comprehension whose element is `element`.
    fn comprehension_expr(&self, node: Node<'s>, element: Expr, depth: usize) -> Expr {
        let mut walk = node.walk();
        let clauses: Vec<Node<'s>> = node.named_children(&mut walk).collect();
        let fors: Vec<&Node<'s>> = clauses
            .iter()
            .filter(|c| c.kind() == "for_in_clause")
            .collect();
        let ifs: Vec<&Node<'s>> = clauses.iter().filter(|c| c.kind() == "if_clause").collect();
        let over = match fors.as_slice() {
            [one] => one
                .child_by_field_name("right")
                .map_or(Expr::Opaque, |r| self.expr_at(r, depth + 1)),
            _ => Expr::Opaque,
        };
        let filter = match ifs.as_slice() {
            [] => None,
            [one] => Some(Box::new(
                one.named_child(0)
                    .map_or(Expr::Opaque, |c| self.expr_at(c, depth + 1)),
            )),
            _ => Some(Box::new(Expr::Opaque)),
        };
        Expr::Comprehension(Box::new(element), Box::new(over), filter)
    }

    fn call_expr(&self, node: Node<'s>, depth: usize) -> Expr {
        let Some(function) = node.child_by_field_name("function").map(unsplat) else {
            return Expr::Opaque;
        };
        let mut args = Vec::new();
        if let Some(arguments) = node.child_by_field_name("arguments")
            && arguments.kind() == "generator_expression"
        {
            // `sum(1 for x in xs)`: the generator is the one argument.
            args.push(self.expr_at(arguments, depth + 1));
        } else if let Some(arguments) = node.child_by_field_name("arguments") {
            let mut walk = arguments.walk();
            for arg in arguments.named_children(&mut walk) {
                match arg.kind() {
                    "keyword_argument" => {
                        if let (Some(name), Some(value)) = (
                            arg.child_by_field_name("name"),
                            arg.child_by_field_name("value"),
                        ) {
                            let value = self.expr_at(value, depth + 1);
                            args.push(Expr::Keyword(self.text(name).to_string(), Box::new(value)));
                        }
                    }
                    "comment" => {}
                    _ => args.push(self.expr_at(arg, depth + 1)),
                }
            }
        }
        // `getattr(obj, "literal")` is an attribute; a computed name is unknowable.
        if function.kind() == "identifier" && self.text(function) == "getattr" && args.len() >= 2 {
            let mut args = args.into_iter();
            let object = args.next().unwrap_or(Expr::Opaque);
            return match args.next() {
                Some(Expr::Str(attr)) => {
                    let attribute = Expr::Attr(Box::new(object), attr);
                    match args.next() {
                        Some(default) => Expr::Union(vec![attribute, default]),
                        None => attribute,
                    }
                }
                _ => Expr::Dynamic("getattr with a computed attribute name"),
            };
        }
        Expr::Call(Box::new(self.expr_at(function, depth + 1)), args)
    }
}

/// The value of a plain string literal (no interpolation), joining implicit concatenation.
pub(super) fn string_literal(node: Node, source: &[u8]) -> Option<String> {
    let mut out = String::new();
    let parts: Vec<Node> = if node.kind() == "concatenated_string" {
        let mut walk = node.walk();
        node.named_children(&mut walk).collect()
    } else {
        vec![node]
    };
    for part in parts {
        let mut walk = part.walk();
        let mut raw = false;
        for child in part.named_children(&mut walk) {
            match child.kind() {
                "string_content" if raw => out.push_str(child.utf8_text(source).ok()?),
                "string_content" => unescape(child.utf8_text(source).ok()?, &mut out),
                "string_start" => {
                    raw = child.utf8_text(source).ok()?.contains(['r', 'R']);
                }
                "string_end" => {}
                _ => return None,
            }
        }
    }
    Some(out)
}

/// The common escapes of a (non-raw) string literal; any other is kept as written.
fn unescape(text: &str, out: &mut String) {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(q @ ('\\' | '\'' | '"')) => out.push(q),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
}

/// `+` for `x += v` when `x` is a plain name (the operator without its `=`).
fn augmented_operator(kind: Capture, node: Node, left: Node, source: &[u8]) -> Option<String> {
    if kind != Capture::Augmented || left.kind() != "identifier" {
        return None;
    }
    let op = node
        .child_by_field_name("operator")?
        .utf8_text(source)
        .ok()?;
    Some(op.trim_end_matches('=').to_string())
}

/// tree-sitter reads `*f(x)` as a call of `*f`; Python calls `f` and unpacks the result.
/// Node kinds that make Python call project code no call expression names (see
/// `Extractor::record_implicit`).
const IMPLICIT_KINDS: &[&str] = &[
    "binary_operator",
    "unary_operator",
    "comparison_operator",
    "subscript",
    "attribute",
    "raise_statement",
];

/// Every node of an `IMPLICIT_KINDS` kind, by one walk of the tree (linear in its size, where
/// a tree-sitter query over nested nodes of one kind is quadratic in their depth).
fn collect_implicit<'s>(root: Node<'s>, captures: &mut Vec<(Capture, Node<'s>)>) {
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if IMPLICIT_KINDS.contains(&node.kind()) {
            captures.push((Capture::Implicit, node));
        }
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// Whether a call node is `globals()`.
fn is_globals_call(node: Node, source: &[u8]) -> bool {
    node.kind() == "call"
        && node
            .child_by_field_name("function")
            .is_some_and(|f| f.kind() == "identifier" && f.utf8_text(source) == Ok("globals"))
        && node
            .child_by_field_name("arguments")
            .is_some_and(|a| a.named_child_count() == 0)
}

/// The special method of a binary operator (`+` runs `__add__`).
fn binary_dunder(op: &str) -> Option<&'static str> {
    Some(match op {
        "+" => "__add__",
        "-" => "__sub__",
        "*" => "__mul__",
        "@" => "__matmul__",
        "/" => "__truediv__",
        "//" => "__floordiv__",
        "%" => "__mod__",
        "**" => "__pow__",
        "<<" => "__lshift__",
        ">>" => "__rshift__",
        "&" => "__and__",
        "|" => "__or__",
        "^" => "__xor__",
        _ => return None,
    })
}

fn unsplat(function: Node) -> Node {
    match function.kind() {
        "list_splat" | "dictionary_splat" => function.named_child(0).unwrap_or(function),
        _ => function,
    }
}

/// The operand of a `*`/`**` that tree-sitter parsed into the leftmost end of a callee.
fn leftmost_splat(function: Node) -> Option<Node> {
    let mut node = function;
    for _ in 0..MAX_EXPR_DEPTH {
        node = match node.kind() {
            "list_splat" | "dictionary_splat" => return node.named_child(0),
            "attribute" => node.child_by_field_name("object")?,
            "call" => node.child_by_field_name("function")?,
            "subscript" => node.child_by_field_name("value")?,
            _ => return None,
        };
    }
    None
}

/// `f` for `f(...)`, `a.b.f(...)` and `(f)(...)`; nothing for computed callees.
fn written_name(function: Node, source: &[u8]) -> Option<String> {
    let mut node = function;
    while node.kind() == "parenthesized_expression" {
        node = node.named_child(0)?;
    }
    let name = match node.kind() {
        "identifier" => node,
        "attribute" => node.child_by_field_name("attribute")?,
        _ => return None,
    };
    name.utf8_text(source)
        .ok()
        .map(|n| identifier(n).into_owned())
}

fn shorten(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 80 {
        let cut: String = flat.chars().take(77).collect();
        format!("{cut}...")
    } else {
        flat
    }
}

impl<'s> Extractor<'s> {
    pub(super) fn source_bytes(&self) -> &'s [u8] {
        self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualnames_nest_and_stay_bounded_when_deep() {
        assert_eq!(nested_qualname("", "f"), "f");
        assert_eq!(nested_qualname("C", "m"), "C.m");
        let mut qualname = String::new();
        for i in 0..10_000 {
            qualname = nested_qualname(&qualname, &format!("<lambda{i}>"));
        }
        assert!(qualname.len() < 400, "{qualname}");
        assert!(qualname.starts_with("<lambda0>.<lambda1>."), "{qualname}");
        assert!(qualname.ends_with(".….<lambda9999>"), "{qualname}");
    }

    #[test]
    fn ten_thousand_nested_lambdas_are_all_scopes() {
        let src = format!("x = {}deploy_app\n", "lambda: ".repeat(10_000));
        let facts = extract(src.as_bytes());
        assert_eq!(facts.scopes.len(), 10_001);
        let total: usize = facts.scopes.iter().map(|s| s.qualname.len()).sum();
        assert!(total < 10_000 * 400, "{total} bytes of qualnames");
    }
}
