//! `deployguard ratchet`: no test quietly weakened between two revisions.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{CommandError, ExitStatus, Outcome};
use crate::cli::{Format, RatchetArgs};
use crate::ratchet::base::{Auto, auto};
use crate::ratchet::compare::RatchetFinding;
use crate::ratchet::git::{Git, Side};
use crate::ratchet::run::{Compared, RatchetError, RatchetReport, Revision, ratchet};

pub fn run(args: &RatchetArgs) -> Result<Outcome, CommandError> {
    if args.format == Format::Dot {
        return Err(CommandError::Usage {
            message: "`ratchet` does not support --format dot".into(),
            help: "use human, json or sarif".into(),
        });
    }
    let compared = match (&args.base_tree, &args.head_tree, &args.base) {
        (Some(base), Some(head), None) => Compared {
            report: Some(ratchet(
                Revision::Tree(base.clone()),
                Revision::Tree(head.clone()),
                None,
                "",
                None,
                Vec::new(),
            )?),
            basis: None,
            base: None,
            head: None,
            note: None,
        },
        (None, None, Some(base)) => {
            compare(&args.root, base, args.head.as_deref(), args.staged, false)?
        }
        _ => {
            return Err(CommandError::Usage {
                message: "say what to compare: --base REV [--head REV | --staged], or --base-tree DIR --head-tree DIR".into(),
                help: "e.g. `deployguard ratchet --base origin/main` (head = the working tree), `--base auto` in a pre-commit hook or a Drone step".into(),
            });
        }
    };
    let stdout = match args.format {
        Format::Json => json(&compared),
        Format::Sarif => {
            // Finding paths are relative to ROOT, or to the head tree without git.
            let root = args.head_tree.as_ref().unwrap_or(&args.root);
            sarif(&compared, root)
        }
        _ => human(&compared),
    };
    let status = if compared.failing() > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Ok
    };
    Ok(Outcome {
        status,
        stdout,
        warning: compared.note.clone(),
    })
}

/// Compares the tests of `base` (a revision, or `auto`: see [`crate::ratchet::base`]) with
/// `head`, the index (`staged`) or the working tree, in the repository holding `root`. Only
/// the files that differ are read, unless `whole_suite` asks for every test to be counted.
pub fn compare(
    root: &Path,
    base: &str,
    head: Option<&str>,
    staged: bool,
    whole_suite: bool,
) -> Result<Compared, CommandError> {
    let root = root
        .canonicalize()
        .map_err(|_| crate::discover::DiscoverError::Missing {
            path: root.to_path_buf(),
        })?;
    let git = Git::open(&root).map_err(RatchetError::from)?;
    let prefix = match root.strip_prefix(git.toplevel()) {
        Ok(rel) if rel.as_os_str().is_empty() => String::new(),
        Ok(rel) => format!("{}/", rel.to_string_lossy().replace('\\', "/")),
        Err(_) => String::new(),
    };
    let explicit_head = match (head, staged) {
        (Some(_), true) => {
            return Err(CommandError::Usage {
                message: "--head and --staged cannot be used together".into(),
                help: String::new(),
            });
        }
        (Some(head), false) => Some(Side::Rev(git.resolve(head).map_err(RatchetError::from)?)),
        (None, true) => Some(Side::Index),
        (None, false) => None,
    };
    let (base, head, basis, note) = if base == "auto" {
        match auto(&git, |name| std::env::var(name).ok()).map_err(RatchetError::from)? {
            Auto::Compare(c) => (
                c.base,
                explicit_head.unwrap_or(c.head),
                Some(c.basis),
                c.note,
            ),
            Auto::Nothing { reason } => {
                return Ok(Compared {
                    report: None,
                    basis: Some(reason),
                    base: None,
                    head: None,
                    note: None,
                });
            }
        }
    } else {
        let base = git.resolve(base).map_err(RatchetError::from)?;
        (base, explicit_head.unwrap_or(Side::WorkTree), None, None)
    };
    let changed: Vec<String> = git
        .changes(&base, &head)
        .map_err(RatchetError::from)?
        .into_iter()
        .flat_map(|c| [c.old_path, c.new_path])
        .flatten()
        .filter_map(|p| p.strip_prefix(&prefix).map(str::to_string))
        .collect();
    let trailers = match &head {
        Side::Rev(head) => git
            .trailers(&base, head, "Deployguard-Waive")
            .map_err(RatchetError::from)?,
        _ => Vec::new(),
    };
    let head_name = match &head {
        Side::Rev(id) => id.clone(),
        Side::Index => "the index".into(),
        Side::WorkTree => "the working tree".into(),
    };
    let git = RefCell::new(git);
    let report = ratchet(
        Revision::Git(Side::Rev(base.clone())),
        Revision::Git(head),
        Some(&git),
        &prefix,
        (!whole_suite).then_some(changed),
        trailers,
    )?;
    Ok(Compared {
        report: Some(report),
        basis,
        base: Some(base),
        head: Some(head_name),
        note,
    })
}

fn sarif(compared: &Compared, root: &Path) -> String {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let srcroot = super::srcroot(&root);
    let findings = compared
        .report
        .as_ref()
        .map_or(&[][..], |r| r.findings.as_slice());
    let results = crate::render::sarif::ratchet_results(findings, &root, &srcroot);
    crate::render::sarif::log(&results, &srcroot)
}

fn loc(l: &Option<crate::ratchet::compare::Loc>) -> String {
    l.as_ref()
        .map_or_else(|| "-".into(), |l| format!("{}:{}", l.file, l.line))
}

fn human(compared: &Compared) -> String {
    let mut out = String::new();
    let Some(report) = &compared.report else {
        let reason = compared.basis.as_deref().unwrap_or_default();
        let _ = writeln!(out, "deployguard ratchet: nothing to compare: {reason}");
        let _ = writeln!(out, "  result: ok: no test weakened");
        return out;
    };
    for f in &report.findings {
        let waived = f
            .waived
            .as_ref()
            .map(|w| format!(" [waived: {w}]"))
            .unwrap_or_default();
        let _ = writeln!(out, "{} {}{waived}", f.code, f.message);
        let _ = writeln!(out, "    base: {:<48} head: {}", loc(&f.base), loc(&f.head));
    }
    let waived = report.findings.len() - report.failing();
    let _ = writeln!(
        out,
        "deployguard ratchet: {} file(s) compared, {} collected test(s) before, {} after; {} finding(s){}",
        report.files_compared,
        report.tests_base,
        report.tests_head,
        report.failing(),
        if waived > 0 {
            format!(", {waived} waived")
        } else {
            String::new()
        }
    );
    if let Some(basis) = &compared.basis {
        let _ = writeln!(out, "  compared: {basis}");
    }
    let _ = writeln!(
        out,
        "  result: {}",
        if report.failing() == 0 {
            "ok: no test weakened"
        } else {
            "FAILED: tests were weakened"
        }
    );
    out
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    code: &'static str,
    severity: &'static str,
    message: &'a str,
    test: &'a str,
    file: Option<&'a str>,
    line: Option<usize>,
    witness: Vec<JsonSide<'a>>,
    waived: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonSide<'a> {
    side: &'static str,
    file: &'a str,
    line: usize,
}

fn json_finding(f: &RatchetFinding) -> JsonFinding<'_> {
    let at = f.head.as_ref().or(f.base.as_ref());
    let mut witness = Vec::new();
    if let Some(b) = &f.base {
        witness.push(JsonSide {
            side: "base",
            file: &b.file,
            line: b.line,
        });
    }
    if let Some(h) = &f.head {
        witness.push(JsonSide {
            side: "head",
            file: &h.file,
            line: h.line,
        });
    }
    JsonFinding {
        code: f.code,
        severity: if f.waived.is_some() {
            "waived"
        } else {
            "error"
        },
        message: &f.message,
        test: &f.test,
        file: at.map(|l| l.file.as_str()),
        line: at.map(|l| l.line),
        witness,
        waived: f.waived.as_deref(),
    }
}

fn json(compared: &Compared) -> String {
    #[derive(Serialize)]
    struct Summary<'a> {
        verdict: &'static str,
        findings: usize,
        waived: usize,
        files_compared: usize,
        tests_base: usize,
        tests_head: usize,
        assertions_base: usize,
        assertions_head: usize,
        /// The base commit's id, the head (a commit id, `the index`, `the working tree`).
        base: Option<&'a str>,
        head: Option<&'a str>,
        /// How `--base auto` chose them, or why nothing was compared.
        basis: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct Out<'a> {
        version: u32,
        command: &'static str,
        findings: Vec<JsonFinding<'a>>,
        summary: Summary<'a>,
    }
    let empty = RatchetReport {
        findings: Vec::new(),
        files_compared: 0,
        tests_base: 0,
        tests_head: 0,
        assertions_base: 0,
        assertions_head: 0,
    };
    let report = compared.report.as_ref().unwrap_or(&empty);
    crate::render::json::to_string(&Out {
        version: crate::render::json::SCHEMA_VERSION,
        command: "ratchet",
        findings: report.findings.iter().map(json_finding).collect(),
        summary: Summary {
            verdict: if report.failing() == 0 {
                "ok"
            } else {
                "findings"
            },
            findings: report.failing(),
            waived: report.findings.len() - report.failing(),
            files_compared: report.files_compared,
            tests_base: report.tests_base,
            tests_head: report.tests_head,
            assertions_base: report.assertions_base,
            assertions_head: report.assertions_head,
            base: compared.base.as_deref(),
            head: compared.head.as_deref(),
            basis: compared.basis.as_deref(),
        },
    })
}
