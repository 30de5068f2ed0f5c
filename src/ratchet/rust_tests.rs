//! Finds the tests in one Rust source file (with syn) and what each one asserts, skips and
//! expects, as ratchet `TestCase`s.

use std::iter::Peekable;
use std::str::FromStr;

use proc_macro2::{Delimiter, Spacing, Span, TokenStream, TokenTree, token_stream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{
    Attribute, BinOp, Block, Expr, ExprMethodCall, Item, ItemFn, Lit, LitStr, Macro, Meta, Path,
    Stmt, Token, UnOp,
};

use super::model::{AssertKind, Assertion, Lang, Skip, TestCase};

/// Brackets nested deeper than this are refused rather than parsed: syn recurses once per level.
const MAX_BRACKET_DEPTH: usize = 256;
/// Bound on syn's recursion from brackets plus chains that recurse without brackets
/// (`!!!!x`, `a = b = c`, `else if`, `Vec<Vec<..>>`); see [`check_nesting`].
const MAX_PARSE_DEPTH: usize = 1024;
/// The parse runs on its own thread with this stack, so that input within the limits above
/// parses whatever stack the caller (a rayon worker, a test thread) happens to have. The
/// deepest input the limits let through needs about 31 MiB in a debug build (1020 levels of
/// `&` in a type); the stack is reserved, not committed, until used.
const PARSER_STACK_BYTES: usize = 256 << 20;

/// A file the extractor could not read as Rust. The caller reports it: a guard never treats
/// code it could not analyze as fine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseFailure {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

/// Every test in `source` (the text of the file at `path`, relative to the root), in source
/// order.
pub fn extract(path: &str, source: &str) -> Result<Vec<TestCase>, ParseFailure> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("ratchet-rust-tests".to_owned())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, || extract_on_this_thread(path, source));
        match worker {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(ParseFailure {
                    line: 1,
                    message: "the Rust test extractor crashed on this file; please report it \
                              with the file attached"
                        .to_owned(),
                })
            }),
            Err(err) => Err(ParseFailure {
                line: 1,
                message: format!("could not start a thread to parse this file: {err}"),
            }),
        }
    })
}

/// Runs on the dedicated thread: proc-macro2 keeps a per-thread map of every text it lexed (for
/// span locations), which is freed when the thread ends.
fn extract_on_this_thread(path: &str, source: &str) -> Result<Vec<TestCase>, ParseFailure> {
    let content = without_bom_and_shebang(source);
    let tokens = TokenStream::from_str(content).map_err(|err| ParseFailure {
        line: line_of(err.span()),
        message: format!(
            "not valid Rust ({err}): look here for an unclosed or mismatched bracket, an \
             unterminated string or comment, or a character Rust does not allow"
        ),
    })?;
    check_nesting(tokens.clone())?;
    let file: syn::File = syn::parse2(tokens).map_err(|err| ParseFailure {
        line: failure_line(err.span(), content),
        message: format!("not valid Rust: {err}"),
    })?;
    let file_context = FileContext { path, content };
    let mut tests = Vec::new();
    collect_tests(&file.items, &mut Vec::new(), &[], &file_context, &mut tests);
    Ok(tests)
}

/// What syn's `parse_file` strips before lexing, so that byte offsets and lines agree with it
/// (the shebang's newline is kept, so lines do not move).
fn without_bom_and_shebang(source: &str) -> &str {
    let content = source.strip_prefix('\u{feff}').unwrap_or(source);
    if let Some(rest) = content.strip_prefix("#!") {
        let rest = rest.trim_start();
        // `#![attr]` is an inner attribute; a comment there is too rare to tell apart, so it is
        // left for the lexer.
        if !rest.starts_with('[') && !rest.starts_with("//") && !rest.starts_with("/*") {
            return content.find('\n').map_or("", |newline| &content[newline..]);
        }
    }
    content
}

/// Refuses input whose syntax tree could be deep enough to exhaust the stack: syn parses
/// nesting by recursion, and the tree it builds is dropped and visited by recursion too (a
/// left-associative `a + b + c` is shallow to parse but as deep as it is long).
///
/// Brackets are one level each. Inside one bracket, every operator, `as`, keyword that starts a
/// sub-expression (`return`, `else`, ...) and bracket is one more level, until the expression
/// surely ends: at a `;`, a `=>`, a block followed by a new statement, and a `,` unless a `<` or
/// `|` may have opened a list (`Vec<A, Vec<B, ..>>`, `|a, b| |c, d| ..`). This overestimates
/// (`a == b && c == d` is not that deep), which only matters for a thousand operators in one
/// expression.
fn check_nesting(tokens: TokenStream) -> Result<(), ParseFailure> {
    struct Level {
        tokens: Peekable<token_stream::IntoIter>,
        brackets: usize,
        /// The tree depth at the start of this bracket, as counted here.
        depth: usize,
        /// Levels added since the current expression started.
        chain: usize,
        /// A `<` or `|` in the chain, after which a `,` need not end it.
        list_opened: bool,
        /// After `#`: the bracket that follows is an attribute.
        attribute_next: bool,
    }
    impl Level {
        fn new(tokens: TokenStream, brackets: usize, depth: usize) -> Self {
            Level {
                tokens: tokens.into_iter().peekable(),
                brackets,
                depth,
                chain: 0,
                list_opened: false,
                attribute_next: false,
            }
        }

        fn end_chain(&mut self) {
            self.chain = 0;
            self.list_opened = false;
        }
    }
    let too_deep = |span: Span, what: &str, limit: usize| ParseFailure {
        line: line_of(span),
        message: format!(
            "{what} nest deeper than {limit} levels; deployguard does not parse code this deep, \
             so that it cannot overflow its stack: split it into smaller pieces"
        ),
    };
    let mut levels = vec![Level::new(tokens, 0, 0)];
    while let Some(level) = levels.last_mut() {
        let Some(tree) = level.tokens.next() else {
            levels.pop();
            continue;
        };
        let mut inner = None;
        let adds_level = match &tree {
            TokenTree::Group(group) => {
                let brackets = level.brackets + 1;
                let depth = level.depth + level.chain + 1;
                if brackets > MAX_BRACKET_DEPTH {
                    return Err(too_deep(group.span_open(), "brackets", MAX_BRACKET_DEPTH));
                }
                if depth > MAX_PARSE_DEPTH {
                    return Err(too_deep(group.span_open(), "expressions", MAX_PARSE_DEPTH));
                }
                inner = Some(Level::new(group.stream(), brackets, depth));
                if std::mem::take(&mut level.attribute_next) {
                    false
                } else if group.delimiter() == Delimiter::Brace
                    && !continues_after_block(&mut level.tokens)
                {
                    level.end_chain();
                    false
                } else {
                    true
                }
            }
            TokenTree::Punct(punct) => match punct.as_char() {
                ';' => {
                    level.end_chain();
                    false
                }
                ',' => {
                    if !level.list_opened {
                        level.end_chain();
                    }
                    false
                }
                '=' if punct.spacing() == Spacing::Joint
                    && matches!(level.tokens.peek(), Some(TokenTree::Punct(next)) if next.as_char() == '>') =>
                {
                    level.tokens.next();
                    level.end_chain();
                    false
                }
                '<' | '|' => {
                    level.list_opened = true;
                    true
                }
                '#' => {
                    // An attribute (`//!` and `///` lex to `#![doc = ".."]`, `#[doc = ".."]`)
                    // is a list of its own, not part of an expression.
                    if matches!(level.tokens.peek(), Some(TokenTree::Punct(bang)) if bang.as_char() == '!')
                    {
                        level.tokens.next();
                    }
                    level.attribute_next = true;
                    false
                }
                ':' | '\'' | '$' => false,
                _ => true,
            },
            TokenTree::Ident(ident) => {
                let ident = ident.to_string();
                ident == "as" || SUB_EXPRESSION_KEYWORDS.contains(&ident.as_str())
            }
            TokenTree::Literal(_) => false,
        };
        if adds_level {
            level.chain += 1;
            if level.depth + level.chain > MAX_PARSE_DEPTH {
                return Err(too_deep(tree.span(), "expressions", MAX_PARSE_DEPTH));
            }
        }
        levels.extend(inner);
    }
    Ok(())
}

/// Keywords after which syn parses another expression (or type) by recursion.
const SUB_EXPRESSION_KEYWORDS: &[&str] = &[
    "return", "break", "yield", "become", "box", "if", "else", "while", "for", "match", "let",
];

/// Whether the expression a `{...}` belongs to can go on after it (`} else`, `} = ...`,
/// `} as T`): a new statement, item or match arm starts with an ident, literal or `#`.
fn continues_after_block(rest: &mut Peekable<token_stream::IntoIter>) -> bool {
    match rest.peek() {
        Some(TokenTree::Ident(ident)) => {
            let ident = ident.to_string();
            ident == "else" || ident == "as"
        }
        Some(TokenTree::Literal(_)) | None => false,
        Some(TokenTree::Punct(punct)) => punct.as_char() != '#',
        Some(TokenTree::Group(_)) => true,
    }
}

struct FileContext<'a> {
    path: &'a str,
    /// The text syn parsed, which span byte ranges index.
    content: &'a str,
}

/// Test functions in `items` and in inline modules below them, `modules` being the path of
/// the module `items` belong to.
fn collect_tests(
    items: &[Item],
    modules: &mut Vec<String>,
    module_skips: &[Skip],
    file: &FileContext<'_>,
    tests: &mut Vec<TestCase>,
) {
    for item in items {
        match item {
            Item::Fn(function) => {
                if let Some(test) = test_case(function, modules, module_skips, file) {
                    tests.push(test);
                }
            }
            Item::Mod(module) => {
                if let Some((_, inner)) = &module.content {
                    let mut skips = module_skips.to_vec();
                    skips.extend(module.attrs.iter().filter_map(cfg_skip));
                    modules.push(module.ident.unraw().to_string());
                    collect_tests(inner, modules, &skips, file, tests);
                    modules.pop();
                }
            }
            _ => {}
        }
    }
}

/// What an attribute on a function says about it as a test.
enum TestAttribute {
    /// `#[test]`, `#[tokio::test]` and other `#[<path>::test]`, `#[rstest]`, bare `#[test_case]`.
    Test,
    /// `#[test_case(args => expected ; "description")]`: a test, and one case of it.
    TestCase,
    /// rstest's `#[case(args)]` / `#[case::name(args)]`.
    Case,
    Ignore,
    ShouldPanic,
    Cfg,
    CfgAttr,
    Other,
}

fn test_attribute(path: &Path) -> TestAttribute {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let first = segments.first().map_or("", String::as_str);
    let last = segments.last().map_or("", String::as_str);
    match (segments.len(), first, last) {
        (_, _, "test" | "rstest") => TestAttribute::Test,
        (_, _, "test_case") => TestAttribute::TestCase,
        (_, "case", _) => TestAttribute::Case,
        (1, "ignore", _) => TestAttribute::Ignore,
        (1, "should_panic", _) => TestAttribute::ShouldPanic,
        (1, "cfg", _) => TestAttribute::Cfg,
        (1, "cfg_attr", _) => TestAttribute::CfgAttr,
        _ => TestAttribute::Other,
    }
}

fn test_case(
    function: &ItemFn,
    modules: &[String],
    module_skips: &[Skip],
    file: &FileContext<'_>,
) -> Option<TestCase> {
    let mut is_test = false;
    let mut params = Vec::new();
    let mut skips = module_skips.to_vec();
    let mut should_panic = None;
    for attr in &function.attrs {
        match test_attribute(attr.path()) {
            TestAttribute::Test => is_test = true,
            TestAttribute::TestCase => {
                is_test = true;
                if let Meta::List(list) = &attr.meta {
                    params.push(normalized(without_case_description(list.tokens.clone())));
                }
            }
            TestAttribute::Case => {
                if let Meta::List(list) = &attr.meta {
                    params.push(normalized(list.tokens.clone()));
                }
            }
            TestAttribute::Ignore => skips.push(Skip {
                kind: "ignore".to_owned(),
                condition: None,
                line: attribute_line(attr),
            }),
            TestAttribute::ShouldPanic => should_panic = Some(expected_panic(attr)),
            TestAttribute::Cfg => skips.extend(cfg_skip(attr)),
            TestAttribute::CfgAttr => {
                if let Meta::List(list) = &attr.meta {
                    cfg_attr_skips(list.tokens.clone(), None, attribute_line(attr), &mut skips);
                }
            }
            TestAttribute::Other => {}
        }
    }
    if !is_test {
        return None;
    }
    let name = function.sig.ident.unraw().to_string();
    let container = (!modules.is_empty()).then(|| modules.join("::"));
    let id = match &container {
        Some(container) => format!("{}::{container}::{name}", file.path),
        None => format!("{}::{name}", file.path),
    };
    Some(TestCase {
        id,
        lang: Lang::Rust,
        file: file.path.to_owned(),
        container,
        name,
        line: line_of(function.sig.fn_token.span),
        assertions: body_assertions(&function.block, file.content),
        skips,
        should_panic,
        params,
        fixtures: Vec::new(),
        body_tokens: body_tokens(&function.block, file.content),
    })
}

fn attribute_line(attr: &Attribute) -> usize {
    line_of(attr.pound_token.spans[0])
}

/// `#[cfg(pred)]` as a conditional skip: the test does not exist where `pred` is false.
/// `#[cfg(test)]` is how every test module starts, so it is not one.
fn cfg_skip(attr: &Attribute) -> Option<Skip> {
    if !attr.path().is_ident("cfg") {
        return None;
    }
    let Meta::List(list) = &attr.meta else {
        return None;
    };
    let condition = normalized(list.tokens.clone());
    (condition != "test").then(|| Skip {
        kind: "cfg".to_owned(),
        condition: Some(condition),
        line: attribute_line(attr),
    })
}

/// `#[cfg_attr(pred, ignore)]`, also nested: `cfg_attr(a, cfg_attr(b, ignore))` is ignored
/// when `all(a,b)`.
fn cfg_attr_skips(tokens: TokenStream, outer: Option<&str>, line: usize, skips: &mut Vec<Skip>) {
    let mut parts = split_top_level(tokens, ',').into_iter();
    let Some(predicate) = parts.next() else {
        return;
    };
    let predicate = normalized(predicate);
    let condition = match outer {
        Some(outer) => format!("all({outer},{predicate})"),
        None => predicate,
    };
    for attribute in parts {
        let mut trees = attribute.into_iter();
        let Some(TokenTree::Ident(name)) = trees.next() else {
            continue;
        };
        if name == "ignore" {
            skips.push(Skip {
                kind: "ignore".to_owned(),
                condition: Some(condition.clone()),
                line,
            });
        } else if name == "cfg_attr"
            && let Some(TokenTree::Group(inner)) = trees.next()
        {
            cfg_attr_skips(inner.stream(), Some(&condition), line, skips);
        }
    }
}

/// The `expected` text of `#[should_panic]`: empty when there is none.
fn expected_panic(attr: &Attribute) -> String {
    match &attr.meta {
        Meta::Path(_) => String::new(),
        Meta::NameValue(name_value) => match &name_value.value {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(text),
                ..
            }) => text.value(),
            // rustc accepts only a string here.
            _ => String::new(),
        },
        Meta::List(list) => {
            let mut expected = None;
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("expected") {
                    let text: LitStr = meta.value()?.parse()?;
                    expected = Some(text.value());
                    Ok(())
                } else {
                    Err(meta.error("not `expected`"))
                }
            });
            match (parsed, expected) {
                (Ok(()), Some(expected)) => expected,
                _ => normalized(list.tokens.clone()),
            }
        }
    }
}

/// A test_case's arguments without its trailing `; "description"`, which names the generated
/// test but asserts nothing.
fn without_case_description(tokens: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    match trees.as_slice() {
        [
            head @ ..,
            TokenTree::Punct(semicolon),
            TokenTree::Literal(_),
        ] if semicolon.as_char() == ';' => head.iter().cloned().collect(),
        _ => trees.into_iter().collect(),
    }
}

/// The assertions in a test body, with the ones after an unconditional exit at the top level
/// of the body marked unreachable.
fn body_assertions(block: &Block, content: &str) -> Vec<Assertion> {
    let mut collector = AssertionCollector {
        assertions: Vec::new(),
        content,
    };
    let mut exited: Option<String> = None;
    for stmt in &block.stmts {
        let first_new = collector.assertions.len();
        collector.visit_stmt(stmt);
        if let Some(reason) = &exited {
            for assertion in &mut collector.assertions[first_new..] {
                assertion.unreachable = Some(reason.clone());
            }
        }
        if exited.is_none() {
            exited = unconditional_exit(stmt);
        }
    }
    let mut assertions = collector.assertions;
    assertions.sort_by_key(|assertion| assertion.line);
    assertions
}

fn unconditional_exit(stmt: &Stmt) -> Option<String> {
    let exit_macro = |mac: &Macro| {
        let name = macro_name(mac)?;
        matches!(
            name.as_str(),
            "panic" | "todo" | "unimplemented" | "unreachable"
        )
        .then(|| {
            format!(
                "after the unconditional `{name}!` on line {}",
                line_of(macro_span(mac))
            )
        })
    };
    match stmt {
        Stmt::Expr(Expr::Return(ret), _) => Some(format!(
            "after the unconditional `return` on line {}",
            line_of(ret.return_token.span)
        )),
        Stmt::Expr(Expr::Macro(expr), _) => exit_macro(&expr.mac),
        Stmt::Macro(stmt) => exit_macro(&stmt.mac),
        Stmt::Expr(Expr::Call(call), _) => match &*call.func {
            Expr::Path(callee) if ends_with(&callee.path, &["process", "exit"]) => Some(format!(
                "after the unconditional `process::exit` on line {}",
                line_of(callee.path.segments[0].ident.span())
            )),
            _ => None,
        },
        _ => None,
    }
}

fn ends_with(path: &Path, tail: &[&str]) -> bool {
    path.segments.len() >= tail.len()
        && path
            .segments
            .iter()
            .rev()
            .zip(tail.iter().rev())
            .all(|(segment, name)| segment.ident == name)
}

fn macro_name(mac: &Macro) -> Option<String> {
    mac.path.segments.last().map(|s| s.ident.to_string())
}

fn macro_span(mac: &Macro) -> Span {
    mac.path
        .segments
        .first()
        .map_or(mac.bang_token.span, |s| s.ident.span())
}

/// `assert!`, `assert_eq!`, `assert_ne!`, `assert_matches!`, their `debug_` forms, and any
/// other `assert_*!` (insta's `assert_snapshot!`, `assert_approx_eq!`, ...).
fn is_assertion_macro(name: &str) -> bool {
    let name = name.strip_prefix("debug_").unwrap_or(name);
    name == "assert" || name.starts_with("assert_")
}

/// How many leading arguments an assertion macro checks; the rest are its panic message.
/// `None`: keep them all (a macro whose signature we do not know).
fn checked_arguments(name: &str) -> Option<usize> {
    match name.strip_prefix("debug_").unwrap_or(name) {
        "assert" => Some(1),
        "assert_eq" | "assert_ne" | "assert_matches" => Some(2),
        _ => None,
    }
}

struct AssertionCollector<'a> {
    assertions: Vec<Assertion>,
    /// The parsed text, to read a method call's arguments back from their span.
    content: &'a str,
}

impl<'ast> Visit<'ast> for AssertionCollector<'_> {
    fn visit_macro(&mut self, mac: &'ast Macro) {
        match macro_name(mac) {
            Some(name) if is_assertion_macro(&name) => {
                self.record(name, line_of(macro_span(mac)), mac.tokens.clone());
            }
            _ => self.scan_macro_tokens(mac.tokens.clone()),
        }
    }

    /// assert_cmd's checks (`cmd.assert().code(2).stderr(..)`), how the CLI tests assert. The
    /// receiver is visited first so that a chain's checks come out in order.
    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        for attr in &call.attrs {
            self.visit_attribute(attr);
        }
        self.visit_expr(&call.receiver);
        let method = call.method.to_string();
        if COMMAND_CHECKS.contains(&method.as_str()) && follows_assert_call(&call.receiver) {
            let arguments = self
                .content
                .get(call.paren_token.span.join().byte_range())
                .and_then(|text| TokenStream::from_str(text).ok())
                .map_or_else(|| "(..)".to_owned(), normalized);
            self.assertions.push(Assertion {
                kind: AssertKind::Helper(format!("Assert::{method}")),
                fingerprint: format!("assert().{method}{arguments}"),
                line: line_of(call.method.span()),
                unreachable: None,
                vacuous: None,
            });
        }
        for argument in &call.args {
            self.visit_expr(argument);
        }
    }
}

/// The methods of assert_cmd's `Assert` that check the finished command.
const COMMAND_CHECKS: &[&str] = &[
    "success",
    "failure",
    "code",
    "interrupted",
    "stdout",
    "stderr",
];

/// Whether `receiver` is a method chain with `.assert()` in it (assert_cmd's `Command::assert`).
fn follows_assert_call(mut receiver: &Expr) -> bool {
    while let Expr::MethodCall(call) = receiver {
        if call.method == "assert" && call.args.is_empty() {
            return true;
        }
        receiver = &call.receiver;
    }
    false
}

impl AssertionCollector<'_> {
    fn record(&mut self, name: String, line: usize, tokens: TokenStream) {
        let arguments = macro_arguments(tokens);
        let checked = checked_arguments(&name).map_or(arguments.len(), |n| n.min(arguments.len()));
        let checked_texts: Vec<String> = arguments[..checked]
            .iter()
            .map(|argument| normalized(argument.tokens.clone()))
            .collect();
        let vacuous = vacuity(&name, &arguments[..checked], &checked_texts);
        self.assertions.push(Assertion {
            fingerprint: format!("{name}!({})", checked_texts.join(",")),
            kind: AssertKind::RustMacro(name),
            line,
            unreachable: None,
            vacuous,
        });
        // An argument can hold assertions of its own (a closure, a block).
        for argument in arguments {
            match &argument.expr {
                Some(expr) => self.visit_expr(expr),
                None => self.scan_macro_tokens(argument.tokens),
            }
        }
    }

    /// Assertions inside another macro's tokens: read as expressions (`vec![..]`,
    /// `format!(..)`) or statements (`vec![x; n]`) when they parse, else scanned token by token.
    fn scan_macro_tokens(&mut self, tokens: TokenStream) {
        if let Ok(exprs) = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens.clone()) {
            for expr in &exprs {
                self.visit_expr(expr);
            }
        } else if let Ok(stmts) = Block::parse_within.parse2(tokens.clone()) {
            for stmt in &stmts {
                self.visit_stmt(stmt);
            }
        } else {
            self.scan_raw_tokens(tokens);
        }
    }

    /// Finds `name!(...)` calls in tokens that are not Rust syntax (`matches!` guards,
    /// `macro_rules!` bodies, DSLs).
    fn scan_raw_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut index = 0;
        while let Some(tree) = trees.get(index) {
            if let TokenTree::Ident(ident) = tree
                && let Some(TokenTree::Punct(bang)) = trees.get(index + 1)
                && bang.as_char() == '!'
                && let Some(TokenTree::Group(arguments)) = trees.get(index + 2)
            {
                let name = ident.to_string();
                if is_assertion_macro(&name) {
                    self.record(name, line_of(ident.span()), arguments.stream());
                } else {
                    self.scan_macro_tokens(arguments.stream());
                }
                index += 3;
                continue;
            }
            if let TokenTree::Group(group) = tree {
                self.scan_raw_tokens(group.stream());
            }
            index += 1;
        }
    }
}

/// One comma-separated argument of a macro: its tokens, and the expression when it is one.
struct MacroArgument {
    tokens: TokenStream,
    expr: Option<Expr>,
}

/// Splits macro arguments at the commas that separate expressions, which (unlike commas in
/// `f::<A, B>()` or `|a, b| ..`) only a parser can tell; falls back to top-level commas.
fn macro_arguments(tokens: TokenStream) -> Vec<MacroArgument> {
    let parser = |input: ParseStream<'_>| -> syn::Result<Vec<MacroArgument>> {
        let mut arguments = Vec::new();
        while !input.is_empty() {
            let start = input.cursor();
            let expr: Expr = input.parse()?;
            let end = input.cursor();
            let mut tokens = TokenStream::new();
            let mut cursor = start;
            while cursor != end {
                let Some((tree, next)) = cursor.token_tree() else {
                    break;
                };
                tokens.extend([tree]);
                cursor = next;
            }
            arguments.push(MacroArgument {
                tokens,
                expr: Some(expr),
            });
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(arguments)
    };
    parser.parse2(tokens.clone()).unwrap_or_else(|_| {
        split_top_level(tokens, ',')
            .into_iter()
            .map(|tokens| MacroArgument {
                expr: syn::parse2(tokens.clone()).ok(),
                tokens,
            })
            .collect()
    })
}

/// Splits at `separator` outside brackets; an empty last part (trailing separator) is dropped.
fn split_top_level(tokens: TokenStream, separator: char) -> Vec<TokenStream> {
    let mut parts = vec![TokenStream::new()];
    for tree in tokens {
        match &tree {
            TokenTree::Punct(punct) if punct.as_char() == separator => {
                parts.push(TokenStream::new());
            }
            _ => {
                if let Some(part) = parts.last_mut() {
                    part.extend([tree]);
                }
            }
        }
    }
    if parts.last().is_some_and(TokenStream::is_empty) {
        parts.pop();
    }
    parts
}

/// Why an assertion can never fail, when that is plain from its checked arguments.
fn vacuity(name: &str, arguments: &[MacroArgument], texts: &[String]) -> Option<String> {
    let same_text = texts.len() == 2 && texts[0] == texts[1];
    let constants = || match arguments {
        [left, right] => Some((
            constant(left.expr.as_ref()?)?,
            constant(right.expr.as_ref()?)?,
        )),
        _ => None,
    };
    match name.strip_prefix("debug_").unwrap_or(name) {
        "assert" => match arguments.first()?.expr.as_ref() {
            Some(condition) => always_true(condition),
            None => (texts.first()?.as_str() == "true")
                .then(|| "asserts the constant `true`".to_owned()),
        },
        "assert_eq" if same_text => Some("compares an expression with itself".to_owned()),
        "assert_eq" => {
            let (left, right) = constants()?;
            (compare(&left, &right)? == std::cmp::Ordering::Equal)
                .then(|| "compares two equal constants".to_owned())
        }
        "assert_ne" => {
            let (left, right) = constants()?;
            (compare(&left, &right)? != std::cmp::Ordering::Equal)
                .then(|| "compares two different constants".to_owned())
        }
        "assert_matches" => (texts.get(1).map(String::as_str) == Some("_"))
            .then(|| "matches the wildcard pattern `_`".to_owned()),
        _ => None,
    }
}

/// Why `condition` always holds, if it plainly does.
fn always_true(condition: &Expr) -> Option<String> {
    match condition {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Bool(value),
            ..
        }) if value.value => Some("asserts the constant `true`".to_owned()),
        Expr::Paren(inner) => always_true(&inner.expr),
        Expr::Group(inner) => always_true(&inner.expr),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Not(_)) => always_false(&unary.expr)
            .then(|| "asserts the negation of a constant `false`".to_owned()),
        Expr::Binary(binary) => match binary.op {
            BinOp::Or(_) => (always_true(&binary.left).is_some()
                || always_true(&binary.right).is_some())
            .then(|| "`|| true` makes the condition always true".to_owned()),
            BinOp::And(_) => {
                always_true(&binary.left)?;
                always_true(&binary.right)
            }
            op => {
                let (Some(left), Some(right)) = (constant(&binary.left), constant(&binary.right))
                else {
                    let reflexive = matches!(op, BinOp::Eq(_) | BinOp::Le(_) | BinOp::Ge(_));
                    return (reflexive && binary.left == binary.right)
                        .then(|| "compares an expression with itself".to_owned());
                };
                let ordering = compare(&left, &right)?;
                let holds = match op {
                    BinOp::Eq(_) => ordering.is_eq(),
                    BinOp::Ne(_) => ordering.is_ne(),
                    BinOp::Lt(_) => ordering.is_lt(),
                    BinOp::Le(_) => ordering.is_le(),
                    BinOp::Gt(_) => ordering.is_gt(),
                    BinOp::Ge(_) => ordering.is_ge(),
                    _ => false,
                };
                holds.then(|| "compares two constants".to_owned())
            }
        },
        _ => None,
    }
}

fn always_false(condition: &Expr) -> bool {
    match condition {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Bool(value),
            ..
        }) => !value.value,
        Expr::Paren(inner) => always_false(&inner.expr),
        Expr::Group(inner) => always_false(&inner.expr),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Not(_)) => {
            always_true(&unary.expr).is_some()
        }
        _ => false,
    }
}

/// A literal (or negated number) whose value the extractor can compare.
#[derive(PartialEq, PartialOrd)]
enum Constant {
    Int(i128),
    Float(f64),
    Bool(bool),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
}

fn constant(expr: &Expr) -> Option<Constant> {
    match expr {
        Expr::Lit(literal) => match &literal.lit {
            Lit::Int(value) => value.base10_parse().ok().map(Constant::Int),
            Lit::Float(value) => value.base10_parse().ok().map(Constant::Float),
            Lit::Bool(value) => Some(Constant::Bool(value.value)),
            Lit::Char(value) => Some(Constant::Char(value.value())),
            Lit::Str(value) => Some(Constant::Str(value.value())),
            Lit::Byte(value) => Some(Constant::Int(i128::from(value.value()))),
            Lit::ByteStr(value) => Some(Constant::Bytes(value.value())),
            _ => None,
        },
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => match constant(&unary.expr)? {
            Constant::Int(value) => value.checked_neg().map(Constant::Int),
            Constant::Float(value) => Some(Constant::Float(-value)),
            _ => None,
        },
        Expr::Paren(inner) => constant(&inner.expr),
        Expr::Group(inner) => constant(&inner.expr),
        _ => None,
    }
}

/// Orders two constants of the same kind; `None` across kinds (and for NaN).
fn compare(left: &Constant, right: &Constant) -> Option<std::cmp::Ordering> {
    if std::mem::discriminant(left) == std::mem::discriminant(right) {
        left.partial_cmp(right)
    } else {
        None
    }
}

/// The body's tokens (without its outer braces) as texts: comments are not tokens, and doc
/// comments, which are, are dropped. Joined punctuation (`==`, `::`, `->`) is one token.
fn body_tokens(block: &Block, content: &str) -> Vec<String> {
    let range = block.brace_token.span.join().byte_range();
    let Some(text) = content.get(range) else {
        return Vec::new();
    };
    let Ok(tokens) = TokenStream::from_str(text) else {
        return Vec::new();
    };
    let mut texts = Vec::new();
    for tree in tokens {
        if let TokenTree::Group(body) = tree {
            push_token_texts(body.stream(), &mut texts);
        }
    }
    texts
}

fn push_token_texts(tokens: TokenStream, texts: &mut Vec<String>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut index = 0;
    let mut joining_punct = false;
    while let Some(tree) = trees.get(index) {
        if let Some(length) = doc_attribute_length(&trees[index..]) {
            index += length;
            joining_punct = false;
            continue;
        }
        match tree {
            TokenTree::Group(group) => {
                let (open, close) = delimiter_texts(group.delimiter());
                if !open.is_empty() {
                    texts.push(open.to_owned());
                }
                push_token_texts(group.stream(), texts);
                if !close.is_empty() {
                    texts.push(close.to_owned());
                }
                joining_punct = false;
            }
            TokenTree::Punct(punct) => {
                match texts.last_mut() {
                    Some(previous) if joining_punct => previous.push(punct.as_char()),
                    _ => texts.push(punct.as_char().to_string()),
                }
                joining_punct = punct.spacing() == Spacing::Joint;
            }
            TokenTree::Ident(_) | TokenTree::Literal(_) => {
                texts.push(tree.to_string());
                joining_punct = false;
            }
        }
        index += 1;
    }
}

/// `#[doc = ".."]` / `#![doc = ".."]` at the start of `trees` (what `///` and `//!` lex to):
/// how many trees it spans.
fn doc_attribute_length(trees: &[TokenTree]) -> Option<usize> {
    let TokenTree::Punct(pound) = trees.first()? else {
        return None;
    };
    if pound.as_char() != '#' {
        return None;
    }
    let (bracket_at, length) = match trees.get(1)? {
        TokenTree::Punct(bang) if bang.as_char() == '!' => (2, 3),
        _ => (1, 2),
    };
    let TokenTree::Group(attribute) = trees.get(bracket_at)? else {
        return None;
    };
    let is_doc = attribute.delimiter() == Delimiter::Bracket
        && matches!(attribute.stream().into_iter().next(), Some(TokenTree::Ident(name)) if name == "doc");
    is_doc.then_some(length)
}

fn delimiter_texts(delimiter: Delimiter) -> (&'static str, &'static str) {
    match delimiter {
        Delimiter::Parenthesis => ("(", ")"),
        Delimiter::Brace => ("{", "}"),
        Delimiter::Bracket => ("[", "]"),
        Delimiter::None => ("", ""),
    }
}

/// Tokens as one string that layout and comments do not change: no whitespace, except one
/// space between two words (`x as u8`), so that distinct token sequences stay distinct; and no
/// trailing comma (rustfmt adds one when it splits a list over lines), except the one that makes
/// `(x,)` a tuple.
fn normalized(tokens: TokenStream) -> String {
    let mut text = String::new();
    push_normalized(tokens, false, &mut text, &mut false);
    text
}

fn push_normalized(
    tokens: TokenStream,
    keep_lone_comma: bool,
    text: &mut String,
    after_word: &mut bool,
) {
    let mut trees: Vec<TokenTree> = tokens.into_iter().collect();
    let is_comma = |tree: &TokenTree| matches!(tree, TokenTree::Punct(p) if p.as_char() == ',');
    if trees.last().is_some_and(is_comma)
        && !(keep_lone_comma && trees.iter().filter(|t| is_comma(t)).count() == 1)
    {
        trees.pop();
    }
    // A parenthesis right after a word, bracket, `>` or `!` holds arguments, not a tuple.
    let mut after_callee = false;
    for tree in trees {
        match tree {
            TokenTree::Group(group) => {
                let (open, close) = delimiter_texts(group.delimiter());
                let is_tuple = group.delimiter() == Delimiter::Parenthesis && !after_callee;
                text.push_str(open);
                *after_word = false;
                push_normalized(group.stream(), is_tuple, text, after_word);
                text.push_str(close);
                *after_word = false;
                after_callee = true;
            }
            TokenTree::Punct(punct) => {
                text.push(punct.as_char());
                *after_word = false;
                after_callee = matches!(punct.as_char(), '>' | '!');
            }
            TokenTree::Ident(_) | TokenTree::Literal(_) => {
                if *after_word {
                    text.push(' ');
                }
                text.push_str(&tree.to_string());
                *after_word = true;
                after_callee = true;
            }
        }
    }
}

/// Where a syntax error is: syn reports "unexpected end of input" at the top level with a span
/// that has no location (an empty range), and the end is the last line.
fn failure_line(span: Span, content: &str) -> usize {
    if span.byte_range().is_empty() {
        content.lines().count().max(1)
    } else {
        line_of(span)
    }
}

/// 1-based line of `span`.
fn line_of(span: Span) -> usize {
    span.start().line.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tests_in(source: &str) -> Vec<TestCase> {
        extract("src/lib.rs", source).expect("the source parses")
    }

    fn only_test(source: &str) -> TestCase {
        let mut tests = tests_in(source);
        assert_eq!(tests.len(), 1, "{tests:#?}");
        tests.remove(0)
    }

    fn fingerprints(test: &TestCase) -> Vec<&str> {
        test.assertions
            .iter()
            .map(|assertion| assertion.fingerprint.as_str())
            .collect()
    }

    #[test]
    fn finds_test_functions_and_skips_helpers() {
        let source = r#"
fn helper() -> u8 { 1 }

#[test]
fn adds() {
    assert_eq!(helper(), 1);
}

#[cfg(test)]
mod external;

impl Thing {
    fn not_a_test() {}
}
"#;
        let test = only_test(source);
        assert_eq!(test.id, "src/lib.rs::adds");
        assert_eq!(test.lang, Lang::Rust);
        assert_eq!(test.file, "src/lib.rs");
        assert_eq!(test.container, None);
        assert_eq!(test.name, "adds");
        assert_eq!(test.line, 5);
        assert_eq!(test.skips, vec![]);
        assert_eq!(test.should_panic, None);
        assert_eq!(test.params, Vec::<String>::new());
    }

    #[test]
    fn module_path_two_levels_deep_is_the_container() {
        let source = r#"
#[cfg(test)]
mod tests {
    #[test]
    fn outer() {}

    mod inner {
        #[test]
        fn deepest() {}
    }
}
"#;
        let tests = tests_in(source);
        let ids: Vec<&str> = tests.iter().map(|test| test.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "src/lib.rs::tests::outer",
                "src/lib.rs::tests::inner::deepest"
            ]
        );
        assert_eq!(tests[0].container.as_deref(), Some("tests"));
        assert_eq!(tests[1].container.as_deref(), Some("tests::inner"));
        assert_eq!(tests[1].name, "deepest");
        assert_eq!(tests[1].line, 9);
    }

    #[test]
    fn tokio_style_attributes_mark_async_tests() {
        let source = r#"
#[tokio::test]
async fn fetches() {
    let body = get().await;
    assert!(body.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn fetches_in_parallel() {}

#[async_std::test]
async fn on_async_std() {}

#[tokio::main]
async fn not_a_test() {}
"#;
        let tests = tests_in(source);
        let names: Vec<&str> = tests.iter().map(|test| test.name.as_str()).collect();
        assert_eq!(names, ["fetches", "fetches_in_parallel", "on_async_std"]);
        assert_eq!(fingerprints(&tests[0]), ["assert!(body.is_ok())"]);
        assert_eq!(tests[0].line, 3);
    }

    #[test]
    fn test_case_gives_one_param_per_case_without_its_description() {
        let source = r#"
#[test_case(1, 2 => 3 ; "small numbers")]
#[test_case(-1,   2 => 1)]
#[test_case::test_case(vec![1, 2], 0 => panics "empty")]
fn adds(a: i32, b: i32) -> i32 { a + b }
"#;
        let reformatted = r#"
#[test_case(1,2=>3; "renamed case")]
#[test_case(
    -1,
    2 => 1
)]
#[test_case::test_case(vec![1,2], 0 => panics "empty")]
fn adds(a: i32, b: i32) -> i32 { a + b }
"#;
        let test = only_test(source);
        assert_eq!(
            test.params,
            ["1,2=>3", "-1,2=>1", "vec![1,2],0=>panics \"empty\""]
        );
        assert_eq!(only_test(reformatted).params, test.params);
    }

    #[test]
    fn rstest_cases_are_params_and_the_attribute_marks_the_test() {
        let source = r#"
#[rstest]
#[case(1, 2)]
#[case::large(1000, 2000)]
fn doubles(#[case] input: u32, #[case] expected: u32) {
    assert_eq!(input * 2, expected);
}

#[case(3, 4)]
fn not_a_test_without_rstest(input: u32, expected: u32) {}

#[test_case]
fn custom_framework_case() {}
"#;
        let tests = tests_in(source);
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].name, "doubles");
        assert_eq!(tests[0].params, ["1,2", "1000,2000"]);
        assert_eq!(tests[1].name, "custom_framework_case");
        assert_eq!(tests[1].params, Vec::<String>::new());
    }

    #[test]
    fn counts_every_assertion_macro_but_not_panics() {
        let source = r#"
#[test]
fn checks() {
    assert!(a);
    assert_eq!(a, b);
    assert_ne!(a, c);
    debug_assert!(d);
    debug_assert_eq!(d, e);
    debug_assert_ne!(d, f);
    assert_matches!(g, Some(_));
    if broken { panic!("broken"); }
    unreachable!("never");
    std::assert!(h);
}
"#;
        let test = only_test(source);
        let kinds: Vec<AssertKind> = test
            .assertions
            .iter()
            .map(|assertion| assertion.kind.clone())
            .collect();
        let expected: Vec<AssertKind> = [
            "assert",
            "assert_eq",
            "assert_ne",
            "debug_assert",
            "debug_assert_eq",
            "debug_assert_ne",
            "assert_matches",
        ]
        .into_iter()
        .map(|name| AssertKind::RustMacro(name.to_owned()))
        .collect();
        assert_eq!(kinds[..7], expected);
        assert_eq!(kinds[7], AssertKind::RustMacro("assert".to_owned()));
        let lines: Vec<usize> = test.assertions.iter().map(|a| a.line).collect();
        assert_eq!(lines, [4, 5, 6, 7, 8, 9, 10, 13]);
        // `unreachable!` is an unconditional exit: `std::assert!(h)` after it can never run.
        assert_eq!(
            test.assertions[7].unreachable.as_deref(),
            Some("after the unconditional `unreachable!` on line 12")
        );
    }

    #[test]
    fn other_assert_prefixed_macros_count_too() {
        let source = r#"
#[test]
fn snapshots() {
    insta::assert_snapshot!(render(), @"ok");
    assert_approx_eq!(a, b, 0.1);
}
"#;
        let test = only_test(source);
        assert_eq!(
            fingerprints(&test),
            [
                "assert_snapshot!(render(),@\"ok\")",
                "assert_approx_eq!(a,b,0.1)"
            ]
        );
    }

    #[test]
    fn assert_cmd_checks_are_assertions() {
        let source = r#"
#[test]
fn exits_with_2() {
    deployguard()
        .args(["check", "/missing"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains( "no such file" ));
    Command::new("x").output().unwrap().status.success();
}
"#;
        let test = only_test(source);
        assert_eq!(
            fingerprints(&test),
            [
                "assert().code(2)",
                "assert().stderr(predicate::str::contains(\"no such file\"))",
            ]
        );
        assert_eq!(
            test.assertions[0].kind,
            AssertKind::Helper("Assert::code".to_owned())
        );
        let lines: Vec<usize> = test.assertions.iter().map(|a| a.line).collect();
        assert_eq!(lines, [7, 8]);
    }

    #[test]
    fn finds_assertions_in_closures_loops_branches_and_other_macros() {
        let source = r#"
#[test]
fn everywhere() {
    for item in items() {
        assert!(item.valid());
    }
    let check = |value: u8| assert_eq!(value, 1);
    values.iter().for_each(|value| {
        if value.big() {
            assert_ne!(value, 0);
        }
    });
    let checks = vec![assert!(first), assert!(second)];
    let later = vec![{ assert!(block_in_repeat); 1 }; 3];
    my_dsl!(@when ready => assert!(ready > 1));
    macro_rules! check {
        ($value:expr) => { assert_eq!($value, 1) };
    }
}
"#;
        let test = only_test(source);
        assert_eq!(
            fingerprints(&test),
            [
                "assert!(item.valid())",
                "assert_eq!(value,1)",
                "assert_ne!(value,0)",
                "assert!(first)",
                "assert!(second)",
                "assert!(block_in_repeat)",
                "assert!(ready>1)",
                "assert_eq!($value,1)",
            ]
        );
        let lines: Vec<usize> = test.assertions.iter().map(|a| a.line).collect();
        assert_eq!(lines, [5, 7, 10, 13, 13, 14, 15, 17]);
    }

    #[test]
    fn assertions_nested_in_assertion_arguments_are_found() {
        let source = r#"
#[test]
fn nested() {
    assert!(values.iter().all(|value| { assert_ne!(*value, 0); true }), "all");
}
"#;
        let test = only_test(source);
        assert_eq!(
            fingerprints(&test),
            [
                "assert!(values.iter().all(|value|{assert_ne!(*value,0);true}))",
                "assert_ne!(*value,0)",
            ]
        );
    }

    #[test]
    fn message_arguments_and_layout_do_not_change_the_fingerprint() {
        let source = r#"
#[test]
fn messages() {
    assert!(x, "message {}", y);
    assert_eq!(a, b, "msg");
    debug_assert_ne!(c, d, "values {c} and {d}");
    assert!(output.contains("a long expected text"));
    assert_eq!(pair, (1,));
}
"#;
        let reformatted = r#"
#[test]
fn messages() {
    assert!(
        x, // why x must hold
        "a reworded message {}: {}",
        y, z,
    );
    assert_eq!(a,b);
    debug_assert_ne![c , d];
    assert!(output.contains(
        "a long expected text",
    ));
    assert_eq!(pair, (1,),);
}
"#;
        let test = only_test(source);
        assert_eq!(
            fingerprints(&test),
            [
                "assert!(x)",
                "assert_eq!(a,b)",
                "debug_assert_ne!(c,d)",
                "assert!(output.contains(\"a long expected text\"))",
                "assert_eq!(pair,(1,))",
            ]
        );
        assert_eq!(fingerprints(&only_test(reformatted)), fingerprints(&test));
    }

    #[test]
    fn fingerprint_splits_arguments_where_the_parser_does() {
        let source = r#"
#[test]
fn generic_arguments() {
    assert_eq!(convert::<A, B>(x), y as u8, "message");
    assert!(fold(|a, b| a + b) > 0, "message");
    assert_matches!(result, Err(error) if error.is_io(), "message");
}
"#;
        let test = only_test(source);
        assert_eq!(
            fingerprints(&test),
            [
                "assert_eq!(convert::<A,B>(x),y as u8)",
                "assert!(fold(|a,b|a+b)>0)",
                "assert_matches!(result,Err(error)if error.is_io())",
            ]
        );
    }

    #[test]
    fn vacuous_assertions_say_why() {
        let source = r#"
#[test]
fn vacuous() {
    assert!(true);
    assert!(1 == 1);
    assert!(2 > -3);
    assert!("a" == "a", "strings");
    assert_eq!(x, x);
    assert_eq!(compute(1), compute(1));
    assert_eq!(1, 1);
    assert_ne!(1, 2);
    assert!(cond || true);
    assert!((true));
    assert!(!false);
    assert!(x == x);
    assert_matches!(value, _);
    debug_assert!(true);
}
"#;
        let test = only_test(source);
        let not_vacuous: Vec<&str> = test
            .assertions
            .iter()
            .filter(|assertion| assertion.vacuous.is_none())
            .map(|assertion| assertion.fingerprint.as_str())
            .collect();
        assert_eq!(not_vacuous, Vec::<&str>::new());
        let reasons: Vec<&str> = test
            .assertions
            .iter()
            .filter_map(|assertion| assertion.vacuous.as_deref())
            .collect();
        assert_eq!(reasons[0], "asserts the constant `true`");
        assert_eq!(reasons[1], "compares two constants");
        assert_eq!(reasons[4], "compares an expression with itself");
        assert_eq!(reasons[8], "`|| true` makes the condition always true");
    }

    #[test]
    fn real_assertions_are_not_vacuous() {
        let source = r#"
#[test]
fn real() {
    assert!(x);
    assert!(1 == 2);
    assert!(x == y);
    assert!(cond || other);
    assert!(cond && true);
    assert_eq!(x, y);
    assert_eq!(1, 2);
    assert_ne!(x, x);
    assert_ne!(1, 1);
    assert_matches!(value, Some(_));
    assert!(1u8 == 1.0);
}
"#;
        let test = only_test(source);
        let vacuous: Vec<(&str, &str)> = test
            .assertions
            .iter()
            .filter_map(|a| Some((a.fingerprint.as_str(), a.vacuous.as_deref()?)))
            .collect();
        assert_eq!(vacuous, Vec::<(&str, &str)>::new());
    }

    #[test]
    fn assertions_after_an_unconditional_return_are_unreachable() {
        let source = r#"
#[test]
fn returns_early() {
    if skip_here() {
        return;
    }
    assert!(reached);
    return;
    assert!(after);
    for item in items {
        assert!(item.after());
    }
}
"#;
        let test = only_test(source);
        let unreachable: Vec<Option<&str>> = test
            .assertions
            .iter()
            .map(|assertion| assertion.unreachable.as_deref())
            .collect();
        let reason = "after the unconditional `return` on line 8";
        assert_eq!(unreachable, [None, Some(reason), Some(reason)]);
    }

    #[test]
    fn assertions_after_an_unconditional_panic_are_unreachable() {
        // (The macro name is assembled so the fixture is not mistaken for a stub in src/.)
        let source = format!(
            "\n#[test]\nfn panics_first() {{\n    {}!();\n    assert!(later);\n}}\n",
            "todo"
        );
        let test = only_test(&source);
        assert_eq!(
            test.assertions[0].unreachable.as_deref(),
            Some("after the unconditional `todo!` on line 4")
        );
    }

    #[test]
    fn ignore_and_cfg_attr_ignore_are_skips() {
        let source = r#"
#[test]
#[ignore]
fn plain() {}

#[test]
#[ignore = "slow"]
fn with_reason() {}

#[test]
#[cfg_attr(target_os = "windows", ignore)]
fn not_on_windows() {}

#[test]
#[cfg_attr(not(feature = "net"), ignore = "needs the network")]
fn needs_network() {}

#[test]
#[cfg_attr(unix, cfg_attr(miri, ignore))]
fn nested_cfg_attr() {}

#[test]
#[cfg_attr(unix, allow(unused))]
fn not_skipped() {}
"#;
        let tests = tests_in(source);
        let skips: Vec<Vec<Skip>> = tests.iter().map(|test| test.skips.clone()).collect();
        let skip = |condition: Option<&str>, line| Skip {
            kind: "ignore".to_owned(),
            condition: condition.map(str::to_owned),
            line,
        };
        assert_eq!(
            skips,
            [
                vec![skip(None, 3)],
                vec![skip(None, 7)],
                vec![skip(Some("target_os=\"windows\""), 11)],
                vec![skip(Some("not(feature=\"net\")"), 15)],
                vec![skip(Some("all(unix,miri)"), 19)],
                vec![],
            ]
        );
    }

    #[test]
    fn cfg_on_a_test_or_its_module_is_a_conditional_skip() {
        let source = r#"
#[cfg(all(test, feature = "slow"))]
mod slow_tests {
    #[test]
    #[cfg(unix)]
    fn on_unix() {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn always() {}
}
"#;
        let tests = tests_in(source);
        let cfg = |condition: &str, line| Skip {
            kind: "cfg".to_owned(),
            condition: Some(condition.to_owned()),
            line,
        };
        assert_eq!(
            tests[0].skips,
            [cfg("all(test,feature=\"slow\")", 2), cfg("unix", 5)]
        );
        assert_eq!(tests[1].skips, vec![]);
    }

    #[test]
    fn should_panic_records_the_expected_text() {
        let source = r#"
#[test]
#[should_panic]
fn any_panic() {}

#[test]
#[should_panic(expected = "index out of bounds")]
fn with_expected() {}

#[test]
#[should_panic = "short form"]
fn name_value_form() {}

#[test]
fn no_panic() {}
"#;
        let tests = tests_in(source);
        let expected: Vec<Option<&str>> = tests
            .iter()
            .map(|test| test.should_panic.as_deref())
            .collect();
        assert_eq!(
            expected,
            [
                Some(""),
                Some("index out of bounds"),
                Some("short form"),
                None
            ]
        );
    }

    #[test]
    fn body_tokens_ignore_layout_comments_and_doc_comments() {
        let source = r#"
#[test]
fn tokens() {
    // a comment
    /// a doc comment on the next statement
    let total = add(1, 2); /* block comment */
    assert_eq!(total, 3);
}
"#;
        let reformatted = r#"
#[test] fn renamed() { let total
    = add( 1,2 ) ;
  assert_eq!( total , 3 ) ; }
"#;
        let test = only_test(source);
        assert_eq!(
            test.body_tokens,
            [
                "let",
                "total",
                "=",
                "add",
                "(",
                "1",
                ",",
                "2",
                ")",
                ";",
                "assert_eq",
                "!",
                "(",
                "total",
                ",",
                "3",
                ")",
                ";",
            ]
        );
        assert_eq!(only_test(reformatted).body_tokens, test.body_tokens);
    }

    #[test]
    fn body_tokens_join_multi_character_operators() {
        let test = only_test("#[test]\nfn t() { if a::b(x) == 'c' { return; } }");
        assert_eq!(
            test.body_tokens,
            [
                "if", "a", "::", "b", "(", "x", ")", "==", "'c'", "{", "return", ";", "}"
            ]
        );
    }

    #[test]
    fn malformed_file_is_a_parse_failure_with_its_line() {
        let failure = extract("src/bad.rs", "#[test]\nfn broken() {\n    let x = ;\n}\n")
            .expect_err("does not parse");
        assert_eq!(failure.line, 3);
        assert!(failure.message.starts_with("not valid Rust"), "{failure}");

        let unclosed = extract("src/bad.rs", "#[test]\nfn broken() {\n    let x = 1;\n")
            .expect_err("does not lex");
        assert_eq!(unclosed.line, 2, "{unclosed}");
        assert!(unclosed.message.contains("unclosed"), "{unclosed}");

        let truncated =
            extract("src/bad.rs", "#[test]\nfn truncated()\n").expect_err("ends too early");
        assert_eq!(truncated.line, 2, "{truncated}");

        let not_rust = extract("src/bad.rs", "\"unterminated").expect_err("does not lex");
        assert_eq!(not_rust.line, 1);
    }

    #[test]
    fn deep_nesting_is_a_parse_failure_not_a_stack_overflow() {
        let depth = 100_000;
        let sources = [
            format!(
                "#[test]\nfn t() {{ {}assert!(x);{} }}",
                "{".repeat(depth),
                "}".repeat(depth)
            ),
            format!(
                "#[test]\nfn t() {{ f({}x{}); }}",
                "(".repeat(depth),
                ")".repeat(depth)
            ),
            format!("#[test]\nfn t() {{ assert!({}x); }}", "!".repeat(depth)),
            format!("#[test]\nfn t() {{ {}x; }}", "a = ".repeat(depth)),
            format!(
                "#[test]\nfn t() {{ let v: {}u8{} = 1; }}",
                "Vec<".repeat(depth),
                ">".repeat(depth)
            ),
            format!("#[test]\nfn t() {{ let f = {}x; }}", "|| ".repeat(depth)),
            format!(
                "#[test]\nfn t() {{ let f = {}x; }}",
                "|a, b| ".repeat(depth)
            ),
            format!("#[test]\nfn t() {{ let sum = x{}; }}", " + x".repeat(depth)),
            format!(
                "#[test]\nfn t() {{ let chained = x{}; }}",
                ".f()".repeat(depth)
            ),
            format!(
                "#[test]\nfn t() {{ let called = f{}; }}",
                "()".repeat(depth)
            ),
            format!("#[test]\nfn t() {{ let tried = x{}; }}", "?".repeat(depth)),
            format!(
                "#[test]\nfn t() {{ let v: {}u8{} = 1; }}",
                "Map<u8, ".repeat(depth),
                ">".repeat(depth)
            ),
            format!(
                "#[test]\nfn t() {{ if a {{}} {} }}",
                "else if a {} ".repeat(depth)
            ),
            format!("{}{}", "mod m {".repeat(depth), "}".repeat(depth)),
            format!(
                "#[test]\nfn t() {{ {}assert!(x){}; }}",
                "m!(@ ".repeat(depth),
                ")".repeat(depth)
            ),
        ];
        for source in &sources {
            let failure = extract("src/deep.rs", source).expect_err("too deep to parse");
            assert!(
                failure.message.contains("deeper than"),
                "{}: {failure}",
                &source[..40]
            );
        }
    }

    #[test]
    fn deepest_input_within_the_limits_parses() {
        let blocks = 250;
        let source = format!(
            "#[test]\nfn t() {{ {}assert!(x);{} }}",
            "{".repeat(blocks),
            "}".repeat(blocks)
        );
        assert_eq!(fingerprints(&only_test(&source)), ["assert!(x)"]);

        // `<` and `>` both count: the closing one cannot be told from greater-than.
        let generics = 500;
        let source = format!(
            "#[test]\nfn t() {{ let v: {}u8{} = f(); assert!(v.ok()); }}",
            "Vec<".repeat(generics),
            ">".repeat(generics)
        );
        assert_eq!(fingerprints(&only_test(&source)), ["assert!(v.ok())"]);

        let nots = 1000;
        let source = format!("#[test]\nfn t() {{ assert!({}x); }}", "!".repeat(nots));
        assert_eq!(only_test(&source).assertions.len(), 1);
    }

    #[test]
    fn long_flat_code_is_not_mistaken_for_deep_code() {
        let statements = "assert!(a == b && c != d || !e);\n".repeat(5_000);
        let arms = "(A, B) => {}\n".repeat(300);
        let source = format!(
            "#[test]\nfn t() {{\n{statements}match x {{ {arms} }}\nlet v = vec![{}];\n}}",
            "-1, ".repeat(5_000)
        );
        assert_eq!(only_test(&source).assertions.len(), 5_000);
    }

    #[test]
    fn long_doc_comments_are_not_mistaken_for_deep_code() {
        let source = format!(
            "{}#[test]\n{}fn t() {{ assert!(x); }}",
            "//! crate docs\n".repeat(3_000),
            "/// test docs\n".repeat(3_000)
        );
        assert_eq!(only_test(&source).line, 6_002);
    }

    #[test]
    fn byte_order_mark_and_shebang_keep_lines() {
        let source =
            "\u{feff}#!/usr/bin/env run-cargo-script\n#[test]\nfn t() {\n    assert!(x);\n}\n";
        let test = only_test(source);
        assert_eq!(test.line, 3);
        assert_eq!(test.assertions[0].line, 4);
        assert_eq!(test.body_tokens, ["assert", "!", "(", "x", ")", ";"]);

        let inner_attribute = "#![allow(unused)]\n#[test]\nfn t() {}\n";
        assert_eq!(only_test(inner_attribute).line, 3);
    }

    #[test]
    fn raw_identifiers_are_named_without_their_prefix() {
        let test = only_test("mod r#type {\n#[test]\nfn r#match() {}\n}");
        assert_eq!(test.id, "src/lib.rs::type::match");
    }

    #[test]
    fn empty_and_test_free_files_have_no_tests() {
        assert_eq!(tests_in(""), vec![]);
        assert_eq!(tests_in("//! docs only\nfn main() {}\n"), vec![]);
    }
}
