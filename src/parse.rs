//! Parsing: tree-sitter-python, the embedded queries, and syntax-error detection.

use std::sync::LazyLock;

use tree_sitter::{Language, Parser, Query, Tree};

use crate::facts::{SyntaxError, TextRange};

pub static PYTHON: LazyLock<Language> = LazyLock::new(|| tree_sitter_python::LANGUAGE.into());

/// The embedded queries, compiled once. A query that fails to compile is a bug in
/// deployguard, caught by the tests in this module.
pub struct Queries {
    pub facts: Query,
    pub python2: Query,
}

pub static QUERIES: LazyLock<Queries> = LazyLock::new(|| Queries {
    facts: Query::new(&PYTHON, include_str!("../queries/python/facts.scm"))
        .expect("queries/python/facts.scm compiles"),
    python2: Query::new(&PYTHON, include_str!("../queries/python/python2.scm"))
        .expect("queries/python/python2.scm compiles"),
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
    let mut errors = python2_statements(tree, source);
    errors.extend(encoding_error(source));
    if !tree.root_node().has_error() {
        return errors;
    }
    let mut cursor = tree.walk();
    // The last node seen that contains an error, for errors tree-sitter keeps hidden (a
    // zero-width MISSING token inside a hidden rule, as in `1deploy_app`).
    let mut innermost = tree.root_node();
    loop {
        let node = cursor.node();
        if node.has_error() {
            innermost = node;
        }
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
                if errors.is_empty() {
                    let range =
                        glued_statements(innermost).unwrap_or_else(|| TextRange::of(&innermost));
                    errors.push(SyntaxError {
                        range,
                        message: "invalid syntax: two statements run together on one line".into(),
                    });
                }
                return errors;
            }
        }
    }
}

/// Python 3 reads source as UTF-8 unless a coding cookie on line 1 or 2 says otherwise
/// (PEP 263): invalid UTF-8 without one is a SyntaxError.
fn encoding_error(source: &[u8]) -> Option<SyntaxError> {
    let Err(error) = std::str::from_utf8(source) else {
        return None;
    };
    let head: Vec<&[u8]> = source.split(|b| *b == b'\n').take(2).collect();
    let declares = head.iter().any(|line| {
        let line = String::from_utf8_lossy(line);
        line.trim_start().starts_with('#')
            && line.contains("coding")
            && (line.contains("coding:") || line.contains("coding="))
    });
    if declares {
        return None;
    }
    let at = error.valid_up_to();
    Some(SyntaxError {
        range: TextRange::new(at, at + 1),
        message: "not valid UTF-8, and no coding declaration says otherwise (Python 3 refuses it)"
            .into(),
    })
}

/// `print "x"` and `exec code`: valid for tree-sitter, a SyntaxError for Python 3.
fn python2_statements(tree: &Tree, source: &[u8]) -> Vec<SyntaxError> {
    use streaming_iterator::StreamingIterator;
    let mut cursor = tree_sitter::QueryCursor::new();
    let mut found = Vec::new();
    let mut matches = cursor.matches(&QUERIES.python2, tree.root_node(), source);
    while let Some(m) = matches.next() {
        for capture in m.captures() {
            let keyword = if capture.node.kind() == "exec_statement" {
                "exec"
            } else {
                "print"
            };
            found.push(SyntaxError {
                range: TextRange::of(&capture.node),
                message: format!(
                    "Python 2 `{keyword}` statement (Python 3 needs `{keyword}(...)`)"
                ),
            });
        }
    }
    found
}

/// Where tree-sitter silently split one line into two statements (it invents a hidden
/// newline, e.g. for `1deploy_app`): the second statement of the first such pair.
fn glued_statements(root: tree_sitter::Node) -> Option<TextRange> {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        let mut walk = node.walk();
        let children: Vec<tree_sitter::Node> = node.named_children(&mut walk).collect();
        for pair in children.windows(2) {
            let (first, second) = (pair[0], pair[1]);
            let statement = |n: &tree_sitter::Node| {
                n.kind().ends_with("statement") || n.kind().ends_with("definition")
            };
            let same_line = first.end_position().row == second.start_position().row;
            if statement(&first)
                && statement(&second)
                && same_line
                && first.next_sibling().is_some_and(|n| n.kind() != ";")
            {
                return Some(TextRange::of(&second));
            }
        }
        stack.extend(children.into_iter().filter(|c| c.has_error()));
    }
    None
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
    fn hidden_recovery_is_still_a_syntax_error() {
        // Python: "invalid decimal literal"; tree-sitter recovers without an ERROR node.
        let src = b"deploy_app(1)\n1deploy_app\n";
        let tree = parse(src).unwrap();
        let errors = syntax_errors(&tree, src);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].range.start >= 14, "{errors:?}");
    }

    #[test]
    fn invalid_utf8_without_a_coding_cookie_is_a_syntax_error() {
        let src = b"x = \"\xff\xfe\"\n";
        let tree = parse(src).unwrap();
        assert_eq!(syntax_errors(&tree, src).len(), 1);
        let declared = b"# -*- coding: latin-1 -*-\nx = \"\xff\"\n";
        let tree = parse(declared).unwrap();
        assert!(syntax_errors(&tree, declared).is_empty());
    }

    #[test]
    fn python2_statements_are_syntax_errors() {
        let src = b"print \"deploying\"\nexec code\nprint(\"fine\")\n";
        let tree = parse(src).unwrap();
        let errors = syntax_errors(&tree, src);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].message.contains("print"));
    }

    #[test]
    fn python3_print_calls_are_not_python2() {
        let src = b"print(\"x\")\nprint\n";
        let tree = parse(src).unwrap();
        assert!(syntax_errors(&tree, src).is_empty());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let src = format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
        let tree = parse(src.as_bytes()).unwrap();
        assert!(syntax_errors(&tree, src.as_bytes()).is_empty());
    }
}
