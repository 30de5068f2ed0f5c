"""Generic tiers: all run on the shared app and none of them deploys."""

from __future__ import annotations

from pathlib import Path

import pytest

import run_recipe_ci
from harness import generic, lifecycle


@pytest.fixture
def ctx(tmp_path: Path) -> generic.TierContext:
    return generic.TierContext(
        app="ghost-9.ci.example",
        recipe="ghost",
        recipe_dir=tmp_path / "ghost",
        base_version="1.1.0+5.0.0",
        target_version="abcdef12",
        head_ref="refs/pull/7/head",
        results_dir=tmp_path / "results",
        data_service="app",
        data_path="/var/lib/ghost/content",
    )


@pytest.fixture
def forbid_deploy(monkeypatch: pytest.MonkeyPatch) -> None:
    def deploy_app(*_a, **_k):  # noqa: ANN002, ANN003
        raise AssertionError("a tier called deploy_app(...)")

    monkeypatch.setattr(lifecycle, "deploy_app", deploy_app)


class FakeVolume:
    def __init__(self) -> None:
        self.content = ""
        self.snapshots: dict[str, str] = {}

    def exec(self, app, service, command):  # noqa: ANN001
        script = command[-1]
        if script.startswith("printf"):
            self.content = script.split()[2]
        return self.content


def test_tiers_cover_all_stages() -> None:
    assert tuple(generic.TIERS) == run_recipe_ci.ALL_STAGES


def test_upgrade_is_in_place(ctx, forbid_deploy, monkeypatch) -> None:
    versions = iter(["1.1.0+5.0.0", "abcdef12"])
    monkeypatch.setattr(lifecycle, "deployed_version", lambda app: next(versions))
    monkeypatch.setattr(lifecycle, "chaos_redeploy", lambda app, d, ref: "abcdef12")
    result = generic.perform_upgrade(ctx)
    assert result.status == "pass", result.detail
    assert "1.1.0+5.0.0 -> abcdef12" in result.detail


def test_upgrade_that_did_not_move_fails(ctx, forbid_deploy, monkeypatch) -> None:
    monkeypatch.setattr(lifecycle, "deployed_version", lambda app: "1.1.0+5.0.0")
    monkeypatch.setattr(lifecycle, "chaos_redeploy", lambda app, d, ref: "abcdef12")
    result = generic.perform_upgrade(ctx)
    assert result.status == "fail"


@pytest.mark.parametrize("lose_data", [False, True])
def test_restore_checks_data_integrity(ctx, forbid_deploy, monkeypatch, lose_data) -> None:
    volume = FakeVolume()
    monkeypatch.setattr(lifecycle, "exec_in_service", volume.exec)

    def backup_app(app, service=None):  # noqa: ANN001
        volume.snapshots["snap-1"] = volume.content
        return "snap-1"

    def restore_app(app, snapshot=None, service=None):  # noqa: ANN001
        volume.content = "" if lose_data else volume.snapshots[snapshot]

    monkeypatch.setattr(lifecycle, "backup_app", backup_app)
    monkeypatch.setattr(lifecycle, "restore_app", restore_app)
    result = generic.perform_restore(ctx)
    assert result.status == ("fail" if lose_data else "pass"), result.detail


def test_restore_without_probe_config_fails(ctx, forbid_deploy) -> None:
    ctx.data_path = None
    result = generic.perform_restore(ctx)
    assert result.status == "fail"
    assert "ccci.toml" in result.detail


def test_timed_tier_maps_lifecycle_errors(ctx) -> None:
    @generic.timed_tier("custom")
    def body(_ctx):  # noqa: ANN001
        raise lifecycle.LifecycleError("swarm went away")

    result = body(ctx)
    assert result.status == "error"
    assert result.detail == "swarm went away"
