//! DG009: a file too large to analyze.

use super::{Analysis, Check, Finding, unanalyzed};
use crate::facts::TextRange;
use crate::project::Site;

pub const CHECK: Check = Check {
    code: "DG009",
    name: "file-too-large",
    summary: "a file is over the size limit, so it was not analyzed",
    doc: "\
DG009 file-too-large

What it catches
  A Python file larger than the policy's `max-file-size` (10 MiB unless configured), which
  deployguard does not parse so that a generated blob cannot stall a pre-commit hook.

Why it matters for the deploy budget
  Calls inside a file deployguard did not read cannot be resolved, so a deploy could hide
  there. In the guarded scope this fails closed (an error, exit 1); outside it, it is a
  warning. `ratchet` applies the same 10 MiB limit to test files: one over it is not
  compared, which is a finding, never a pass.

Example
  # harness/generated_tables.py, 48 MB
  ...                             # DG009: not analyzed

Fix
  Exclude generated files from the guarded scope (`exclude` in deployguard.toml), or raise
  `max-file-size` (in bytes) if the file really is hand-written harness code.",
    run,
};

fn run(analysis: &Analysis) -> Vec<Finding> {
    let limit = analysis.policy.max_file_size;
    let mut findings = Vec::new();
    for (file, source) in analysis.project.files.iter().enumerate() {
        let Some(size) = source.too_large else {
            continue;
        };
        let (severity, consequence) = unanalyzed(analysis, file);
        findings.push(Finding {
            code: CHECK.code,
            severity,
            message: format!(
                "{} was not analyzed: it is {}, over the {} limit (`max-file-size`); {}",
                source.source.rel,
                megabytes(size),
                megabytes(limit),
                consequence
            ),
            site: Some(Site {
                file,
                range: TextRange::new(0, 0),
            }),
            label: "not analyzed".into(),
            witness: Vec::new(),
            help: Some(
                "exclude generated files with `exclude` in deployguard.toml, or raise \
                 `max-file-size` (bytes)"
                    .into(),
            ),
        });
    }
    findings
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
