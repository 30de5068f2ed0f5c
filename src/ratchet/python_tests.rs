//! Python tests of one file, read with tree-sitter: every function pytest or unittest could
//! collect, with its assertions (fingerprinted), skips, parametrize cases and body tokens.
//! Whether each one is collected is decided by the caller with the pytest configuration.

use tree_sitter::Node;

use super::model::{AssertKind, Assertion, Lang, Skip, TestCase};
use crate::parse::{parse, syntax_errors};

/// How deep statement nesting is followed inside a test body.
const MAX_DEPTH: usize = 200;

/// A function that could be a test, with what collection needs to know about it.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub case: TestCase,
    /// Enclosing classes, outermost first.
    pub classes: Vec<String>,
    /// Inside a `unittest.TestCase` subclass (collected by unittest's own rules).
    pub in_unittest_class: bool,
}

/// The file does not parse: the caller reports it (a test file that does not parse can hide
/// anything).
#[derive(Debug)]
pub struct Unparsable {
    pub line: usize,
    pub message: String,
}

/// Parametrized fixtures defined in a file (`@pytest.fixture(params=[...])`), with their
/// number of cases (`usize::MAX` when the params are computed).
pub fn parametrized_fixtures(source: &[u8]) -> Vec<(String, usize)> {
    let Some(tree) = parse(source) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "decorated_definition" {
            let name = node
                .child_by_field_name("definition")
                .and_then(|d| d.child_by_field_name("name"))
                .and_then(|n| n.utf8_text(source).ok());
            let mut walk = node.walk();
            for decorator in node
                .named_children(&mut walk)
                .filter(|c| c.kind() == "decorator")
                .filter_map(|d| d.named_child(0))
            {
                let is_fixture = decorator.kind() == "call"
                    && decorator
                        .child_by_field_name("function")
                        .and_then(|f| f.utf8_text(source).ok())
                        .is_some_and(|f| f.ends_with("fixture"));
                let Some(args) = decorator
                    .child_by_field_name("arguments")
                    .filter(|_| is_fixture)
                else {
                    continue;
                };
                let keyword = |key: &str| {
                    let mut args_walk = args.walk();
                    args.named_children(&mut args_walk)
                        .filter(|a| a.kind() == "keyword_argument")
                        .find(|a| {
                            a.child_by_field_name("name")
                                .and_then(|n| n.utf8_text(source).ok())
                                == Some(key)
                        })
                        .and_then(|a| a.child_by_field_name("value"))
                };
                let params = keyword("params");
                // `@pytest.fixture(name="x")` registers the fixture as `x`.
                let registered = keyword("name")
                    .filter(|v| v.kind() == "string")
                    .and_then(|v| v.utf8_text(source).ok())
                    .map(|v| v.trim_matches(|c| c == '"' || c == '\''));
                let name = registered.or(name);
                if let (Some(name), Some(params)) = (name, params) {
                    let count = if matches!(params.kind(), "list" | "tuple") {
                        params.named_child_count()
                    } else {
                        usize::MAX
                    };
                    found.push((name.to_string(), count));
                }
            }
        }
        let mut walk = node.walk();
        stack.extend(node.named_children(&mut walk).filter(|c| {
            matches!(
                c.kind(),
                "module" | "decorated_definition" | "class_definition" | "block"
            )
        }));
    }
    found
}

/// Module-level `name = value` statements for one name: (the assignment, its value).
pub fn module_assignment<'t>(
    root: Node<'t>,
    source: &[u8],
    name: &str,
) -> Vec<(Node<'t>, Node<'t>)> {
    let mut found = Vec::new();
    let mut walk = root.walk();
    for statement in root.named_children(&mut walk) {
        let Some(assignment) = statement
            .named_child(0)
            .filter(|n| n.kind() == "assignment")
        else {
            continue;
        };
        let named = assignment
            .child_by_field_name("left")
            .and_then(|l| l.utf8_text(source).ok())
            == Some(name);
        if let (true, Some(value)) = (named, assignment.child_by_field_name("right")) {
            found.push((assignment, value));
        }
    }
    found
}

/// Names of assertion helpers: calls to these count as assertions (`assert_upgraded`).
pub fn is_helper(name: &str) -> bool {
    name.starts_with("assert_") || name.starts_with("check_") && name.ends_with("_ok")
}

pub fn extract(path: &str, source: &[u8]) -> Result<Vec<Candidate>, Unparsable> {
    let tree = parse(source).ok_or(Unparsable {
        line: 1,
        message: "the parser could not read this file".into(),
    })?;
    if let Some(error) = syntax_errors(&tree, source).first() {
        let line = source[..(error.range.start as usize).min(source.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        return Err(Unparsable {
            line,
            message: error.message.clone(),
        });
    }
    let reader = Reader { path, source };
    let root = tree.root_node();
    let module_skips = reader.module_skips(root);
    let mut out = Vec::new();
    // (node, enclosing classes, in a TestCase, skips inherited from classes)
    let mut stack: Vec<(Node, Vec<String>, bool, Vec<Skip>)> =
        vec![(root, Vec::new(), false, module_skips)];
    while let Some((container, classes, unittest, inherited)) = stack.pop() {
        let body = if container.kind() == "module" {
            Some(container)
        } else {
            container.child_by_field_name("body")
        };
        let Some(body) = body else { continue };
        let mut walk = body.walk();
        for statement in body.named_children(&mut walk) {
            let (definition, decorators) = match statement.kind() {
                "decorated_definition" => match statement.child_by_field_name("definition") {
                    Some(d) => (d, reader.decorators(statement)),
                    None => continue,
                },
                "function_definition" | "class_definition" => (statement, Vec::new()),
                _ => continue,
            };
            let Some(name) = definition
                .child_by_field_name("name")
                .map(|n| reader.text(n).to_string())
            else {
                continue;
            };
            let mut skips = inherited.clone();
            skips.extend(decorators.iter().filter_map(|d| reader.skip_of(*d)));
            if definition.kind() == "class_definition" {
                if classes.len() < 8 {
                    let mut nested = classes.clone();
                    nested.push(name);
                    let is_testcase = unittest || reader.is_testcase(definition);
                    stack.push((definition, nested, is_testcase, skips));
                }
                continue;
            }
            let case = reader.test_case(definition, &name, &classes, &decorators, skips);
            out.push(Candidate {
                case,
                classes: classes.clone(),
                in_unittest_class: unittest,
            });
        }
    }
    out.sort_by_key(|a| a.case.line);
    Ok(out)
}

struct Reader<'s> {
    path: &'s str,
    source: &'s [u8],
}

impl<'s> Reader<'s> {
    fn text(&self, node: Node) -> &'s str {
        node.utf8_text(self.source).unwrap_or("")
    }

    fn line(&self, node: Node) -> usize {
        node.start_position().row + 1
    }

    /// Layout-free text: the node's tokens joined by single spaces, comments dropped, and a
    /// trailing comma before a closing bracket removed.
    fn fingerprint(&self, node: Node) -> String {
        let tokens = self.tokens(node);
        let mut out: Vec<&str> = Vec::with_capacity(tokens.len());
        for token in &tokens {
            if matches!(token.as_str(), ")" | "]" | "}") && out.last() == Some(&",") {
                out.pop();
            }
            out.push(token);
        }
        out.join(" ")
    }

    /// Leaf tokens under a node, iteratively (no recursion), comments excluded; a string
    /// literal is one token.
    fn tokens(&self, node: Node) -> Vec<String> {
        let mut tokens = Vec::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if n.kind() == "comment" {
                continue;
            }
            if n.child_count() == 0 || n.kind() == "string" {
                tokens.push(self.text(n).to_string());
                continue;
            }
            let mut walk = n.walk();
            let children: Vec<Node> = n.children(&mut walk).collect();
            stack.extend(children.into_iter().rev());
        }
        tokens
    }

    fn decorators(&self, decorated: Node<'s>) -> Vec<Node<'s>> {
        let mut walk = decorated.walk();
        decorated
            .named_children(&mut walk)
            .filter(|c| c.kind() == "decorator")
            .filter_map(|d| d.named_child(0))
            .collect()
    }

    /// `pytestmark = pytest.mark.skip(...)` (or a list of marks) at module level.
    fn module_skips(&self, root: Node) -> Vec<Skip> {
        let mut skips = Vec::new();
        for (_, value) in module_assignment(root, self.source, "pytestmark") {
            let marks: Vec<Node> = if value.kind() == "list" || value.kind() == "tuple" {
                let mut w = value.walk();
                value.named_children(&mut w).collect()
            } else {
                vec![value]
            };
            skips.extend(marks.into_iter().filter_map(|m| self.skip_of(m)));
        }
        skips
    }

    /// A skip/xfail decorator or mark: `pytest.mark.skip`, `mark.skipif(cond)`,
    /// `unittest.skip("why")`, `skipIf(cond, ...)`, `expectedFailure`.
    fn skip_of(&self, expression: Node) -> Option<Skip> {
        let (callee, arguments) = if expression.kind() == "call" {
            (
                expression.child_by_field_name("function")?,
                expression.child_by_field_name("arguments"),
            )
        } else {
            (expression, None)
        };
        let written = self.text(callee);
        let last = written.rsplit('.').next().unwrap_or(written);
        let kind = match last {
            "skip" | "xfail" | "skipif" | "skipIf" | "skipUnless" | "expectedFailure" => last,
            _ => return None,
        };
        let prefix = if written.contains("mark") {
            "mark."
        } else if written.starts_with("unittest")
            || matches!(last, "skipIf" | "skipUnless" | "expectedFailure")
        {
            "unittest."
        } else {
            ""
        };
        // The condition of a conditional skip (its first positional argument); `xfail`'s
        // `condition=` keyword too.
        let condition = arguments.and_then(|args| {
            let mut walk = args.walk();
            let first = args
                .named_children(&mut walk)
                .find(|a| a.kind() != "keyword_argument" && a.kind() != "comment");
            match (kind, first) {
                ("skipif" | "skipIf" | "skipUnless", Some(c)) => Some(self.fingerprint(c)),
                ("xfail", Some(c)) if c.kind() != "string" => Some(self.fingerprint(c)),
                _ => None,
            }
        });
        Some(Skip {
            kind: format!("{prefix}{kind}"),
            condition,
            line: self.line(expression),
        })
    }

    fn is_testcase(&self, class: Node) -> bool {
        class
            .child_by_field_name("superclasses")
            .is_some_and(|bases| {
                let mut walk = bases.walk();
                bases.named_children(&mut walk).any(|b| {
                    let text = self.text(b);
                    text.ends_with("TestCase") || text.ends_with("IsolatedAsyncioTestCase")
                })
            })
    }

    fn test_case(
        &self,
        function: Node,
        name: &str,
        classes: &[String],
        decorators: &[Node],
        skips: Vec<Skip>,
    ) -> TestCase {
        let container = (!classes.is_empty()).then(|| classes.join("::"));
        let id = match &container {
            Some(c) => format!("{}::{c}::{name}", self.path),
            None => format!("{}::{name}", self.path),
        };
        let mut case = TestCase {
            id,
            lang: Lang::Python,
            file: self.path.to_string(),
            container,
            name: name.to_string(),
            line: self.line(function),
            assertions: Vec::new(),
            skips,
            should_panic: None,
            params: decorators
                .iter()
                .flat_map(|d| self.parametrize_cases(*d))
                .collect(),
            fixtures: self.fixtures_used(function, decorators),
            body_tokens: Vec::new(),
        };
        if let Some(body) = function.child_by_field_name("body") {
            case.body_tokens = self.body_tokens(body);
            let mut body_walk = BodyWalk {
                reader: self,
                case: &mut case,
            };
            body_walk.block(body, None, 0);
        }
        case
    }

    /// The test's parameters (fixtures, in pytest) and `@pytest.mark.usefixtures(...)` names.
    fn fixtures_used(&self, function: Node, decorators: &[Node]) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(params) = function.child_by_field_name("parameters") {
            let mut walk = params.walk();
            for param in params.named_children(&mut walk) {
                let name = match param.kind() {
                    "identifier" => Some(param),
                    "default_parameter" | "typed_parameter" | "typed_default_parameter" => param
                        .child_by_field_name("name")
                        .or_else(|| param.named_child(0)),
                    _ => None,
                };
                names.extend(
                    name.map(|n| self.text(n).to_string())
                        .filter(|n| n != "self" && n != "cls"),
                );
            }
        }
        for decorator in decorators.iter().filter(|d| d.kind() == "call") {
            let is_usefixtures = decorator
                .child_by_field_name("function")
                .is_some_and(|f| self.text(f).ends_with("usefixtures"));
            if let (true, Some(args)) = (is_usefixtures, decorator.child_by_field_name("arguments"))
            {
                let mut walk = args.walk();
                names.extend(
                    args.named_children(&mut walk)
                        .filter(|a| a.kind() == "string")
                        .map(|a| {
                            self.text(a)
                                .trim_matches(|c| c == '"' || c == '\'')
                                .to_string()
                        }),
                );
            }
        }
        names
    }

    /// One fingerprint per case of `@pytest.mark.parametrize("a,b", [...])`.
    fn parametrize_cases(&self, decorator: Node) -> Vec<String> {
        if decorator.kind() != "call" {
            return Vec::new();
        }
        let Some(callee) = decorator.child_by_field_name("function") else {
            return Vec::new();
        };
        if !self.text(callee).ends_with("parametrize") {
            return Vec::new();
        }
        let Some(args) = decorator.child_by_field_name("arguments") else {
            return Vec::new();
        };
        let mut walk = args.walk();
        let positional: Vec<Node> = args
            .named_children(&mut walk)
            .filter(|a| a.kind() != "keyword_argument" && a.kind() != "comment")
            .collect();
        let names = positional
            .first()
            .map(|n| self.fingerprint(*n))
            .unwrap_or_default();
        match positional.get(1) {
            Some(values) if matches!(values.kind(), "list" | "tuple") => {
                let mut w = values.walk();
                values
                    .named_children(&mut w)
                    .filter(|c| c.kind() != "comment")
                    .map(|c| format!("{names}: {}", self.fingerprint(c)))
                    .collect()
            }
            Some(other) => vec![format!("{names}: <computed> {}", self.fingerprint(*other))],
            None => Vec::new(),
        }
    }

    /// The body's tokens without its docstring.
    fn body_tokens(&self, body: Node) -> Vec<String> {
        let mut walk = body.walk();
        let mut statements: Vec<Node> = body.named_children(&mut walk).collect();
        if statements.first().is_some_and(|s| {
            s.kind() == "expression_statement"
                && s.named_child(0).is_some_and(|e| e.kind() == "string")
        }) {
            statements.remove(0);
        }
        statements
            .into_iter()
            .flat_map(|s| self.tokens(s))
            .collect()
    }
}

/// Walks a test body in order, collecting assertions, skips and why assertions cannot run.
struct BodyWalk<'r, 's, 'c> {
    reader: &'r Reader<'s>,
    case: &'c mut TestCase,
}

impl BodyWalk<'_, '_, '_> {
    /// Walks statements; `dead` says why the rest cannot run (inherited from outside).
    /// Returns why code after this block cannot run, if it cannot.
    fn block(&mut self, block: Node, dead: Option<String>, depth: usize) -> Option<String> {
        let mut dead = dead;
        if depth > MAX_DEPTH {
            return dead;
        }
        let mut walk = block.walk();
        let statements: Vec<Node> = block.named_children(&mut walk).collect();
        for statement in statements {
            let ends = self.statement(statement, dead.clone(), depth);
            if dead.is_none() {
                dead = ends;
            }
        }
        dead
    }

    fn statement(&mut self, node: Node, dead: Option<String>, depth: usize) -> Option<String> {
        let reader = self.reader;
        match node.kind() {
            "return_statement" => {
                self.expressions(node, dead, depth);
                Some(format!("after the `return` on line {}", reader.line(node)))
            }
            "raise_statement" => {
                self.expressions(node, dead, depth);
                Some(format!("after the `raise` on line {}", reader.line(node)))
            }
            "assert_statement" => {
                self.assert_statement(node, dead);
                None
            }
            "expression_statement" => {
                let skipped = self.expressions(node, dead.clone(), depth);
                skipped.map(|line| format!("after the skip on line {line}"))
            }
            "try_statement" => {
                let swallowed = self.swallowing_handler(node);
                let inner_dead = dead.clone().or(swallowed);
                let mut walk = node.walk();
                let parts: Vec<Node> = node.named_children(&mut walk).collect();
                for part in parts {
                    match part.kind() {
                        "block" => {
                            self.block(part, inner_dead.clone(), depth + 1);
                        }
                        _ => self.nested(part, dead.clone(), depth),
                    }
                }
                None
            }
            "function_definition" | "class_definition" | "decorated_definition" => None,
            _ => {
                self.nested(node, dead, depth);
                None
            }
        }
    }

    /// Compound statements: conditions are expressions; their blocks run conditionally (a
    /// `return` inside does not make later code unreachable).
    fn nested(&mut self, node: Node, dead: Option<String>, depth: usize) {
        let mut walk = node.walk();
        let parts: Vec<Node> = node.named_children(&mut walk).collect();
        for part in parts {
            match part.kind() {
                "block" => {
                    self.block(part, dead.clone(), depth + 1);
                }
                "elif_clause" | "else_clause" | "except_clause" | "finally_clause"
                | "case_clause" | "with_clause" => self.nested(part, dead.clone(), depth + 1),
                _ => {
                    self.expressions(part, dead.clone(), depth);
                }
            }
        }
    }

    /// Calls inside an expression (or simple statement): unittest assertions, pytest.raises,
    /// helpers, skips. Returns the line of an unconditional skip call at statement level.
    fn expressions(&mut self, node: Node, dead: Option<String>, _depth: usize) -> Option<usize> {
        let reader = self.reader;
        let mut skipped_at = None;
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if matches!(
                n.kind(),
                "lambda" | "function_definition" | "class_definition"
            ) {
                continue;
            }
            if n.kind() == "call"
                && let Some(callee) = n.child_by_field_name("function")
            {
                let written = reader.text(callee);
                let last = written.rsplit('.').next().unwrap_or(written).to_string();
                let on_self = written.starts_with("self.");
                if on_self && (last.starts_with("assert") || last.starts_with("fail")) {
                    let fingerprint = self.unittest_fingerprint(n, &last);
                    self.push(
                        AssertKind::Unittest(last.clone()),
                        fingerprint,
                        n,
                        dead.clone(),
                        None,
                    );
                } else if written.ends_with("raises")
                    && (written.contains("pytest") || last == "raises")
                {
                    let first = self.first_argument(n).unwrap_or_default();
                    self.push(
                        AssertKind::Raises(first),
                        reader.fingerprint(n),
                        n,
                        dead.clone(),
                        None,
                    );
                } else if written.ends_with("warns")
                    && (written.contains("pytest") || last == "warns")
                {
                    let first = self.first_argument(n).unwrap_or_default();
                    self.push(
                        AssertKind::Warns(first),
                        reader.fingerprint(n),
                        n,
                        dead.clone(),
                        None,
                    );
                } else if !on_self && is_helper(&last) {
                    self.push(
                        AssertKind::Helper(last.clone()),
                        reader.fingerprint(n),
                        n,
                        dead.clone(),
                        None,
                    );
                } else if matches!(
                    written,
                    "pytest.skip" | "pytest.xfail" | "self.skipTest" | "skip" | "xfail"
                ) {
                    self.case.skips.push(Skip {
                        kind: format!("{written}()"),
                        condition: None,
                        line: reader.line(n),
                    });
                    if n.parent()
                        .is_some_and(|p| p.kind() == "expression_statement")
                    {
                        skipped_at = Some(reader.line(n));
                    }
                }
            }
            let mut walk = n.walk();
            let children: Vec<Node> = n.named_children(&mut walk).collect();
            stack.extend(children.into_iter().rev());
        }
        skipped_at
    }

    fn first_argument(&self, call: Node) -> Option<String> {
        let args = call.child_by_field_name("arguments")?;
        let mut walk = args.walk();
        let first = args
            .named_children(&mut walk)
            .find(|a| a.kind() != "keyword_argument" && a.kind() != "comment")?;
        Some(self.reader.fingerprint(first))
    }

    /// `self.assertEqual(a, b, "msg")` -> `assertEqual ( a , b )`: the message dropped.
    fn unittest_fingerprint(&self, call: Node, method: &str) -> String {
        let arity = match method {
            "assertTrue" | "assertFalse" | "assertIsNone" | "assertIsNotNone" | "assertRaises"
            | "assertWarns" | "assertLogs" | "fail" => 1,
            _ => 2,
        };
        let args: Vec<String> = call
            .child_by_field_name("arguments")
            .map(|a| {
                let mut walk = a.walk();
                a.named_children(&mut walk)
                    .filter(|n| n.kind() != "keyword_argument" && n.kind() != "comment")
                    .take(arity)
                    .map(|n| self.reader.fingerprint(n))
                    .collect()
            })
            .unwrap_or_default();
        format!("{method} ( {} )", args.join(" , "))
    }

    fn assert_statement(&mut self, node: Node, dead: Option<String>) {
        let reader = self.reader;
        let mut walk = node.walk();
        let parts: Vec<Node> = node.named_children(&mut walk).collect();
        let Some(mut condition) = parts.first().copied() else {
            return;
        };
        // `assert (x == y)` is `assert x == y`.
        while condition.kind() == "parenthesized_expression" {
            let mut walk = condition.walk();
            let inner: Vec<Node> = condition
                .named_children(&mut walk)
                .filter(|c| c.kind() != "comment")
                .collect();
            match inner.as_slice() {
                [only] => condition = *only,
                _ => break,
            }
        }
        let fingerprint = format!("assert {}", reader.fingerprint(condition));
        let vacuous = self.vacuous(condition);
        let kind = if reader.text(condition).contains("approx(") {
            AssertKind::Approx
        } else {
            AssertKind::Assert
        };
        self.push(kind, fingerprint, node, dead.clone(), vacuous);
        // Calls inside the condition (helpers, unittest methods) count on their own.
        self.expressions(condition, dead, 0);
    }

    /// Why an assert condition is always true, when it plainly is.
    fn vacuous(&self, condition: Node) -> Option<String> {
        let reader = self.reader;
        let text = reader.fingerprint(condition);
        match condition.kind() {
            "true" => return Some("`assert True` always passes".into()),
            "integer" | "float" if text != "0" && text != "0.0" => {
                return Some(format!("`assert {text}` always passes"));
            }
            "string" if text.len() > 2 => return Some("a non-empty string is always true".into()),
            "tuple" if condition.named_child_count() > 0 => {
                return Some("a non-empty tuple is always true".into());
            }
            _ => {}
        }
        if condition.kind() == "boolean_operator" {
            let op = condition
                .child_by_field_name("operator")
                .map(|o| reader.text(o))
                .unwrap_or("");
            let sides = [
                condition.child_by_field_name("left"),
                condition.child_by_field_name("right"),
            ];
            if op == "or"
                && sides
                    .iter()
                    .flatten()
                    .any(|s| s.kind() == "true" || self.vacuous(*s).is_some())
            {
                return Some("`... or True` always passes".into());
            }
        }
        if condition.kind() == "comparison_operator" && condition.named_child_count() == 2 {
            let (Some(a), Some(b)) = (condition.named_child(0), condition.named_child(1)) else {
                return None;
            };
            let mut walk = condition.walk();
            let op: String = condition
                .children(&mut walk)
                .filter(|c| !c.is_named())
                .map(|c| reader.text(c))
                .collect();
            if reader.fingerprint(a) == reader.fingerprint(b)
                && matches!(op.as_str(), "==" | "is" | ">=" | "<=")
            {
                return Some(format!("`{text}` compares a value with itself"));
            }
            let literal = |n: Node| {
                matches!(
                    n.kind(),
                    "integer" | "float" | "string" | "true" | "false" | "none"
                )
            };
            if literal(a) && literal(b) {
                return Some(format!("`{text}` compares two constants"));
            }
        }
        None
    }

    fn push(
        &mut self,
        kind: AssertKind,
        fingerprint: String,
        node: Node,
        unreachable: Option<String>,
        vacuous: Option<String>,
    ) {
        let line = self.reader.line(node);
        self.case.assertions.push(Assertion {
            kind,
            fingerprint,
            line,
            unreachable,
            vacuous,
        });
    }

    /// An `except` that catches assertion failures and does not re-raise.
    fn swallowing_handler(&self, try_statement: Node) -> Option<String> {
        let reader = self.reader;
        let mut walk = try_statement.walk();
        let handlers: Vec<Node> = try_statement
            .named_children(&mut walk)
            .filter(|c| c.kind() == "except_clause")
            .collect();
        for handler in handlers {
            let caught = handler
                .child_by_field_name("value")
                .map(|v| reader.text(v).to_string());
            let catches_assertions = match caught.as_deref() {
                None => true,
                Some(types) => ["AssertionError", "Exception", "BaseException"]
                    .iter()
                    .any(|t| types.contains(t)),
            };
            let mut walk = handler.walk();
            let reraises = handler
                .named_children(&mut walk)
                .filter(|c| c.kind() == "block")
                .any(|b| reader.text(b).contains("raise"));
            if catches_assertions && !reraises {
                return Some(format!(
                    "swallowed by `except{}` on line {}",
                    caught.map(|c| format!(" {c}")).unwrap_or_default(),
                    reader.line(handler)
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tests_of(source: &str) -> Vec<Candidate> {
        extract("tests/test_x.py", source.as_bytes()).expect("parses")
    }

    #[test]
    fn finds_functions_methods_and_unittest_classes() {
        let found = tests_of(
            "import unittest\n\ndef test_a():\n    assert 1 + 1 == 2\n\nclass TestB:\n    def test_b(self):\n        assert f() == 3\n\nclass Guard(unittest.TestCase):\n    def test_c(self):\n        self.assertEqual(a, b, 'msg')\n",
        );
        let ids: Vec<&str> = found.iter().map(|c| c.case.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "tests/test_x.py::test_a",
                "tests/test_x.py::TestB::test_b",
                "tests/test_x.py::Guard::test_c"
            ]
        );
        assert!(found[2].in_unittest_class);
        assert_eq!(
            found[2].case.assertions[0].fingerprint,
            "assertEqual ( a , b )"
        );
    }

    #[test]
    fn fingerprints_ignore_layout_and_messages() {
        let a = tests_of("def test_a():\n    assert x == y, 'why'\n");
        let b = tests_of(
            "def test_a():\n    assert (\n        x\n        == y  # note\n    ), \"other why\"\n",
        );
        assert_eq!(a[0].case.assertions[0].fingerprint, "assert x == y");
        assert_eq!(b[0].case.assertions[0].fingerprint, "assert x == y");
    }

    #[test]
    fn vacuous_assertions_are_named() {
        let found = tests_of(
            "def test_a():\n    assert True\n    assert x == x\n    assert ok or True\n    assert 1 == 1\n    assert x == y\n",
        );
        let vacuous: Vec<bool> = found[0]
            .case
            .assertions
            .iter()
            .map(|a| a.vacuous.is_some())
            .collect();
        assert_eq!(vacuous, [true, true, true, true, false]);
    }

    #[test]
    fn unreachable_assertions_are_named() {
        let found = tests_of(
            "import pytest\n\ndef test_a():\n    setup()\n    return\n    assert x\n\ndef test_b():\n    pytest.skip('later')\n    assert y\n\ndef test_c():\n    try:\n        assert z\n    except AssertionError:\n        pass\n\ndef test_d():\n    if cond:\n        return\n    assert w\n",
        );
        let reasons: Vec<Option<String>> = found
            .iter()
            .map(|c| c.case.assertions[0].unreachable.clone())
            .collect();
        assert!(reasons[0].as_deref().unwrap().contains("return"));
        assert!(reasons[1].as_deref().unwrap().contains("skip"));
        assert!(
            reasons[2]
                .as_deref()
                .unwrap()
                .contains("except AssertionError")
        );
        assert_eq!(
            reasons[3], None,
            "a conditional return does not make later code dead"
        );
    }

    #[test]
    fn skips_markers_and_parametrize_cases() {
        let found = tests_of(
            "import pytest, sys\n\n@pytest.mark.skip(reason='flaky')\ndef test_a():\n    assert f()\n\n@pytest.mark.skipif(sys.platform == 'win32', reason='x')\n@pytest.mark.parametrize('a,b', [(1, 2), (3, 4)])\ndef test_b(a, b):\n    assert a < b\n",
        );
        assert_eq!(found[0].case.skips[0].kind, "mark.skip");
        assert_eq!(found[1].case.skips[0].kind, "mark.skipif");
        assert_eq!(
            found[1].case.skips[0].condition.as_deref(),
            Some("sys . platform == 'win32'")
        );
        assert_eq!(found[1].case.params.len(), 2);
    }

    #[test]
    fn raises_helpers_and_approx_count_as_assertions() {
        let found = tests_of(
            "import pytest\n\ndef test_a():\n    with pytest.raises(ValueError):\n        parse('x')\n    assert_upgraded(app, '2.0')\n    assert total == pytest.approx(3.0, rel=1e-3)\n",
        );
        let kinds: Vec<&AssertKind> = found[0].case.assertions.iter().map(|a| &a.kind).collect();
        assert_eq!(
            kinds,
            [
                &AssertKind::Raises("ValueError".into()),
                &AssertKind::Helper("assert_upgraded".into()),
                &AssertKind::Approx
            ]
        );
    }

    #[test]
    fn a_broken_file_is_reported_not_guessed() {
        let error = extract("tests/test_x.py", b"def test_a(:\n    assert x\n").unwrap_err();
        assert_eq!(error.line, 1);
    }

    #[test]
    fn module_pytestmark_skips_every_test() {
        let found = tests_of(
            "import pytest\npytestmark = pytest.mark.skip\n\ndef test_a():\n    assert x\n",
        );
        assert_eq!(found[0].case.skips[0].kind, "mark.skip");
    }
}
