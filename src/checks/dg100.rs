//! DG100: a file that does not parse.

use super::{Analysis, Check, Finding, unanalyzed};
use crate::project::Site;

pub const CHECK: Check = Check {
    code: "DG100",
    name: "syntax-error",
    summary: "a file does not parse, so nothing in it can be proven",
    doc: "\
DG100 syntax-error

What it catches
  A Python file that tree-sitter cannot parse cleanly (it had to recover with ERROR or
  MISSING nodes): a half-finished edit, a merge conflict marker, Python 2 syntax.

Why it matters for the deploy budget
  Calls inside code that does not parse cannot be resolved, so a deploy could hide there.
  In the guarded scope this fails closed (an error, exit 1), and so does a file outside it
  (an excluded or test file) that the policy's functions reach: the sink, the counter, the
  entry or a forbidden source calls into it. Anywhere else it is a warning. Nothing turns
  such a DG100 into a pass, and the summary then says the forbidden sources are NOT PROVEN.

Example
  # harness/generic.py
  def perform_backup(app:
      backup_app(app)             # DG100: `(` never closed

Fix
  Make the file parse (python3 -m py_compile FILE tells you what Python thinks).",
    run,
};

fn run(analysis: &Analysis) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (file, source) in analysis.project.files.iter().enumerate() {
        let errors = &source.facts.syntax_errors;
        let Some(first) = errors.first() else {
            continue;
        };
        let (severity, consequence) = unanalyzed(analysis, file);
        let more = if errors.len() > 1 {
            format!(" (and {} more)", errors.len() - 1)
        } else {
            String::new()
        };
        findings.push(Finding {
            code: CHECK.code,
            severity,
            message: format!(
                "{} does not parse: {}{more}; {}",
                source.source.rel, first.message, consequence
            ),
            site: Some(Site {
                file,
                range: first.range,
            }),
            label: first.message.clone(),
            witness: Vec::new(),
            help: Some(format!(
                "run `python3 -m py_compile {}` to see what Python reports",
                source.source.rel
            )),
        });
    }
    findings
}
