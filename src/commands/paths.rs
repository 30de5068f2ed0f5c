//! `deployguard paths --from FUNC [--to FUNC]`: witness chains, hop by hop.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::{CommandError, ExitStatus, Outcome, load, require_format};
use crate::checks::analysis::functions_matching;
use crate::checks::{Analysis, Severity, unanalyzed};
use crate::cli::{Common, Format};
use crate::policy::Pattern;
use crate::render::{self, position};

#[derive(Serialize)]
struct JsonPath {
    from: String,
    to: Option<String>,
    hops: Vec<render::json::JsonHop>,
    /// Why "no path" is not proven (empty when it is, or when a path was found).
    unproven: Vec<String>,
}

/// What the graph could not see: files that do not parse or were not read where `check`
/// fails closed on them (the guarded scope and whatever the policy's functions reach), and
/// value flow that did not settle. Any of these makes "no path" unproven.
fn blind_spots(analysis: &Analysis) -> Vec<String> {
    let mut reasons: Vec<String> = analysis
        .project
        .files
        .iter()
        .enumerate()
        .filter(|(file, _)| unanalyzed(analysis, *file).0 == Severity::Error)
        .filter_map(|(_, f)| {
            if f.too_large.is_some() {
                Some(format!("{} was not analyzed (DG009)", f.source.rel))
            } else if !f.facts.syntax_errors.is_empty() {
                Some(format!("{} does not parse (DG100)", f.source.rel))
            } else {
                None
            }
        })
        .collect();
    if analysis.graph.unsettled {
        reasons.push("value flow did not settle (DG007)".into());
    }
    reasons
}

fn pattern(text: &str, flag: &str) -> Result<Pattern, CommandError> {
    Pattern::parse(text).map_err(|message| CommandError::Usage {
        message: format!("{flag}: {message}"),
        help: String::new(),
    })
}

pub fn run(common: &Common, from: &str, to: Option<&str>) -> Result<Outcome, CommandError> {
    require_format(common, &[Format::Human, Format::Json], "paths")?;
    let loaded = load(common, to.is_none())?;
    let analysis = Analysis::new(&loaded.project, &loaded.policy);
    let from_pattern = pattern(from, "--from")?;
    let sources = functions_matching(&loaded.project, &from_pattern);
    if sources.is_empty() {
        return Err(CommandError::Usage {
            message: format!("--from `{from}` matches no function under {}", common.root.display()),
            help: "give a function name or dotted suffix, e.g. `perform_backup` or `generic.perform_backup`; `deployguard graph` lists every function".into(),
        });
    }
    let targets: BTreeSet<usize> = match to {
        Some(to) => {
            let found = functions_matching(&loaded.project, &pattern(to, "--to")?);
            if found.is_empty() {
                return Err(CommandError::Usage {
                    message: format!("--to `{to}` matches no function under {}", common.root.display()),
                    help: "give a function name or dotted suffix, e.g. `deploy_app` or `lifecycle.deploy_app`; `deployguard graph` lists every function".into(),
                });
            }
            found.into_iter().collect()
        }
        None => analysis.sinks.clone(),
    };
    let blind = blind_spots(&analysis);
    let mut paths = Vec::new();
    for &source in &sources {
        let path = analysis
            .graph
            .shortest_path(&analysis.as_called(source), &targets);
        let hops = path
            .as_deref()
            .map(|p| analysis.witness(p))
            .unwrap_or_default();
        let end = path
            .as_ref()
            .and_then(|p| p.last())
            .map(|&i| analysis.name(analysis.graph.edges[i].to).to_string())
            // The source is a target itself: reached in zero hops, not "no path".
            .or_else(|| {
                targets
                    .contains(&source)
                    .then(|| analysis.name(source).to_string())
            });
        // An unresolvable call in the source's reach could be the sink: as in DG007.
        let mut unproven = blind.clone();
        if end.is_none() {
            let called = analysis.as_called(source);
            let reach = analysis.graph.reachable(&called);
            for dynamic in analysis
                .graph
                .dynamic
                .iter()
                .filter(|d| reach.contains(&d.func))
            {
                unproven.push(format!(
                    "`{}` at {} cannot be resolved ({}; DG007)",
                    dynamic.callee_text,
                    render::short(&loaded.project, dynamic.site),
                    dynamic.reason
                ));
            }
        }
        paths.push((analysis.name(source).to_string(), end, hops, unproven));
    }
    let stdout = match common.format {
        Format::Json => render::json::to_string(
            &paths
                .iter()
                .map(|(from, to, hops, unproven)| JsonPath {
                    from: from.clone(),
                    to: to.clone(),
                    hops: hops
                        .iter()
                        .map(|h| {
                            let p = position(&loaded.project, h.site);
                            render::json::JsonHop {
                                file: p.file,
                                line: p.line,
                                column: p.column,
                                label: h.label.clone(),
                            }
                        })
                        .collect(),
                    unproven: if to.is_none() {
                        unproven.clone()
                    } else {
                        Vec::new()
                    },
                })
                .collect::<Vec<_>>(),
        ),
        _ => {
            let mut out = String::new();
            let target_names: Vec<&str> = targets.iter().map(|&t| analysis.name(t)).collect();
            for (from, to, hops, unproven) in &paths {
                match to {
                    None if unproven.is_empty() => {
                        let _ = writeln!(out, "{from}: no path to {}", target_names.join(", "));
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "{from}: no path to {} found, but NOT PROVEN: {}; run `deployguard check`",
                            target_names.join(", "),
                            unproven.join("; ")
                        );
                    }
                    Some(to) => {
                        let _ = writeln!(
                            out,
                            "{from} -> {to} ({} hop{}):",
                            hops.len(),
                            if hops.len() == 1 { "" } else { "s" }
                        );
                        for (i, hop) in hops.iter().enumerate() {
                            let _ = writeln!(
                                out,
                                "  {}. {}  {}",
                                i + 1,
                                render::short(&loaded.project, hop.site),
                                hop.label
                            );
                        }
                    }
                }
            }
            out
        }
    };
    // A "no path" the graph could not see is not an answer: exit 1, as a finding would.
    let unproven = paths
        .iter()
        .any(|(_, to, _, unproven)| to.is_none() && !unproven.is_empty());
    Ok(Outcome {
        status: if unproven {
            ExitStatus::Findings
        } else {
            ExitStatus::Ok
        },
        stdout,
        warning: None,
    })
}
