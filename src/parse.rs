//! Parsing: tree-sitter-python, the embedded queries, and syntax-error detection.

use std::sync::LazyLock;

use tree_sitter::{Language, Parser, Query, Tree};

use crate::facts::{SyntaxError, TextRange};

pub static PYTHON: LazyLock<Language> = LazyLock::new(|| tree_sitter_python::LANGUAGE.into());

/// The embedded queries, compiled once. A query that fails to compile is a bug in
/// deployguard, caught by the tests in this module.
pub struct Queries {
    pub facts: Query,
}

pub static QUERIES: LazyLock<Queries> = LazyLock::new(|| Queries {
    facts: Query::new(&PYTHON, include_str!("../queries/python/facts.scm"))
        .expect("queries/python/facts.scm compiles"),
});

/// Parses Python source. Returns `None` only if tree-sitter gives up entirely, which the
/// caller reports as a syntax error at the start of the file.
pub fn parse(source: &[u8]) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&PYTHON).ok()?;
    parser.parse(source, None)
}

/// Every place where the parser recovered from an error (ERROR or MISSING nodes), in order.
/// Walks the tree iteratively and only descends into subtrees that contain an error.
pub fn syntax_errors(tree: &Tree, source: &[u8]) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    if !tree.root_node().has_error() {
        return errors;
    }
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        if node.is_missing() {
            errors.push(SyntaxError {
                range: TextRange::of(&node),
                message: format!("expected `{}` here", node.kind()),
            });
        } else if node.is_error() {
            let snippet = node
                .utf8_text(source)
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("");
            let snippet: String = snippet.chars().take(40).collect();
            errors.push(SyntaxError {
                range: TextRange::of(&node),
                message: if snippet.trim().is_empty() {
                    "invalid syntax".to_string()
                } else {
                    format!("invalid syntax near `{}`", snippet.trim())
                },
            });
        }
        let descend = node.has_error() && !node.is_error() && cursor.goto_first_child();
        if descend {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return errors;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_compile() {
        assert!(QUERIES.facts.capture_names().contains(&"call"));
    }

    #[test]
    fn clean_code_has_no_syntax_errors() {
        let src = b"def f(x):\n    return deploy_app(x)\n";
        let tree = parse(src).unwrap();
        assert!(syntax_errors(&tree, src).is_empty());
    }

    #[test]
    fn half_written_code_is_a_syntax_error() {
        let src = b"def f(x):\n    return deploy_app(x\n\ndef g():\n    pass\n";
        let tree = parse(src).unwrap();
        let errors = syntax_errors(&tree, src);
        assert!(!errors.is_empty());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let src = format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
        let tree = parse(src.as_bytes()).unwrap();
        assert!(syntax_errors(&tree, src.as_bytes()).is_empty());
    }
}
