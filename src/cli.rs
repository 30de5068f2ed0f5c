//! Command-line arguments (clap). These types end here: `main` resolves them into the
//! values the commands take, and analysis never sees clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "deployguard",
    version,
    about = "Prove a CI harness's deploy budget from its code: every deploy site found, upgrade/backup/restore never deploying.",
    after_help = "Exit status: 0 the invariants hold, 1 findings, 2 deployguard could not do its job.\nRun `deployguard explain` for the rules."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Common {
    /// The tree to analyze (a directory of Python files).
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Policy file (deployguard.toml or a pyproject.toml with [tool.deployguard]); default:
    /// the nearest one above ROOT, else the embedded cc-ci policy for a cc-ci-shaped tree.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Colors in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every rule; exit 1 on findings.
    Check {
        #[command(flatten)]
        common: Common,
        /// Warnings fail the check too.
        #[arg(long)]
        strict: bool,
    },
    /// List deploy and counter call sites (or, with --sink, the call sites of any function).
    Sites {
        #[command(flatten)]
        common: Common,
        /// List the call sites of this function name instead (repeatable; works on any tree).
        #[arg(long, value_name = "NAME")]
        sink: Vec<String>,
    },
    /// Show witness call chains from a function to another (default: to the deploy sinks).
    Paths {
        #[command(flatten)]
        common: Common,
        /// Where the chains start (a dotted name or suffix, e.g. `perform_backup`).
        #[arg(long, value_name = "FUNC")]
        from: String,
        /// Where they end; default: the policy's sinks.
        #[arg(long, value_name = "FUNC")]
        to: Option<String>,
    },
    /// Print the call graph.
    Graph {
        #[command(flatten)]
        common: Common,
        /// Include speculative edges (method calls on receivers from outside the project).
        #[arg(long)]
        speculative: bool,
        /// Draw only the deploy-relevant subgraph from this function (dot or mermaid; a
        /// dotted name or suffix, e.g. `perform_backup`). `--format mermaid` always draws the
        /// deploy-relevant subgraph.
        #[arg(long, value_name = "FUNC")]
        focus: Option<String>,
    },
    /// Compare the tests of two revisions: exit 1 if a test was weakened, removed or skipped.
    Ratchet(RatchetArgs),
    /// Write the reviewer's report (Markdown): B1 the budget, B2 the guard, B3 the ratchet,
    /// and the runs' logs against the budget; exit 1 if any fails.
    Verify(VerifyArgs),
    /// Explain a rule (e.g. `explain DG003`), `config`, or list the rules.
    Explain {
        /// A code such as DG003, a rule name, or `config`.
        code: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Args, Debug)]
pub struct RatchetArgs {
    /// The directory inside the repository whose tests to compare.
    #[arg(default_value = ".")]
    pub root: std::path::PathBuf,
    /// The revision to compare against (e.g. origin/main, HEAD~1), or `auto`: read it from
    /// pre-commit's hook (HEAD against the index; PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF on
    /// pre-push) or from Drone (the pull request's merge base; DRONE_COMMIT_BEFORE on a push).
    #[arg(long, value_name = "REV|auto")]
    pub base: Option<String>,
    /// The revision to check; default: the working tree.
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// Check what is staged (the index, as `git commit` will record it; honours GIT_INDEX_FILE).
    #[arg(long)]
    pub staged: bool,
    /// Compare two directories instead of git revisions (e.g. two unpacked releases).
    #[arg(long, value_name = "DIR", requires = "head_tree")]
    pub base_tree: Option<std::path::PathBuf>,
    #[arg(long, value_name = "DIR", requires = "base_tree")]
    pub head_tree: Option<std::path::PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The harness's directory (as for `check`), inside the git repository.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Policy file, as for `check`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The revision whose tests B3 compares with (or `auto`, as for `ratchet`); without it
    /// B3 is reported as not checked.
    #[arg(long, value_name = "REV|auto")]
    pub base: Option<String>,
    /// The commit under review; it must be the one checked out, since B1 and B2 read the
    /// files on disk. Default: the working tree.
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// Write the report to FILE instead of stdout (stdout then gets the verdicts).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A run's log holding the harness's RUN SUMMARY, checked against the static budget
    /// (repeatable).
    #[arg(long = "run-log", value_name = "FILE")]
    pub run_log: Vec<PathBuf>,
    /// The report's format: the Markdown report, or SARIF 2.1.0 with the findings of every
    /// section.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Markdown)]
    pub format: VerifyFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyFormat {
    Markdown,
    Sarif,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    /// Graphviz (graph only).
    Dot,
    /// SARIF 2.1.0 (check and ratchet), for code-scanning viewers.
    Sarif,
    /// Mermaid flowchart (graph only): the deploy-relevant subgraph.
    Mermaid,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
