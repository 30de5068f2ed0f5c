//! Per-file facts: what one Python file defines, binds, imports and calls.
//!
//! Facts are plain owned data computed from one file's text alone (no global state), so they
//! can be extracted in parallel and cached. Everything project-wide (name resolution, the call
//! graph) is built later from these facts in `crate::project`.

mod expr;
mod extract;
mod flow;

pub use expr::{Expr, Protocol};
pub use extract::extract;
pub use flow::{Block, Step};

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// An identifier as Python reads it: NFKC-normalised (PEP 3131), so `ｄｅｐｌｏｙ_app(x)` calls
/// `deploy_app`. ASCII (nearly every name) is returned as is.
pub fn identifier(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfkc().collect())
    }
}

/// A byte range in one file. Line/column are computed at render time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct TextRange {
    pub start: u32,
    pub end: u32,
}

impl TextRange {
    pub fn new(start: usize, end: usize) -> Self {
        Self {
            start: start as u32,
            end: end as u32,
        }
    }
    pub fn of(node: &tree_sitter::Node) -> Self {
        Self::new(node.start_byte(), node.end_byte())
    }
    pub fn contains(&self, offset: u32) -> bool {
        self.start <= offset && offset < self.end.max(self.start + 1)
    }
}

/// Index of a scope inside its file's `FileFacts::scopes`; 0 is the module.
pub type ScopeIdx = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScopeKind {
    Module,
    Function,
    Class,
    Lambda,
}

/// A parameter of a function or lambda.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    /// Default value, evaluated in the enclosing scope.
    pub default: Option<Expr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    Positional,
    KeywordOnly,
    VarArgs,
    VarKeywords,
}

/// One scope: the module, a function, a class body or a lambda.
#[derive(Clone, Debug)]
pub struct Scope {
    pub kind: ScopeKind,
    /// Dotted name inside the module: `outer.inner`, `Class.meth`, `<lambda1>`.
    pub qualname: String,
    pub parent: Option<ScopeIdx>,
    /// The definition's name (for reporting); the whole file for the module.
    pub name_range: TextRange,
    /// Where the scope's own code lives (the body), used to attribute nodes to scopes.
    pub body_range: TextRange,
    pub params: Vec<Param>,
    /// Decorators, outermost first, evaluated in the parent scope.
    pub decorators: Vec<Expr>,
    /// Base classes (classes only), evaluated in the parent scope.
    pub bases: Vec<Expr>,
    pub bindings: Vec<Binding>,
    pub globals: Vec<String>,
    pub nonlocals: Vec<String>,
    pub calls: Vec<Call>,
    pub returns: Vec<Expr>,
    /// `obj.attr = value` (and `obj.attr.append(value)` style stores).
    pub attr_stores: Vec<AttrStore>,
    /// A class body's annotated names, in order (`cold: list[str]`, `n: int = 0`): the
    /// fields of a dataclass or `NamedTuple`.
    pub fields: Vec<String>,
    /// Imports executed in this scope (each runs the imported module's top-level code).
    pub imports: Vec<Import>,
    /// Statement skeleton of the body, for path-sensitive checks (functions and the module).
    pub flow: Block,
    /// True when the body nests deeper than the flow skeleton follows.
    pub flow_truncated: bool,
}

/// A name bound in a scope, flow-insensitively: every binding of a name is unioned.
#[derive(Clone, Debug)]
pub struct Binding {
    pub name: String,
    pub value: Expr,
    pub range: TextRange,
}

#[derive(Clone, Debug)]
pub struct AttrStore {
    pub object: Expr,
    pub attr: String,
    pub value: Expr,
}

/// One call expression, anywhere in the scope.
#[derive(Clone, Debug)]
pub struct Call {
    pub range: TextRange,
    pub callee: Expr,
    /// Source text of the callee expression, for witnesses (`lc.deploy_app`, `HANDLERS[k]`).
    pub callee_text: String,
    /// The called name when the callee is written as a name or attribute (`f(...)`,
    /// `a.b.f(...)`, `(f)(...)`): what a text search for `f(` means by a call of `f`.
    pub written_name: Option<String>,
    pub args: Vec<Expr>,
    pub kwargs: Vec<(String, Expr)>,
    /// False when the call sits in a conditional expression, short-circuit operand,
    /// comprehension or other place that may not run when its statement runs.
    pub certain: bool,
    /// Inside a comprehension: the comprehension (the innermost one).
    pub comprehension: Option<Comprehension>,
}

/// A list/set/dict comprehension or generator expression around a call.
#[derive(Clone, Debug)]
pub struct Comprehension {
    /// The name its result is assigned to (`deployed = [...]`), or `None`.
    pub assigned_to: Option<String>,
    /// Whether its result is returned directly (`return [...]`).
    pub returned: bool,
}

/// `import a.b as c` / `from .x import y as z`, already split into bound names.
#[derive(Clone, Debug)]
pub struct Import {
    /// Absolute or relative module path as written (`a.b`, `.x`, `..`).
    pub module: String,
    pub range: TextRange,
}

#[derive(Clone, Debug)]
pub struct SyntaxError {
    pub range: TextRange,
    pub message: String,
}

/// Everything deployguard knows about one file.
#[derive(Clone, Debug)]
pub struct FileFacts {
    pub scopes: Vec<Scope>,
    pub syntax_errors: Vec<SyntaxError>,
}
