"""Unit tests for the deploy-budget plumbing (no abra, no network)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import deps, lifecycle
from harness.config import RunConfig
from harness.lifecycle import COUNT_ENV, App, deploy_ledger, read_deploy_count

APP = App(recipe="ghost", domain="ghost-1.ci.test", server="cc-ci.local")


@pytest.fixture()
def no_abra(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(lifecycle, "run_abra", lambda *args, **_: calls.append(args))
    monkeypatch.setattr(lifecycle, "ensure_app_config", lambda *_, **__: None)
    monkeypatch.setattr(lifecycle, "wait_healthy", lambda *_, **__: None)
    monkeypatch.setattr(lifecycle, "_point_recipe_at", lambda *_: None)
    return calls


def test_ledger_exports_and_cleans_up(tmp_path: Path) -> None:
    os.environ.pop(COUNT_ENV, None)
    with deploy_ledger(tmp_path) as ledger:
        assert os.environ[COUNT_ENV] == str(ledger)
        assert read_deploy_count(ledger) == 0
    assert COUNT_ENV not in os.environ
    assert not ledger.exists()


def test_deploy_app_records_exactly_one_line(tmp_path: Path, no_abra: list) -> None:
    with deploy_ledger(tmp_path) as ledger:
        lifecycle.deploy_app(APP, "1.0.0+5.0")
        assert read_deploy_count(ledger) == 1


def test_chaos_redeploy_is_not_counted(tmp_path: Path, no_abra: list) -> None:
    with deploy_ledger(tmp_path) as ledger:
        lifecycle.deploy_app(APP, "1.0.0+5.0")
        lifecycle.chaos_redeploy(APP, tmp_path)
        assert read_deploy_count(ledger) == 1
    assert any("--chaos" in call for call in no_abra)


def test_warm_dep_is_reused_not_deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed: list[App] = []
    monkeypatch.setattr(deps, "app_state", lambda app: lifecycle.AppState.RUNNING)
    monkeypatch.setattr(deps, "deploy_app", lambda app, *_, **__: deployed.append(app))
    config = RunConfig.from_env({"RECIPE": "lasuite-docs", "DRONE_BUILD_NUMBER": "7"})
    specs = [deps.DepSpec("keycloak", warm_domain="warm-keycloak.ci.test"), deps.DepSpec("redis")]
    result = deps.provision_deps(specs, config, deps.DepsResult())
    assert result.deployed_names == ["redis"]
    assert result.reused_names == ["keycloak"]
    assert result.deployed_count == 1 == len(deployed)
