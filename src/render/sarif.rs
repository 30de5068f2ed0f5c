//! SARIF 2.1.0 output (`--format sarif`), as GitHub code scanning and other SARIF viewers
//! read it: the rules with their `explain` text, one result per finding with a region, the
//! witness chain as a code flow, and a fingerprint that survives lines moving.
//!
//! File URIs are relative to `%SRCROOT%`, the repository's top level (or ROOT outside git),
//! which `originalUriBaseIds` gives as an absolute `file:` URI.

use std::path::Path;

use serde_json::{Value, json};

use super::position;
use crate::checks::{Finding, RuleDoc, Severity, rule_docs};
use crate::project::{Project, Site};
use crate::ratchet::compare::RatchetFinding;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";

/// One result, before it is written out.
pub struct SarifResult {
    pub rule: &'static str,
    /// `error`, `warning` or `note`.
    pub level: &'static str,
    pub message: String,
    pub location: Option<SarifLocation>,
    /// The witness chain, hop by hop, with what each hop does.
    pub flow: Vec<(SarifLocation, String)>,
    /// What identifies the result across runs when lines move.
    pub fingerprint: String,
    /// Why it is accepted (a waiver), when it is.
    pub suppressed: Option<String>,
}

/// A place: the file's URI relative to `%SRCROOT%`, and the region, 1-based, columns in
/// characters, end column exclusive.
#[derive(Clone)]
pub struct SarifLocation {
    pub uri: String,
    pub start_line: usize,
    pub columns: Option<(usize, usize, usize)>,
}

/// The check's findings: `srcroot` is the absolute directory URIs are relative to.
pub fn check_results(project: &Project, findings: &[Finding], srcroot: &Path) -> Vec<SarifResult> {
    let locate = |site: Site| {
        let p = position(project, site);
        SarifLocation {
            uri: relative_uri(&project.files[site.file].source.path, srcroot),
            start_line: p.line,
            columns: Some((p.column, p.end_line, p.end_column)),
        }
    };
    findings
        .iter()
        .map(|f| {
            let location = f.site.map(locate);
            // The code at the site, not its line number, so the fingerprint survives edits
            // above it.
            let anchor = f.site.map_or_else(String::new, |site| {
                let (line, _) = project.line_col(site.file, site.range.start);
                project.line_text(site.file, line).trim().to_string()
            });
            let uri = location.as_ref().map_or("", |l| l.uri.as_str());
            SarifResult {
                rule: f.code,
                level: match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                message: f.message.clone(),
                flow: f
                    .witness
                    .iter()
                    .map(|hop| (locate(hop.site), hop.label.clone()))
                    .collect(),
                fingerprint: fingerprint(&[f.code, uri, &anchor]),
                location,
                suppressed: None,
            }
        })
        .collect()
}

/// The ratchet's findings, whose files are relative to `root`. A removed test is anchored
/// on the base side's `def` line.
pub fn ratchet_results(
    findings: &[RatchetFinding],
    root: &Path,
    srcroot: &Path,
) -> Vec<SarifResult> {
    findings
        .iter()
        .map(|f| {
            let at = f.head.as_ref().or(f.base.as_ref());
            let location = at.map(|loc| SarifLocation {
                uri: relative_uri(&root.join(&loc.file), srcroot),
                start_line: loc.line,
                columns: None,
            });
            SarifResult {
                rule: f.code,
                level: if f.waived.is_some() { "note" } else { "error" },
                message: format!("{}: {}", f.test, f.message),
                location,
                flow: Vec::new(),
                fingerprint: fingerprint(&[f.code, &f.test]),
                suppressed: f.waived.clone(),
            }
        })
        .collect()
}

/// The problems of the runs' logs (`verify --run-log`), at the line they quote.
pub fn run_results(runs: &[crate::runlog::RunCheck], srcroot: &Path) -> Vec<SarifResult> {
    let mut results = Vec::new();
    for run in runs {
        let file = Path::new(&run.log.file);
        let file = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        for (message, line) in &run.problems {
            let quoted = line
                .as_ref()
                .map(|l| format!(" (`{}`)", l.text))
                .unwrap_or_default();
            results.push(SarifResult {
                rule: RUN_SUMMARY_RULE,
                level: "error",
                message: format!("{message}{quoted}"),
                location: Some(SarifLocation {
                    uri: relative_uri(&file, srcroot),
                    start_line: line.as_ref().map_or(1, |l| l.line),
                    columns: None,
                }),
                flow: Vec::new(),
                fingerprint: fingerprint(&[RUN_SUMMARY_RULE, &run.log.file, message]),
                suppressed: None,
            });
        }
    }
    results
}

/// The id of a run log's problems in SARIF (they are not one of the DG rules).
pub const RUN_SUMMARY_RULE: &str = "run-summary";

/// The SARIF log: one run of deployguard with every rule and `results`.
pub fn log(results: &[SarifResult], srcroot: &Path) -> String {
    let rules: Vec<RuleDoc> = rule_docs();
    let rule_index = |code: &str| rules.iter().position(|r| r.code == code);
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut result = json!({
                "ruleId": r.rule,
                "level": r.level,
                "message": { "text": r.message },
                "partialFingerprints": { "deployguard/v1": r.fingerprint },
            });
            if let Some(index) = rule_index(r.rule) {
                result["ruleIndex"] = json!(index);
            }
            if let Some(location) = &r.location {
                result["locations"] = json!([physical(location)]);
            }
            if !r.flow.is_empty() {
                let hops: Vec<Value> = r
                    .flow
                    .iter()
                    .map(|(location, label)| {
                        json!({ "location": {
                            "physicalLocation": physical(location)["physicalLocation"],
                            "message": { "text": label },
                        }})
                    })
                    .collect();
                result["codeFlows"] = json!([{ "threadFlows": [{ "locations": hops }] }]);
            }
            if let Some(reason) = &r.suppressed {
                result["suppressions"] = json!([{ "kind": "external", "justification": reason }]);
            }
            result
        })
        .collect();
    let rules: Vec<Value> = rules
        .iter()
        .map(|rule| {
            json!({
                "id": rule.code,
                "name": rule.name,
                "shortDescription": { "text": rule.summary },
                "fullDescription": { "text": first_paragraph(rule.doc) },
                "help": { "text": rule.doc },
                "defaultConfiguration": { "level": "error" },
            })
        })
        .collect();
    let sarif = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "deployguard",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": { SRCROOT: { "uri": directory_uri(srcroot) } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    super::json::to_string(&sarif)
}

fn physical(location: &SarifLocation) -> Value {
    let mut region = json!({ "startLine": location.start_line });
    if let Some((start_column, end_line, end_column)) = location.columns {
        region["startColumn"] = json!(start_column);
        region["endLine"] = json!(end_line);
        region["endColumn"] = json!(end_column);
    }
    json!({ "physicalLocation": {
        "artifactLocation": { "uri": location.uri, "uriBaseId": SRCROOT },
        "region": region,
    }})
}

fn first_paragraph(doc: &str) -> String {
    doc.split("\n\n")
        .find(|p| !p.trim().is_empty())
        .unwrap_or(doc)
        .trim()
        .to_string()
}

/// `path` relative to `srcroot`, `/`-separated and percent-encoded (an absolute `file:` URI
/// when it is outside).
fn relative_uri(path: &Path, srcroot: &Path) -> String {
    match path.strip_prefix(srcroot) {
        Ok(rel) => encode(&rel.to_string_lossy().replace('\\', "/")),
        Err(_) => format!(
            "file://{}",
            encode(&path.to_string_lossy().replace('\\', "/"))
        ),
    }
}

fn directory_uri(dir: &Path) -> String {
    let mut path = dir.to_string_lossy().replace('\\', "/");
    if !path.ends_with('/') {
        path.push('/');
    }
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    format!("file://{}", encode(&path))
}

/// Percent-encodes everything but RFC 3986's unreserved characters and `/`.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// FNV-1a, 64 bits, over the parts: stable across runs, platforms and versions.
fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        let root = Path::new("/work/repo");
        assert_eq!(
            relative_uri(Path::new("/work/repo/runner/a b.py"), root),
            "runner/a%20b.py"
        );
        assert_eq!(directory_uri(root), "file:///work/repo/");
        assert_eq!(
            relative_uri(Path::new("/elsewhere/x.py"), root),
            "file:///elsewhere/x.py"
        );
    }

    #[test]
    fn fingerprints_are_stable_and_separate_their_parts() {
        assert_eq!(
            fingerprint(&["DG003", "a.py"]),
            fingerprint(&["DG003", "a.py"])
        );
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
