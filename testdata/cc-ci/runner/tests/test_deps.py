"""Declared deps: cold deps cost one deploy each, live-warm deps cost 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import counted

from harness import deps, lifecycle


def write_ccci(tmp_path: Path, body: str) -> Path:
    recipe_dir = tmp_path / "lasuite-docs"
    (recipe_dir / "tests").mkdir(parents=True)
    (recipe_dir / "tests" / "ccci.toml").write_text(body, encoding="utf-8")
    return recipe_dir


def test_load_declared_deps(tmp_path: Path) -> None:
    recipe_dir = write_ccci(
        tmp_path,
        '[deps.keycloak]\nversion = "10.1.0+25.0.6"\nwarm = true\nenv = { OIDC_REALM = "ci" }\n',
    )
    (dep,) = deps.load_declared_deps(recipe_dir)
    assert dep.recipe == "keycloak"
    assert dep.warm is True
    assert dep.env == (("OIDC_REALM", "ci"),)
    assert dep.label == "keycloak@10.1.0+25.0.6"


def test_no_config_means_no_deps(tmp_path: Path) -> None:
    assert deps.load_declared_deps(tmp_path) == []


@pytest.fixture
def fake_setup(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stub app creation; keep the real deploy_app so counting is exercised."""
    created: list[str] = []
    monkeypatch.setattr(deps, "app_new", lambda recipe, app, version=None: created.append(app) or app)
    monkeypatch.setattr(deps, "set_env", lambda *a: None)
    monkeypatch.setattr(deps, "secrets_generate", lambda app: None)
    return created


@pytest.mark.parametrize(
    ("warm_live", "expected"),
    [
        ({"keycloak": True}, ["authentik"]),
        ({"keycloak": False}, ["authentik", "keycloak"]),
    ],
)
def test_only_cold_deps_are_deployed(fake_abra, abra_home, count_file, fake_setup, monkeypatch, warm_live, expected):
    declared = [
        deps.DeclaredDep("authentik", "1.0.0+2024.8"),
        deps.DeclaredDep("keycloak", "10.1.0+25.0.6", warm=True),
    ]
    monkeypatch.setattr(deps, "is_live_warm", lambda dep: warm_live.get(dep.recipe, False))
    monkeypatch.setattr(lifecycle, "app_exists", lambda app: True)
    deployed = deps.deploy_declared_deps("r1", declared)
    assert deployed == expected
    assert counted(count_file) == len(expected)


def test_failed_cold_dep_is_still_torn_down(fake_abra, abra_home, fake_setup, monkeypatch) -> None:
    def broken_deploy(app, version, recipe=None):  # noqa: ANN001
        raise lifecycle.LifecycleError("converge timeout")

    monkeypatch.setattr(deps, "deploy_app", broken_deploy)
    monkeypatch.setattr(deps, "is_live_warm", lambda dep: False)
    with pytest.raises(deps.DepDeployError) as info:
        deps.deploy_declared_deps("r2", [deps.DeclaredDep("keycloak", "10.1.0+25.0.6")])
    assert info.value.deployed == ["keycloak"]


def test_teardown_only_touches_cold_deps(monkeypatch) -> None:
    torn: list[str] = []
    monkeypatch.setattr(lifecycle, "teardown_app", lambda app, keep=False: torn.append(app))
    failed = deps.teardown_deps("r3", ["keycloak"])
    assert failed == []
    assert torn == [deps.dep_app_name("r3", "keycloak")]
