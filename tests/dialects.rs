//! Harnesses deployguard's authors did not write. Each dialect under `testdata/dialects/` was
//! written by a session that had read only the user's context documents (never the
//! analyzer), in its own idioms; each must pass `check` with no config, and each of its
//! variants must give the verdict its header promises. `testdata/rewrites/` holds
//! meaning-preserving rewrites of the bundled emulation (exit 0) and their violating twins.

mod common;

use common::{broken_promises, check_json, error_codes, load_variants, testdata};

/// Every dialect under `testdata/dialects/` (a test below checks none is left out).
const DIALECTS: &[&str] = &["procedural", "class-run", "dataclass-ctx"];

#[test]
fn every_dialect_on_disk_is_tested() {
    let mut on_disk: Vec<String> = std::fs::read_dir(testdata("dialects"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = DIALECTS.iter().map(|d| d.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn every_dialect_passes_with_no_config() {
    for dialect in DIALECTS {
        let root = testdata(&format!("dialects/{dialect}/runner"));
        let (exit, json, raw) = check_json(&root);
        assert_eq!(exit, 0, "{dialect}: {raw}");
        assert!(error_codes(&json).is_empty(), "{dialect}: {raw}");
        assert_eq!(
            json["summary"]["budget"]["found"], "1 + N_cold_deps",
            "{raw}"
        );
        assert_eq!(
            json["summary"]["budget"]["guard"], "1 + N_cold_deps",
            "{raw}"
        );
    }
}

#[test]
fn every_dialect_variant_gives_its_promised_verdict() {
    for dialect in DIALECTS {
        let tree = testdata(&format!("dialects/{dialect}"));
        let variants = load_variants(&tree.join("variants"));
        let violating = variants.iter().filter(|v| v.exit == 1).count();
        let clean = variants.len() - violating;
        assert!(
            violating >= 10 && clean >= 4,
            "{dialect}: at least 10 violating and 4 clean variants, found {violating} and {clean}"
        );
        for code in ["DG001", "DG002", "DG003", "DG004", "DG005", "DG006"] {
            assert!(
                variants.iter().any(|v| v.codes.contains(code)),
                "{dialect}: no variant expects {code}"
            );
        }
        let (count, failures) = broken_promises(&tree, &tree.join("variants"));
        assert!(
            failures.is_empty(),
            "{dialect}: {} of {count} variants failed:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

#[test]
fn every_rewrite_of_the_emulation_gives_its_promised_verdict() {
    let variants = load_variants(&testdata("rewrites"));
    let clean = variants.iter().filter(|v| v.exit == 0).count();
    assert!(
        clean >= 30 && variants.len() - clean >= 15,
        "at least 30 rewrites and 15 violating twins, found {clean} and {}",
        variants.len() - clean
    );
    // The hole this file was written to close: a constant passed for the count.
    assert!(
        variants
            .iter()
            .any(|v| v.name == "guard-count-inline-open--len-literal" && v.codes.contains("DG005"))
    );
    let (count, failures) = broken_promises(&testdata("cc-ci"), &testdata("rewrites"));
    assert!(
        failures.is_empty(),
        "{} of {count} rewrites failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
