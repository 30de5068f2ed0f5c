//! Where the deps code keeps its record of the cold deps it deployed, when that record is an
//! attribute of an object (`report.deployed.append(dep)`, `result.cold.append(app)`) rather
//! than a name it returns: the record is then a place, (class, attribute), that every
//! instance of the class shares. It stands for N_cold_deps only when it starts empty and
//! nothing but the cold-deps loop ever grows it.

use crate::facts::{Block, Call, Expr, TextRange};
use crate::project::{ClassId, FileIdx, FuncId, Val};

use super::Analysis;
use super::meaning::walk_steps;

/// Methods that grow a list, set or dict in place.
const GROWING: &[&str] = &["append", "extend", "insert", "add", "update", "appendleft"];

/// A candidate record: the object path as written in the loop (`report.deployed`) and the
/// place it names.
pub struct Place {
    pub written: String,
    pub owner: Owner,
    pub attr: String,
}

/// Whose attribute the record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    /// Every instance of a class (`self.report` set to a `DepsReport()`).
    Class(ClassId),
    /// Whatever object the caller passes as this parameter of this function (`result`
    /// in `provision_deps(specs, config, result)`).
    Param(FuncId, usize),
}

/// The attribute places grown by calls in `body` whose object is one known class.
pub fn grown_in(analysis: &Analysis, file: FileIdx, scope: usize, body: &Block) -> Vec<Place> {
    let calls = &analysis.project.scope(file, scope).calls;
    let mut places: Vec<Place> = Vec::new();
    let mut grown: Vec<(Expr, String)> = Vec::new();
    walk_steps(body, &mut |step| {
        let crate::facts::Step::Call(i) = step else {
            return;
        };
        match grown_attribute(&calls[*i]) {
            Some((object, attr)) => grown.push((object.clone(), attr.to_string())),
            None => grown.extend(grown_by_helper(analysis, file, scope, &calls[*i])),
        }
    });
    for (object, attr) in &grown {
        let Some(base) = object.dotted() else {
            continue;
        };
        let written = format!("{base}.{attr}");
        if places.iter().any(|p| p.written == written) {
            continue;
        }
        let owner = parameter_of(analysis, file, scope, object)
            .or_else(|| single_instance(analysis, file, scope, object).map(Owner::Class));
        if let Some(owner) = owner {
            places.push(Place {
                written,
                owner,
                attr: attr.to_string(),
            });
        }
    }
    places
}

/// `helper(x, result)` where `helper` grows an attribute of the parameter `result` is
/// given: (`result`, that attribute) for each such argument.
fn grown_by_helper(
    analysis: &Analysis,
    file: FileIdx,
    scope: usize,
    call: &Call,
) -> Vec<(Expr, String)> {
    let targets = analysis.evaluator.call_targets(file, scope, &call.callee);
    let [crate::project::Target::Func { func, offset, .. }] =
        targets.iter().collect::<Vec<_>>()[..]
    else {
        return Vec::new();
    };
    let helper = analysis.project.func_scope(*func);
    let mut found = Vec::new();
    for (position, arg) in call.args.iter().enumerate() {
        let (Expr::Name(_), Some(param)) = (arg, helper.params.get(position + offset)) else {
            continue;
        };
        for inner in &helper.calls {
            if let Some((Expr::Name(object), attr)) = grown_attribute(inner)
                && *object == param.name
            {
                found.push((arg.clone(), attr.to_string()));
            }
        }
    }
    found
}

/// `name`, a parameter of the function the scope is, never rebound there.
fn parameter_of(analysis: &Analysis, file: FileIdx, scope: usize, object: &Expr) -> Option<Owner> {
    let Expr::Name(name) = object else {
        return None;
    };
    let project = analysis.project;
    let func = project.func_of_scope(file, scope)?;
    let facts = project.scope(file, scope);
    let index = facts.params.iter().position(|p| &p.name == name)?;
    // `.append` stores are bindings without a range; anything else rebinds the name.
    let rebound = project
        .bindings_of(file, scope, name)
        .iter()
        .any(|&i| facts.bindings[i].range != TextRange::default());
    (!rebound).then_some(Owner::Param(func, index))
}

/// `obj.attr.append(x)`: (`obj`, `attr`).
fn grown_attribute(call: &Call) -> Option<(&Expr, &str)> {
    let Expr::Attr(target, method) = &call.callee else {
        return None;
    };
    if !GROWING.contains(&method.as_str()) {
        return None;
    }
    match target.as_ref() {
        Expr::Attr(object, attr) => Some((object.as_ref(), attr.as_str())),
        _ => None,
    }
}

/// The one project class every value of `expr` is an instance of.
pub fn single_instance(
    analysis: &Analysis,
    file: FileIdx,
    scope: usize,
    expr: &Expr,
) -> Option<ClassId> {
    let values = analysis.evaluator.eval(file, scope, expr);
    let mut classes = values.iter().map(|v| match v {
        Val::Instance(c) => Some(*c),
        _ => None,
    });
    let first = classes.next()??;
    classes.all(|c| c == Some(first)).then_some(first)
}

/// The place starts empty in every instance and grows only at `allowed` (the loop's calls):
/// no other call anywhere grows it, and no assignment stores anything but an empty
/// collection into it.
pub fn is_fresh(
    analysis: &Analysis,
    place: &Place,
    allowed: &[(FileIdx, TextRange)],
) -> Result<(), String> {
    let project = analysis.project;
    let shown = &place.written;
    // A parameter's object is the caller's: the meaning of the caller's value checks that it
    // was built empty for the call.
    let Owner::Class(owner) = place.owner else {
        return Ok(());
    };
    let class = &project.classes[owner];
    let facts = project.scope(class.file, class.scope);
    let default_empty = project
        .bindings_of(class.file, class.scope, &place.attr)
        .iter()
        .all(|&i| {
            let value = &facts.bindings[i].value;
            matches!(
                field_default(analysis, class.file, class.scope, value),
                FieldDefault::Empty
            )
        });
    let is_field = facts.fields.contains(&place.attr);
    let mut stored = false;
    for (file, source) in project.files.iter().enumerate() {
        for (scope, facts) in source.facts.scopes.iter().enumerate() {
            for store in facts.attr_stores.iter().filter(|s| s.attr == place.attr) {
                if single_instance(analysis, file, scope, &store.object) != Some(owner) {
                    continue;
                }
                // `.append` stores are recorded as containers of what they add; the calls
                // are judged below.
                if matches!(&store.value, Expr::Container(items) if items.is_empty()) {
                    stored = true;
                    continue;
                }
                if !is_growth_record(facts, store) {
                    return Err(format!(
                        "`{shown}` is also assigned `{}` elsewhere, so it does not start empty",
                        store.value.show()
                    ));
                }
            }
            for call in &facts.calls {
                let Some((object, attr)) = grown_attribute(call) else {
                    continue;
                };
                if attr != place.attr
                    || allowed.contains(&(file, call.range))
                    || single_instance(analysis, file, scope, object) != Some(owner)
                {
                    continue;
                }
                return Err(format!(
                    "`{shown}` also grows outside the deploy loop ({}), so N_cold_deps overcounts",
                    call.callee_text
                ));
            }
        }
    }
    if (is_field && default_empty) || stored {
        Ok(())
    } else {
        Err(format!("`{shown}` cannot be shown to start empty"))
    }
}

/// A dataclass field's default, by what the call means (a local `field` or `list` is not the
/// library's): `[]` and `field(default_factory=list)` are an empty collection, and
/// `field(default=v)` is `v`.
pub enum FieldDefault<'e> {
    Empty,
    Value(&'e Expr),
    Unknown,
}

pub fn field_default<'e>(
    analysis: &Analysis,
    file: FileIdx,
    scope: usize,
    value: &'e Expr,
) -> FieldDefault<'e> {
    let is_external = |callee: &Expr, names: &[&str]| {
        let targets = analysis.evaluator.call_targets(file, scope, callee);
        !targets.is_empty()
            && targets.iter().all(|t| {
                matches!(t, crate::project::Target::External(n)
                    if names.contains(&n.trim_start_matches("<builtin>.")))
            })
    };
    match value {
        Expr::Container(items) if items.is_empty() => FieldDefault::Empty,
        Expr::Call(callee, args) if is_external(callee, &["dataclasses.field"]) => {
            match args.as_slice() {
                [Expr::Keyword(k, factory)]
                    if k == "default_factory"
                        && is_external(factory, &["list", "dict", "set", "tuple"]) =>
                {
                    FieldDefault::Empty
                }
                [Expr::Keyword(k, default)] if k == "default" => FieldDefault::Value(default),
                _ => FieldDefault::Unknown,
            }
        }
        value => FieldDefault::Value(value),
    }
}

/// Whether an attribute store is the extractor's note of a growth call (`x.a.append(v)` is
/// recorded as storing `[v]` into `x.a`) rather than an assignment.
fn is_growth_record(facts: &crate::facts::Scope, store: &crate::facts::AttrStore) -> bool {
    facts.calls.iter().any(|call| {
        grown_attribute(call)
            .is_some_and(|(object, attr)| attr == store.attr && *object == store.object)
    })
}
