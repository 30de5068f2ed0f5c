//! JSON output. The schema is documented in the README ("JSON output"); `version` changes
//! only with a migration note.

use serde::Serialize;

use super::{Position, position};
use crate::checks::{Finding, Severity, SiteClass};
use crate::project::Project;
use crate::report::{CheckReport, SiteRow};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct JsonHop {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub label: String,
}

#[derive(Serialize)]
pub struct JsonFinding {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Null for findings about the policy itself (DG008).
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub witness: Vec<JsonHop>,
    pub help: Option<String>,
}

#[derive(Serialize)]
pub struct JsonSite {
    pub kind: SiteClass,
    #[serde(flatten)]
    pub position: Position,
    pub function: String,
    pub target: String,
    pub callee: String,
    pub via: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detached_at: Option<Position>,
}

#[derive(Serialize)]
struct JsonForbidden<'a> {
    pattern: &'a str,
    functions: &'a [String],
    reaches_sink: bool,
}

#[derive(Serialize)]
struct JsonBudget<'a> {
    entry: &'a str,
    /// The static budget derived from the code (`1 + N_cold_deps`, `unbounded`, ...).
    found: &'a str,
    /// The policy's budget.
    expected: &'a str,
    /// What the run-time guard expects, if it could be read.
    guard: Option<&'a str>,
    /// Deploys each tier adds, in the policy's tier order.
    tiers: Vec<JsonTier<'a>>,
}

#[derive(Serialize)]
struct JsonTier<'a> {
    tier: &'a str,
    deploys: &'a str,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    verdict: &'static str,
    errors: usize,
    warnings: usize,
    files: usize,
    files_too_large: usize,
    guarded_files: usize,
    sinks: &'a [String],
    counters: &'a [String],
    deploy_sites: Vec<JsonSite>,
    counter_sites: Vec<JsonSite>,
    forbidden: Vec<JsonForbidden<'a>>,
    budget: Option<JsonBudget<'a>>,
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    version: u32,
    command: &'static str,
    root: &'a str,
    policy: &'a str,
    findings: Vec<JsonFinding>,
    summary: JsonSummary<'a>,
}

pub fn finding(project: &Project, finding: &Finding) -> JsonFinding {
    let at = finding.site.map(|s| position(project, s));
    JsonFinding {
        code: finding.code,
        severity: finding.severity,
        message: finding.message.clone(),
        file: at.as_ref().map(|p| p.file.clone()),
        line: at.as_ref().map(|p| p.line),
        column: at.as_ref().map(|p| p.column),
        end_line: at.as_ref().map(|p| p.end_line),
        end_column: at.as_ref().map(|p| p.end_column),
        witness: finding
            .witness
            .iter()
            .map(|hop| {
                let p = position(project, hop.site);
                JsonHop {
                    file: p.file,
                    line: p.line,
                    column: p.column,
                    label: hop.label.clone(),
                }
            })
            .collect(),
        help: finding.help.clone(),
    }
}

pub fn site(project: &Project, row: &SiteRow) -> JsonSite {
    JsonSite {
        kind: row.class,
        position: position(project, row.site),
        function: row.function.clone(),
        target: row.target.clone(),
        callee: row.callee.clone(),
        via: row.via.clone(),
        detached_at: row.detached_at.map(|s| position(project, s)),
    }
}

pub fn check(project: &Project, report: &CheckReport) -> String {
    let output = JsonCheck {
        version: SCHEMA_VERSION,
        command: "check",
        root: &report.root,
        policy: &report.policy,
        findings: report
            .findings
            .iter()
            .map(|f| finding(project, f))
            .collect(),
        summary: JsonSummary {
            verdict: if report.holds() { "ok" } else { "findings" },
            errors: report.errors(),
            warnings: report.warnings(),
            files: report.files,
            files_too_large: report.files_too_large,
            guarded_files: report.guarded_files,
            sinks: &report.sinks,
            counters: &report.counters,
            deploy_sites: report
                .deploy_sites
                .iter()
                .map(|r| site(project, r))
                .collect(),
            counter_sites: report
                .counter_sites
                .iter()
                .map(|r| site(project, r))
                .collect(),
            forbidden: report
                .forbidden
                .iter()
                .map(|f| JsonForbidden {
                    pattern: &f.pattern,
                    functions: &f.functions,
                    reaches_sink: f.reaches_sink,
                })
                .collect(),
            budget: report.budget.as_ref().map(|b| JsonBudget {
                entry: &b.entry,
                found: &b.found,
                expected: &b.expected,
                guard: b.guard.as_deref(),
                tiers: b
                    .tiers
                    .iter()
                    .map(|(tier, deploys)| JsonTier { tier, deploys })
                    .collect(),
            }),
        },
    };
    to_string(&output)
}

pub fn to_string<T: Serialize>(value: &T) -> String {
    // Serializing plain data to a String cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}
