//! The subcommands. Each resolves its arguments, runs the pipeline (discover -> parse ->
//! facts -> project -> graph -> checks) and returns rendered output with an exit status.

mod check;
mod explain;
mod graph;
mod paths;
mod ratchet;
mod sites;
mod verify;

use std::path::Path;

use crate::cli::{ColorChoice, Command, Common, Format};
use crate::discover::{DiscoverError, Layout, discover};
use crate::policy::{self, Policy, PolicyError};
use crate::project::{Project, ReadError};
use crate::render::human::Style;

/// Exit status: what scripts and hooks rely on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// The invariants hold (or the query ran).
    Ok = 0,
    /// Findings.
    Findings = 1,
    /// deployguard could not do its job.
    Error = 2,
}

pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    /// Said on stderr: what the output cannot be trusted for.
    pub warning: Option<String>,
}

/// Why a command could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{message}")]
    Usage { message: String, help: String },
    #[error(transparent)]
    Ratchet(#[from] crate::ratchet::run::RatchetError),
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        action: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl CommandError {
    pub fn help(&self) -> Option<String> {
        match self {
            CommandError::Policy(e) => e.help(),
            CommandError::Discover(DiscoverError::Missing { .. }) => {
                Some("pass the directory that holds the harness, e.g. `deployguard check testdata/cc-ci/runner`".into())
            }
            CommandError::Discover(_) => Some("check the permissions of that path".into()),
            CommandError::Read(_) => Some(
                "make the file readable: deployguard reads every .py file under ROOT, in the \
                 guarded scope or not, because guarded code may call into any of them"
                    .into(),
            ),
            CommandError::Usage { help, .. } => (!help.is_empty()).then(|| help.clone()),
            CommandError::Ratchet(e) => e.help(),
            CommandError::File { .. } => Some("check the path and its permissions".into()),
        }
    }
}

pub fn run(command: Command) -> Result<Outcome, CommandError> {
    match command {
        Command::Check { common, strict } => check::run(&common, strict),
        Command::Sites { common, sink } => sites::run(&common, &sink),
        Command::Paths { common, from, to } => paths::run(&common, &from, to.as_deref()),
        Command::Graph {
            common,
            speculative,
            focus,
        } => graph::run(&common, speculative, focus.as_deref()),
        Command::Explain { code, format } => explain::run(code.as_deref(), format),
        Command::Ratchet(args) => ratchet::run(&args),
        Command::Verify(args) => verify::run(&args),
    }
}

/// The loaded tree and the policy that applies to it.
pub struct Loaded {
    pub policy: Policy,
    pub project: Project,
}

pub fn load(common: &Common, policy_required: bool) -> Result<Loaded, CommandError> {
    let root = common
        .root
        .canonicalize()
        .map_err(|_| DiscoverError::Missing {
            path: common.root.clone(),
        })?;
    let policy = policy::resolve(&root, common.config.as_deref(), policy_required)?;
    let layout = Layout {
        project_root: &policy.project_root,
        module_roots: &policy.module_roots,
        include: &policy.include,
        exclude: &policy.exclude,
    };
    let files = if root.is_file() {
        vec![crate::discover::source_file(&root, &layout)]
    } else {
        discover(&root, &layout)?
    };
    let project = Project::load(files, policy.max_file_size)?;
    Ok(Loaded { policy, project })
}

pub fn style(common: &Common) -> Style {
    use std::io::IsTerminal;
    let color = match common.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    Style { color }
}

pub fn require_format(
    common: &Common,
    allowed: &[Format],
    command: &str,
) -> Result<(), CommandError> {
    if allowed.contains(&common.format) {
        return Ok(());
    }
    let names: Vec<&str> = allowed
        .iter()
        .map(|f| match f {
            Format::Human => "human",
            Format::Json => "json",
            Format::Dot => "dot",
            Format::Sarif => "sarif",
            Format::Mermaid => "mermaid",
        })
        .collect();
    Err(CommandError::Usage {
        message: format!("`{command}` does not support --format {:?}", common.format)
            .to_lowercase(),
        help: format!("use one of: {}", names.join(", ")),
    })
}

/// The directory SARIF file URIs are relative to: the top level of the git repository
/// holding `root`, or `root` itself outside git.
pub fn srcroot(root: &Path) -> std::path::PathBuf {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let dir = if root.is_file() {
        root.parent()
            .map_or_else(|| root.clone(), Path::to_path_buf)
    } else {
        root
    };
    crate::ratchet::git::Git::open(&dir)
        .map(|git| git.toplevel().to_path_buf())
        .unwrap_or(dir)
}

pub fn display_root(path: &Path) -> String {
    path.display().to_string()
}
