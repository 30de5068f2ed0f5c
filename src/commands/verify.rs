//! `deployguard verify`: the reviewer's cold verification as one Markdown report. It runs
//! what `check` and `ratchet` run (nothing of its own), reads the runs' logs, and renders.

use std::path::Path;

use super::{CommandError, ExitStatus, Outcome, display_root, load};
use crate::checks::{Analysis, run_all};
use crate::cli::{ColorChoice, Common, Format, VerifyArgs, VerifyFormat};
use crate::ratchet::git::{Git, Side};
use crate::ratchet::run::RatchetError;
use crate::render;
use crate::report::{GuardRow, RatchetSection, VerifyReport, check_report, deploy_subgraph};
use crate::runlog;

pub fn run(args: &VerifyArgs) -> Result<Outcome, CommandError> {
    let common = Common {
        root: args.root.clone(),
        config: args.config.clone(),
        format: Format::Human,
        color: ColorChoice::Never,
    };
    let loaded = load(&common, true)?;
    let (head, dirty) = checked_out(&args.root, args.head.as_deref())?;
    let analysis = Analysis::new(&loaded.project, &loaded.policy);
    let findings = run_all(&analysis);
    let check = check_report(&analysis, display_root(&args.root), findings, false);
    let guard = analysis.guard(0);
    let guard = GuardRow {
        named: guard.is_some(),
        expected: guard.and_then(|g| g.expected.clone()),
        comparison: guard.and_then(|g| g.comparison),
        exits: guard.map(|g| g.exits.clone()).unwrap_or_default(),
    };
    let ratchet = match &args.base {
        None => RatchetSection::NotChecked(
            "no --base was given: pass the revision the change started from, e.g. `--base origin/main`".into(),
        ),
        Some(base) => RatchetSection::Checked(super::ratchet::compare(
            &args.root,
            base,
            args.head.as_deref(),
            false,
            // The reviewer wants the whole suite counted on each side, not only what changed.
            true,
        )?),
    };
    let budget = analysis
        .entry
        .first()
        .map(|_| analysis.budget().entries[0].clone());
    let mut runs = Vec::new();
    for path in &args.run_log {
        let text = std::fs::read(path).map_err(|source| CommandError::File {
            action: "read the run log",
            path: path.clone(),
            source,
        })?;
        let log = runlog::parse(&path.display().to_string(), &String::from_utf8_lossy(&text));
        let budget = budget.clone().unwrap_or_else(|| analysis.budget_limit());
        runs.push(runlog::check(log, &budget));
    }
    let subgraph = deploy_subgraph(&analysis, &check.forbidden, None);
    let report = VerifyReport {
        command: reproduce(args, &ratchet),
        check,
        guard,
        ratchet,
        runs,
        subgraph,
        version: env!("CARGO_PKG_VERSION"),
        head,
        dirty,
    };
    let markdown = match args.format {
        VerifyFormat::Markdown => render::markdown::verify(&loaded.project, &report),
        VerifyFormat::Sarif => sarif(&loaded.project, &report, &args.root),
    };
    let status = if report.holds() {
        ExitStatus::Ok
    } else {
        ExitStatus::Findings
    };
    let stdout = match &args.out {
        None => markdown,
        Some(out) => {
            std::fs::write(out, markdown).map_err(|source| CommandError::File {
                action: "write the report to",
                path: out.clone(),
                source,
            })?;
            format!(
                "{}\nreport written to {}\n",
                render::markdown::verdicts(&report),
                out.display()
            )
        }
    };
    let warning = match &report.ratchet {
        RatchetSection::Checked(compared) => compared.note.clone(),
        RatchetSection::NotChecked(_) => None,
    };
    Ok(Outcome {
        status,
        stdout,
        warning,
    })
}

/// Every section's findings as one SARIF log: the check's, the ratchet's and the runs'.
fn sarif(project: &crate::project::Project, report: &VerifyReport, root: &Path) -> String {
    let srcroot = super::srcroot(root);
    let mut results = render::sarif::check_results(project, &report.check.findings, &srcroot);
    if let RatchetSection::Checked(compared) = &report.ratchet
        && let Some(ratchet) = &compared.report
    {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        results.extend(render::sarif::ratchet_results(
            &ratchet.findings,
            &root,
            &srcroot,
        ));
    }
    results.extend(render::sarif::run_results(&report.runs, &srcroot));
    render::sarif::log(&results, &srcroot)
}

/// The commit checked out at `root` and whether the working tree differs from it; `None`
/// outside a git repository. `--head` must name that commit: B1 and B2 read the disk.
fn checked_out(root: &Path, head: Option<&str>) -> Result<(Option<String>, bool), CommandError> {
    let Ok(git) = Git::open(&root.canonicalize().unwrap_or_else(|_| root.to_path_buf())) else {
        return match head {
            None => Ok((None, false)),
            Some(_) => Err(CommandError::Usage {
                message: format!(
                    "--head needs a git repository, and {} is not in one",
                    root.display()
                ),
                help: "drop --head to verify the files as they are".into(),
            }),
        };
    };
    let Ok(current) = git.resolve("HEAD") else {
        return Ok((None, true));
    };
    if let Some(head) = head {
        let wanted = git.resolve(head).map_err(RatchetError::from)?;
        if wanted != current {
            return Err(CommandError::Usage {
                message: format!(
                    "--head {head} is {wanted}, but {current} is checked out: B1 and B2 read the files on disk"
                ),
                help: format!("run `git checkout {wanted}` first, or drop --head"),
            });
        }
    }
    let dirty = !git
        .changes(&current, &Side::WorkTree)
        .map_err(RatchetError::from)?
        .is_empty();
    Ok((Some(current), dirty))
}

/// The command line that gives this report again: the base by its commit id, so that a
/// moving branch or `auto` does not change what is compared.
fn reproduce(args: &VerifyArgs, ratchet: &RatchetSection) -> String {
    let mut words = vec!["deployguard".to_string(), "verify".into()];
    words.push(shell_word(&args.root.display().to_string()));
    if let Some(config) = &args.config {
        words.push(format!(
            "--config {}",
            shell_word(&config.display().to_string())
        ));
    }
    if let RatchetSection::Checked(compared) = ratchet
        && let Some(base) = &compared.base
    {
        words.push(format!("--base {base}"));
        if let Some(head) = compared.head.as_ref().filter(|h| !h.starts_with("the ")) {
            words.push(format!("--head {head}"));
        }
    }
    for log in &args.run_log {
        words.push(format!(
            "--run-log {}",
            shell_word(&log.display().to_string())
        ));
    }
    words.join(" ")
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
