//! The ratchet's rules (DG010-DG018), documented for `deployguard explain`.

use crate::checks::RuleDoc;

macro_rules! rule {
    ($code:literal, $name:literal, $summary:literal, $why:literal, $example:literal) => {
        RuleDoc {
            code: $code,
            name: $name,
            summary: $summary,
            doc: concat!(
                $code, " ", $name, "\n\nWhat it catches\n  ", $summary,
                ".\n\nWhy it matters for the deploy budget\n  ", $why,
                "\n\nExample\n", $example,
                "\n\nFix\n  Restore the test, or say so in the same change: a new entry in deployguard-waivers.toml\n  ([[waive]] test = \"<id>\", reason = \"...\") or a `Deployguard-Waive: <id>: <reason>` commit trailer."
            ),
        }
    };
}

pub const RULES: &[RuleDoc] = &[
    rule!(
        "DG010",
        "fewer-assertions",
        "a test has fewer effective assertions (or parametrize cases) than before",
        "Claim B3 is that no test was weakened to save a deploy. Dropping a check is the simplest way to make a shared deploy look sufficient.",
        "  - assert app.version == \"2.0\"\n  - assert app.healthy()          # DG010: 1 assertion, 2 before"
    ),
    rule!(
        "DG011",
        "test-removed",
        "a test was removed, and no test in the new revision matches its body (a move or rename would)",
        "A removed test is coverage gone; moves and renames are matched by body similarity and stay quiet.",
        "  - def test_backup_restores_data(size): ...   # DG011"
    ),
    rule!(
        "DG012",
        "test-newly-skipped",
        "a test is newly skipped or expected to fail (a skip/xfail marker, pytest.skip(), unittest.skip, #[ignore])",
        "A skipped test still shows as green in CI while it checks nothing.",
        "  + @pytest.mark.skip(reason=\"flaky after deploy sharing\")   # DG012\n    def test_upgrade_moves_to_head(): ..."
    ),
    rule!(
        "DG013",
        "assertion-weakened",
        "an assertion became vacuous (assert True, x == x, ... or True) or weaker (== dropped, raises(E) -> raises(Exception), approx tolerance loosened, assertEqual -> assertTrue, #[should_panic] removed)",
        "The assertion count stays the same while the check stops checking.",
        "  - assert app.version == \"2.0\"\n  + assert app.version                 # DG013: only truthiness is left"
    ),
    rule!(
        "DG014",
        "test-not-collected",
        "a test is no longer collected (renamed without the test prefix, class lost its Test prefix, file moved out of python_files or testpaths, deselected)",
        "The test is still in the file, so a reviewer reading the diff sees it; pytest never runs it.",
        "  - def test_upgrade_moves_to_head():\n  + def upgrade_moves_to_head():         # DG014"
    ),
    rule!(
        "DG015",
        "assertion-unreachable",
        "an assertion can no longer run (after an unconditional return or pytest.skip(), or inside a try whose except AssertionError/Exception swallows it)",
        "The assertion is still written, and still counted by a grep, but never fails.",
        "    upgrade(app, \"2.0\")\n  + return                               # DG015: the asserts below never run\n    assert app.version == \"2.0\""
    ),
    rule!(
        "DG016",
        "stage-removed",
        "a stage was removed from ALL_STAGES",
        "Every tier (install, upgrade, backup, restore, custom) must still run against the shared deploy; dropping one saves time by not testing.",
        "  - ALL_STAGES = (\"install\", \"upgrade\", \"backup\", \"restore\", \"custom\")\n  + ALL_STAGES = (\"install\", \"backup\", \"restore\", \"custom\")   # DG016"
    ),
    rule!(
        "DG017",
        "tier-helper-removed",
        "a tier no longer calls an assertion helper (assert_upgraded, assert_healthy, ...); a tier is any function or method of the harness that is not a collected test and calls an assert_* helper, whatever its name or file (perform_upgrade, run_lifecycle_tier, Run.tier_upgrade)",
        "The tiers' generic assertions are what makes a shared deploy a real test of each tier.",
        "    def perform_upgrade(ctx):\n        chaos_redeploy(ctx)\n  -     assert_upgraded(ctx)              # DG017"
    ),
    rule!(
        "DG018",
        "collection-narrowed",
        "test collection changed in a way that can hide tests (collect_ignore, pytest_collection_modifyitems and other collection hooks, addopts -k/-m/--deselect/--ignore, narrower testpaths)",
        "A one-line config change can silently stop whole files of tests from running.",
        "  + collect_ignore = [\"test_upgrade.py\"]   # DG018 (and DG014 for each hidden test)"
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_ratchet_code_is_documented_once() {
        let codes: Vec<&str> = super::RULES.iter().map(|r| r.code).collect();
        assert_eq!(
            codes,
            [
                "DG010", "DG011", "DG012", "DG013", "DG014", "DG015", "DG016", "DG017", "DG018"
            ]
        );
        assert!(
            super::RULES
                .iter()
                .all(|r| r.doc.contains("Why it matters") && r.doc.contains("Example"))
        );
    }
}
