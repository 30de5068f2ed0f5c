"""DG4.1 guard helpers and WC5 promotion (unittest style, run by pytest too)."""

from __future__ import annotations

import os
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import run_recipe_ci
from harness.results import TierResult


class TestDeployCount(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.count_file = Path(self.tmp.name) / "deploy-count"

    def test_counts_non_empty_lines(self) -> None:
        self.count_file.write_text("1\tapp\t1.0.0\n\n2\tdep\t2.0.0\n", encoding="utf-8")
        self.assertEqual(run_recipe_ci.read_deploy_count(self.count_file), 2)

    def test_missing_file_raises(self) -> None:
        with self.assertRaises(FileNotFoundError):
            run_recipe_ci.read_deploy_count(self.count_file)


class TestStages(unittest.TestCase):
    def test_canonical_order(self) -> None:
        self.assertEqual(
            run_recipe_ci.parse_stages(("custom", "install", "upgrade")),
            ("install", "upgrade", "custom"),
        )

    def test_unknown_stage(self) -> None:
        with self.assertRaises(run_recipe_ci.ConfigError):
            run_recipe_ci.parse_stages(("install", "smoke"))


class TestPreviousVersion(unittest.TestCase):
    releases = ["1.0.0+5.0.0", "1.1.0+5.0.0", "1.2.0+5.1.0"]

    def test_release_target(self) -> None:
        with mock.patch.object(run_recipe_ci, "published_versions", return_value=self.releases):
            self.assertEqual(run_recipe_ci.previous_version(Path("."), "1.2.0+5.1.0"), "1.1.0+5.0.0")

    def test_pr_head_target(self) -> None:
        with mock.patch.object(run_recipe_ci, "published_versions", return_value=self.releases):
            self.assertEqual(run_recipe_ci.previous_version(Path("."), "abcdef12"), "1.2.0+5.1.0")

    def test_first_release_has_no_base(self) -> None:
        with mock.patch.object(run_recipe_ci, "published_versions", return_value=self.releases):
            self.assertIsNone(run_recipe_ci.previous_version(Path("."), "1.0.0+5.0.0"))


class TestPromoteCanonical(unittest.TestCase):
    """WC5 must detach the counter before its deploy_app(...) call."""

    def test_counter_detached_before_deploy(self) -> None:
        seen: list[str | None] = []

        def fake_deploy(app, version, **_kw):  # noqa: ANN001
            seen.append(os.environ.get("CCCI_DEPLOY_COUNT_FILE"))

        with (
            mock.patch.dict(os.environ, {"CCCI_DEPLOY_COUNT_FILE": "/tmp/deploy-count"}),
            mock.patch.object(run_recipe_ci, "canonical_needs_promotion", return_value=True),
            mock.patch.object(run_recipe_ci, "deploy_app", side_effect=fake_deploy) as deploy,
        ):
            self.assertTrue(run_recipe_ci.promote_canonical("keycloak", "10.1.0+25.0.6"))
        deploy.assert_called_once()
        self.assertEqual(seen, [None])

    def test_current_canonical_is_left_alone(self) -> None:
        with (
            mock.patch.object(run_recipe_ci, "canonical_needs_promotion", return_value=False),
            mock.patch.object(run_recipe_ci, "deploy_app") as deploy,
        ):
            self.assertFalse(run_recipe_ci.promote_canonical("keycloak", "10.1.0+25.0.6"))
        deploy.assert_not_called()


class TestPrComment(unittest.TestCase):
    def test_mentions_budget(self) -> None:
        tiers = {"install": TierResult("install", "pass", 12.0), "upgrade": TierResult("upgrade", "skip")}
        body = run_recipe_ci.format_pr_comment("ghost", tiers, 1, 1)
        self.assertIn("deploy-count = 1 (expect 1)", body)
        self.assertIn("| upgrade |", body)


if __name__ == "__main__":
    unittest.main()
