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
    pub misread: Query,
}

pub static QUERIES: LazyLock<Queries> = LazyLock::new(|| Queries {
    facts: Query::new(&PYTHON, include_str!("../queries/python/facts.scm"))
        .expect("queries/python/facts.scm compiles"),
    python2: Query::new(&PYTHON, include_str!("../queries/python/python2.scm"))
        .expect("queries/python/python2.scm compiles"),
    misread: Query::new(&PYTHON, include_str!("../queries/python/misread.scm"))
        .expect("queries/python/misread.scm compiles"),
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
    // The tokenizer's limits first: tree-sitter's recovery from them is only a symptom.
    let mut errors = tokenizer_errors(tree, source);
    errors.extend(python2_statements(tree, source));
    errors.extend(misread_statements(tree, source));
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

/// CPython's tokenizer refuses a 201st nested bracket (`MAXLEVEL`) and a 100th level of
/// indentation (`MAXINDENT`). tree-sitter parses both (or recovers from them far from the
/// cause), so without this a file Python cannot load (10,000 nested parentheses, 1,000
/// nested `if`s) would pass as clean code or be blamed on the wrong line.
const MAX_BRACKET_DEPTH: usize = 200;
const MAX_INDENT_LEVELS: usize = 99;

/// What CPython's tokenizer refuses and tree-sitter accepts or misplaces: too many nested
/// brackets, too many indentation levels, tabs and spaces mixed inconsistently (`TabError`),
/// and a dedent to a column no outer block has. Like the tokenizer, it reads tokens (the
/// tree's leaves, in order, walked iteratively), so it does not depend on how tree-sitter
/// recovered. A logical line starts at the first token on a row, outside brackets, not after a
/// backslash, not a comment. String literals are single tokens: in Python 3.11 an f-string's
/// brackets do not count. The first error of each kind is reported.
fn tokenizer_errors(tree: &Tree, source: &[u8]) -> Vec<SyntaxError> {
    let mut errors: Vec<SyntaxError> = Vec::new();
    let mut report = |node: &tree_sitter::Node, message: String| {
        if !errors.iter().any(|e| e.message == message) {
            errors.push(SyntaxError {
                range: TextRange::of(node),
                message,
            });
        }
    };
    let mut brackets = 0usize;
    let mut indents = IndentStack::default();
    let mut last_end: Option<(usize, usize)> = None; // (row, byte) of the previous token's end
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        let is_token = node.kind() == "string" || node.child_count() == 0;
        if is_token && node.end_byte() > node.start_byte() {
            let row = node.start_position().row;
            let starts_line = last_end.is_none_or(|(end_row, end_byte)| {
                row > end_row && !continued(&source[end_byte..node.start_byte()])
            });
            if starts_line
                && brackets == 0
                && node.kind() != "comment"
                && let Err(message) = indents.line(columns(source, node.start_byte()))
            {
                report(&node, message);
            }
            match node.kind() {
                "(" | "[" | "{" => {
                    brackets += 1;
                    if brackets > MAX_BRACKET_DEPTH {
                        report(
                            &node,
                            format!(
                                "too many nested parentheses (Python allows {MAX_BRACKET_DEPTH})"
                            ),
                        );
                    }
                }
                ")" | "]" | "}" => brackets = brackets.saturating_sub(1),
                _ => {}
            }
            last_end = Some((node.end_position().row, node.end_byte()));
        }
        if !is_token && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return errors;
            }
        }
    }
}

/// CPython's `indstack`/`altindstack`: each open indentation level's column with tabs to
/// multiples of 8 and with tabs as 1. The two must order every line the same way, or the
/// meaning of the file would depend on the tab size.
struct IndentStack {
    levels: Vec<(usize, usize)>,
}

impl Default for IndentStack {
    fn default() -> Self {
        IndentStack {
            levels: vec![(0, 0)],
        }
    }
}

impl IndentStack {
    /// A logical line starting at (column, alt column).
    fn line(&mut self, (column, alt): (usize, usize)) -> Result<(), String> {
        const TAB_ERROR: &str = "inconsistent use of tabs and spaces in indentation";
        let (top, top_alt) = self.top();
        if column > top {
            if alt <= top_alt {
                return Err(TAB_ERROR.into());
            }
            self.levels.push((column, alt));
            if self.levels.len() > MAX_INDENT_LEVELS + 1 {
                return Err(format!(
                    "too many levels of indentation (Python allows {MAX_INDENT_LEVELS})"
                ));
            }
            return Ok(());
        }
        while self.levels.len() > 1 && column < self.top().0 {
            self.levels.pop();
        }
        let (top, top_alt) = self.top();
        if column != top {
            // Keep going from the nearest level, as if the line were there.
            return Err("unindent does not match any outer indentation level".into());
        }
        if alt != top_alt {
            return Err(TAB_ERROR.into());
        }
        Ok(())
    }

    fn top(&self) -> (usize, usize) {
        self.levels.last().copied().unwrap_or((0, 0))
    }
}

/// Whether the gap between two tokens on different rows joins the lines (`\\` at a line end).
fn continued(gap: &[u8]) -> bool {
    gap.windows(2).any(|w| w == b"\\\n") || gap.windows(3).any(|w| w == b"\\\r\n")
}

/// The indentation of the line holding byte `at`, as CPython counts it: (tabs to the next
/// multiple of 8, tabs as 1); a form feed resets both.
fn columns(source: &[u8], at: usize) -> (usize, usize) {
    let line_start = source[..at]
        .iter()
        .rposition(|b| *b == b'\n' || *b == b'\r')
        .map_or(0, |i| i + 1);
    source[line_start..at]
        .iter()
        .fold((0, 0), |(column, alt), b| match b {
            b'\t' => ((column / 8 + 1) * 8, alt + 1),
            0x0c => (0, 0),
            _ => (column + 1, alt + 1),
        })
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
    query_errors(&QUERIES.python2, tree, source, |node| {
        let keyword = if node.kind() == "exec_statement" {
            "exec"
        } else {
            "print"
        };
        format!("Python 2 `{keyword}` statement (Python 3 needs `{keyword}(...)`)")
    })
}

/// Valid Python that tree-sitter reads as something else, so its calls and stores would be
/// lost: it cannot be analyzed, which fails closed like a syntax error.
fn misread_statements(tree: &Tree, source: &[u8]) -> Vec<SyntaxError> {
    query_errors(&QUERIES.misread, tree, source, |_| {
        "tree-sitter-python misreads `type(...)` at the start of a statement as a `type` \
         alias, so deployguard cannot analyze it; write `cls = type(self)` and use `cls`"
            .into()
    })
}

fn query_errors(
    query: &Query,
    tree: &Tree,
    source: &[u8],
    message: impl Fn(&tree_sitter::Node) -> String,
) -> Vec<SyntaxError> {
    use streaming_iterator::StreamingIterator;
    let mut cursor = tree_sitter::QueryCursor::new();
    let mut found = Vec::new();
    let mut matches = cursor.matches(query, tree.root_node(), source);
    while let Some(m) = matches.next() {
        for capture in m.captures() {
            found.push(SyntaxError {
                range: TextRange::of(&capture.node),
                message: message(&capture.node),
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
    fn type_of_self_assignments_are_misread_and_fail_closed() {
        let src = b"def f(self):\n    type(self).handler = run\n    type (self).x = 1\n";
        let tree = parse(src).unwrap();
        let errors = syntax_errors(&tree, src);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].message.contains("misreads `type(...)`"));
        // Real PEP 695 aliases, `type` as a name, and augmented assignments are fine.
        let src = b"type Alias = int\ntype Pair[T] = tuple[T, T]\ntype = 1\nx = type(self)\ntype(self).x += 1\n";
        let tree = parse(src).unwrap();
        let errors = syntax_errors(&tree, src);
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn python3_print_calls_are_not_python2() {
        // `print >>f, x` and `exec(code)` are valid Python 3 expressions.
        let src = b"print(\"x\")\nprint\nprint >>sys.stderr, \"m\"\nexec(code)\nexec (code)\n";
        let tree = parse(src).unwrap();
        assert!(syntax_errors(&tree, src).is_empty());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        // Python refuses this file ("too many nested parentheses"), so it is one error, found
        // without recursion.
        let src = format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
        let tree = parse(src.as_bytes()).unwrap();
        let errors = syntax_errors(&tree, src.as_bytes());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("too many nested parentheses"));
        assert_eq!(errors[0].range.start, 4 + 200);
    }

    fn nested(n: usize, open: &str, close: &str) -> String {
        format!("x = {}1{}\n", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn brackets_up_to_cpythons_limit_are_fine() {
        for (open, close) in [("(", ")"), ("[", "]"), ("{", "}"), ("f(", ")")] {
            let src = nested(200, open, close);
            let tree = parse(src.as_bytes()).unwrap();
            assert!(syntax_errors(&tree, src.as_bytes()).is_empty(), "{open}");
            let src = nested(201, open, close);
            let tree = parse(src.as_bytes()).unwrap();
            let errors = syntax_errors(&tree, src.as_bytes());
            assert_eq!(errors.len(), 1, "{open}: {errors:?}");
        }
    }

    #[test]
    fn brackets_in_strings_and_fstrings_do_not_count() {
        let src = format!(
            "x = \"{}\"\ny = f\"{{{}1{}}}\"\n",
            "(".repeat(300),
            "(".repeat(150),
            ")".repeat(150)
        );
        let tree = parse(src.as_bytes()).unwrap();
        let errors = syntax_errors(&tree, src.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
    }

    fn nested_ifs(n: usize) -> String {
        let mut src = String::new();
        for level in 0..n {
            src.push_str(&" ".repeat(level));
            src.push_str("if a:\n");
        }
        src.push_str(&" ".repeat(n));
        src.push_str("pass\n");
        src
    }

    #[test]
    fn indentation_up_to_cpythons_limit_is_fine() {
        // 99 nested `if`s put `pass` at indentation level 99: Python's last allowed level.
        let src = nested_ifs(99);
        let tree = parse(src.as_bytes()).unwrap();
        assert!(syntax_errors(&tree, src.as_bytes()).is_empty());
        let src = nested_ifs(100);
        let tree = parse(src.as_bytes()).unwrap();
        let errors = syntax_errors(&tree, src.as_bytes());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("too many levels of indentation"));
    }

    #[test]
    fn a_thousand_nested_ifs_are_blamed_on_the_hundredth_level() {
        let src = nested_ifs(1000);
        let tree = parse(src.as_bytes()).unwrap();
        let errors = syntax_errors(&tree, src.as_bytes());
        assert!(errors[0].message.contains("too many levels of indentation"));
        let line = src[..errors[0].range.start as usize].matches('\n').count() + 1;
        assert_eq!(line, 101, "Python reports line 101");
    }

    #[test]
    fn continuation_lines_comments_and_tabs_follow_the_tokenizer() {
        // Backslash and bracket continuations, deeper comments and blank lines open no level;
        // a tab is 8 columns.
        let mut src = String::new();
        for _ in 0..150 {
            src.push_str("x = 1 + \\\n        2\ny = (1,\n             2)\n");
            src.push_str("if a:\n\tpass\n                # deep comment\n\n");
        }
        let tree = parse(src.as_bytes()).unwrap();
        let errors = syntax_errors(&tree, src.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
    }

    fn first_error(src: &[u8]) -> Option<(usize, String)> {
        let tree = parse(src).unwrap();
        syntax_errors(&tree, src).first().map(|e| {
            let line = src[..e.range.start as usize]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            (line + 1, e.message.clone())
        })
    }

    #[test]
    fn mixed_tabs_and_spaces_are_a_tab_error_where_python_says() {
        // Each case checked against `python3 -c 'compile(...)'` (3.11).
        let tab_error = "inconsistent use of tabs and spaces in indentation";
        type Case<'a> = (&'a [u8], Option<(usize, &'a str)>);
        let cases: &[Case] = &[
            (b"if x:\n        a = 1\n\tb = 2\n", Some((3, tab_error))),
            (b"if x:\n\ta = 1\n        b = 2\n", Some((3, tab_error))),
            (b"if x:\n  \ta = 1\n", None),
            (b"if x:\n\ta = 1\n\tif y:\n\t\tb = 2\n", None),
            (b"if x:\n\tif y:\n\t        b = 2\n", None),
            (
                b"if x:\n    a = 1\n  b = 2\n",
                Some((3, "unindent does not match any outer indentation level")),
            ),
        ];
        for (src, expected) in cases {
            let found = first_error(src);
            let found = found.as_ref().map(|(line, m)| (*line, m.as_str()));
            assert_eq!(found, *expected, "{}", String::from_utf8_lossy(src));
        }
    }

    #[test]
    fn same_line_blocks_and_siblings_do_not_add_indentation() {
        // 150 one-line `if`s in sequence, each `if a: pass`, and one-line bodies inside
        // multi-line headers: no level goes past 2.
        let mut src = "def f(\n    a,\n): pass\n".to_string();
        for _ in 0..150 {
            src.push_str("if a:\n    if b: pass\n");
        }
        let tree = parse(src.as_bytes()).unwrap();
        let errors = syntax_errors(&tree, src.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
    }
}
