//! `deployguard sites`: the inventory of deploy and counter call sites, or, with `--sink`,
//! the call sites of any function on any tree.

use std::fmt::Write as _;

use serde::Serialize;

use super::{CommandError, ExitStatus, Outcome, display_root, load, require_format};
use crate::checks::{Analysis, SiteClass};
use crate::cli::{Common, Format};
use crate::project::{Evaluator, FileIdx, Project, Site, Target};
use crate::render::{self, Position, position};
use crate::report::site_rows;

#[derive(Serialize)]
struct JsonSite {
    #[serde(flatten)]
    position: Position,
    function: String,
    kind: String,
    sink: String,
    callee: String,
    via: Option<String>,
}

#[derive(Serialize)]
struct JsonSummary {
    files: usize,
    sites: usize,
    files_with_syntax_errors: Vec<String>,
    /// Files over `max-file-size`, not parsed.
    files_not_analyzed: Vec<String>,
}

#[derive(Serialize)]
struct JsonSites {
    version: u32,
    command: &'static str,
    root: String,
    sites: Vec<JsonSite>,
    summary: JsonSummary,
}

struct Row {
    site: Site,
    function: String,
    kind: String,
    sink: String,
    callee: String,
    via: Option<String>,
}

pub fn run(common: &Common, sinks: &[String]) -> Result<Outcome, CommandError> {
    require_format(common, &[Format::Human, Format::Json], "sites")?;
    let loaded = load(common, sinks.is_empty())?;
    let project = &loaded.project;
    let mut rows = if sinks.is_empty() {
        policy_sites(project, &loaded.policy)
    } else {
        named_sites(project, sinks)
    };
    rows.sort_by(|a, b| (a.site, &a.sink).cmp(&(b.site, &b.sink)));
    let syntax_errors: Vec<String> = project
        .files
        .iter()
        .filter(|f| !f.facts.syntax_errors.is_empty())
        .map(|f| f.source.rel.clone())
        .collect();
    let too_large: Vec<String> = project
        .files
        .iter()
        .filter(|f| f.too_large.is_some())
        .map(|f| f.source.rel.clone())
        .collect();
    let stdout = match common.format {
        Format::Json => render::json::to_string(&JsonSites {
            version: render::json::SCHEMA_VERSION,
            command: "sites",
            root: display_root(&common.root),
            summary: JsonSummary {
                files: project.files.len(),
                sites: rows.len(),
                files_with_syntax_errors: syntax_errors,
                files_not_analyzed: too_large,
            },
            sites: rows
                .into_iter()
                .map(|r| JsonSite {
                    position: position(project, r.site),
                    function: r.function,
                    kind: r.kind,
                    sink: r.sink,
                    callee: r.callee,
                    via: r.via,
                })
                .collect(),
        }),
        _ => {
            let mut out = String::new();
            for r in &rows {
                let via = r
                    .via
                    .as_ref()
                    .map(|v| format!(" via `{v}`"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{:<40} {:<10} {:<24} in {}{via}",
                    render::short(project, r.site),
                    r.kind,
                    r.sink,
                    r.function
                );
            }
            let _ = writeln!(
                out,
                "{} site{} in {} files",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" },
                project.files.len()
            );
            for file in &syntax_errors {
                let _ = writeln!(
                    out,
                    "warning: {file} does not parse; its sites may be incomplete"
                );
            }
            for file in &too_large {
                let _ = writeln!(
                    out,
                    "warning: {file} is over `max-file-size` and was not analyzed; its sites are missing"
                );
            }
            out
        }
    };
    Ok(Outcome {
        status: ExitStatus::Ok,
        stdout,
        warning: None,
    })
}

fn policy_sites(project: &Project, policy: &crate::policy::Policy) -> Vec<Row> {
    let analysis = Analysis::new(project, policy);
    let mut rows = Vec::new();
    for row in site_rows(&analysis, &analysis.deploy_sites)
        .into_iter()
        .chain(site_rows(&analysis, &analysis.counter_sites))
    {
        let kind = match row.class {
            SiteClass::Base => "base",
            SiteClass::Dep => "dep",
            SiteClass::Exempt => "exempt",
            SiteClass::Counter => "counter",
            SiteClass::Unexpected => "unexpected",
        };
        rows.push(Row {
            site: row.site,
            function: row.function,
            kind: kind.into(),
            sink: row.target,
            callee: row.callee,
            via: row.via,
        });
    }
    rows
}

/// Calls written as `NAME(...)` / `x.NAME(...)`, plus calls that resolve to a project
/// function named NAME through an alias or indirection (marked with `via`).
fn named_sites(project: &Project, names: &[String]) -> Vec<Row> {
    let evaluator = Evaluator::new(project);
    let mut rows = Vec::new();
    for (file, source) in project.files.iter().enumerate() {
        for (scope_idx, scope) in source.facts.scopes.iter().enumerate() {
            let function = || {
                project.funcs[project.executing_func(file, scope_idx)]
                    .qualname
                    .clone()
            };
            for call in &scope.calls {
                for name in names {
                    if call.written_name.as_deref() == Some(name.as_str()) {
                        rows.push(row(file, call, function(), name, None));
                    } else if resolves_to(project, &evaluator, file, scope_idx, call, name) {
                        rows.push(row(
                            file,
                            call,
                            function(),
                            name,
                            Some(call.callee_text.clone()),
                        ));
                    }
                }
            }
        }
    }
    rows
}

fn row(
    file: FileIdx,
    call: &crate::facts::Call,
    function: String,
    name: &str,
    via: Option<String>,
) -> Row {
    Row {
        site: Site {
            file,
            range: call.range,
        },
        function,
        kind: "call".into(),
        sink: name.to_string(),
        callee: call.callee_text.clone(),
        via,
    }
}

fn resolves_to(
    project: &Project,
    evaluator: &Evaluator,
    file: FileIdx,
    scope: usize,
    call: &crate::facts::Call,
    name: &str,
) -> bool {
    evaluator
        .call_targets(file, scope, &call.callee)
        .iter()
        .any(|t| match t {
            Target::Func { func, .. } => {
                project.funcs[*func].qualname.rsplit('.').next() == Some(name)
            }
            _ => false,
        })
}
