//! `deployguard explain [CODE|config]`: the rule docs, from each check's own doc block.

use std::fmt::Write as _;

use serde::Serialize;

use super::{CommandError, ExitStatus, Outcome};
use crate::checks::{find, rule_docs};
use crate::cli::Format;
use crate::policy::CONFIG_DOC;

#[derive(Serialize)]
struct JsonRule {
    code: &'static str,
    name: &'static str,
    summary: &'static str,
    doc: &'static str,
}

pub fn run(code: Option<&str>, format: Format) -> Result<Outcome, CommandError> {
    let rules: Vec<JsonRule> = match code {
        None => rule_docs()
            .into_iter()
            .map(|c| JsonRule {
                code: c.code,
                name: c.name,
                summary: c.summary,
                doc: c.doc,
            })
            .collect(),
        Some(code) if code.eq_ignore_ascii_case("config") => {
            let stdout = match format {
                Format::Json => crate::render::json::to_string(&CONFIG_DOC),
                _ => format!("{CONFIG_DOC}{}", crate::policy::EMBEDDED_CC_CI),
            };
            return Ok(Outcome {
                status: ExitStatus::Ok,
                stdout,
                warning: None,
            });
        }
        Some(code) => match find(code) {
            Some(c) => vec![JsonRule {
                code: c.code,
                name: c.name,
                summary: c.summary,
                doc: c.doc,
            }],
            None => {
                let known: Vec<&str> = rule_docs().iter().map(|c| c.code).collect();
                return Err(CommandError::Usage {
                    message: format!("unknown rule `{code}`"),
                    help: format!("known rules: {}, and `config`", known.join(", ")),
                });
            }
        },
    };
    let stdout = match format {
        Format::Json => crate::render::json::to_string(&rules),
        _ if code.is_none() => {
            let mut out = String::from("deployguard rules (`deployguard explain CODE` for one):\n");
            for rule in &rules {
                let _ = writeln!(out, "  {}  {:<28} {}", rule.code, rule.name, rule.summary);
            }
            out
        }
        _ => rules.iter().map(|r| format!("{}\n", r.doc)).collect(),
    };
    Ok(Outcome {
        status: ExitStatus::Ok,
        stdout,
        warning: None,
    })
}
