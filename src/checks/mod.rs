//! The checks. Each `dgNNN` module owns one rule: a doc block (printed by `explain`) and a
//! `run` function taking the analyzed project and returning plain findings. Adding a check
//! means adding one file and one line in `REGISTRY`.

pub mod analysis;
pub mod budget;
mod dg001;
mod dg002;
mod dg003;
mod dg004;
mod dg005;
mod dg006;
mod dg007;
mod dg008;
mod dg009;
mod dg100;
pub mod guard;
pub mod meaning;
pub mod must_precede;
pub mod record;
#[cfg(test)]
pub(crate) mod testing;

pub use analysis::{Analysis, DeploySite, SiteClass};

use serde::Serialize;

use crate::project::{FileIdx, Site};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One hop of a witness: where it happens and what it is, in the reviewer's words.
#[derive(Clone, Debug, Serialize)]
pub struct Hop {
    #[serde(skip)]
    pub site: Site,
    pub label: String,
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Where it is; `None` for findings about the policy itself.
    pub site: Option<Site>,
    /// The short label under the primary location.
    pub label: String,
    pub witness: Vec<Hop>,
    pub help: Option<String>,
}

/// Code deployguard could not analyze (DG009, DG100) fails closed in the guarded scope, and in
/// any file the policy's functions reach (an excluded helper that `perform_backup` calls can
/// hide a deploy just as well); elsewhere it is a warning. The severity, and the clause that
/// says which.
pub fn unanalyzed(analysis: &Analysis, file: FileIdx) -> (Severity, &'static str) {
    if analysis.project.files[file].source.guarded {
        (
            Severity::Error,
            "its calls cannot be proven, so the check fails closed",
        )
    } else if analysis.files_in_reach().contains(&file) {
        (
            Severity::Error,
            "it is outside the guarded scope, but code the policy names reaches it, so the check fails closed",
        )
    } else {
        (Severity::Warning, "it is outside the guarded scope")
    }
}

pub struct Check {
    pub code: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
    pub doc: &'static str,
    pub run: fn(&Analysis) -> Vec<Finding>,
}

pub const REGISTRY: &[Check] = &[
    dg001::CHECK,
    dg002::CHECK,
    dg003::CHECK,
    dg004::CHECK,
    dg005::CHECK,
    dg006::CHECK,
    dg007::CHECK,
    dg008::CHECK,
    dg009::CHECK,
    dg100::CHECK,
];

/// A rule's documentation, for `deployguard explain`.
#[derive(Clone, Copy)]
pub struct RuleDoc {
    pub code: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
    pub doc: &'static str,
}

/// Every documented rule: the checks, then the ratchet's rules (DG010-DG018).
pub fn rule_docs() -> Vec<RuleDoc> {
    let checks = REGISTRY.iter().map(|c| RuleDoc {
        code: c.code,
        name: c.name,
        summary: c.summary,
        doc: c.doc,
    });
    let mut docs: Vec<RuleDoc> = checks
        .chain(crate::ratchet::rules::RULES.iter().copied())
        .collect();
    docs.sort_by_key(|d| d.code);
    docs
}

pub fn find(code: &str) -> Option<RuleDoc> {
    let code = code.trim().to_ascii_uppercase();
    rule_docs()
        .into_iter()
        .find(|c| c.code == code || c.name.eq_ignore_ascii_case(&code))
}

/// Runs every check; findings sorted by file, position and code.
pub fn run_all(analysis: &Analysis) -> Vec<Finding> {
    let mut findings: Vec<Finding> = REGISTRY
        .iter()
        .flat_map(|check| (check.run)(analysis))
        .collect();
    findings.sort_by(|a, b| (a.site, a.code, &a.message).cmp(&(b.site, b.code, &b.message)));
    findings
}
