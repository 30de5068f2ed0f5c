//! A small, owned abstraction of Python expressions: just enough to follow function values.

use super::ScopeIdx;

/// What an expression may evaluate to, as far as function values are concerned.
///
/// Anything that cannot hold a function (numbers, arithmetic, comparisons) is `Opaque`.
/// Anything the extractor could not follow is `Dynamic`, which the analysis treats as
/// "could be anything" and fails closed on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    Name(String),
    Attr(Box<Expr>, String),
    /// The result of a call; keyword arguments appear as `Keyword`.
    Call(Box<Expr>, Vec<Expr>),
    /// `name=value` in a call's arguments.
    Keyword(String, Box<Expr>),
    /// `x[k]`, an iteration variable over `x`, `*x`: an element of what `x` holds.
    Element(Box<Expr>),
    /// `x[k]` with the key kept: an element of what `x` holds, and which one was asked for
    /// (`os.environ["K"]`). Function-value flow treats it as `Element`.
    Subscript(Box<Expr>, Box<Expr>),
    /// A list/tuple/set/dict display or comprehension holding these values.
    Container(Vec<Expr>),
    /// `[element for _ in over if filter]` (list, set, dict or generator): a container of
    /// `element`, one per item of `over` that passes `filter`. `over` is `Opaque` when
    /// there are several `for` clauses; `filter` is `Opaque` when there are several `if`s.
    Comprehension(Box<Expr>, Box<Expr>, Option<Box<Expr>>),
    /// Any one of these: `a if c else b`, `a or b`.
    Union(Vec<Expr>),
    /// A `def` (before decorators are applied).
    Def(ScopeIdx),
    /// A `class` (before decorators are applied).
    Class(ScopeIdx),
    Lambda(ScopeIdx),
    /// `import a.b` binds `a` to module `a`; `import a.b as c` binds `c` to `a.b`.
    Module(String),
    /// `from m import name` (`m` may be relative: `.`, `..pkg`).
    ImportFrom(String, String),
    /// `from m import *`.
    ImportStar(String),
    Str(String),
    /// An integer literal (`1`, `-1`).
    Int(i64),
    /// `a + b`, `a - b`, ...: never a function, kept for the budget guard's arithmetic.
    BinOp(String, Box<Expr>, Box<Expr>),
    /// `a != b`, `a > b`, ... (two operands only).
    Compare(String, Box<Expr>, Box<Expr>),
    /// `not a`.
    Not(Box<Expr>),
    /// Deliberately unknowable: `getattr(x, name)` with a computed name, and the like.
    Dynamic(&'static str),
    /// The project code Python runs implicitly on this value: the callee of a call no one
    /// wrote (`a + b` runs `a.__add__`, `c.val` runs a property getter). It evaluates to the
    /// project functions that run, never to library code.
    Implicit(Box<Expr>, Protocol),
    Opaque,
}

/// Why Python calls project code that no call expression names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// A special method looked up on the value's class (`__add__` for `a + b`, `__iter__`
    /// for `for x in a`).
    Dunder(String),
    /// Reading an attribute: a property getter, a descriptor's `__get__`, or `__getattr__`
    /// when the class has no such attribute.
    Get(String),
    /// Assigning an attribute: a property setter, a descriptor's `__set__`, `__setattr__`.
    Set(String),
    /// `raise E`: a class raised without a call is instantiated.
    Raise,
}

impl Expr {
    /// The dotted path of a plain name/attribute chain (`os.environ.pop`), if it is one.
    pub fn dotted(&self) -> Option<String> {
        match self {
            Expr::Name(n) => Some(n.clone()),
            Expr::Attr(obj, attr) => obj.dotted().map(|base| format!("{base}.{attr}")),
            _ => None,
        }
    }

    /// Python-like text, for messages.
    pub fn show(&self) -> String {
        match self {
            Expr::Name(n) => n.clone(),
            Expr::Attr(object, attr) => format!("{}.{attr}", object.show()),
            Expr::Call(callee, args) => {
                let args: Vec<String> = args.iter().map(Expr::show).collect();
                format!("{}({})", callee.show(), args.join(", "))
            }
            Expr::Keyword(name, value) => format!("{name}={}", value.show()),
            Expr::Element(inner) => format!("{}[...]", inner.show()),
            Expr::Subscript(inner, key) => format!("{}[{}]", inner.show(), key.show()),
            Expr::Container(items) => {
                let items: Vec<String> = items.iter().map(Expr::show).collect();
                format!("[{}]", items.join(", "))
            }
            Expr::Comprehension(element, over, filter) => {
                let filter = filter
                    .as_ref()
                    .map(|f| format!(" if {}", f.show()))
                    .unwrap_or_default();
                format!("({} for ... in {}{filter})", element.show(), over.show())
            }
            Expr::Str(s) => format!("{s:?}"),
            Expr::Int(i) => i.to_string(),
            Expr::BinOp(op, a, b) | Expr::Compare(op, a, b) => {
                format!("{} {op} {}", a.show(), b.show())
            }
            Expr::Not(inner) => format!("not {}", inner.show()),
            _ => "...".into(),
        }
    }

    /// The last name of a name/attribute callee: `deploy_app` for `lc.deploy_app`.
    pub fn final_name(&self) -> Option<&str> {
        match self {
            Expr::Name(n) => Some(n),
            Expr::Attr(_, attr) => Some(attr),
            _ => None,
        }
    }
}
