//! What the ratchet compares: the tests of one revision, each with its assertions, skips and
//! parametrization, in a form shared by the Python (tree-sitter) and Rust (syn) extractors.

use serde::Serialize;

/// The language a test is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Python,
    Rust,
}

/// One test function (or method) as the test runner would collect it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestCase {
    /// `tests/test_x.py::TestClass::test_name` (Python) or `src/lib.rs::module::test_name`
    /// (Rust): the path relative to the root, then the enclosing classes/modules, then the name.
    pub id: String,
    pub lang: Lang,
    /// Path relative to the root, with `/` separators.
    pub file: String,
    /// Enclosing class (Python) or inline module path (Rust), `::`-joined, if any.
    pub container: Option<String>,
    pub name: String,
    /// 1-based line of the `def` / `fn`.
    pub line: usize,
    pub assertions: Vec<Assertion>,
    /// Skip/xfail markers and calls (Python), `#[ignore]` (Rust).
    pub skips: Vec<Skip>,
    /// `#[should_panic]` (with its `expected` text, if any).
    pub should_panic: Option<String>,
    /// One normalized fingerprint per parametrize case (`@pytest.mark.parametrize`), empty when
    /// the test is not parametrized.
    pub params: Vec<String>,
    /// Fixtures the test uses (its parameters and `usefixtures` names; Python only): a
    /// parametrized fixture can take over a test's parametrize cases.
    pub fixtures: Vec<String>,
    /// The body's tokens with names and literals kept but layout, comments and docstrings
    /// removed: used to match a renamed or moved test to its old self.
    pub body_tokens: Vec<String>,
}

/// One assertion inside a test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assertion {
    pub kind: AssertKind,
    /// The assertion normalized: whitespace, comments and the message argument removed,
    /// so that reformatting does not change it (`assert x == y`, `assertEqual(a, b)`).
    pub fingerprint: String,
    /// 1-based line.
    pub line: usize,
    /// Why it can never run, when the extractor can tell (an earlier unconditional `return`,
    /// `pytest.skip()`, or an enclosing `except AssertionError`/`except Exception` that
    /// swallows it).
    pub unreachable: Option<String>,
    /// Why it is vacuous, when the extractor can tell (`assert True`, a constant, a
    /// tautology such as `x == x`, `... or True`).
    pub vacuous: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", content = "name", rename_all = "snake_case")]
pub enum AssertKind {
    /// `assert <expr>`.
    Assert,
    /// `self.assertEqual(...)`, `self.fail(...)`, ...: the method name.
    Unittest(String),
    /// `pytest.raises(E)` / `pytest.warns(W)`: the exception or warning as written.
    Raises(String),
    Warns(String),
    /// `pytest.approx(...)` inside an assertion.
    Approx,
    /// A call to a configured assertion helper (`assert_upgraded(...)`): its name.
    Helper(String),
    /// `assert!`, `assert_eq!`, `assert_ne!`, `debug_assert*!`: the macro name.
    RustMacro(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// `mark.skip`, `mark.skipif`, `mark.xfail`, `pytest.skip()`, `pytest.xfail()`,
    /// `unittest.skip`, `unittest.skipIf`, `unittest.skipUnless`, `unittest.expectedFailure`,
    /// `ignore` (Rust).
    pub kind: String,
    /// The condition as written for conditional skips (`skipif(sys.platform == "win32")`);
    /// `None` for unconditional ones.
    pub condition: Option<String>,
    pub line: usize,
}
