//! Markdown output: the reviewer's report of `verify` (B1 the budget, B2 the guard, B3 the
//! ratchet, the runs), to paste into a review or a pull-request comment, with a Mermaid
//! picture of the deploy-relevant call graph.

use std::fmt::Write as _;

use super::short;
use crate::checks::{Finding, Severity, SiteClass};
use crate::project::{Project, Site};
use crate::ratchet::compare::Loc;
use crate::report::{DeploySubgraph, GUARD_RULE, RatchetSection, SiteRow, VerifyReport};
use crate::runlog::RunCheck;

fn verdict(passes: Option<bool>) -> &'static str {
    match passes {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "NOT CHECKED",
    }
}

/// One line per section, for the terminal when the report goes to a file.
pub fn verdicts(report: &VerifyReport) -> String {
    let runs = if report.runs.is_empty() {
        "no run logs"
    } else if report.runs_pass() {
        "runs PASS"
    } else {
        "runs FAIL"
    };
    format!(
        "deployguard verify: {} (B1 {}, B2 {}, B3 {}, {runs})",
        if report.holds() { "PASS" } else { "FAIL" },
        verdict(Some(report.b1_passes())),
        verdict(report.b2_passes()),
        verdict(report.b3_passes()),
    )
}

pub fn verify(project: &Project, report: &VerifyReport) -> String {
    let mut out = String::new();
    let check = &report.check;
    let _ = writeln!(out, "# deployguard verify: {}\n", code(&check.root));
    let _ = writeln!(out, "**{}**\n", verdicts(report));
    out.push_str("| | |\n| --- | --- |\n");
    let commit = match &report.head {
        Some(id) if report.dirty => format!("{} with uncommitted changes", code(id)),
        Some(id) => format!("{} (working tree clean)", code(id)),
        None => "not a git repository".into(),
    };
    row(&mut out, &["commit analyzed (B1, B2)", &commit]);
    if let RatchetSection::Checked(compared) = &report.ratchet
        && let (Some(base), Some(head)) = (&compared.base, &compared.head)
    {
        row(
            &mut out,
            &[
                "commits compared (B3)",
                &format!("{} .. {}", code(base), commit_or_side(head)),
            ],
        );
    }
    row(&mut out, &["deployguard", report.version]);
    row(&mut out, &["policy", &check.policy]);
    row(
        &mut out,
        &[
            "files",
            &format!(
                "{} analyzed, {} in the guarded scope, {} too large to analyze",
                check.files, check.guarded_files, check.files_too_large
            ),
        ],
    );
    row(&mut out, &["reproduce", &code(&report.command)]);
    out.push('\n');
    b1(&mut out, project, report);
    b2(&mut out, project, report);
    b3(&mut out, report);
    runs(&mut out, report);
    picture(&mut out, &report.subgraph);
    out
}

fn b1(out: &mut String, project: &Project, report: &VerifyReport) {
    let check = &report.check;
    let _ = writeln!(
        out,
        "## B1: the deploy budget: {}\n",
        verdict(Some(report.b1_passes()))
    );
    if let Some(budget) = &check.budget {
        let _ = writeln!(
            out,
            "Static budget of one run of {}: **{}**; the policy's: {}.\n",
            code(&budget.entry),
            code(&budget.found),
            code(&budget.expected)
        );
    }
    let _ = writeln!(
        out,
        "### Deploy and counter sites ({} of {}; {} of {})\n",
        check.deploy_sites.len(),
        names(&check.sinks),
        check.counter_sites.len(),
        names(&check.counters)
    );
    out.push_str("| kind | site | in | note |\n| --- | --- | --- | --- |\n");
    for site in check.deploy_sites.iter().chain(&check.counter_sites) {
        site_row(out, project, site);
    }
    let _ = writeln!(out, "\n### Forbidden sources\n");
    out.push_str("| source | verdict |\n| --- | --- |\n");
    let sinks = names(&check.sinks);
    for forbidden in &check.forbidden {
        let source = if forbidden.functions.is_empty() {
            format!("{} (matches no function)", code(&forbidden.pattern))
        } else {
            forbidden
                .functions
                .iter()
                .map(|f| code(f))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let said = if forbidden.functions.is_empty() {
            "NOT FOUND (DG008)".to_string()
        } else if forbidden.reaches_sink {
            format!(
                "**CAN reach {sinks}** in {} hop(s), chain below",
                forbidden.witness.len()
            )
        } else {
            format!("cannot reach {sinks}")
        };
        row(out, &[&source, &said]);
    }
    for forbidden in check.forbidden.iter().filter(|f| f.reaches_sink) {
        let _ = writeln!(
            out,
            "\nWitness chain from {}:\n",
            code(&forbidden.functions.join(", "))
        );
        for (i, hop) in forbidden.witness.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. {} {}",
                i + 1,
                code(&short(project, hop.site)),
                hop.label
            );
        }
    }
    if let Some(budget) = &check.budget
        && !budget.tiers.is_empty()
    {
        let _ = writeln!(out, "\n### Deploys added per tier\n");
        out.push_str("| tier | deploys |\n| --- | --- |\n");
        for (tier, cost) in &budget.tiers {
            row(out, &[tier, &code(cost)]);
        }
    }
    let findings: Vec<&Finding> = check
        .findings
        .iter()
        .filter(|f| f.code != GUARD_RULE)
        .collect();
    findings_table(out, project, "Findings (every rule but DG005)", &findings);
    out.push('\n');
}

fn site_row(out: &mut String, project: &Project, site: &SiteRow) {
    let kind = match site.class {
        SiteClass::Base => "base",
        SiteClass::Dep => "dep (one per cold dep)",
        SiteClass::Exempt => "exempt",
        SiteClass::Counter => "counter",
        SiteClass::Unexpected => "**UNEXPECTED**",
    };
    let mut note = site
        .via
        .as_ref()
        .map(|via| format!("via {}", code(via)))
        .unwrap_or_default();
    if site.class == SiteClass::Exempt {
        let detached = match site.detached_at {
            Some(at) => format!(
                "counter detached first at {}: {}",
                code(&short(project, at)),
                code(&source_line(project, at))
            ),
            None => "**counter NOT detached**".into(),
        };
        note = if note.is_empty() {
            detached
        } else {
            format!("{note}; {detached}")
        };
    }
    row(
        out,
        &[
            kind,
            &code(&short(project, site.site)),
            &code(&site.function),
            &note,
        ],
    );
}

fn b2(out: &mut String, project: &Project, report: &VerifyReport) {
    let guard = &report.guard;
    let _ = writeln!(out, "## B2: the guard: {}\n", verdict(report.b2_passes()));
    if !guard.named {
        out.push_str("The policy names no run-time guard, so there is nothing to check.\n\n");
        return;
    }
    let policy = report
        .check
        .budget
        .as_ref()
        .map_or("-".to_string(), |b| code(&b.expected));
    out.push_str("| what | where | code |\n| --- | --- | --- |\n");
    let formula = guard
        .expected
        .as_deref()
        .map_or("could not be read".to_string(), code);
    row(
        out,
        &[
            "expects",
            "",
            &format!("{formula} (the policy's budget: {policy})"),
        ],
    );
    let at = |site: Site| {
        let (line, _) = project.line_col(site.file, site.range.start);
        format!("{}:{line}", project.files[site.file].source.rel)
    };
    match guard.comparison {
        Some(site) => row(
            out,
            &[
                "compares",
                &code(&at(site)),
                &code(&source_line(project, site)),
            ],
        ),
        None => row(
            out,
            &["compares", "", "no comparison holds (see DG005 below)"],
        ),
    }
    for &exit in &guard.exits {
        row(
            out,
            &[
                "fails the run at",
                &code(&at(exit)),
                &code(&source_line(project, exit)),
            ],
        );
    }
    let findings: Vec<&Finding> = report
        .check
        .findings
        .iter()
        .filter(|f| f.code == GUARD_RULE)
        .collect();
    findings_table(out, project, "Findings (DG005)", &findings);
    out.push('\n');
}

fn b3(out: &mut String, report: &VerifyReport) {
    let _ = writeln!(
        out,
        "## B3: no test weakened: {}\n",
        verdict(report.b3_passes())
    );
    let compared = match &report.ratchet {
        RatchetSection::NotChecked(why) => {
            let _ = writeln!(out, "Not checked: {why}.\n");
            return;
        }
        RatchetSection::Checked(compared) => compared,
    };
    if let Some(basis) = &compared.basis {
        let _ = writeln!(out, "Compared: {basis}.\n");
    }
    let Some(ratchet) = &compared.report else {
        return;
    };
    out.push_str("| | base | head |\n| --- | --- | --- |\n");
    row(
        out,
        &[
            "collected tests",
            &ratchet.tests_base.to_string(),
            &ratchet.tests_head.to_string(),
        ],
    );
    row(
        out,
        &[
            "effective assertions",
            &ratchet.assertions_base.to_string(),
            &ratchet.assertions_head.to_string(),
        ],
    );
    let _ = writeln!(
        out,
        "\n(counted over the {} test and source file(s) compared)\n",
        ratchet.files_compared
    );
    if ratchet.findings.is_empty() {
        out.push_str("No test weakened.\n\n");
        return;
    }
    out.push_str(
        "| code | test | base | head | what | waived |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    let loc = |l: &Option<Loc>| {
        l.as_ref()
            .map_or("-".to_string(), |l| code(&format!("{}:{}", l.file, l.line)))
    };
    for f in &ratchet.findings {
        row(
            out,
            &[
                f.code,
                &code(&f.test),
                &loc(&f.base),
                &loc(&f.head),
                &f.message,
                f.waived.as_deref().unwrap_or(""),
            ],
        );
    }
    out.push('\n');
}

fn runs(out: &mut String, report: &VerifyReport) {
    if report.runs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Runs against the static budget: {}\n",
        verdict(Some(report.runs_pass()))
    );
    let budget = report
        .check
        .budget
        .as_ref()
        .map_or("-".to_string(), |b| code(&b.found));
    out.push_str(
        "| log | deploy-count | expect | cold deps deployed | static budget at N | tiers | verdict |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for run in &report.runs {
        run_row(out, run, &budget);
    }
    for run in report.runs.iter().filter(|r| !r.passed()) {
        let _ = writeln!(out, "\n{} FAIL:\n", code(&run.log.file));
        for (message, line) in &run.problems {
            match line {
                Some(line) => {
                    let _ = writeln!(
                        out,
                        "- {}: {} ({message})",
                        code(&format!("{}:{}", run.log.file, line.line)),
                        code(&line.text)
                    );
                }
                None => {
                    let _ = writeln!(out, "- {message}");
                }
            }
        }
    }
    out.push('\n');
}

fn run_row(out: &mut String, run: &RunCheck, budget: &str) {
    let (count, expect) = run
        .log
        .count
        .as_ref()
        .map_or(("-".into(), "-".into()), |(n, m, _)| {
            (n.to_string(), m.to_string())
        });
    let deps = match &run.log.cold_deps {
        None => "-".to_string(),
        Some((deps, _)) if deps.is_empty() => "0".to_string(),
        Some((deps, _)) => format!("{} ({})", deps.len(), deps.join(", ")),
    };
    let at = match (run.budget_at_run, &run.log.cold_deps) {
        (Some(at), Some((deps, _))) => format!("{budget} at N = {}: {at}", deps.len()),
        _ => "-".into(),
    };
    let tiers = run
        .log
        .tiers
        .iter()
        .map(|(name, status, _)| format!("{name} {status}"))
        .collect::<Vec<_>>()
        .join(", ");
    row(
        out,
        &[
            &code(&run.log.file),
            &count,
            &expect,
            &deps,
            &at,
            &tiers,
            verdict(Some(run.passed())),
        ],
    );
}

fn findings_table(out: &mut String, project: &Project, title: &str, findings: &[&Finding]) {
    let _ = writeln!(out, "\n### {title}\n");
    if findings.is_empty() {
        out.push_str("None.\n");
        return;
    }
    out.push_str("| code | severity | where | what |\n| --- | --- | --- | --- |\n");
    for f in findings {
        let severity = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let at = f.site.map_or("-".to_string(), |s| code(&short(project, s)));
        row(out, &[f.code, severity, &at, &f.message]);
    }
}

/// The deploy-relevant subgraph as a Mermaid flowchart: the sinks red, forbidden sources
/// green when they cannot reach a deploy and red when they can, witness edges thick and red.
fn picture(out: &mut String, graph: &DeploySubgraph) {
    out.push_str("## Who can reach a deploy\n\n");
    out.push_str(
        "Every function that can reach the deploy sink, the forbidden sources, and the witness \
         chains (thick red) from those that can reach it.\n\n",
    );
    out.push_str("```mermaid\n");
    out.push_str(&super::graph::mermaid(graph));
    out.push_str("```\n");
    if graph.folded > 0 {
        let _ = writeln!(out, "\n{} more functions folded.", graph.folded);
    }
}

/// A commit id as code; `the index`, `the working tree` as words.
fn commit_or_side(head: &str) -> String {
    if head.starts_with("the ") {
        head.to_string()
    } else {
        code(head)
    }
}

fn source_line(project: &Project, site: Site) -> String {
    let (line, _) = project.line_col(site.file, site.range.start);
    project.line_text(site.file, line).trim().to_string()
}

fn names(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".into()
    } else {
        names.iter().map(|n| code(n)).collect::<Vec<_>>().join(", ")
    }
}

/// Inline code, with a fence longer than any run of backticks inside.
fn code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A table row; `|` and line breaks in cells would end the cell or the row.
fn row(out: &mut String, cells: &[&str]) {
    out.push('|');
    for cell in cells {
        let cell = cell.replace('|', "\\|").replace(['\n', '\r'], " ");
        let _ = write!(out, " {cell} |");
    }
    out.push('\n');
}
