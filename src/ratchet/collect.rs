//! What pytest would collect at one revision: its configuration file (pytest's precedence),
//! `addopts`, the `collect_ignore` lists of the conftests it loads, and its name rules for
//! files, classes and functions -- so that a test moved out of collection counts as removed.
//!
//! Modelled on pytest 8/9 run from the root with no command-line arguments. Left out on
//! purpose: `PYTEST_ADDOPTS`, `-o`/`--override-ini` (pytest reads overrides before `addopts` is
//! inserted), `--pyargs`, `-p` plugins, `pytest_plugins`, `__test__ = False`, classes with an
//! `__init__`, and the keyword arguments of `-m name(key=value)` (matched by name only).

use std::collections::BTreeSet;

use serde::Serialize;

/// Reads a file's text at a path relative to the root, for whichever revision is being read.
pub type ReadFile<'a> = &'a dyn Fn(&str) -> Option<String>;

const DEFAULT_PYTHON_FILES: &[&str] = &["test_*.py", "*_test.py"];
const DEFAULT_PYTHON_CLASSES: &[&str] = &["Test"];
const DEFAULT_PYTHON_FUNCTIONS: &[&str] = &["test"];
const DEFAULT_NORECURSEDIRS: &[&str] = &[
    "*.egg",
    ".*",
    "_darcs",
    "build",
    "CVS",
    "dist",
    "node_modules",
    "venv",
    "{arch}",
];

/// The files pytest takes its configuration from, in its order: the first one at the root
/// that holds pytest configuration wins.
const CONFIG_FILES: &[&str] = &[
    "pytest.toml",
    ".pytest.toml",
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
];

/// Conftest hooks that can hide or add tests behind the configuration's back.
const COLLECTION_HOOKS: &[&str] = &[
    "pytest_collection_modifyitems",
    "pytest_ignore_collect",
    "pytest_collect_file",
    "pytest_collect_directory",
    "pytest_pycollect_makeitem",
    "pytest_pycollect_makemodule",
    "pytest_collection",
];

/// How pytest would collect the tree at one revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PytestConfig {
    /// The file the configuration came from (`pytest.ini`, `pyproject.toml`, ...); `None` when
    /// pytest would run on its defaults.
    pub source: Option<String>,
    pub testpaths: Vec<String>,
    /// fnmatch patterns for file names (for the whole path when they contain `/`).
    pub python_files: Vec<String>,
    /// Name prefixes, or fnmatch patterns when they hold `*`, `?` or `[`.
    pub python_classes: Vec<String>,
    /// Name prefixes, or fnmatch patterns when they hold `*`, `?` or `[`.
    pub python_functions: Vec<String>,
    pub norecursedirs: Vec<String>,
    /// `addopts`, split like a shell would.
    pub addopts: Vec<String>,
    /// File-or-directory arguments in `addopts`: when there are any, pytest collects from them
    /// instead of `testpaths`.
    pub args: Vec<String>,
    /// `--ignore` paths and `--ignore-glob` patterns from `addopts`, relative to the root.
    pub ignore: Vec<String>,
    /// The `--ignore-glob` patterns among `ignore` (fnmatch on the whole path; the others must
    /// equal it).
    pub ignore_glob: Vec<String>,
    /// `--deselect` node-id prefixes from `addopts`.
    pub deselect: Vec<String>,
    /// `-k EXPR` from `addopts`.
    pub keyword: Option<String>,
    /// `-m EXPR` from `addopts`.
    pub markers_expr: Option<String>,
    /// Where collection starts, relative to the root (`""` is the root itself): the `addopts`
    /// arguments, else `testpaths` expanded against the tree, else the root.
    pub collection_roots: Vec<String>,
    /// Directories pytest skips as virtual environments (they hold `pyvenv.cfg` or
    /// `conda-meta/history`).
    pub virtualenvs: Vec<String>,
    /// Every `collect_ignore` path and `collect_ignore_glob` pattern of the conftests pytest
    /// loads, relative to the root, sorted: the flat view for reporting.
    pub collect_ignore: Vec<String>,
    /// The same per conftest, sorted by path: what collection decisions use.
    pub conftest_ignores: Vec<ConftestIgnore>,
    /// Conftests whose `collect_ignore` could not be read statically (built by code, changed
    /// conditionally, or the file does not parse); what could be read is in `collect_ignore`.
    pub dynamic_collect_ignore: Vec<String>,
    /// Conftests defining a hook that changes collection (`pytest_collection_modifyitems`,
    /// `pytest_ignore_collect`, `pytest_collect_file`, ...).
    pub has_collection_hooks: Vec<String>,
}

/// What one conftest tells pytest to leave out. For a path, pytest uses the list of the nearest
/// conftest (in the path's directory or above) that defines it; lists do not add up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConftestIgnore {
    pub conftest: String,
    /// `collect_ignore`, resolved to paths relative to the root; `None` when not defined here.
    pub paths: Option<Vec<String>>,
    /// `collect_ignore_glob`, resolved to fnmatch patterns relative to the root.
    pub globs: Option<Vec<String>>,
}

/// A configuration pytest itself would refuse, so no test would be collected at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    #[error("{file}:{line}: invalid TOML: {message}")]
    Toml {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}:{line}: {message}")]
    Ini {
        file: String,
        line: usize,
        message: String,
    },
    /// Parses, but pytest stops with a usage error (a `[pytest]` section in `setup.cfg`, a bad
    /// `addopts`, a bad `-k`/`-m` expression, a missing path argument, ...).
    #[error("{file}: {message}")]
    Rejected { file: String, message: String },
}

impl CollectError {
    /// The configuration file at fault.
    pub fn file(&self) -> &str {
        match self {
            CollectError::Toml { file, .. }
            | CollectError::Ini { file, .. }
            | CollectError::Rejected { file, .. } => file,
        }
    }

    pub fn help(&self) -> String {
        format!(
            "pytest stops on this too, before collecting any test; fix {} at this revision",
            self.file()
        )
    }
}

impl Default for PytestConfig {
    /// pytest's defaults, collecting from the root.
    fn default() -> Self {
        let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        PytestConfig {
            source: None,
            testpaths: Vec::new(),
            python_files: owned(DEFAULT_PYTHON_FILES),
            python_classes: owned(DEFAULT_PYTHON_CLASSES),
            python_functions: owned(DEFAULT_PYTHON_FUNCTIONS),
            norecursedirs: owned(DEFAULT_NORECURSEDIRS),
            addopts: Vec::new(),
            args: Vec::new(),
            ignore: Vec::new(),
            ignore_glob: Vec::new(),
            deselect: Vec::new(),
            keyword: None,
            markers_expr: None,
            collection_roots: vec![String::new()],
            virtualenvs: Vec::new(),
            collect_ignore: Vec::new(),
            conftest_ignores: Vec::new(),
            dynamic_collect_ignore: Vec::new(),
            has_collection_hooks: Vec::new(),
        }
    }
}

impl PytestConfig {
    /// Reads the configuration pytest would use for a tree. `files` is every file in the tree,
    /// relative to the root with `/` separators.
    pub fn read(files: &[String], read: ReadFile) -> Result<PytestConfig, CollectError> {
        let tree = Tree::new(files);
        let mut config = PytestConfig::default();
        if let Some((source, options)) = locate_config(&tree, read)? {
            config.apply_options(&source, &options)?;
            config.source = Some(source);
        }
        config.collection_roots = config.resolve_roots(&tree)?;
        config.virtualenvs = tree.virtualenvs();
        config.read_conftests(&tree, read);
        Ok(config)
    }

    /// Whether pytest would collect this file as a test module.
    pub fn collects_file(&self, path: &str) -> bool {
        let Some(path) = normalize(path) else {
            return false;
        };
        let name = basename(&path);
        // pytest wants the suffix `.py`, and `.py` alone has none.
        if name.len() <= 3 || !name.ends_with(".py") {
            return false;
        }
        self.roots()
            .iter()
            .any(|root| self.collects_from(root, &path))
    }

    /// Whether pytest would collect a class of this name. unittest.TestCase subclasses are
    /// collected whatever `python_classes` says.
    pub fn collects_class(&self, name: &str, is_unittest_testcase: bool) -> bool {
        is_unittest_testcase || matches_prefix_or_glob(&self.python_classes, name)
    }

    /// Whether pytest would collect a function (or method) of this name. In a TestCase,
    /// unittest's loader decides: methods starting with `test`.
    pub fn collects_function(&self, name: &str, in_unittest_class: bool) -> bool {
        if in_unittest_class {
            name.starts_with("test")
        } else {
            matches_prefix_or_glob(&self.python_functions, name)
        }
    }

    /// Whether `addopts` deselects this test (`path::Class::name[params]`), for a test without
    /// markers: `--deselect` prefixes, `-k`, and `-m` (which no unmarked test satisfies unless
    /// it is negated).
    pub fn deselected(&self, test_id: &str) -> bool {
        self.deselected_with_markers::<&str>(test_id, &[])
    }

    /// [`Self::deselected`] for a test carrying these markers (`slow`, `skipif`, ...,
    /// including its class's and module's), which both `-k` and `-m` see.
    pub fn deselected_with_markers<S: AsRef<str>>(&self, test_id: &str, markers: &[S]) -> bool {
        if self
            .deselect
            .iter()
            .any(|prefix| test_id.starts_with(prefix))
        {
            return true;
        }
        let markers: Vec<&str> = markers.iter().map(AsRef::as_ref).collect();
        if let Some(expr) = self.keyword.as_deref().map(str::trim_start)
            && !expr.is_empty()
            && let Ok(expr) = Expr::parse(expr, "-k")
        {
            let names = keyword_names(test_id, &markers);
            let matches = |ident: &str| {
                let ident = ident.to_lowercase();
                names.iter().any(|name| name.contains(&ident))
            };
            if !expr.eval(&matches) {
                return true;
            }
        }
        if let Some(expr) = self.markers_expr.as_deref()
            && !expr.is_empty()
            && let Ok(expr) = Expr::parse(expr, "-m")
            && !expr.eval(&|name| markers.contains(&name))
        {
            return true;
        }
        false
    }

    /// A stable summary of everything that decides collection -- not which file it came from,
    /// nor `addopts` words that do not touch collection (`-q`, `--tb=short`): for the same
    /// files, equal fingerprints collect the same tests.
    pub fn fingerprint(&self) -> String {
        let deciding = PytestConfig {
            source: None,
            addopts: Vec::new(),
            ..self.clone()
        };
        serde_json::to_string(&deciding).unwrap_or_default()
    }

    fn roots(&self) -> &[String] {
        const ROOT_ONLY: &[String] = &[String::new()];
        if self.collection_roots.is_empty() {
            ROOT_ONLY
        } else {
            &self.collection_roots
        }
    }

    /// pytest walks from `root` down to `path`: each directory must not be ignored (unless it
    /// is a collection root or holds one), then the file must not be ignored and match
    /// `python_files` (unless it is itself a collection root).
    fn collects_from(&self, root: &str, path: &str) -> bool {
        if root == path {
            return true;
        }
        if !is_within(root, path) {
            return false;
        }
        if !self.enters(root, parent(path)) {
            return false;
        }
        if self.roots().iter().any(|r| r == path) {
            return true;
        }
        !self.ignores(path, false) && self.python_files.iter().any(|p| fnmatch_ex(p, path))
    }

    /// Whether collection from `root` descends into `dir` (a directory within `root`).
    fn enters(&self, root: &str, dir: &str) -> bool {
        let roots = self.roots();
        let rest = if root.is_empty() {
            dir
        } else {
            dir.get(root.len() + 1..).unwrap_or("")
        };
        let mut current = root.to_string();
        for part in rest.split('/').filter(|p| !p.is_empty()) {
            current = join(&current, part);
            let holds_root = roots.iter().any(|r| is_within(&current, r));
            if !holds_root && self.ignores(&current, true) {
                return false;
            }
        }
        true
    }

    /// pytest's `pytest_ignore_collect`: `__pycache__`, `collect_ignore[_glob]` of the nearest
    /// conftest, `--ignore[-glob]`, virtualenvs and `norecursedirs` (the last two for
    /// directories only).
    fn ignores(&self, path: &str, is_dir: bool) -> bool {
        if basename(path) == "__pycache__" {
            return true;
        }
        let parent = parent(path);
        let nearest = |pick: fn(&ConftestIgnore) -> Option<&Vec<String>>| {
            self.conftest_ignores
                .iter()
                .filter(|c| is_within(self::parent(&c.conftest), parent))
                .filter_map(|c| pick(c).map(|list| (c.conftest.matches('/').count(), list)))
                .max_by_key(|(depth, _)| *depth)
                .map(|(_, list)| list.as_slice())
                .unwrap_or_default()
        };
        if nearest(|c| c.paths.as_ref()).iter().any(|p| p == path)
            || self.ignore.iter().any(|p| p == path)
        {
            return true;
        }
        let globs = nearest(|c| c.globs.as_ref());
        if globs
            .iter()
            .chain(&self.ignore_glob)
            .any(|g| fnmatch_rooted(g, path))
        {
            return true;
        }
        is_dir
            && (self.virtualenvs.iter().any(|v| v == path)
                || self.norecursedirs.iter().any(|p| fnmatch_ex(p, path)))
    }

    fn apply_options(
        &mut self,
        source: &str,
        options: &[(String, RawValue)],
    ) -> Result<(), CollectError> {
        let rejected = |message: String| CollectError::Rejected {
            file: source.to_string(),
            message,
        };
        for (key, value) in options {
            let target = match key.as_str() {
                "testpaths" => &mut self.testpaths,
                "python_files" => &mut self.python_files,
                "python_classes" => &mut self.python_classes,
                "python_functions" => &mut self.python_functions,
                "norecursedirs" => &mut self.norecursedirs,
                "addopts" => &mut self.addopts,
                _ => continue,
            };
            *target = value
                .args()
                .map_err(|e| rejected(format!("`{key}`: {e}")))?;
        }
        let addopts =
            parse_addopts(&self.addopts).map_err(|e| rejected(format!("`addopts`: {e}")))?;
        for (option, expr) in [("-k", &addopts.keyword), ("-m", &addopts.markers)] {
            if let Some(expr) = expr {
                validate_expression(expr, option).map_err(rejected)?;
            }
        }
        self.args = addopts.args;
        self.ignore_glob = addopts.ignore_glob.iter().map(|p| resolve("", p)).collect();
        self.ignore = addopts.ignore.iter().map(|p| resolve("", p)).collect();
        self.ignore.extend(self.ignore_glob.iter().cloned());
        self.deselect = addopts.deselect;
        self.keyword = addopts.keyword;
        self.markers_expr = addopts.markers;
        Ok(())
    }

    fn resolve_roots(&self, tree: &Tree) -> Result<Vec<String>, CollectError> {
        let mut roots: Vec<String> = Vec::new();
        if !self.args.is_empty() {
            for arg in &self.args {
                let path = arg.split("::").next().unwrap_or_default();
                match normalize(path).filter(|p| tree.exists(p)) {
                    Some(path) => roots.push(path),
                    None => {
                        return Err(CollectError::Rejected {
                            file: self.source.clone().unwrap_or_default(),
                            message: format!("`addopts`: file or directory not found: {arg}"),
                        });
                    }
                }
            }
        } else {
            for pattern in &self.testpaths {
                roots.extend(tree.glob(pattern));
            }
        }
        let mut seen = BTreeSet::new();
        roots.retain(|r| seen.insert(r.clone()));
        if roots.is_empty() {
            // pytest warns "No files were found in testpaths" and searches from the root.
            roots.push(String::new());
        }
        Ok(roots)
    }

    /// Reads the conftests pytest loads: those of the collection roots and their ancestors,
    /// of `test*` directories right under a root, and of every directory it descends into.
    /// Shallow ones first, since their `collect_ignore` decides where pytest descends.
    fn read_conftests(&mut self, tree: &Tree, read: ReadFile) {
        let mut conftests: Vec<&String> = tree
            .files
            .iter()
            .filter(|f| basename(f) == "conftest.py")
            .collect();
        conftests.sort_by_key(|path| (path.matches('/').count(), path.as_str()));
        for path in conftests {
            if !self.loads_conftest_in(parent(path), tree) {
                continue;
            }
            let facts = match read(path) {
                Some(source) => conftest_facts(&source),
                None => ConftestFacts {
                    dynamic: true,
                    ..ConftestFacts::default()
                },
            };
            let dir = parent(path);
            let resolve_all = |list: Vec<String>| list.iter().map(|e| resolve(dir, e)).collect();
            if facts.paths.is_some() || facts.globs.is_some() {
                self.conftest_ignores.push(ConftestIgnore {
                    conftest: path.clone(),
                    paths: facts.paths.map(resolve_all),
                    globs: facts.globs.map(resolve_all),
                });
            }
            if facts.dynamic {
                self.dynamic_collect_ignore.push(path.clone());
            }
            if facts.hooks {
                self.has_collection_hooks.push(path.clone());
            }
        }
        self.conftest_ignores
            .sort_by(|a, b| a.conftest.cmp(&b.conftest));
        let flat: BTreeSet<&String> = self
            .conftest_ignores
            .iter()
            .flat_map(|c| c.paths.iter().chain(&c.globs).flatten())
            .collect();
        self.collect_ignore = flat.into_iter().cloned().collect();
        self.dynamic_collect_ignore.sort();
        self.has_collection_hooks.sort();
    }

    fn loads_conftest_in(&self, dir: &str, tree: &Tree) -> bool {
        // pytest anchors its first conftests on the arguments and on `testpaths` as written
        // (unexpanded), even when arguments make it collect elsewhere.
        let written_testpaths = self
            .testpaths
            .iter()
            .filter_map(|p| normalize(p))
            .filter(|p| tree.exists(p));
        let anchors: Vec<String> = self
            .roots()
            .iter()
            .cloned()
            .chain(written_testpaths)
            .collect();
        let anchored = anchors.iter().any(|anchor| {
            let holds_anchor = is_within(dir, anchor);
            let eager = !dir.is_empty()
                && parent(dir) == anchor.as_str()
                && basename(dir).starts_with("test");
            holds_anchor || eager
        });
        anchored
            || self
                .roots()
                .iter()
                .any(|root| is_within(root, dir) && self.enters(root, dir))
    }
}

/// pytest's `_matches_prefix_or_glob_option`.
fn matches_prefix_or_glob(options: &[String], name: &str) -> bool {
    options.iter().any(|option| {
        name.starts_with(option.as_str())
            || (option.contains(['*', '?', '[']) && fnmatch(name, option))
    })
}

/// The names `-k` matches against: every directory below the root, the file name, the
/// classes and the function (with its parameters), and the markers.
fn keyword_names(test_id: &str, markers: &[&str]) -> Vec<String> {
    let mut parts = test_id.split("::");
    let path = parts.next().unwrap_or_default();
    path.split('/')
        .chain(parts)
        .chain(markers.iter().copied())
        .filter(|name| !name.is_empty())
        .map(str::to_lowercase)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The tree

/// The files of one revision and the directories that hold them.
struct Tree {
    files: BTreeSet<String>,
    dirs: BTreeSet<String>,
}

impl Tree {
    fn new(files: &[String]) -> Tree {
        let files: BTreeSet<String> = files
            .iter()
            .filter_map(|f| normalize(f))
            .filter(|f| !f.is_empty())
            .collect();
        let mut dirs = BTreeSet::new();
        for file in &files {
            let mut dir = parent(file);
            while !dir.is_empty() && dirs.insert(dir.to_string()) {
                dir = parent(dir);
            }
        }
        Tree { files, dirs }
    }

    fn exists(&self, path: &str) -> bool {
        path.is_empty() || self.files.contains(path) || self.dirs.contains(path)
    }

    fn virtualenvs(&self) -> Vec<String> {
        let mut found = BTreeSet::new();
        for file in &self.files {
            if basename(file) == "pyvenv.cfg" {
                found.insert(parent(file).to_string());
            } else if basename(file) == "history" && basename(parent(file)) == "conda-meta" {
                found.insert(parent(parent(file)).to_string());
            }
        }
        found.into_iter().collect()
    }

    /// Python's `sorted(glob.iglob(pattern, recursive=True))` run at the root, normalized.
    fn glob(&self, pattern: &str) -> Vec<String> {
        let dirs_only = pattern.ends_with('/');
        let Some(normalized) = normalize(pattern) else {
            return Vec::new();
        };
        if !normalized.contains(['*', '?', '[']) {
            let exists = if dirs_only {
                normalized.is_empty() || self.dirs.contains(&normalized)
            } else {
                self.exists(&normalized)
            };
            return if exists { vec![normalized] } else { Vec::new() };
        }
        let parts: Vec<&str> = normalized.split('/').collect();
        let candidates = self.dirs.iter().chain(
            if dirs_only { None } else { Some(&self.files) }
                .into_iter()
                .flatten(),
        );
        let mut found: Vec<String> = candidates
            .filter(|path| glob_parts_match(&parts, &path.split('/').collect::<Vec<_>>()))
            .cloned()
            .collect();
        found.sort();
        found
    }
}

/// Matches path components against glob components: `**` spans zero or more components, and
/// wildcards skip hidden names unless the pattern component starts with a dot.
fn glob_parts_match(pattern: &[&str], path: &[&str]) -> bool {
    // matched[i][j]: pattern[i..] matches path[j..]
    let (n, m) = (pattern.len(), path.len());
    let mut matched = vec![vec![false; m + 1]; n + 1];
    matched[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            matched[i][j] = if pattern[i] == "**" {
                matched[i + 1][j] || (j < m && !path[j].starts_with('.') && matched[i][j + 1])
            } else if j < m {
                let part = pattern[i];
                let ok = if part.contains(['*', '?', '[']) {
                    (!path[j].starts_with('.') || part.starts_with('.')) && fnmatch(path[j], part)
                } else {
                    path[j] == part
                };
                ok && matched[i + 1][j + 1]
            } else {
                false
            };
        }
    }
    matched[0][0]
}

// ---------------------------------------------------------------------------------------------
// Configuration files

/// One option as the file holds it: INI text (split like a shell for list options) or a TOML
/// list (taken as is).
#[derive(Debug)]
enum RawValue {
    Text(String),
    List(Vec<String>),
}

impl RawValue {
    fn args(&self) -> Result<Vec<String>, String> {
        match self {
            RawValue::Text(text) => shell_split(text),
            RawValue::List(items) => Ok(items.clone()),
        }
    }
}

type Options = Vec<(String, RawValue)>;

/// pytest's `locate_config` at the root: the first file in [`CONFIG_FILES`] that holds pytest
/// configuration, and its options. Files after the winner are not read, as in pytest.
fn locate_config(tree: &Tree, read: ReadFile) -> Result<Option<(String, Options)>, CollectError> {
    for &name in CONFIG_FILES {
        if !tree.files.contains(name) {
            continue;
        }
        let Some(text) = read(name) else {
            return Err(CollectError::Rejected {
                file: name.to_string(),
                message: "cannot be read as UTF-8 text".into(),
            });
        };
        let options = match name {
            "pytest.toml" | ".pytest.toml" => {
                let table = parse_toml(name, &text)?;
                // Always the source, even without a [pytest] table.
                Some(match table.get("pytest") {
                    Some(toml::Value::Table(options)) => toml_options(options),
                    Some(_) => return Err(not_a_table(name, "pytest")),
                    None => Vec::new(),
                })
            }
            "pyproject.toml" => pyproject_options(name, &parse_toml(name, &text)?)?,
            _ => {
                let sections = parse_ini(&text).map_err(|(line, message)| CollectError::Ini {
                    file: name.to_string(),
                    line,
                    message,
                })?;
                let section =
                    |wanted: &str| sections.iter().find(|(s, _)| s == wanted).map(|(_, o)| o);
                let ini_options = |options: &Vec<(String, String)>| -> Options {
                    options
                        .iter()
                        .map(|(k, v)| (k.clone(), RawValue::Text(v.clone())))
                        .collect()
                };
                match name {
                    // Always the source, even without a [pytest] section.
                    "pytest.ini" | ".pytest.ini" => {
                        Some(section("pytest").map(ini_options).unwrap_or_default())
                    }
                    "tox.ini" => section("pytest").map(ini_options),
                    _ if section("tool:pytest").is_some() => {
                        section("tool:pytest").map(ini_options)
                    }
                    _ if section("pytest").is_some() => {
                        return Err(CollectError::Rejected {
                            file: name.to_string(),
                            message: "[pytest] section in setup.cfg files is no longer supported, \
                                      change to [tool:pytest] instead."
                                .into(),
                        });
                    }
                    _ => None,
                }
            }
        };
        if let Some(options) = options {
            return Ok(Some((name.to_string(), options)));
        }
    }
    Ok(None)
}

/// `[tool.pytest]` (pytest 9, native TOML) or `[tool.pytest.ini_options]`; not both.
fn pyproject_options(name: &str, document: &toml::Table) -> Result<Option<Options>, CollectError> {
    let tool_pytest = match document.get("tool").and_then(|tool| tool.get("pytest")) {
        None => return Ok(None),
        Some(toml::Value::Table(table)) => table,
        Some(_) => return Err(not_a_table(name, "tool.pytest")),
    };
    let native: toml::Table = tool_pytest
        .iter()
        .filter(|(key, _)| key.as_str() != "ini_options")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let ini = match tool_pytest.get("ini_options") {
        None => None,
        Some(toml::Value::Table(table)) => Some(table),
        Some(_) => return Err(not_a_table(name, "tool.pytest.ini_options")),
    };
    match (native.is_empty(), ini) {
        (false, Some(_)) => Err(CollectError::Rejected {
            file: name.to_string(),
            message: "cannot use both [tool.pytest] (native TOML types) and \
                      [tool.pytest.ini_options] (INI format) at once"
                .into(),
        }),
        (false, None) => Ok(Some(toml_options(&native))),
        (true, ini) => Ok(ini.map(toml_options)),
    }
}

fn not_a_table(file: &str, key: &str) -> CollectError {
    CollectError::Rejected {
        file: file.to_string(),
        message: format!("`{key}` must be a table"),
    }
}

fn parse_toml(file: &str, text: &str) -> Result<toml::Table, CollectError> {
    text.parse::<toml::Table>().map_err(|error| {
        let line = error
            .span()
            .map(|span| text.get(..span.start).unwrap_or(text).matches('\n').count() + 1)
            .unwrap_or(1);
        CollectError::Toml {
            file: file.to_string(),
            line,
            message: error.message().trim().to_string(),
        }
    })
}

/// TOML values as pytest sees them: lists stay lists, scalars become Python's `str(value)`.
fn toml_options(table: &toml::Table) -> Options {
    table
        .iter()
        .map(|(key, value)| {
            let raw = match value {
                toml::Value::Array(items) => RawValue::List(items.iter().map(python_str).collect()),
                other => RawValue::Text(python_str(other)),
            };
            (key.clone(), raw)
        })
        .collect()
}

fn python_str(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Boolean(true) => "True".into(),
        toml::Value::Boolean(false) => "False".into(),
        toml::Value::Float(f) => format!("{f:?}"),
        other => other.to_string(),
    }
}

/// One INI section: its name and its options in order.
type IniSection = (String, Vec<(String, String)>);

/// An INI file as `iniconfig` (pytest's parser) reads it: sections in order, each with its
/// options. Comments are whole lines starting with `#` or `;`; indented lines continue the
/// previous value. Errors carry the 1-based line.
fn parse_ini(text: &str) -> Result<Vec<IniSection>, (usize, String)> {
    let mut sections: Vec<IniSection> = Vec::new();
    // Whether the last line started a value that continuation lines may extend.
    let mut open_value = false;
    for (index, line) in split_lines(text).into_iter().enumerate() {
        let line_no = index + 1;
        let trimmed_start = line.trim_start();
        if trimmed_start.is_empty() || trimmed_start.starts_with(['#', ';']) {
            continue;
        }
        let line = line.trim_end();
        if line.starts_with('[') {
            let uncommented = line.split(['#', ';']).next().unwrap_or_default().trim_end();
            if let Some(name) = uncommented.strip_suffix(']') {
                let name = name.get(1..).unwrap_or_default();
                if name.is_empty() {
                    return Err((line_no, "empty section name".into()));
                }
                if sections.iter().any(|(s, _)| s == name) {
                    return Err((line_no, format!("duplicate section '{name}'")));
                }
                sections.push((name.to_string(), Vec::new()));
                open_value = false;
                continue;
            }
            // iniconfig reads an unterminated `[...` as a continuation line.
            continue_value(&mut sections, open_value, line.trim(), line_no)?;
        } else if !line.starts_with(char::is_whitespace) {
            let (name, value) = match line.split_once('=') {
                Some((name, value)) if !name.contains(':') => (name, value),
                _ => line
                    .split_once(':')
                    .ok_or_else(|| (line_no, format!("unexpected line: '{line}'")))?,
            };
            let Some((_, options)) = sections.last_mut() else {
                return Err((line_no, "no section header defined".into()));
            };
            let name = name.trim();
            if options.iter().any(|(n, _)| n == name) {
                return Err((line_no, format!("duplicate name '{name}'")));
            }
            options.push((name.to_string(), value.trim().to_string()));
            open_value = true;
        } else {
            continue_value(&mut sections, open_value, line.trim(), line_no)?;
        }
    }
    Ok(sections)
}

fn continue_value(
    sections: &mut [IniSection],
    open_value: bool,
    data: &str,
    line_no: usize,
) -> Result<(), (usize, String)> {
    let last = sections
        .last_mut()
        .and_then(|(_, options)| options.last_mut());
    match last {
        Some((_, value)) if open_value => {
            if !value.is_empty() {
                value.push('\n');
            }
            value.push_str(data);
            Ok(())
        }
        _ => Err((line_no, "unexpected value continuation".into())),
    }
}

/// Python's `str.splitlines()`.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            continue;
        }
        lines.push(&text[start..at]);
        start = at + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, next)| next == '\n') {
            chars.next();
            start += 1;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Python's `shlex.split` (POSIX mode, no comments).
fn shell_split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().ok_or("No escaped character")?);
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next().ok_or("No closing quotation")? {
                        '\'' => break,
                        other => word.push(other),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next().ok_or("No closing quotation")? {
                        '"' => break,
                        '\\' => match chars.next().ok_or("No escaped character")? {
                            escaped @ ('"' | '\\') => word.push(escaped),
                            other => {
                                word.push('\\');
                                word.push(other);
                            }
                        },
                        other => word.push(other),
                    }
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

// ---------------------------------------------------------------------------------------------
// addopts

/// What `addopts` says about collection.
#[derive(Debug, Default)]
struct Addopts {
    args: Vec<String>,
    ignore: Vec<String>,
    ignore_glob: Vec<String>,
    deselect: Vec<String>,
    keyword: Option<String>,
    markers: Option<String>,
}

/// Short options that take a value (pytest's, and `-n` of pytest-xdist); others are flags.
const SHORT_WITH_VALUE: &[char] = &['k', 'm', 'p', 'c', 'o', 'W', 'r', 'n'];
/// Long options that take a value and matter here.
const LONG_WITH_VALUE: &[&str] = &["ignore", "ignore-glob", "deselect"];
/// Long options known to take no value (pytest's and common plugins'). Any other long option
/// written without `=` is taken to consume the next word unless it starts with `-`, as valued
/// plugin options do.
const LONG_FLAGS: &str = "\
    co collect-only collectonly lf last-failed ff failed-first nf new-first sw stepwise \
    sw-skip stepwise-skip sw-reset stepwise-reset cache-clear strict-markers strict-config \
    strict runxfail pdb trace full-trace showlocals no-showlocals quiet verbose exitfirst \
    fixtures funcargs fixtures-per-test markers help version setup-only setup-show setup-plan \
    pyargs keep-duplicates collect-in-virtualenv continue-on-collection-errors noconftest \
    disable-warnings disable-pytest-warnings doctest-modules doctest-continue-on-failure \
    doctest-ignore-import-errors no-header no-summary no-fold-skipped force-short-summary \
    xfail-tb trace-config traceconfig no-cov no-cov-on-fail cov-branch cov-append cov-reset \
    looponfail boxed forked reuse-db create-db nomigrations no-migrations migrations \
    benchmark-skip benchmark-only benchmark-disable benchmark-enable benchmark-autosave \
    self-contained-html randomly-dont-reorganize randomly-dont-reset-seed \
    hypothesis-show-statistics instafail json-report flake8 mypy black isort pylint \
    doctest-plus force-flaky no-success-flaky-report snapshot-update disable-socket \
    allow-unix-socket block-network runslow run-slow clean-alluredir testmon nbval nbval-lax";

/// Reads `addopts` the way pytest's argparse parser would (no abbreviations: pytest turns
/// them off).
fn parse_addopts(tokens: &[String]) -> Result<Addopts, String> {
    let mut found = Addopts::default();
    let mut i = 0;
    let mut positional_only = false;
    while let Some(token) = tokens.get(i) {
        i += 1;
        if positional_only || token == "-" || !token.starts_with('-') || is_negative_number(token) {
            found.args.push(token.clone());
        } else if token == "--" {
            positional_only = true;
        } else if let Some(long) = token.strip_prefix("--") {
            let (name, explicit) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            let value =
                if explicit.is_some() || LONG_FLAGS.split_whitespace().any(|flag| flag == name) {
                    explicit
                } else if LONG_WITH_VALUE.contains(&name) {
                    Some(required_value(tokens, &mut i, token)?)
                } else {
                    optional_value(tokens, &mut i)
                };
            match (name, value) {
                ("ignore", Some(v)) => found.ignore.push(v),
                ("ignore-glob", Some(v)) => found.ignore_glob.push(v),
                ("deselect", Some(v)) => found.deselect.push(v),
                _ => {}
            }
        } else {
            let cluster = &token[1..];
            for (at, option) in cluster.char_indices() {
                if !SHORT_WITH_VALUE.contains(&option) {
                    continue;
                }
                let attached = &cluster[at + option.len_utf8()..];
                let attached = attached.strip_prefix('=').unwrap_or(attached);
                let value = if attached.is_empty() {
                    required_value(tokens, &mut i, &format!("-{option}"))?
                } else {
                    attached.to_string()
                };
                match option {
                    'k' => found.keyword = Some(value),
                    'm' => found.markers = Some(value),
                    _ => {}
                }
                break;
            }
        }
    }
    Ok(found)
}

fn required_value(tokens: &[String], i: &mut usize, option: &str) -> Result<String, String> {
    match tokens.get(*i) {
        Some(value) if !value.starts_with('-') || value == "-" || is_negative_number(value) => {
            *i += 1;
            Ok(value.clone())
        }
        _ => Err(format!("argument {option}: expected one argument")),
    }
}

fn optional_value(tokens: &[String], i: &mut usize) -> Option<String> {
    let value = tokens.get(*i).filter(|v| !v.starts_with('-'))?;
    *i += 1;
    Some(value.clone())
}

/// argparse's `^-\d+$|^-\d*\.\d+$`: such words are values, not options.
fn is_negative_number(token: &str) -> bool {
    let Some(digits) = token.strip_prefix('-') else {
        return false;
    };
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    match digits.split_once('.') {
        None => !digits.is_empty() && all_digits(digits),
        Some((whole, fraction)) => {
            all_digits(whole) && !fraction.is_empty() && all_digits(fraction)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// conftest.py

#[derive(Debug, Default)]
struct ConftestFacts {
    /// The string literals found for `collect_ignore`, if the name appears at all.
    paths: Option<Vec<String>>,
    globs: Option<Vec<String>>,
    /// Either name is set in some other way than one module-level list of string literals.
    dynamic: bool,
    hooks: bool,
}

/// Reads `collect_ignore`, `collect_ignore_glob` and collection hooks from a conftest's source.
/// `collect_ignore = [...]` at module level is static; `.append("x")`, `.extend([...])`,
/// `+= [...]` and assignments inside blocks add their literals but make the list dynamic;
/// any other use of the names makes it dynamic.
fn conftest_facts(source: &str) -> ConftestFacts {
    let mut facts = ConftestFacts::default();
    let Some(tree) = crate::parse::parse(source.as_bytes()) else {
        facts.dynamic = true;
        return facts;
    };
    let bytes = source.as_bytes();
    facts.dynamic = tree.root_node().has_error();
    let mut static_assignments = [0usize; 2];
    let mut lists: [Option<Vec<String>>; 2] = [None, None];
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        let text = node.utf8_text(bytes).unwrap_or_default();
        if node.kind() == "function_definition"
            && let Some(name) = node.child_by_field_name("name")
            && COLLECTION_HOOKS.contains(&name.utf8_text(bytes).unwrap_or_default())
        {
            facts.hooks = true;
        }
        let which = match text {
            "collect_ignore" => Some(0),
            "collect_ignore_glob" => Some(1),
            _ => None,
        };
        if let Some(which) = which
            && node.kind() == "identifier"
            && !is_attribute_name(&node)
        {
            let list = lists[which].get_or_insert_with(Vec::new);
            match mention(&node, bytes) {
                Mention::Static(items) => {
                    list.extend(items);
                    static_assignments[which] += 1;
                }
                Mention::Added(items) => {
                    list.extend(items);
                    facts.dynamic = true;
                }
                Mention::Unknown => facts.dynamic = true,
            }
        }
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                facts.dynamic |= static_assignments.iter().any(|&n| n > 1);
                let [paths, globs] = lists;
                facts.paths = paths;
                facts.globs = globs;
                return facts;
            }
        }
    }
}

enum Mention {
    /// `name = [literals]` at module level.
    Static(Vec<String>),
    /// Literals added in a way that depends on running the code.
    Added(Vec<String>),
    Unknown,
}

fn mention(node: &tree_sitter::Node, source: &[u8]) -> Mention {
    let Some(parent) = node.parent() else {
        return Mention::Unknown;
    };
    let is_field = |field: &str| {
        parent
            .child_by_field_name(field)
            .is_some_and(|n| n.id() == node.id())
    };
    match parent.kind() {
        "assignment" if is_field("left") => {
            let Some(items) = parent
                .child_by_field_name("right")
                .and_then(|r| string_list(&r, source))
            else {
                return Mention::Unknown;
            };
            let top_level = parent
                .parent()
                .filter(|p| p.kind() == "expression_statement")
                .and_then(|p| p.parent())
                .is_some_and(|p| p.kind() == "module");
            if top_level {
                Mention::Static(items)
            } else {
                Mention::Added(items)
            }
        }
        "augmented_assignment" if is_field("left") => parent
            .child_by_field_name("right")
            .and_then(|r| string_list(&r, source))
            .map_or(Mention::Unknown, Mention::Added),
        "attribute" if is_field("object") => {
            let method = parent
                .child_by_field_name("attribute")
                .and_then(|a| a.utf8_text(source).ok())
                .unwrap_or_default();
            let call = parent.parent().filter(|c| {
                c.kind() == "call"
                    && c.child_by_field_name("function")
                        .is_some_and(|f| f.id() == parent.id())
            });
            let arguments = call.and_then(|c| c.child_by_field_name("arguments"));
            let mut walk = parent.walk();
            let args: Vec<tree_sitter::Node> = arguments
                .map(|a| {
                    a.named_children(&mut walk)
                        .filter(|n| n.kind() != "comment")
                        .collect()
                })
                .unwrap_or_default();
            let items = match (method, args.as_slice()) {
                ("append", [arg]) => string_literal(arg, source).map(|s| vec![s]),
                ("extend", [arg]) => string_list(arg, source),
                ("insert", [_, arg]) => string_literal(arg, source).map(|s| vec![s]),
                _ => None,
            };
            items.map_or(Mention::Unknown, Mention::Added)
        }
        _ => Mention::Unknown,
    }
}

/// `x.collect_ignore` names an attribute, not the module's list.
fn is_attribute_name(node: &tree_sitter::Node) -> bool {
    node.parent().is_some_and(|p| {
        p.kind() == "attribute"
            && p.child_by_field_name("attribute")
                .is_some_and(|a| a.id() == node.id())
    })
}

/// A list or tuple display of plain string literals.
fn string_list(node: &tree_sitter::Node, source: &[u8]) -> Option<Vec<String>> {
    if !matches!(node.kind(), "list" | "tuple") {
        return None;
    }
    let mut walk = node.walk();
    node.named_children(&mut walk)
        .filter(|n| n.kind() != "comment")
        .map(|n| string_literal(&n, source))
        .collect()
}

/// The value of a `str` literal without interpolation (`"x"`, `r'x'`, `f"x"`).
fn string_literal(node: &tree_sitter::Node, source: &[u8]) -> Option<String> {
    if node.kind() != "string" {
        return None;
    }
    let mut walk = node.walk();
    let children: Vec<tree_sitter::Node> = node.children(&mut walk).collect();
    let start = children.first().filter(|n| n.kind() == "string_start")?;
    let end = children.last().filter(|n| n.kind() == "string_end")?;
    if children.iter().any(|n| n.kind() == "interpolation") {
        return None;
    }
    let prefix = start
        .utf8_text(source)
        .ok()?
        .trim_end_matches(['"', '\''])
        .to_ascii_lowercase();
    if prefix.contains('b') {
        return None;
    }
    let body = std::str::from_utf8(source.get(start.end_byte()..end.start_byte())?).ok()?;
    let body = if prefix.contains('f') {
        body.replace("{{", "{").replace("}}", "}")
    } else {
        body.to_string()
    };
    if prefix.contains('r') {
        Some(body)
    } else {
        unescape(&body)
    }
}

/// Python's escape sequences in a non-raw string; `None` for `\N{...}` and invalid escapes.
fn unescape(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(escape) = chars.next() else {
            out.push('\\');
            break;
        };
        let mut hex = |digits: usize| -> Option<char> {
            let text: String = (0..digits).filter_map(|_| chars.next()).collect();
            if text.len() != digits {
                return None;
            }
            char::from_u32(u32::from_str_radix(&text, 16).ok()?)
        };
        match escape {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(escape),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{07}'),
            'b' => out.push('\u{08}'),
            'f' => out.push('\u{0c}'),
            'v' => out.push('\u{0b}'),
            'x' => out.push(hex(2)?),
            'u' => out.push(hex(4)?),
            'U' => out.push(hex(8)?),
            '0'..='7' => {
                let mut value = escape.to_digit(8).unwrap_or_default();
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(digit) => {
                            value = value * 8 + digit;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value)?);
            }
            'N' => return None,
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// -k / -m expressions

/// How deep `not` and parentheses may nest: deeper is refused rather than risking the stack
/// (Python would hit its recursion limit too).
const MAX_EXPRESSION_DEPTH: usize = 100;

/// pytest's `-k`/`-m` expression language: `or`, `and`, `not`, parentheses, identifiers, and
/// `name(key=value, ...)` (for `-m`).
#[derive(Debug, PartialEq)]
enum Expr {
    False,
    Ident(String),
    Call(String),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Token<'a> {
    LParen,
    RParen,
    Equal,
    Comma,
    Str,
    Or,
    And,
    Not,
    Ident(&'a str),
    End,
}

impl Token<'_> {
    fn describe(&self) -> String {
        match self {
            Token::LParen => "left parenthesis".into(),
            Token::RParen => "right parenthesis".into(),
            Token::Equal => "=".into(),
            Token::Comma => ",".into(),
            Token::Str => "string literal".into(),
            Token::Or => "or".into(),
            Token::And => "and".into(),
            Token::Not => "not".into(),
            Token::Ident(name) => format!("identifier '{name}'"),
            Token::End => "end of input".into(),
        }
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ':' | '+' | '-' | '.' | '[' | ']' | '\\' | '/')
}

/// The tokens with their 1-based columns.
fn lex(input: &str) -> Result<Vec<(Token<'_>, usize)>, (usize, String)> {
    let mut tokens = Vec::new();
    let mut rest = input.char_indices().enumerate().peekable();
    while let Some(&(index, (at, c))) = rest.peek() {
        let column = index + 1;
        let single = match c {
            ' ' | '\t' => {
                rest.next();
                continue;
            }
            '(' => Some(Token::LParen),
            ')' => Some(Token::RParen),
            '=' => Some(Token::Equal),
            ',' => Some(Token::Comma),
            _ => None,
        };
        if let Some(token) = single {
            rest.next();
            tokens.push((token, column));
        } else if c == '\'' || c == '"' {
            let Some(close) = input[at + 1..].find(c) else {
                return Err((column + 1, format!("closing quote \"{c}\" is missing")));
            };
            if let Some(backslash) = input.find('\\') {
                let column = input[..backslash].chars().count() + 1;
                return Err((
                    column,
                    "escaping with \"\\\" not supported in marker expression".into(),
                ));
            }
            let end = at + 1 + close;
            while rest.peek().is_some_and(|&(_, (i, _))| i <= end) {
                rest.next();
            }
            tokens.push((Token::Str, column));
        } else if is_ident_char(c) {
            let mut end = at;
            while let Some(&(_, (i, ch))) = rest.peek() {
                if !is_ident_char(ch) {
                    break;
                }
                end = i + ch.len_utf8();
                rest.next();
            }
            let token = match &input[at..end] {
                "or" => Token::Or,
                "and" => Token::And,
                "not" => Token::Not,
                ident => Token::Ident(ident),
            };
            tokens.push((token, column));
        } else {
            return Err((column, format!("unexpected character \"{c}\"")));
        }
    }
    tokens.push((Token::End, input.chars().count() + 1));
    Ok(tokens)
}

struct ExprParser<'a> {
    tokens: Vec<(Token<'a>, usize)>,
    at: usize,
}

impl<'a> ExprParser<'a> {
    fn peek(&self) -> (Token<'a>, usize) {
        self.tokens.get(self.at).copied().unwrap_or((Token::End, 0))
    }

    fn accept(&mut self, wanted: Token) -> bool {
        let matches = std::mem::discriminant(&self.peek().0) == std::mem::discriminant(&wanted);
        if matches {
            self.at += 1;
        }
        matches
    }

    fn reject<T>(&self, expected: &str) -> Result<T, (usize, String)> {
        let (token, column) = self.peek();
        Err((
            column,
            format!("expected {expected}; got {}", token.describe()),
        ))
    }

    fn expect(&mut self, wanted: Token, expected: &str) -> Result<(), (usize, String)> {
        if self.accept(wanted) {
            Ok(())
        } else {
            self.reject(expected)
        }
    }

    fn or_expr(&mut self, depth: usize) -> Result<Expr, (usize, String)> {
        let mut terms = vec![self.and_expr(depth)?];
        while self.accept(Token::Or) {
            terms.push(self.and_expr(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and_expr(&mut self, depth: usize) -> Result<Expr, (usize, String)> {
        let mut terms = vec![self.not_expr(depth)?];
        while self.accept(Token::And) {
            terms.push(self.not_expr(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn not_expr(&mut self, depth: usize) -> Result<Expr, (usize, String)> {
        if depth > MAX_EXPRESSION_DEPTH {
            return Err((self.peek().1, "expression nested too deeply".into()));
        }
        if self.accept(Token::Not) {
            return Ok(Expr::Not(Box::new(self.not_expr(depth + 1)?)));
        }
        if self.accept(Token::LParen) {
            let inner = self.or_expr(depth + 1)?;
            self.expect(Token::RParen, "right parenthesis")?;
            return Ok(inner);
        }
        let (Token::Ident(name), _) = self.peek() else {
            return self.reject("not OR left parenthesis OR identifier");
        };
        self.at += 1;
        if !self.accept(Token::LParen) {
            return Ok(Expr::Ident(name.to_string()));
        }
        loop {
            let (Token::Ident(key), column) = self.peek() else {
                return self.reject("identifier");
            };
            let mut key_chars = key.chars();
            let valid = key_chars
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && key_chars.all(|c| c.is_alphanumeric() || c == '_');
            if !valid {
                return Err((column, format!("not a valid python identifier {key}")));
            }
            self.at += 1;
            self.expect(Token::Equal, "=")?;
            if !self.accept(Token::Str) {
                let (Token::Ident(value), column) = self.peek() else {
                    return self.reject("string literal OR identifier");
                };
                let number = value.strip_prefix('-').unwrap_or(value);
                let is_int = !number.is_empty() && number.chars().all(|c| c.is_ascii_digit());
                if !is_int && !matches!(value, "True" | "False" | "None") {
                    return Err((column, format!("unexpected character/s \"{value}\"")));
                }
                self.at += 1;
            }
            if !self.accept(Token::Comma) {
                break;
            }
        }
        self.expect(Token::RParen, "right parenthesis")?;
        Ok(Expr::Call(name.to_string()))
    }
}

impl Expr {
    /// Parses an expression; `option` (`-k`/`-m`) is for the message.
    fn parse(input: &str, option: &str) -> Result<Expr, String> {
        let wrong = |(column, message): (usize, String)| {
            format!("Wrong expression passed to '{option}': {input}: at column {column}: {message}")
        };
        let tokens = lex(input).map_err(wrong)?;
        let mut parser = ExprParser { tokens, at: 0 };
        if parser.accept(Token::End) {
            return Ok(Expr::False);
        }
        let expr = parser.or_expr(0).map_err(wrong)?;
        parser.expect(Token::End, "end of input").map_err(wrong)?;
        Ok(expr)
    }

    fn eval(&self, matches: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Expr::False => false,
            Expr::Ident(name) | Expr::Call(name) => matches(name),
            Expr::Not(inner) => !inner.eval(matches),
            Expr::And(terms) => terms.iter().all(|t| t.eval(matches)),
            Expr::Or(terms) => terms.iter().any(|t| t.eval(matches)),
        }
    }

    fn has_call(&self) -> bool {
        match self {
            Expr::Call(_) => true,
            Expr::Not(inner) => inner.has_call(),
            Expr::And(terms) | Expr::Or(terms) => terms.iter().any(Expr::has_call),
            Expr::False | Expr::Ident(_) => false,
        }
    }
}

/// pytest refuses a malformed expression, and call parameters in `-k`.
fn validate_expression(expr: &str, option: &str) -> Result<(), String> {
    let expr = if option == "-k" {
        expr.trim_start()
    } else {
        expr
    };
    if expr.is_empty() {
        return Ok(());
    }
    let parsed = Expr::parse(expr, option)?;
    if option == "-k" && parsed.has_call() {
        return Err(format!(
            "Wrong expression passed to '-k': {expr}: \
             Keyword expressions do not support call parameters."
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Paths and patterns

/// A relative path with `.`, `..`, empty parts and a leading `./` removed; `None` when it is
/// absolute or climbs out of the root.
fn normalize(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// `entry` (from a conftest in `dir`, or from `addopts` with `dir` = root) as a path relative
/// to the root, like pytest's `absolutepath(dir / entry)`. Entries outside the root are kept
/// as written, so they never match a file in the tree.
fn resolve(dir: &str, entry: &str) -> String {
    if entry.starts_with('/') {
        return entry.to_string();
    }
    let joined = join(dir, entry);
    normalize(&joined).unwrap_or(joined)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether `path` is `ancestor` or below it (`""` is the root, above everything).
fn is_within(ancestor: &str, path: &str) -> bool {
    ancestor.is_empty()
        || path == ancestor
        || (path.starts_with(ancestor) && path.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

/// A stand-in for the root's absolute location: pytest matches `*/pattern` and ignore globs
/// against absolute paths, where a wildcard can also match the root's own name.
const ABSOLUTE_ROOT: &str = "/\u{0}";

/// pytest's `fnmatch_ex`: a pattern without `/` matches the file name; one with `/` matches
/// the end of the absolute path.
fn fnmatch_ex(pattern: &str, path: &str) -> bool {
    if pattern.contains('/') {
        fnmatch(&format!("{ABSOLUTE_ROOT}/{path}"), &format!("*/{pattern}"))
    } else {
        fnmatch(basename(path), pattern)
    }
}

/// An ignore glob (relative to the root) against a path, as pytest compares absolute ones.
fn fnmatch_rooted(glob: &str, path: &str) -> bool {
    if glob.starts_with('/') {
        return false;
    }
    fnmatch(
        &format!("{ABSOLUTE_ROOT}/{path}"),
        &format!("{ABSOLUTE_ROOT}/{glob}"),
    )
}

#[derive(Debug)]
enum Glob {
    Star,
    AnyChar,
    Char(char),
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    fn matches(&self, c: char) -> bool {
        match self {
            Glob::Star | Glob::AnyChar => true,
            Glob::Char(expected) => *expected == c,
            Glob::Set { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// Python's `fnmatch.fnmatch` on POSIX: `*` (crossing `/`), `?`, `[seq]`, `[!seq]`; an
/// unclosed `[` is literal.
fn fnmatch(name: &str, pattern: &str) -> bool {
    let tokens = compile_glob(pattern);
    let name: Vec<char> = name.chars().collect();
    let (mut t, mut n) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match tokens.get(t) {
            Some(Glob::Star) => {
                backtrack = Some((t, n));
                t += 1;
            }
            Some(token) if token.matches(name[n]) => {
                t += 1;
                n += 1;
            }
            _ => match backtrack {
                Some((star, from)) => {
                    t = star + 1;
                    n = from + 1;
                    backtrack = Some((star, from + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|token| matches!(token, Glob::Star))
}

fn compile_glob(pattern: &str) -> Vec<Glob> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '*' => {
                if !matches!(tokens.last(), Some(Glob::Star)) {
                    tokens.push(Glob::Star);
                }
            }
            '?' => tokens.push(Glob::AnyChar),
            '[' => {
                let mut j = i;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while chars.get(j).is_some_and(|&ch| ch != ']') {
                    j += 1;
                }
                if j >= chars.len() {
                    tokens.push(Glob::Char('['));
                    continue;
                }
                let mut body = &chars[i..j];
                i = j + 1;
                let negated = body.first() == Some(&'!');
                if negated {
                    body = &body[1..];
                }
                let mut ranges = Vec::new();
                let mut k = 0;
                while k < body.len() {
                    if k + 2 < body.len() && body[k + 1] == '-' {
                        // A reversed range matches nothing, as Python drops it.
                        ranges.push((body[k], body[k + 2]));
                        k += 3;
                    } else {
                        ranges.push((body[k], body[k]));
                        k += 1;
                    }
                }
                tokens.push(Glob::Set { negated, ranges });
            }
            other => tokens.push(Glob::Char(other)),
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Reads a tree given as (path, text) pairs.
    fn read_tree(files: &[(&str, &str)]) -> Result<PytestConfig, CollectError> {
        let paths: Vec<String> = files.iter().map(|(p, _)| p.to_string()).collect();
        let texts: HashMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        PytestConfig::read(&paths, &|p| texts.get(p).cloned())
    }

    fn config(files: &[(&str, &str)]) -> PytestConfig {
        match read_tree(files) {
            Ok(config) => config,
            Err(error) => panic!("{error}"),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    // ---- configuration files and their precedence

    #[test]
    fn no_config_file_means_pytest_defaults() {
        let c = config(&[("tests/test_a.py", ""), ("src/app.py", "")]);
        assert_eq!(c.source, None);
        assert_eq!(c.python_files, strings(&["test_*.py", "*_test.py"]));
        assert_eq!(c.python_classes, strings(&["Test"]));
        assert_eq!(c.python_functions, strings(&["test"]));
        assert_eq!(c.norecursedirs.len(), 9);
        assert_eq!(c.collection_roots, strings(&[""]));
        assert_eq!(
            c,
            PytestConfig {
                collection_roots: strings(&[""]),
                ..PytestConfig::default()
            }
        );
    }

    #[test]
    fn pytest_ini_wins_over_pyproject_tox_and_setup_cfg() {
        let c = config(&[
            ("pytest.ini", "[pytest]\ntestpaths = from_ini\n"),
            (
                "pyproject.toml",
                "[tool.pytest.ini_options]\ntestpaths = [\"from_toml\"]\n",
            ),
            ("tox.ini", "[pytest]\ntestpaths = from_tox\n"),
            ("setup.cfg", "[tool:pytest]\ntestpaths = from_cfg\n"),
        ]);
        assert_eq!(c.source.as_deref(), Some("pytest.ini"));
        assert_eq!(c.testpaths, strings(&["from_ini"]));
    }

    #[test]
    fn an_empty_pytest_ini_still_wins() {
        let c = config(&[
            ("pytest.ini", "# nothing\n"),
            ("tox.ini", "[pytest]\ntestpaths = t\n"),
        ]);
        assert_eq!(c.source.as_deref(), Some("pytest.ini"));
        assert!(c.testpaths.is_empty());
    }

    #[test]
    fn pyproject_wins_over_tox_and_setup_cfg() {
        let c = config(&[
            (
                "pyproject.toml",
                "[tool.pytest.ini_options]\npython_files = \"check_*.py  *_check.py\"\n",
            ),
            ("tox.ini", "[pytest]\npython_files = from_tox\n"),
            ("setup.cfg", "[tool:pytest]\npython_files = from_cfg\n"),
        ]);
        assert_eq!(c.source.as_deref(), Some("pyproject.toml"));
        assert_eq!(c.python_files, strings(&["check_*.py", "*_check.py"]));
    }

    #[test]
    fn a_pyproject_without_pytest_table_is_passed_over() {
        let c = config(&[
            (
                "pyproject.toml",
                "[project]\nname = \"x\"\n[tool.black]\nline-length = 99\n",
            ),
            (
                "tox.ini",
                "[tox]\nenvlist = py3\n[pytest]\ntestpaths = tests\n",
            ),
        ]);
        assert_eq!(c.source.as_deref(), Some("tox.ini"));
        assert_eq!(c.testpaths, strings(&["tests"]));
    }

    #[test]
    fn tox_wins_over_setup_cfg_and_tox_without_section_is_passed_over() {
        let both = config(&[
            ("tox.ini", "[pytest]\naddopts = -x\n"),
            ("setup.cfg", "[tool:pytest]\naddopts = -q\n"),
        ]);
        assert_eq!(both.source.as_deref(), Some("tox.ini"));
        let cfg = config(&[
            ("tox.ini", "[tox]\nenvlist = py3\n"),
            ("setup.cfg", "[tool:pytest]\naddopts = -q\n"),
        ]);
        assert_eq!(cfg.source.as_deref(), Some("setup.cfg"));
        assert_eq!(cfg.addopts, strings(&["-q"]));
    }

    #[test]
    fn setup_cfg_pytest_section_is_refused_as_pytest_does() {
        let error = read_tree(&[("setup.cfg", "[pytest]\naddopts = -q\n")]).unwrap_err();
        assert!(
            matches!(&error, CollectError::Rejected { file, message } if file == "setup.cfg" && message.contains("[tool:pytest]")),
            "{error}"
        );
        // ... but a setup.cfg with no pytest section is simply not the source.
        assert_eq!(
            config(&[("setup.cfg", "[metadata]\nname = x\n")]).source,
            None
        );
    }

    #[test]
    fn pytest_toml_wins_over_pytest_ini_even_when_empty() {
        let c = config(&[
            ("pytest.toml", ""),
            ("pytest.ini", "[pytest]\ntestpaths = t\n"),
        ]);
        assert_eq!(c.source.as_deref(), Some("pytest.toml"));
        let c = config(&[
            (".pytest.toml", "[pytest]\ntestpaths = [\"t\"]\n"),
            ("t/test_a.py", ""),
        ]);
        assert_eq!(c.testpaths, strings(&["t"]));
    }

    #[test]
    fn pyproject_native_tool_pytest_table_is_read() {
        let c = config(&[(
            "pyproject.toml",
            "[tool.pytest]\naddopts = [\"-k\", \"not slow\"]\n",
        )]);
        assert_eq!(c.keyword.as_deref(), Some("not slow"));
        let error = read_tree(&[(
            "pyproject.toml",
            "[tool.pytest]\naddopts = [\"-q\"]\n[tool.pytest.ini_options]\naddopts = \"-q\"\n",
        )])
        .unwrap_err();
        assert!(error.to_string().contains("both"), "{error}");
    }

    #[test]
    fn invalid_toml_is_an_error_naming_the_file_and_line() {
        let error = read_tree(&[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\ntestpaths = [\"tests\"\n",
        )])
        .unwrap_err();
        match &error {
            CollectError::Toml { file, line, .. } => {
                assert_eq!(file, "pyproject.toml");
                assert!(*line >= 2, "{error}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(error.file(), "pyproject.toml");
        assert!(error.help().contains("pyproject.toml"));
    }

    #[test]
    fn a_broken_file_after_the_winner_is_not_read() {
        let c = config(&[
            ("pytest.ini", "[pytest]\n"),
            ("pyproject.toml", "not toml ["),
            ("tox.ini", "garbage line\n"),
        ]);
        assert_eq!(c.source.as_deref(), Some("pytest.ini"));
    }

    #[test]
    fn unreadable_config_file_is_an_error() {
        let paths = strings(&["pytest.ini"]);
        let error = PytestConfig::read(&paths, &|_| None).unwrap_err();
        assert_eq!(error.file(), "pytest.ini");
    }

    #[test]
    fn ini_continuation_lines_and_comments_follow_iniconfig() {
        let c = config(&[(
            "pytest.ini",
            "; comment\n[pytest]\n# comment\ntestpaths =\n    tests\n\n    # an indented comment\n    integration\npython_functions = check_* ; kept\n",
        )]);
        assert_eq!(c.testpaths, strings(&["tests", "integration"]));
        assert_eq!(
            c.python_functions,
            strings(&["check_*", ";", "kept"]),
            "no inline comments"
        );
        let colon = config(&[("tox.ini", "[pytest]\ntestpaths: a b\n")]);
        assert_eq!(colon.testpaths, strings(&["a", "b"]));
    }

    #[test]
    fn ini_syntax_errors_name_file_and_line() {
        let cases = [
            ("[pytest]\nnot a key\n", 2, "unexpected line"),
            ("  indented = 1\n", 1, "unexpected value continuation"),
            ("key = 1\n", 1, "no section header"),
            ("[pytest]\na = 1\na = 2\n", 3, "duplicate name"),
            ("[pytest]\n[pytest]\n", 2, "duplicate section"),
            ("[pytest]\n[]\n", 2, "empty section name"),
            (
                "[pytest]\n\n[other]\n  orphan\n",
                4,
                "unexpected value continuation",
            ),
        ];
        for (text, want_line, want) in cases {
            match read_tree(&[("pytest.ini", text)]) {
                Err(CollectError::Ini {
                    file,
                    line,
                    message,
                }) => {
                    assert_eq!(
                        (file.as_str(), line),
                        ("pytest.ini", want_line),
                        "{text:?}: {message}"
                    );
                    assert!(message.contains(want), "{text:?}: {message}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn toml_scalars_become_python_strings_and_lists_stay_lists() {
        let c = config(&[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\ntestpaths = [\"a b\", \"c\"]\nnorecursedirs = \"x  'y z'\"\n",
        )]);
        assert_eq!(c.testpaths, strings(&["a b", "c"]));
        assert_eq!(c.norecursedirs, strings(&["x", "y z"]));
        assert_eq!(python_str(&toml::Value::Boolean(true)), "True");
        assert_eq!(python_str(&toml::Value::Float(1.0)), "1.0");
    }

    #[test]
    fn fingerprint_ignores_the_file_name_and_unrelated_options() {
        let ini = config(&[(
            "pytest.ini",
            "[pytest]\ntestpaths = t\naddopts = -q -k fast\n",
        )]);
        let tox = config(&[(
            "tox.ini",
            "[pytest]\ntestpaths = t\naddopts = -k fast --tb=short\n",
        )]);
        assert_eq!(ini.fingerprint(), tox.fingerprint());
        let other = config(&[("tox.ini", "[pytest]\ntestpaths = u\naddopts = -k fast\n")]);
        assert_ne!(ini.fingerprint(), other.fingerprint());
    }

    // ---- addopts

    #[test]
    fn addopts_keyword_and_ignore_from_the_brief() {
        let c = config(&[
            (
                "pytest.ini",
                "[pytest]\naddopts = -k 'not slow' --ignore=tests/legacy\n",
            ),
            ("tests/test_a.py", ""),
            ("tests/legacy/test_old.py", ""),
        ]);
        assert_eq!(
            c.addopts,
            strings(&["-k", "not slow", "--ignore=tests/legacy"])
        );
        assert_eq!(c.keyword.as_deref(), Some("not slow"));
        assert_eq!(c.ignore, strings(&["tests/legacy"]));
        assert!(c.collects_file("tests/test_a.py"));
        assert!(!c.collects_file("tests/legacy/test_old.py"));
        assert!(c.deselected("tests/test_a.py::test_slow_upload"));
        assert!(
            c.deselected("tests/test_a.py::TestSLOW::test_x"),
            "case-insensitive"
        );
        assert!(!c.deselected("tests/test_a.py::test_fast"));
    }

    #[test]
    fn addopts_options_in_all_their_spellings() {
        let a = parse_addopts(&strings(&[
            "-ra",
            "-q",
            "--ignore",
            "x",
            "--ignore-glob=*_old.py",
            "--deselect",
            "t.py::test_a",
            "-mslow",
            "-vk=fast",
            "-n",
            "4",
            "--tb=short",
            "--cov",
            "src",
            "--strict-markers",
            "--",
            "-weird-path",
        ]))
        .unwrap();
        assert_eq!(a.ignore, strings(&["x"]));
        assert_eq!(a.ignore_glob, strings(&["*_old.py"]));
        assert_eq!(a.deselect, strings(&["t.py::test_a"]));
        assert_eq!(a.markers.as_deref(), Some("slow"));
        assert_eq!(a.keyword.as_deref(), Some("fast"));
        assert_eq!(a.args, strings(&["-weird-path"]), "src is --cov's value");
        let flags_then_path =
            parse_addopts(&strings(&["--strict-markers", "tests", "-x", "other"])).unwrap();
        assert_eq!(flags_then_path.args, strings(&["tests", "other"]));
        let last_k_wins = parse_addopts(&strings(&["-k", "a", "-k", "b"])).unwrap();
        assert_eq!(last_k_wins.keyword.as_deref(), Some("b"));
    }

    #[test]
    fn addopts_as_a_toml_list_is_not_split_again() {
        let c = config(&[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\naddopts = [\"-m\", \"not integration\"]\n",
        )]);
        assert_eq!(c.markers_expr.as_deref(), Some("not integration"));
    }

    #[test]
    fn broken_addopts_are_refused() {
        for addopts in [
            "-k 'not slow",
            "--ignore",
            "-k",
            "-k 'a and'",
            "-k 'f(x=1)'",
            "-m 'a b'",
            "trailing\\",
        ] {
            let text = format!("[pytest]\naddopts = {addopts}\n");
            let error = read_tree(&[("pytest.ini", &text), ("tests/test_a.py", "")]).unwrap_err();
            assert!(
                matches!(&error, CollectError::Rejected { file, .. } if file == "pytest.ini"),
                "{addopts}: {error}"
            );
        }
        // -m accepts call parameters.
        config(&[(
            "pytest.ini",
            "[pytest]\naddopts = -m \"device(serial='1', n=-2, on=True)\"\n",
        )]);
    }

    #[test]
    fn addopts_paths_replace_testpaths() {
        let c = config(&[
            (
                "pytest.ini",
                "[pytest]\ntestpaths = tests\naddopts = --strict-markers other/ tests/test_b.py::test_x\n",
            ),
            ("tests/test_a.py", ""),
            ("tests/test_b.py", ""),
            ("other/test_c.py", ""),
        ]);
        assert_eq!(c.args, strings(&["other/", "tests/test_b.py::test_x"]));
        assert_eq!(c.collection_roots, strings(&["other", "tests/test_b.py"]));
        assert!(c.collects_file("other/test_c.py"));
        assert!(c.collects_file("tests/test_b.py"));
        assert!(!c.collects_file("tests/test_a.py"));
        let missing = read_tree(&[("pytest.ini", "[pytest]\naddopts = nowhere\n")]).unwrap_err();
        assert!(
            missing.to_string().contains("not found: nowhere"),
            "{missing}"
        );
    }

    #[test]
    fn shell_split_follows_shlex() {
        let split = |s: &str| shell_split(s).unwrap();
        assert_eq!(
            split("  a  'b c'\n\"d \\\" e\" f\\ g ''"),
            strings(&["a", "b c", "d \" e", "f g", ""])
        );
        assert_eq!(split(r#""a\b" 'x\y'"#), strings(&[r"a\b", r"x\y"]));
        assert_eq!(split("a'b'\"c\""), strings(&["abc"]));
        assert_eq!(
            split("# not a comment"),
            strings(&["#", "not", "a", "comment"])
        );
        assert_eq!(shell_split("'open").unwrap_err(), "No closing quotation");
        assert_eq!(shell_split("end\\").unwrap_err(), "No escaped character");
    }

    // ---- files

    #[test]
    fn default_python_files_match_the_file_name() {
        let c = config(&[("tests/test_a.py", "")]);
        assert!(c.collects_file("tests/test_a.py"));
        assert!(c.collects_file("pkg/a_test.py"));
        assert!(c.collects_file("./tests/sub/test_b.py"));
        assert!(!c.collects_file("tests/helpers.py"));
        assert!(!c.collects_file("tests/test_a.txt"));
        assert!(!c.collects_file("tests/conftest.py"));
        assert!(!c.collects_file("../test_outside.py"));
        assert!(!c.collects_file("/abs/test_a.py"));
    }

    #[test]
    fn custom_python_files_replace_the_defaults() {
        let c = config(&[(
            "pytest.ini",
            "[pytest]\npython_files = check_*.py tests/unit/*.py\n",
        )]);
        assert!(c.collects_file("a/check_x.py"));
        assert!(!c.collects_file("a/test_x.py"));
        assert!(
            c.collects_file("tests/unit/anything.py"),
            "a pattern with / matches the path's end"
        );
        assert!(c.collects_file("deep/tests/unit/x.py"));
        assert!(!c.collects_file("tests/other/x.py"));
        let none = config(&[("pytest.ini", "[pytest]\npython_files =\n")]);
        assert!(
            !none.collects_file("test_a.py"),
            "an empty list collects nothing, as in pytest"
        );
    }

    #[test]
    fn testpaths_limit_where_pytest_looks() {
        let c = config(&[
            (
                "pytest.ini",
                "[pytest]\ntestpaths = tests integration/*/ missing\n",
            ),
            ("tests/test_a.py", ""),
            ("integration/db/test_db.py", ""),
            ("integration/.hidden/test_h.py", ""),
            ("scripts/test_tool.py", ""),
        ]);
        assert_eq!(c.collection_roots, strings(&["tests", "integration/db"]));
        assert!(c.collects_file("tests/test_a.py"));
        assert!(c.collects_file("integration/db/test_db.py"));
        assert!(!c.collects_file("integration/.hidden/test_h.py"));
        assert!(!c.collects_file("scripts/test_tool.py"));
    }

    #[test]
    fn testpaths_that_match_nothing_fall_back_to_the_root() {
        let c = config(&[
            ("pytest.ini", "[pytest]\ntestpaths = gone\n"),
            ("x/test_a.py", ""),
        ]);
        assert_eq!(c.collection_roots, strings(&[""]));
        assert!(c.collects_file("x/test_a.py"));
    }

    #[test]
    fn recursive_testpaths_glob() {
        let c = config(&[
            ("pytest.ini", "[pytest]\ntestpaths = pkgs/**/tests\n"),
            ("pkgs/a/tests/test_1.py", ""),
            ("pkgs/a/b/tests/test_2.py", ""),
            ("pkgs/tests/test_3.py", ""),
        ]);
        assert_eq!(
            c.collection_roots,
            strings(&["pkgs/a/b/tests", "pkgs/a/tests", "pkgs/tests"])
        );
    }

    #[test]
    fn an_explicit_path_skips_norecursedirs_and_python_files() {
        let c = config(&[
            (
                "pytest.ini",
                "[pytest]\ntestpaths = build/tests checks/smoke.py\n",
            ),
            ("build/tests/test_a.py", ""),
            ("build/tests/dist/test_b.py", ""),
            ("checks/smoke.py", ""),
            ("checks/test_other.py", ""),
        ]);
        assert!(c.collects_file("build/tests/test_a.py"));
        assert!(
            !c.collects_file("build/tests/dist/test_b.py"),
            "below a root, norecursedirs applies"
        );
        assert!(c.collects_file("checks/smoke.py"));
        assert!(!c.collects_file("checks/test_other.py"));
    }

    #[test]
    fn default_norecursedirs() {
        let c = config(&[("t/test_a.py", "")]);
        for skipped in [
            ".git/test_a.py",
            ".venv/lib/test_a.py",
            "build/test_a.py",
            "dist/x/test_a.py",
            "node_modules/p/test_a.py",
            "venv/test_a.py",
            "x.egg/test_a.py",
            "CVS/test_a.py",
            "_darcs/test_a.py",
            "{arch}/test_a.py",
            "tests/__pycache__/test_a.py",
        ] {
            assert!(!c.collects_file(skipped), "{skipped}");
        }
        assert!(c.collects_file("tests/builds/test_a.py"));
        assert!(
            c.collects_file("tests/test_build.py"),
            "norecursedirs is for directories"
        );
    }

    #[test]
    fn custom_norecursedirs_replace_the_defaults() {
        let c = config(&[(
            "pytest.ini",
            "[pytest]\nnorecursedirs = fixtures tests/data*\n",
        )]);
        assert!(!c.collects_file("tests/fixtures/test_a.py"));
        assert!(!c.collects_file("tests/data_big/test_a.py"));
        assert!(c.collects_file("other/data_big/test_a.py"));
        assert!(c.collects_file("build/test_a.py"), "defaults are gone");
    }

    #[test]
    fn virtualenvs_are_skipped() {
        let c = config(&[
            ("env3/pyvenv.cfg", ""),
            ("env3/lib/test_x.py", ""),
            ("conda/conda-meta/history", ""),
        ]);
        assert_eq!(c.virtualenvs, strings(&["conda", "env3"]));
        assert!(!c.collects_file("env3/lib/test_x.py"));
        assert!(!c.collects_file("conda/test_x.py"));
    }

    #[test]
    fn ignore_glob_matches_whole_paths() {
        let c = config(&[(
            "pytest.ini",
            "[pytest]\naddopts = --ignore-glob=*_old.py --ignore-glob=tests/v1*\n",
        )]);
        assert_eq!(c.ignore_glob, strings(&["*_old.py", "tests/v1*"]));
        assert_eq!(c.ignore, c.ignore_glob, "`ignore` lists both kinds");
        assert!(!c.collects_file("tests/deep/test_x_old.py"));
        assert!(!c.collects_file("tests/v1/test_a.py"));
        assert!(c.collects_file("tests/v2/test_a.py"));
    }

    // ---- conftest.py

    #[test]
    fn collect_ignore_in_a_nested_conftest() {
        let c = config(&[
            (
                "tests/conftest.py",
                "collect_ignore = [\"legacy\", 'test_skip_me.py']\ncollect_ignore_glob = [\"*_py2.py\"]\n",
            ),
            ("tests/legacy/test_old.py", ""),
            ("tests/test_skip_me.py", ""),
            ("tests/sub/test_x_py2.py", ""),
            ("tests/test_a.py", ""),
            ("legacy/test_old.py", ""),
        ]);
        assert_eq!(
            c.collect_ignore,
            strings(&["tests/*_py2.py", "tests/legacy", "tests/test_skip_me.py"])
        );
        assert_eq!(
            c.conftest_ignores,
            vec![ConftestIgnore {
                conftest: "tests/conftest.py".into(),
                paths: Some(strings(&["tests/legacy", "tests/test_skip_me.py"])),
                globs: Some(strings(&["tests/*_py2.py"])),
            }]
        );
        assert!(c.dynamic_collect_ignore.is_empty());
        assert!(!c.collects_file("tests/legacy/test_old.py"));
        assert!(!c.collects_file("tests/test_skip_me.py"));
        assert!(!c.collects_file("tests/sub/test_x_py2.py"));
        assert!(c.collects_file("tests/test_a.py"));
        assert!(
            c.collects_file("legacy/test_old.py"),
            "the conftest only speaks for its directory"
        );
    }

    #[test]
    fn the_nearest_conftest_list_wins() {
        let c = config(&[
            (
                "conftest.py",
                "collect_ignore = ['tests/old', 'setup.py']\n",
            ),
            ("tests/conftest.py", "collect_ignore = []\n"),
            ("tests/old/test_a.py", ""),
            ("other/old/test_a.py", ""),
        ]);
        assert!(
            c.collects_file("tests/old/test_a.py"),
            "tests/conftest.py shadows the root list"
        );
        let only_root = config(&[
            ("conftest.py", "collect_ignore = ['tests/old']\n"),
            ("tests/old/test_a.py", ""),
        ]);
        assert!(!only_root.collects_file("tests/old/test_a.py"));
    }

    #[test]
    fn collect_ignore_built_by_code_is_dynamic() {
        let c = config(&[
            (
                "conftest.py",
                "import sys\ncollect_ignore = ['setup.py']\nif sys.version_info[0] > 2:\n    collect_ignore.append('py2')\n",
            ),
            ("a/conftest.py", "collect_ignore = [p for p in ('x',)]\n"),
            (
                "b/conftest.py",
                "collect_ignore_glob = []\ncollect_ignore_glob += [r'*\\old*']\n",
            ),
            (
                "c/conftest.py",
                "collect_ignore = ['fine']\ncfg.collect_ignore = 1\n",
            ),
        ]);
        assert_eq!(
            c.dynamic_collect_ignore,
            strings(&["a/conftest.py", "b/conftest.py", "conftest.py"])
        );
        let root = c
            .conftest_ignores
            .iter()
            .find(|i| i.conftest == "conftest.py")
            .unwrap();
        assert_eq!(root.paths, Some(strings(&["setup.py", "py2"])));
        let b = c
            .conftest_ignores
            .iter()
            .find(|i| i.conftest == "b/conftest.py")
            .unwrap();
        assert_eq!(b.globs, Some(strings(&[r"b/*\old*"])));
        assert_eq!(b.paths, None);
    }

    #[test]
    fn conftest_string_literals_are_decoded() {
        let facts = conftest_facts(
            "collect_ignore = [\"a\\\\b\", 'c\\x41', u'd', f'e{{}}', \"\"\"g\"\"\"]\n",
        );
        assert_eq!(facts.paths, Some(strings(&["a\\b", "cA", "d", "e{}", "g"])));
        assert!(!facts.dynamic);
        for dynamic in [
            "collect_ignore = [f'{x}']\n",
            "collect_ignore = [b'x']\n",
            "collect_ignore = ['a' 'b']\n",
            "collect_ignore = ['a'\n",
        ] {
            assert!(conftest_facts(dynamic).dynamic, "{dynamic}");
        }
    }

    #[test]
    fn collection_hooks_are_recorded() {
        let c = config(&[
            (
                "conftest.py",
                "import pytest\n@pytest.hookimpl(tryfirst=True)\ndef pytest_collection_modifyitems(config, items):\n    items[:] = []\n",
            ),
            (
                "tests/conftest.py",
                "def pytest_ignore_collect(collection_path, config):\n    return True\n",
            ),
            (
                "other/conftest.py",
                "def pytest_configure(config):\n    pass\n",
            ),
        ]);
        assert_eq!(
            c.has_collection_hooks,
            strings(&["conftest.py", "tests/conftest.py"])
        );
    }

    #[test]
    fn conftests_pytest_never_loads_are_not_read() {
        let c = config(&[
            ("pytest.ini", "[pytest]\ntestpaths = tests\n"),
            ("tests/test_a.py", ""),
            (
                "node_modules/x/conftest.py",
                "def pytest_collection_modifyitems(items): pass\n",
            ),
            (
                ".venv/lib/site-packages/pkg/conftest.py",
                "collect_ignore = x\n",
            ),
            ("tests/legacy/conftest.py", "collect_ignore = x\n"),
            ("tests/conftest.py", "collect_ignore = ['legacy']\n"),
            ("docs/conftest.py", "collect_ignore = x\n"),
            (
                "testing/conftest.py",
                "def pytest_collection_modifyitems(items): pass\n",
            ),
        ]);
        assert!(
            c.dynamic_collect_ignore.is_empty(),
            "{:?}",
            c.dynamic_collect_ignore
        );
        assert!(
            c.has_collection_hooks.is_empty(),
            "{:?}",
            c.has_collection_hooks
        );
        let root = config(&[
            ("tests/test_a.py", ""),
            (
                "testing/conftest.py",
                "def pytest_collection_modifyitems(items): pass\n",
            ),
        ]);
        assert_eq!(root.has_collection_hooks, strings(&["testing/conftest.py"]));
    }

    #[test]
    fn testpaths_conftests_load_even_when_addopts_names_paths() {
        let c = config(&[
            (
                "pytest.ini",
                "[pytest]\ntestpaths = tests\naddopts = other\n",
            ),
            (
                "tests/conftest.py",
                "def pytest_collection_modifyitems(items): pass\n",
            ),
            ("tests/test_a.py", ""),
            ("other/test_b.py", ""),
        ]);
        assert_eq!(c.collection_roots, strings(&["other"]));
        assert!(!c.collects_file("tests/test_a.py"));
        assert_eq!(c.has_collection_hooks, strings(&["tests/conftest.py"]));
    }

    #[test]
    fn an_unreadable_conftest_is_dynamic() {
        let paths = strings(&["tests/conftest.py", "tests/test_a.py"]);
        let c = PytestConfig::read(&paths, &|_| None).unwrap();
        assert_eq!(c.dynamic_collect_ignore, strings(&["tests/conftest.py"]));
    }

    // ---- classes and functions

    #[test]
    fn classes_need_the_prefix_unless_they_are_test_cases() {
        let c = PytestConfig::default();
        assert!(c.collects_class("TestLogin", false));
        assert!(c.collects_class("Test", false));
        assert!(!c.collects_class("LoginTests", false));
        assert!(
            c.collects_class("LoginChecks", true),
            "a TestCase subclass without the Test prefix"
        );
        let globbed = config(&[("pytest.ini", "[pytest]\npython_classes = *Suite Check\n")]);
        assert!(globbed.collects_class("LoginSuite", false));
        assert!(globbed.collects_class("CheckLogin", false));
        assert!(!globbed.collects_class("TestLogin", false));
    }

    #[test]
    fn functions_follow_python_functions_outside_test_cases() {
        let c = PytestConfig::default();
        assert!(c.collects_function("test_login", false));
        assert!(
            c.collects_function("testing", false),
            "a prefix, not a word"
        );
        assert!(!c.collects_function("check_login", false));
        let check = config(&[("pytest.ini", "[pytest]\npython_functions = check_*\n")]);
        assert_eq!(check.python_functions, strings(&["check_*"]));
        assert!(check.collects_function("check_login", false));
        assert!(!check.collects_function("test_login", false));
        assert!(!check.collects_function("check", false));
        assert!(
            check.collects_function("test_login", true),
            "unittest's rule inside a TestCase"
        );
        assert!(!check.collects_function("check_login", true));
    }

    // ---- deselection

    #[test]
    fn keyword_expressions() {
        let with_k = |expr: &str| PytestConfig {
            keyword: Some(expr.to_string()),
            ..PytestConfig::default()
        };
        let id = "tests/api/test_users.py::TestCreate::test_duplicate_email[admin-1]";
        let kept = |expr: &str| !with_k(expr).deselected(id);
        assert!(kept("duplicate"));
        assert!(kept("DUPLICATE"));
        assert!(kept("api"), "directory names count");
        assert!(kept("test_users.py"));
        assert!(kept("TestCreate and email"));
        assert!(kept("nothing or admin-1"));
        assert!(kept("not (slow or flaky)"));
        assert!(kept("(create and not slow) or never"));
        assert!(kept("   "), "blank -k keeps everything");
        assert!(!kept("slow"));
        assert!(!kept("not duplicate"));
        assert!(!kept("create and slow"));
        assert!(!kept("tests/api"), "one name at a time");
        assert!(!kept("not not not duplicate"));
    }

    #[test]
    fn marker_expressions_see_markers() {
        let c = PytestConfig {
            markers_expr: Some("not slow".into()),
            ..PytestConfig::default()
        };
        assert!(!c.deselected("t.py::test_a"));
        assert!(c.deselected_with_markers("t.py::test_a", &["slow"]));
        let only = PytestConfig {
            markers_expr: Some("integration and not slow".into()),
            ..PytestConfig::default()
        };
        assert!(only.deselected("t.py::test_a"));
        assert!(!only.deselected_with_markers("t.py::test_a", &["integration".to_string()]));
        assert!(
            only.deselected_with_markers("t.py::test_a", &["integration_x"]),
            "-m names match exactly"
        );
        let k = PytestConfig {
            keyword: Some("not slow".into()),
            ..PytestConfig::default()
        };
        assert!(
            k.deselected_with_markers("t.py::test_a", &["slow"]),
            "-k sees markers too"
        );
    }

    #[test]
    fn deselect_is_a_node_id_prefix() {
        let c = config(&[(
            "pytest.ini",
            "[pytest]\naddopts = --deselect tests/test_a.py::test_x\n",
        )]);
        assert!(c.deselected("tests/test_a.py::test_x"));
        assert!(
            c.deselected("tests/test_a.py::test_x_two"),
            "pytest compares prefixes"
        );
        assert!(c.deselected("tests/test_a.py::test_x[1]"));
        assert!(!c.deselected("tests/test_a.py::test_y"));
    }

    #[test]
    fn expression_grammar_errors() {
        for bad in [
            "a and", "(a", "a)", "a b", "not", "a @ b", "'x", "f(x)", "f(1=2)", "f(x=y)",
        ] {
            assert!(Expr::parse(bad, "-m").is_err(), "{bad}");
        }
        assert_eq!(Expr::parse("", "-m"), Ok(Expr::False));
        assert_eq!(Expr::parse(" ", "-m"), Ok(Expr::False));
        assert!(
            Expr::parse("a'b' \\", "-m").is_err(),
            "backslash beside a string"
        );
        let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Expr::parse(&deep, "-k").unwrap_err().contains("too deeply"));
        let long = vec!["a"; 10_000].join(" and ");
        assert!(Expr::parse(&long, "-k").unwrap().eval(&|n| n == "a"));
    }

    // ---- patterns

    #[test]
    fn fnmatch_follows_python() {
        assert!(fnmatch("test_a.py", "test_*.py"));
        assert!(fnmatch("a/b/c", "a*c"), "* crosses /");
        assert!(fnmatch("x", "?"));
        assert!(!fnmatch("", "?"));
        assert!(fnmatch("b", "[abc]"));
        assert!(fnmatch("-", "[a-]"));
        assert!(fnmatch("d", "[!abc]"));
        assert!(!fnmatch("a", "[!abc]"));
        assert!(fnmatch("5", "[0-9]"));
        assert!(fnmatch("]", "[]]"));
        assert!(fnmatch("[x", "[x"), "an unclosed [ is literal");
        assert!(!fnmatch("a", "[z-a]"), "a reversed range matches nothing");
        assert!(fnmatch("a", "[!z-a]"));
        assert!(fnmatch("{arch}", "{arch}"));
        assert!(!fnmatch("Test", "test"), "case-sensitive on POSIX");
        assert!(fnmatch("aaa", "*a*a*a*"));
        assert!(!fnmatch(&"a".repeat(200), &format!("{}b", "*a".repeat(50))));
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let samples = [
            "",
            "[",
            "]",
            "[[[",
            "=",
            ":",
            "\u{0}",
            "é[ö-ä]",
            "\\",
            "'",
            "\"",
            "[pytest]\n  \n\t=\n",
            "[pytest]\naddopts = -\u{2028}k",
            "[tool.pytest]\n",
            "\r\n\r",
            "[x]\n[",
            "-k -m --ignore",
            "collect_ignore = [",
            "collect_ignore += collect_ignore",
            "'\\N{DASH}'",
            "\u{85}",
        ];
        for text in samples {
            for name in [
                "pytest.ini",
                "pyproject.toml",
                "tox.ini",
                "setup.cfg",
                "pytest.toml",
                "conftest.py",
            ] {
                let _ = read_tree(&[(name, text), ("tests/test_a.py", "")]);
            }
            let c = PytestConfig {
                keyword: Some(text.into()),
                markers_expr: Some(text.into()),
                ..PytestConfig::default()
            };
            let _ = c.deselected(text);
            let _ = c.collects_file(text);
            let _ = fnmatch(text, text);
            let _ = shell_split(text);
            let _ = lex(text);
            let _ = unescape(text);
            let _ = parse_addopts(&[text.to_string()]);
            let _ = conftest_facts(text);
        }
    }
}
