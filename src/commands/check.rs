//! `deployguard check`: every rule, the inventory, and the verdict.

use super::{CommandError, ExitStatus, Outcome, display_root, load, require_format, style};
use crate::checks::{Analysis, run_all};
use crate::cli::{Common, Format};
use crate::render;
use crate::report::check_report;

pub fn run(common: &Common, strict: bool) -> Result<Outcome, CommandError> {
    require_format(
        common,
        &[Format::Human, Format::Json, Format::Sarif],
        "check",
    )?;
    let loaded = load(common, true)?;
    let analysis = Analysis::new(&loaded.project, &loaded.policy);
    let findings = run_all(&analysis);
    let report = check_report(&analysis, display_root(&common.root), findings, strict);
    let stdout = match common.format {
        Format::Json => render::json::check(&loaded.project, &report),
        Format::Sarif => {
            let srcroot = super::srcroot(&common.root);
            let results = render::sarif::check_results(&loaded.project, &report.findings, &srcroot);
            render::sarif::log(&results, &srcroot)
        }
        _ => render::human::check(&loaded.project, &report, &style(common)),
    };
    let status = if report.holds() {
        ExitStatus::Ok
    } else {
        ExitStatus::Findings
    };
    Ok(Outcome {
        status,
        stdout,
        warning: None,
    })
}
