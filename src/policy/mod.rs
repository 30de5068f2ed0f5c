//! The policy: what deployguard guards (sinks, counter, entry, forbidden sources, site
//! kinds, exemptions, scope), read from `deployguard.toml`, `[tool.deployguard]` in
//! `pyproject.toml`, or the embedded cc-ci policy.

mod pattern;

use std::ops::Range;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

pub use pattern::Pattern;

pub const EMBEDDED_CC_CI: &str = include_str!("cc_ci.toml");

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The cc-ci policy built into deployguard, applied to a cc-ci-shaped tree.
    Embedded,
    File(PathBuf),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteKind {
    Base,
    Dep,
}

#[derive(Clone, Debug)]
pub struct SiteRule {
    pub kind: SiteKind,
    pub functions: Vec<Pattern>,
}

/// A deploy that is outside the budget, allowed only after a call that detaches the counter.
#[derive(Clone, Debug)]
pub struct ExemptRule {
    pub functions: Vec<Pattern>,
    /// Dotted callee that must run first (`os.environ.pop`).
    pub after: String,
    /// Its first argument, when it must be this string.
    pub key: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynamicPolicy {
    /// Unresolvable calls in a forbidden source's reach are findings (fail closed).
    Deny,
    /// ... are reported as warnings only.
    Warn,
}

/// What one run may deploy, and how the deps code keeps warm deps out of it.
#[derive(Clone, Debug)]
pub struct BudgetPolicy {
    /// Deploys per run besides the cold deps (the base deploy).
    pub base: u32,
    /// A dep for which this returns true is reused live-warm and must cost 0.
    pub warm_check: Vec<Pattern>,
    /// (tier name, function) pairs reported with the deploys each adds.
    pub tiers: Vec<(String, Pattern)>,
}

/// The names the run-time deploy-count guard (DG4.1) uses in the entry.
#[derive(Clone, Debug)]
pub struct GuardPolicy {
    pub expected: String,
    pub actual: String,
    pub status: String,
    /// The environment variable naming the file the counter appends to.
    pub count_env: Option<String>,
}

pub struct Policy {
    pub origin: Origin,
    /// Paths in findings and globs are relative to this directory.
    pub project_root: PathBuf,
    pub module_roots: Vec<String>,
    pub sinks: Vec<Pattern>,
    pub counters: Vec<Pattern>,
    pub entry: Option<Pattern>,
    pub forbidden: Vec<Pattern>,
    pub sites: Vec<SiteRule>,
    pub exempt: Vec<ExemptRule>,
    pub include: GlobSet,
    pub exclude: GlobSet,
    pub dynamic: DynamicPolicy,
    pub budget: BudgetPolicy,
    /// `None` when the policy does not ask for a guard.
    pub guard: Option<GuardPolicy>,
    /// Files larger than this (bytes) are not parsed: DG009, an error in the guarded scope.
    pub max_file_size: u64,
}

/// Large enough for any hand-written module (CPython's largest stdlib file is under 1 MB),
/// small enough that a generated 50 MB blob cannot stall a pre-commit hook.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

impl Policy {
    /// A policy that guards nothing, for inventory commands on trees without a config.
    pub fn inventory_only(root: &Path) -> Policy {
        Policy {
            origin: Origin::File(PathBuf::new()),
            project_root: root.to_path_buf(),
            module_roots: vec![".".into()],
            sinks: Vec::new(),
            counters: Vec::new(),
            entry: None,
            forbidden: Vec::new(),
            sites: Vec::new(),
            exempt: Vec::new(),
            include: globs(&["**/*.py".into()]).unwrap_or_else(|_| GlobSet::empty()),
            exclude: GlobSet::empty(),
            dynamic: DynamicPolicy::Deny,
            budget: BudgetPolicy {
                base: 1,
                warm_check: Vec::new(),
                tiers: Vec::new(),
            },
            guard: None,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{message}")]
    Invalid {
        path: PathBuf,
        text: String,
        span: Option<Range<usize>>,
        message: String,
        help: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no deployguard policy applies to {root}")]
    NoPolicy { root: PathBuf },
}

impl PolicyError {
    pub fn help(&self) -> Option<String> {
        match self {
            PolicyError::Invalid { help, .. } if !help.is_empty() => Some(help.clone()),
            PolicyError::Invalid { .. } => None,
            PolicyError::Read { .. } => Some("check the path given to --config".into()),
            PolicyError::NoPolicy { .. } => Some(
                "this tree is not shaped like cc-ci (run_recipe_ci.py + harness/lifecycle.py), so \
                 the embedded policy does not apply. Create deployguard.toml (or [tool.deployguard] \
                 in pyproject.toml) naming at least `sinks` (the counted deploy function), and \
                 usually `counters`, `entry`, `forbidden`, [[sites]] and [[exempt]]; run \
                 `deployguard explain config` for every key. `sites --sink NAME` and `graph` work \
                 without a policy."
                    .into(),
            ),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPolicy {
    #[serde(default)]
    sinks: Vec<Spanned<String>>,
    #[serde(default)]
    counters: Vec<Spanned<String>>,
    entry: Option<Spanned<String>>,
    #[serde(default)]
    forbidden: Vec<Spanned<String>>,
    #[serde(default)]
    sites: Vec<RawSiteRule>,
    #[serde(default)]
    exempt: Vec<RawExemptRule>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    module_roots: Vec<Spanned<String>>,
    dynamic: Option<Spanned<String>>,
    budget: Option<RawBudget>,
    guard: Option<RawGuard>,
    max_file_size: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawBudget {
    base: Option<u32>,
    #[serde(default)]
    warm_check: Vec<Spanned<String>>,
    #[serde(default)]
    tiers: Vec<RawTier>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    name: String,
    function: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGuard {
    expected: String,
    actual: String,
    status: String,
    count_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSiteRule {
    kind: Spanned<String>,
    #[serde(rename = "in")]
    functions: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExemptRule {
    #[serde(rename = "in")]
    functions: Vec<Spanned<String>>,
    after: Spanned<String>,
    key: Option<String>,
}

/// `pyproject.toml`, read only for `[tool.deployguard]` (other keys are ignored).
#[derive(Deserialize)]
struct PyprojectPolicy {
    tool: Option<PyprojectPolicyTool>,
}

#[derive(Deserialize)]
struct PyprojectPolicyTool {
    deployguard: Option<RawPolicy>,
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<PyprojectTool>,
}

#[derive(Deserialize)]
struct PyprojectTool {
    deployguard: Option<toml::Value>,
}

/// Finds and loads the policy for `root`: `--config` if given, else the nearest
/// `deployguard.toml` / `[tool.deployguard]` walking up, else the embedded cc-ci policy for a
/// cc-ci-shaped tree.
pub fn resolve(root: &Path, config: Option<&Path>, required: bool) -> Result<Policy, PolicyError> {
    if let Some(path) = config {
        return load_file(path);
    }
    let start = if root.is_file() {
        root.parent().unwrap_or(root)
    } else {
        root
    };
    let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    for dir in start.ancestors() {
        let candidate = dir.join("deployguard.toml");
        if candidate.is_file() {
            return load_file(&candidate);
        }
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file() && has_tool_section(&pyproject) {
            return load_file(&pyproject);
        }
    }
    if let Some((project_root, module_root)) = find_cc_ci(&start) {
        let mut policy = parse_policy(
            EMBEDDED_CC_CI,
            Path::new("<embedded cc-ci policy>"),
            &project_root,
            false,
        )?;
        policy.origin = Origin::Embedded;
        policy.module_roots = vec![module_root];
        return Ok(policy);
    }
    if required {
        return Err(PolicyError::NoPolicy {
            root: root.to_path_buf(),
        });
    }
    Ok(Policy::inventory_only(root))
}

/// Whether a `pyproject.toml` holds the policy. One that is not valid TOML but mentions
/// `tool.deployguard` counts, so its error is reported instead of the config being skipped
/// (which would fall back to another policy, or the embedded one, without a word).
fn has_tool_section(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    match toml::from_str::<Pyproject>(&text) {
        Ok(document) => document.tool.and_then(|t| t.deployguard).is_some(),
        Err(_) => text.contains("tool.deployguard"),
    }
}

/// Parses a policy from TOML text (a `deployguard.toml`, or a whole `pyproject.toml` when
/// `pyproject` is true); paths are relative to `project_root`.
pub fn from_toml(
    text: &str,
    path: &Path,
    project_root: &Path,
    pyproject: bool,
) -> Result<Policy, PolicyError> {
    let mut policy = parse_policy(text, path, project_root, pyproject)?;
    policy.origin = Origin::File(path.to_path_buf());
    Ok(policy)
}

/// A cc-ci-shaped tree: `run_recipe_ci.py` beside `harness/lifecycle.py`, at `dir`, in
/// `dir/runner`, or above `dir`. Returns (project root, module root relative to it).
fn find_cc_ci(dir: &Path) -> Option<(PathBuf, String)> {
    let shaped =
        |d: &Path| d.join("run_recipe_ci.py").is_file() && d.join("harness/lifecycle.py").is_file();
    if shaped(&dir.join("runner")) {
        return Some((dir.to_path_buf(), "runner".into()));
    }
    dir.ancestors()
        .find(|d| shaped(d))
        .map(|d| (d.to_path_buf(), ".".into()))
}

pub fn load_file(path: &Path) -> Result<Policy, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let project_root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let project_root = project_root.canonicalize().unwrap_or(project_root);
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    let mut policy = parse_policy(&text, path, &project_root, is_pyproject)?;
    policy.origin = Origin::File(path.to_path_buf());
    Ok(policy)
}

fn invalid(
    path: &Path,
    text: &str,
    span: Option<Range<usize>>,
    message: String,
    help: &str,
) -> PolicyError {
    PolicyError::Invalid {
        path: path.to_path_buf(),
        text: text.to_string(),
        span,
        message,
        help: help.to_string(),
    }
}

fn parse_policy(
    text: &str,
    path: &Path,
    project_root: &Path,
    pyproject: bool,
) -> Result<Policy, PolicyError> {
    let raw: RawPolicy = if pyproject {
        let document: PyprojectPolicy = toml::from_str(text).map_err(|e| {
            invalid(
                path,
                text,
                e.span(),
                format!(
                    "{}: [tool.deployguard]: {}",
                    path.display(),
                    e.message().trim()
                ),
                KEYS_HELP,
            )
        })?;
        document.tool.and_then(|t| t.deployguard).ok_or_else(|| {
            invalid(
                path,
                text,
                None,
                format!("{}: no [tool.deployguard] section", path.display()),
                KEYS_HELP,
            )
        })?
    } else {
        toml::from_str(text).map_err(|e| {
            invalid(
                path,
                text,
                e.span(),
                format!("{}: {}", path.display(), e.message().trim()),
                KEYS_HELP,
            )
        })?
    };
    let patterns = |items: &[Spanned<String>]| -> Result<Vec<Pattern>, PolicyError> {
        items
            .iter()
            .map(|item| {
                Pattern::parse(item.get_ref()).map_err(|message| {
                    invalid(
                        path,
                        text,
                        Some(item.span()),
                        format!("{}: {message}", path.display()),
                        "",
                    )
                })
            })
            .collect()
    };
    let mut sites = Vec::new();
    for rule in &raw.sites {
        let kind = match rule.kind.get_ref().as_str() {
            "base" => SiteKind::Base,
            "dep" => SiteKind::Dep,
            other => {
                return Err(invalid(
                    path,
                    text,
                    Some(rule.kind.span()),
                    format!("{}: unknown site kind `{other}`", path.display()),
                    "a [[sites]] kind is `base` (the one deploy per run) or `dep` (one per cold dependency); exempt deploys go in [[exempt]]",
                ));
            }
        };
        sites.push(SiteRule {
            kind,
            functions: patterns(&rule.functions)?,
        });
    }
    let mut exempt = Vec::new();
    for rule in &raw.exempt {
        let after = Pattern::parse(rule.after.get_ref()).map_err(|m| {
            invalid(
                path,
                text,
                Some(rule.after.span()),
                format!("{}: {m}", path.display()),
                "",
            )
        })?;
        exempt.push(ExemptRule {
            functions: patterns(&rule.functions)?,
            after: after.as_str().to_string(),
            key: rule.key.clone(),
        });
    }
    let dynamic = match raw.dynamic.as_ref().map(|d| d.get_ref().as_str()) {
        None | Some("deny") => DynamicPolicy::Deny,
        Some("warn") => DynamicPolicy::Warn,
        Some(other) => {
            let span = raw.dynamic.as_ref().map(Spanned::span);
            return Err(invalid(
                path,
                text,
                span,
                format!("{}: unknown dynamic-call policy `{other}`", path.display()),
                "use `deny` (fail closed, the default) or `warn`",
            ));
        }
    };
    let glob_list = |items: &[Spanned<String>], default: &[&str]| -> Result<GlobSet, PolicyError> {
        let owned: Vec<String> = if items.is_empty() {
            default.iter().map(|s| s.to_string()).collect()
        } else {
            items.iter().map(|s| s.get_ref().clone()).collect()
        };
        globs(&owned).map_err(|(i, message)| {
            let span = items.get(i).map(Spanned::span);
            invalid(
                path,
                text,
                span,
                format!("{}: invalid glob: {message}", path.display()),
                "",
            )
        })
    };
    let entry = match &raw.entry {
        Some(entry) => Some(patterns(std::slice::from_ref(entry))?.remove(0)),
        None => None,
    };
    let sinks = patterns(&raw.sinks)?;
    if sinks.is_empty() {
        return Err(invalid(
            path,
            text,
            None,
            format!("{}: the policy names no `sinks`", path.display()),
            "add `sinks = [\"deploy_app\"]`: the function whose calls count as deploys",
        ));
    }
    let budget = match &raw.budget {
        Some(b) => {
            let mut tiers = Vec::new();
            for tier in &b.tiers {
                tiers.push((
                    tier.name.clone(),
                    patterns(std::slice::from_ref(&tier.function))?.remove(0),
                ));
            }
            BudgetPolicy {
                base: b.base.unwrap_or(1),
                warm_check: patterns(&b.warm_check)?,
                tiers,
            }
        }
        None => BudgetPolicy {
            base: 1,
            warm_check: Vec::new(),
            tiers: Vec::new(),
        },
    };
    let max_file_size = match &raw.max_file_size {
        None => DEFAULT_MAX_FILE_SIZE,
        Some(size) => u64::try_from(*size.get_ref())
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                invalid(
                    path,
                    text,
                    Some(size.span()),
                    format!(
                        "{}: `max-file-size` must be a positive number of bytes",
                        path.display()
                    ),
                    "e.g. `max-file-size = 20971520` for 20 MiB",
                )
            })?,
    };
    let guard = raw.guard.as_ref().map(|g| GuardPolicy {
        expected: g.expected.clone(),
        actual: g.actual.clone(),
        status: g.status.clone(),
        count_env: g.count_env.clone(),
    });
    Ok(Policy {
        budget,
        guard,
        origin: Origin::Embedded,
        project_root: project_root.to_path_buf(),
        module_roots: if raw.module_roots.is_empty() {
            vec![".".into()]
        } else {
            raw.module_roots
                .iter()
                .map(|s| s.get_ref().clone())
                .collect()
        },
        sinks,
        counters: patterns(&raw.counters)?,
        entry,
        forbidden: patterns(&raw.forbidden)?,
        sites,
        exempt,
        include: glob_list(&raw.include, &["**/*.py"])?,
        exclude: glob_list(&raw.exclude, &[])?,
        dynamic,
        max_file_size,
    })
}

const KEYS_HELP: &str = "known keys: sinks, counters, entry, forbidden, include, exclude, module-roots, dynamic, max-file-size, [[sites]] (kind, in), [[exempt]] (in, after, key), [budget] (base, warm-check, tiers), [guard] (expected, actual, status, count-env); see `deployguard explain config`";

fn globs(patterns: &[String]) -> Result<GlobSet, (usize, String)> {
    let mut builder = GlobSetBuilder::new();
    for (i, pattern) in patterns.iter().enumerate() {
        let glob = Glob::new(pattern).map_err(|e| (i, e.to_string()))?;
        builder.add(glob);
        // `**/tests/**` should also match `tests/x.py` at the top.
        if let Some(rest) = pattern.strip_prefix("**/") {
            builder.add(Glob::new(rest).map_err(|e| (i, e.to_string()))?);
        }
    }
    builder.build().map_err(|e| (0, e.to_string()))
}

/// `deployguard explain config`.
pub const CONFIG_DOC: &str = "\
deployguard configuration

Where: deployguard.toml, or [tool.deployguard] in pyproject.toml, found by walking up from
ROOT (or given with --config). Paths and globs are relative to the file's directory. With no
file, a tree shaped like cc-ci (run_recipe_ci.py beside harness/lifecycle.py, at ROOT, in
ROOT/runner or above ROOT) gets the embedded cc-ci policy; any other tree must be configured.

Function names are dotted and match by suffix: `deploy_app` matches
`harness.lifecycle.deploy_app`; `*` is one segment, `**` any number.

Keys
  sinks = [\"lifecycle.deploy_app\"]       the counted deploy function(s)            (required)
  counters = [\"lifecycle._record_deploy\"] may be called only inside a sink           (DG001)
  entry = \"run_recipe_ci.main\"            where one run starts
  forbidden = [\"perform_backup\", ...]     must never reach a sink                    (DG003, DG007)
  include = [\"**/*.py\"]                   the guarded scope (globs)
  exclude = [\"**/tests/**\"]               left out of the guarded scope (still parsed)
  module-roots = [\"runner\"]               import roots for module names (default \".\")
  dynamic = \"deny\"                        unresolvable calls in forbidden reach: deny | warn
  max-file-size = 10485760                larger files are not parsed (bytes)    (DG009)

  [[sites]]                               where a deploy is accounted for        (DG002)
  kind = \"base\"                           base | dep
  in = [\"run_recipe_ci.main\"]

  [[exempt]]                              a deploy outside the budget            (DG006)
  in = [\"run_recipe_ci.promote_canonical\"]
  after = \"os.environ.pop\"                must run first on every path
  key = \"CCCI_DEPLOY_COUNT_FILE\"          its first argument

  [budget]                                what one run may deploy                (DG004)
  base = 1                                deploys per run besides the cold deps
  warm-check = [\"deps.is_live_warm\"]      a dep it says is warm must cost 0
  tiers = [{ name = \"upgrade\", function = \"generic.perform_upgrade\" }]
                                          tiers reported with the deploys each adds

  [guard]                                 the run-time deploy-count guard        (DG005)
  expected = \"expected_deploy_count\"      the entry's expected count (base + len(cold))
  actual = \"deploy_count\"                 the count the counter wrote
  status = \"overall\"                      the exit status a mismatch must fail
  count-env = \"CCCI_DEPLOY_COUNT_FILE\"    the variable naming the counter's file

The embedded cc-ci policy, verbatim:
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_policy_parses() {
        let policy = parse_policy(
            EMBEDDED_CC_CI,
            Path::new("cc_ci.toml"),
            Path::new("."),
            false,
        )
        .unwrap();
        assert_eq!(policy.sinks.len(), 1);
        assert_eq!(policy.forbidden.len(), 6);
        assert_eq!(
            policy.exempt[0].key.as_deref(),
            Some("CCCI_DEPLOY_COUNT_FILE")
        );
        assert!(policy.exclude.is_match("tests/test_x.py"));
        assert!(!policy.exclude.is_match("harness/deps.py"));
    }

    #[test]
    fn unknown_key_is_an_error_with_a_span() {
        let text = "sinks = [\"deploy_app\"]\nsinkz = [\"x\"]\n";
        let Err(PolicyError::Invalid { span, message, .. }) =
            parse_policy(text, Path::new("d.toml"), Path::new("."), false)
        else {
            panic!("expected an invalid-policy error");
        };
        assert!(message.contains("sinkz"), "{message}");
        assert_eq!(span.map(|s| &text[s]), Some("sinkz"));
    }

    #[test]
    fn max_file_size_defaults_and_rejects_nonsense_with_a_span() {
        let text = "sinks = [\"deploy_app\"]\n";
        let policy = parse_policy(text, Path::new("d.toml"), Path::new("."), false).unwrap();
        assert_eq!(policy.max_file_size, DEFAULT_MAX_FILE_SIZE);
        let text = "sinks = [\"deploy_app\"]\nmax-file-size = 1024\n";
        let policy = parse_policy(text, Path::new("d.toml"), Path::new("."), false).unwrap();
        assert_eq!(policy.max_file_size, 1024);
        for bad in ["-1", "0", "\"10MB\""] {
            let text = format!("sinks = [\"deploy_app\"]\nmax-file-size = {bad}\n");
            let Err(PolicyError::Invalid { span, .. }) =
                parse_policy(&text, Path::new("d.toml"), Path::new("."), false)
            else {
                panic!("expected an invalid-policy error for {bad}");
            };
            assert_eq!(span.map(|s| &text[s]), Some(bad));
        }
    }

    #[test]
    fn bad_site_kind_points_at_the_value() {
        let text = "sinks = [\"deploy_app\"]\n[[sites]]\nkind = \"bse\"\nin = [\"main\"]\n";
        let Err(PolicyError::Invalid { span, .. }) =
            parse_policy(text, Path::new("d.toml"), Path::new("."), false)
        else {
            panic!("expected an invalid-policy error");
        };
        assert_eq!(span.map(|s| &text[s]), Some("\"bse\""));
    }
}
