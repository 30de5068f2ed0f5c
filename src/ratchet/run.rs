//! Running the ratchet: read the two revisions, extract and collect the tests that could
//! differ, compare them, apply waivers.
//!
//! The cost follows the change: with git, only files whose blob differs between the sides
//! are read and parsed (unless the test collection configuration itself changed, which can
//! change what is collected anywhere).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::collect::PytestConfig;
use super::compare::{Collected, Loc, RatchetFinding, compare};
use super::git::{Git, GitError, Side};
use super::python_tests::{self, Candidate};
use super::{rust_tests, suite};
use crate::policy::DEFAULT_MAX_FILE_SIZE;

/// Where one side of the comparison comes from.
pub enum Revision {
    /// A directory on disk (an unpacked release, a worktree).
    Tree(PathBuf),
    /// A git revision, the index (`--staged`) or the worktree.
    Git(Side),
}

#[derive(Debug, thiserror::Error)]
pub enum RatchetError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    AutoBase(#[from] super::base::AutoBaseError),
    #[error("{path}: {message}")]
    Tree { path: PathBuf, message: String },
    #[error("{file}: {message}")]
    Config {
        file: String,
        message: String,
        help: String,
    },
}

impl RatchetError {
    pub fn help(&self) -> Option<String> {
        match self {
            RatchetError::Git(e) => e.hint(),
            RatchetError::AutoBase(e) => e.help(),
            RatchetError::Tree { .. } => {
                Some("pass two existing directories to --base-tree and --head-tree".into())
            }
            RatchetError::Config { help, .. } => Some(help.clone()),
        }
    }
}

pub struct RatchetReport {
    pub findings: Vec<RatchetFinding>,
    /// Files read and compared (changed ones, or all when collection changed).
    pub files_compared: usize,
    pub tests_base: usize,
    pub tests_head: usize,
    /// Effective assertions (reachable, not vacuous) in those collected tests.
    pub assertions_base: usize,
    pub assertions_head: usize,
}

impl RatchetReport {
    pub fn failing(&self) -> usize {
        self.findings.iter().filter(|f| f.waived.is_none()).count()
    }
}

/// A ratchet run and what it compared.
pub struct Compared {
    /// `None` when there was nothing to compare (the first commit).
    pub report: Option<RatchetReport>,
    /// How `--base auto` chose the revisions, or why nothing was compared.
    pub basis: Option<String>,
    /// The base commit's full id (git only).
    pub base: Option<String>,
    /// The head: a full commit id, `the index` or `the working tree` (git only).
    pub head: Option<String>,
    /// Said on stderr.
    pub note: Option<String>,
}

impl Compared {
    pub fn failing(&self) -> usize {
        self.report.as_ref().map_or(0, RatchetReport::failing)
    }
}

/// Reads files of one side.
struct Reader<'g> {
    revision: Revision,
    git: Option<&'g std::cell::RefCell<Git>>,
    /// Path prefix of ROOT inside the repository (`""` or `runner/`).
    prefix: String,
}

impl Reader<'_> {
    fn files(&self) -> Result<Vec<String>, RatchetError> {
        match (&self.revision, self.git) {
            (Revision::Tree(dir), _) => tree_files(dir.as_path()),
            (Revision::Git(side), Some(git)) => Ok(git
                .borrow()
                .list(side)?
                .into_iter()
                .filter_map(|(path, _)| path.strip_prefix(&self.prefix).map(str::to_string))
                .collect()),
            (Revision::Git(_), None) => Ok(Vec::new()),
        }
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, RatchetError> {
        match (&self.revision, self.git) {
            (Revision::Tree(dir), _) => Ok(std::fs::read(dir.join(path)).ok()),
            (Revision::Git(side), Some(git)) => Ok(git
                .borrow_mut()
                .read(side, &format!("{}{path}", self.prefix))?),
            (Revision::Git(_), None) => Ok(None),
        }
    }

    fn read_text(&self, path: &str) -> Option<String> {
        self.read(path)
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }
}

fn tree_files(dir: &Path) -> Result<Vec<String>, RatchetError> {
    if !dir.is_dir() {
        return Err(RatchetError::Tree {
            path: dir.to_path_buf(),
            message: "not a directory".into(),
        });
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| RatchetError::Tree {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if rel
                .iter()
                .any(|part| part.starts_with('.') || part == "__pycache__" || part == "target")
            {
                continue;
            }
            files.push(rel.join("/"));
        }
    }
    Ok(files)
}

fn is_source(path: &str) -> bool {
    path.ends_with(".py") || path.ends_with(".rs")
}

/// Compares `base` with `head`.
pub fn ratchet(
    base: Revision,
    head: Revision,
    git: Option<&std::cell::RefCell<Git>>,
    prefix: &str,
    changed: Option<Vec<String>>,
    trailers: Vec<String>,
) -> Result<RatchetReport, RatchetError> {
    let base = Reader {
        revision: base,
        git,
        prefix: prefix.to_string(),
    };
    let head = Reader {
        revision: head,
        git,
        prefix: prefix.to_string(),
    };
    let base_files = base.files()?;
    let head_files = head.files()?;
    let base_config = read_config(&base, &base_files)?;
    let head_config = read_config(&head, &head_files)?;
    let mut findings = collection_changes(&base_config, &head_config);
    // What to read: the changed files, or everything when collection itself changed.
    let collection_changed = base_config.fingerprint() != head_config.fingerprint();
    let paths: BTreeSet<String> = match (&changed, collection_changed) {
        (Some(changed), false) => changed.iter().filter(|p| is_source(p)).cloned().collect(),
        _ => base_files
            .iter()
            .chain(head_files.iter())
            .filter(|p| is_source(p))
            .cloned()
            .collect(),
    };
    let (base_tests, base_candidates) = tests_of(&base, &paths, &base_config, &mut Vec::new())?;
    let (head_tests, head_candidates) = tests_of(&head, &paths, &head_config, &mut findings)?;
    let fixtures = fixture_cases(&head, &head_files, &paths)?;
    findings.extend(compare(&base_tests, &head_tests, &fixtures));
    let is_test = |c: &Candidate| {
        base_config.collects_file(&c.case.file)
            && base_config.collects_function(&c.case.name, c.in_unittest_class)
    };
    findings.extend(suite::helpers_removed(
        &base_candidates,
        &head_candidates,
        &is_test,
    ));
    for path in paths.iter().filter(|p| p.ends_with(".py")) {
        if let (Some(old), Some(new)) = (base.read(path)?, head.read(path)?)
            && within_limit(&old)
            && within_limit(&new)
        {
            findings.extend(suite::stages_removed(path, &old, &new));
        }
    }
    let waivers = waivers(&base, &head, &trailers)?;
    for finding in &mut findings {
        if let Some(reason) = waivers.get(&finding.test) {
            finding.waived = Some(reason.clone());
        }
    }
    findings.sort_by(|a, b| {
        (a.waived.is_some(), &a.test, a.code).cmp(&(b.waived.is_some(), &b.test, b.code))
    });
    Ok(RatchetReport {
        findings,
        files_compared: paths.len(),
        tests_base: base_tests.iter().filter(|t| t.collected).count(),
        tests_head: head_tests.iter().filter(|t| t.collected).count(),
        assertions_base: effective_assertions(&base_tests),
        assertions_head: effective_assertions(&head_tests),
    })
}

fn effective_assertions(tests: &[Collected]) -> usize {
    tests
        .iter()
        .filter(|t| t.collected)
        .flat_map(|t| &t.case.assertions)
        .filter(|a| a.unreachable.is_none() && a.vacuous.is_none())
        .count()
}

/// Parametrized fixtures on the head side: in every `conftest.py` and in the files compared.
fn fixture_cases(
    side: &Reader,
    files: &[String],
    paths: &BTreeSet<String>,
) -> Result<HashMap<String, usize>, RatchetError> {
    let mut cases = HashMap::new();
    let conftests = files.iter().filter(|f| f.ends_with("conftest.py"));
    for path in conftests.chain(paths.iter().filter(|p| p.ends_with(".py"))) {
        if let Some(source) = side.read(path)?.filter(|s| within_limit(s)) {
            for (name, count) in python_tests::parametrized_fixtures(&source) {
                let slot = cases.entry(name).or_insert(0usize);
                *slot = (*slot).max(count);
            }
        }
    }
    Ok(cases)
}

fn read_config(side: &Reader, files: &[String]) -> Result<PytestConfig, RatchetError> {
    PytestConfig::read(files, &|path| side.read_text(path)).map_err(|e| RatchetError::Config {
        file: e.file().to_string(),
        message: e.to_string(),
        help: e.help(),
    })
}

type Tests = (Vec<Collected>, Vec<Candidate>);

/// The tests in `paths` on one side, with their collection status.
fn tests_of(
    side: &Reader,
    paths: &BTreeSet<String>,
    config: &PytestConfig,
    findings: &mut Vec<RatchetFinding>,
) -> Result<Tests, RatchetError> {
    let mut tests = Vec::new();
    let mut candidates = Vec::new();
    for path in paths {
        let Some(bytes) = side.read(path)? else {
            continue;
        };
        if !within_limit(&bytes) {
            findings.push(too_large(path, bytes.len()));
            continue;
        }
        if path.ends_with(".rs") {
            let text = String::from_utf8_lossy(&bytes);
            match rust_tests::extract(path, &text) {
                Ok(found) => tests.extend(found.into_iter().map(|case| Collected {
                    case,
                    collected: true,
                })),
                Err(failure) => findings.push(unparsable(path, failure.line, &failure.message)),
            }
            continue;
        }
        match python_tests::extract(path, &bytes) {
            Ok(found) => {
                let file_collected = config.collects_file(path);
                for candidate in found {
                    let classes_ok = candidate
                        .classes
                        .iter()
                        .all(|c| config.collects_class(c, candidate.in_unittest_class));
                    let collected = file_collected
                        && classes_ok
                        && config
                            .collects_function(&candidate.case.name, candidate.in_unittest_class)
                        && !config.deselected(&candidate.case.id);
                    tests.push(Collected {
                        case: candidate.case.clone(),
                        collected,
                    });
                    candidates.push(candidate);
                }
            }
            Err(error) if config.collects_file(path) || path.ends_with("generic.py") => {
                findings.push(unparsable(path, error.line, &error.message))
            }
            Err(_) => {}
        }
    }
    Ok((tests, candidates))
}

fn unparsable(path: &str, line: usize, message: &str) -> RatchetFinding {
    RatchetFinding {
        code: "DG100",
        message: format!(
            "{path} does not parse ({message}): its tests cannot be compared, so they are not proven unweakened"
        ),
        test: path.to_string(),
        base: None,
        head: Some(Loc {
            file: path.to_string(),
            line,
        }),
        waived: None,
    }
}

/// Files over the size limit are not parsed (tests_of reports them as DG009).
fn within_limit(bytes: &[u8]) -> bool {
    bytes.len() as u64 <= DEFAULT_MAX_FILE_SIZE
}

/// DG009: a test file over the size limit is not read, so its tests are not proven either.
fn too_large(path: &str, size: usize) -> RatchetFinding {
    RatchetFinding {
        code: "DG009",
        message: format!(
            "{path} is {:.1} MiB, over the {} MiB limit: its tests cannot be compared, so they are not proven unweakened",
            size as f64 / (1024.0 * 1024.0),
            DEFAULT_MAX_FILE_SIZE / (1024 * 1024)
        ),
        test: path.to_string(),
        base: None,
        head: Some(Loc {
            file: path.to_string(),
            line: 1,
        }),
        waived: None,
    }
}

/// DG018: collection settings that can hide tests, newly added.
fn collection_changes(base: &PytestConfig, head: &PytestConfig) -> Vec<RatchetFinding> {
    let source = head
        .source
        .clone()
        .unwrap_or_else(|| "pytest configuration".into());
    let mut findings = Vec::new();
    let mut added = |what: &str, old: &[String], new: &[String], file: &str| {
        for item in new.iter().filter(|n| !old.contains(n)) {
            findings.push(RatchetFinding {
                code: "DG018",
                message: format!("{what} `{item}` added: tests it matches are no longer run"),
                test: file.to_string(),
                base: None,
                head: Some(Loc {
                    file: file.to_string(),
                    line: 1,
                }),
                waived: None,
            });
        }
    };
    added(
        "collect_ignore entry",
        &base.collect_ignore,
        &head.collect_ignore,
        "conftest.py",
    );
    added("--deselect", &base.deselect, &head.deselect, &source);
    added("--ignore", &base.ignore, &head.ignore, &source);
    added(
        "collection hook in",
        &base.has_collection_hooks,
        &head.has_collection_hooks,
        "conftest.py",
    );
    added(
        "computed collect_ignore in",
        &base.dynamic_collect_ignore,
        &head.dynamic_collect_ignore,
        "conftest.py",
    );
    let keyword = |c: &PytestConfig| {
        c.keyword
            .iter()
            .chain(c.markers_expr.iter())
            .cloned()
            .collect::<Vec<_>>()
    };
    added(
        "test filter (-k/-m)",
        &keyword(base),
        &keyword(head),
        &source,
    );
    added(
        "testpaths restriction",
        &base.testpaths,
        &head.testpaths,
        &source,
    );
    findings
}

#[derive(Deserialize)]
struct WaiverFile {
    #[serde(default)]
    waive: Vec<Waiver>,
}

#[derive(Deserialize)]
struct Waiver {
    test: String,
    reason: String,
}

/// Waivers the change itself adds: entries new in `deployguard-waivers.toml`, and
/// `Deployguard-Waive: <test id>: <reason>` commit trailers.
fn waivers(
    base: &Reader,
    head: &Reader,
    trailers: &[String],
) -> Result<BTreeMap<String, String>, RatchetError> {
    let parse = |side: &Reader| -> Result<Vec<Waiver>, RatchetError> {
        match side.read_text("deployguard-waivers.toml") {
            None => Ok(Vec::new()),
            Some(text) => toml::from_str::<WaiverFile>(&text)
                .map(|f| f.waive)
                .map_err(|e| RatchetError::Config {
                    file: "deployguard-waivers.toml".into(),
                    message: e.message().to_string(),
                    help: "each waiver is [[waive]] with `test = \"<test id>\"` and `reason = \"...\"`".into(),
                }),
        }
    };
    let old: BTreeSet<String> = parse(base)?.into_iter().map(|w| w.test).collect();
    let mut waived: BTreeMap<String, String> = parse(head)?
        .into_iter()
        .filter(|w| !old.contains(&w.test))
        .map(|w| (w.test, format!("deployguard-waivers.toml: {}", w.reason)))
        .collect();
    for trailer in trailers {
        if let Some((test, reason)) = trailer.split_once(": ") {
            waived.insert(
                test.trim().to_string(),
                format!("commit trailer: {}", reason.trim()),
            );
        }
    }
    Ok(waived)
}
