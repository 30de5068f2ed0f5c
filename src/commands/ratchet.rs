//! `deployguard ratchet`: no test quietly weakened between two revisions.

use std::cell::RefCell;
use std::fmt::Write as _;

use serde::Serialize;

use super::{CommandError, ExitStatus, Outcome};
use crate::cli::{Format, RatchetArgs};
use crate::ratchet::compare::RatchetFinding;
use crate::ratchet::git::{Git, Side};
use crate::ratchet::run::{RatchetReport, Revision, ratchet};

pub fn run(args: &RatchetArgs) -> Result<Outcome, CommandError> {
    if args.format == Format::Dot {
        return Err(CommandError::Usage {
            message: "`ratchet` does not support --format dot".into(),
            help: "use human or json".into(),
        });
    }
    let report = match (&args.base_tree, &args.head_tree, &args.base) {
        (Some(base), Some(head), None) => ratchet(
            Revision::Tree(base.clone()),
            Revision::Tree(head.clone()),
            None,
            "",
            None,
            Vec::new(),
        )?,
        (None, None, Some(base)) => with_git(args, base)?,
        _ => {
            return Err(CommandError::Usage {
                message: "say what to compare: --base REV [--head REV | --staged], or --base-tree DIR --head-tree DIR".into(),
                help: "e.g. `deployguard ratchet --base origin/main` (head = the working tree), `--staged` in a pre-commit hook".into(),
            });
        }
    };
    let stdout = match args.format {
        Format::Json => json(&report),
        _ => human(&report),
    };
    let status = if report.failing() > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Ok
    };
    Ok(Outcome {
        status,
        stdout,
        warning: None,
    })
}

fn with_git(args: &RatchetArgs, base: &str) -> Result<RatchetReport, CommandError> {
    let root = args
        .root
        .canonicalize()
        .map_err(|_| crate::discover::DiscoverError::Missing {
            path: args.root.clone(),
        })?;
    let git = Git::open(&root).map_err(crate::ratchet::run::RatchetError::from)?;
    let prefix = match root.strip_prefix(git.toplevel()) {
        Ok(rel) if rel.as_os_str().is_empty() => String::new(),
        Ok(rel) => format!("{}/", rel.to_string_lossy().replace('\\', "/")),
        Err(_) => String::new(),
    };
    let base = git
        .resolve(base)
        .map_err(crate::ratchet::run::RatchetError::from)?;
    let head = match (&args.head, args.staged) {
        (Some(_), true) => {
            return Err(CommandError::Usage {
                message: "--head and --staged cannot be used together".into(),
                help: String::new(),
            });
        }
        (Some(head), false) => Side::Rev(
            git.resolve(head)
                .map_err(crate::ratchet::run::RatchetError::from)?,
        ),
        (None, true) => Side::Index,
        (None, false) => Side::WorkTree,
    };
    let changed: Vec<String> = git
        .changes(&base, &head)
        .map_err(crate::ratchet::run::RatchetError::from)?
        .into_iter()
        .flat_map(|c| [c.old_path, c.new_path])
        .flatten()
        .filter_map(|p| p.strip_prefix(&prefix).map(str::to_string))
        .collect();
    let trailers = match &head {
        Side::Rev(head) => git
            .trailers(&base, head, "Deployguard-Waive")
            .map_err(crate::ratchet::run::RatchetError::from)?,
        _ => Vec::new(),
    };
    let git = RefCell::new(git);
    Ok(ratchet(
        Revision::Git(Side::Rev(base)),
        Revision::Git(head),
        Some(&git),
        &prefix,
        Some(changed),
        trailers,
    )?)
}

fn loc(l: &Option<crate::ratchet::compare::Loc>) -> String {
    l.as_ref()
        .map_or_else(|| "-".into(), |l| format!("{}:{}", l.file, l.line))
}

fn human(report: &RatchetReport) -> String {
    let mut out = String::new();
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

fn json(report: &RatchetReport) -> String {
    #[derive(Serialize)]
    struct Summary {
        verdict: &'static str,
        findings: usize,
        waived: usize,
        files_compared: usize,
        tests_base: usize,
        tests_head: usize,
    }
    #[derive(Serialize)]
    struct Out<'a> {
        version: u32,
        command: &'static str,
        findings: Vec<JsonFinding<'a>>,
        summary: Summary,
    }
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
        },
    })
}
