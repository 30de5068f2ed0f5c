//! Human output: miette diagnostics with source snippets for findings, then the inventory a
//! reviewer pastes into a review (every site, path and count).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report,
};

use super::short;
use crate::checks::{Finding, Severity, SiteClass};
use crate::project::Project;
use crate::report::{CheckReport, SiteRow};

pub struct Style {
    pub color: bool,
}

fn handler(style: &Style) -> GraphicalReportHandler {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(110)
        .with_links(false)
}

/// One finding as a miette diagnostic: the primary site with a snippet, labels on witness
/// hops in the same file, and the whole witness as numbered `file:line:col` lines.
pub fn finding(project: &Project, finding: &Finding, style: &Style) -> String {
    let mut help = String::new();
    if !finding.witness.is_empty() {
        help.push_str("witness:\n");
        for (i, hop) in finding.witness.iter().enumerate() {
            let _ = writeln!(
                help,
                "  {}. {}  {}",
                i + 1,
                short(project, hop.site),
                hop.label
            );
        }
    }
    if let Some(extra) = &finding.help {
        help.push_str(extra);
    }
    let severity = match finding.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let mut diagnostic = MietteDiagnostic::new(finding.message.clone())
        .with_code(finding.code)
        .with_severity(severity);
    if !help.is_empty() {
        diagnostic = diagnostic.with_help(help.trim_end().to_string());
    }
    let mut out = String::new();
    let report = match finding.site {
        Some(site) => {
            let mut labels = vec![LabeledSpan::new_primary_with_span(
                Some(finding.label.clone()),
                site.range.start as usize..site.range.end as usize,
            )];
            for (i, hop) in finding.witness.iter().enumerate() {
                if hop.site.file == site.file && hop.site != site {
                    labels.push(LabeledSpan::new_with_span(
                        Some(format!("hop {}", i + 1)),
                        hop.site.range.start as usize..hop.site.range.end as usize,
                    ));
                }
            }
            let file = &project.files[site.file];
            let text = String::from_utf8_lossy(&file.text).into_owned();
            Report::new(diagnostic.with_labels(labels))
                .with_source_code(NamedSource::new(file.source.rel.clone(), text))
        }
        None => Report::new(diagnostic),
    };
    if handler(style)
        .render_report(&mut out, report.as_ref())
        .is_err()
    {
        let _ = writeln!(out, "{}: {}", finding.code, finding.message);
    }
    out
}

fn site_line(project: &Project, row: &SiteRow) -> String {
    let kind = match row.class {
        SiteClass::Base => "base",
        SiteClass::Dep => "dep",
        SiteClass::Exempt => "exempt",
        SiteClass::Counter => "counter",
        SiteClass::Unexpected => "UNEXPECTED",
    };
    let mut line = format!(
        "    {kind:<10} {:<36} in {}",
        short(project, row.site),
        row.function
    );
    if let Some(via) = &row.via {
        let _ = write!(line, " (via `{via}`)");
    }
    if row.class == SiteClass::Exempt {
        match row.detached_at {
            Some(at) => {
                let _ = write!(
                    line,
                    "; counter detached at {}: `{}`",
                    short(project, at),
                    project_line(project, at)
                );
            }
            None => line.push_str("; counter NOT detached"),
        }
    }
    line
}

fn project_line(project: &Project, site: crate::project::Site) -> String {
    let (line, _) = project.line_col(site.file, site.range.start);
    project.line_text(site.file, line).trim().to_string()
}

/// Findings that mean the call graph could not see everything.
const BLIND_CODES: &[&str] = &["DG007", "DG009", "DG100"];

pub fn check(project: &Project, report: &CheckReport, style: &Style) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&finding(project, f, style));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "deployguard check {} (policy: {})",
        report.root, report.policy
    );
    let too_large = if report.files_too_large > 0 {
        format!(", {} too large to analyze", report.files_too_large)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  files: {} analyzed{too_large}, {} in the guarded scope",
        report.files, report.guarded_files
    );
    let _ = writeln!(
        out,
        "  deploy sites ({} site{} of {}):",
        report.deploy_sites.len(),
        plural(report.deploy_sites.len()),
        list(&report.sinks)
    );
    for row in &report.deploy_sites {
        let _ = writeln!(out, "{}", site_line(project, row));
    }
    let _ = writeln!(
        out,
        "  counter sites ({} site{} of {}):",
        report.counter_sites.len(),
        plural(report.counter_sites.len()),
        list(&report.counters)
    );
    for row in &report.counter_sites {
        let _ = writeln!(out, "{}", site_line(project, row));
    }
    let reaching = report.forbidden.iter().filter(|f| f.reaches_sink).count();
    // What the graph could not see (a file that does not parse or was not read, a call it
    // cannot resolve, value flow that did not settle) makes "none" a finding, not a fact.
    let blind: BTreeSet<&str> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error && BLIND_CODES.contains(&f.code))
        .map(|f| f.code)
        .collect();
    let _ = writeln!(
        out,
        "  forbidden sources ({} checked; {}):",
        report.forbidden.len(),
        match (reaching, blind.is_empty()) {
            (0, true) => "none can reach a deploy".to_string(),
            (0, false) => format!(
                "none found to reach a deploy, NOT PROVEN: see {}",
                blind.iter().copied().collect::<Vec<_>>().join(", ")
            ),
            _ => format!("{reaching} CAN reach a deploy"),
        }
    );
    for row in &report.forbidden {
        let status = if row.functions.is_empty() {
            "NOT FOUND".to_string()
        } else if row.reaches_sink {
            "REACHES A DEPLOY".to_string()
        } else if blind.is_empty() {
            "no path to a deploy".to_string()
        } else {
            "no path found (not proven)".to_string()
        };
        let names = if row.functions.is_empty() {
            row.pattern.clone()
        } else {
            row.functions.join(", ")
        };
        let _ = writeln!(out, "    {names:<48} {status}");
    }
    if let Some(budget) = &report.budget {
        let guard = budget.guard.as_deref().unwrap_or("no guard found");
        let _ = writeln!(
            out,
            "  static budget of {}: {}; guard expects: {guard}; policy: {}",
            budget.entry, budget.found, budget.expected
        );
        let tiers: Vec<String> = budget
            .tiers
            .iter()
            .map(|(name, cost)| format!("{name} {cost}"))
            .collect();
        if !tiers.is_empty() {
            let _ = writeln!(out, "  deploys added per tier: {}", tiers.join(", "));
        }
    }
    let verdict = if report.holds() {
        "ok: the deploy invariants hold"
    } else {
        "FAILED: the deploy invariants are not proven"
    };
    let _ = writeln!(
        out,
        "  result: {verdict} ({} error{}, {} warning{})",
        report.errors(),
        plural(report.errors()),
        report.warnings(),
        plural(report.warnings())
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}
