"""Unit tests for harness.lifecycle: only deploy_app counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import counted, make_app

from harness import lifecycle
from harness.lifecycle import LifecycleError, deploy_app


def test_record_deploy_is_noop_without_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCCI_DEPLOY_COUNT_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    lifecycle._record_deploy("x.ci.example", "1.0.0")
    assert list(tmp_path.iterdir()) == []


def test_deploy_app_counts_exactly_once(fake_abra, abra_home, count_file) -> None:
    app = make_app(abra_home, "ghost-1.ci.example")
    result = deploy_app(app, "1.2.0+5.1.0")
    assert result.app == app and result.version == "1.2.0+5.1.0"
    assert counted(count_file) == 1
    assert fake_abra.commands("app", "deploy") == [["abra", "app", "deploy", app, "1.2.0+5.1.0", "--no-input"]]


def test_failed_deploy_is_not_counted(fake_abra, abra_home, count_file) -> None:
    app = make_app(abra_home, "ghost-2.ci.example")
    fake_abra.respond(("app", "deploy"), returncode=1)
    with pytest.raises(LifecycleError, match="deploy ghost-2"):
        deploy_app(app, "1.2.0+5.1.0")
    assert counted(count_file) == 0


def test_deploy_requires_app_new_first(fake_abra, abra_home, count_file) -> None:
    with pytest.raises(LifecycleError, match="app_new"):
        deploy_app("missing.ci.example", "1.0.0")
    assert fake_abra.calls == []


def test_chaos_redeploy_is_in_place_and_uncounted(fake_abra, abra_home, count_file, monkeypatch) -> None:
    app = make_app(abra_home, "ghost-3.ci.example")
    monkeypatch.setattr(lifecycle, "checkout_ref", lambda _dir, _ref: "abcdef12")
    sha = lifecycle.chaos_redeploy(app, Path("/tmp/recipes/ghost"), "refs/pull/7/head")
    assert sha == "abcdef12"
    assert counted(count_file) == 0
    (deploy,) = fake_abra.commands("app", "deploy")
    assert "--chaos" in deploy and "--force" in deploy


@pytest.mark.parametrize(
    ("operation", "argv_prefix"),
    [
        (lambda app: lifecycle.restore_app(app, snapshot="s1"), ("app", "restore")),
        (lambda app: lifecycle.restart_app(app, "app"), ("app", "restart")),
        (lambda app: lifecycle.undeploy_app(app), ("app", "undeploy")),
    ],
)
def test_non_deploy_operations_are_uncounted(fake_abra, abra_home, count_file, operation, argv_prefix) -> None:
    app = make_app(abra_home, "ghost-4.ci.example")
    operation(app)
    assert fake_abra.commands(*argv_prefix)
    assert counted(count_file) == 0


def test_backup_returns_new_snapshot(fake_abra, abra_home, count_file, monkeypatch) -> None:
    app = make_app(abra_home, "ghost-5.ci.example")
    listings = iter([[], ["snap-1"]])
    monkeypatch.setattr(lifecycle, "list_snapshots", lambda _app: next(listings))
    assert lifecycle.backup_app(app) == "snap-1"
    assert counted(count_file) == 0


def test_backup_without_new_snapshot_fails(fake_abra, abra_home, monkeypatch) -> None:
    app = make_app(abra_home, "ghost-6.ci.example")
    monkeypatch.setattr(lifecycle, "list_snapshots", lambda _app: ["old"])
    with pytest.raises(LifecycleError, match="no new snapshot"):
        lifecycle.backup_app(app)


def test_set_env_replaces_commented_key(abra_home) -> None:
    app = make_app(abra_home, "ghost-7.ci.example")
    lifecycle.app_env_path(app).write_text("# SMTP_HOST=\nTYPE=ghost\n", encoding="utf-8")
    lifecycle.set_env(app, "SMTP_HOST", "mail.example")
    assert lifecycle.read_env(app) == {"TYPE": "ghost", "SMTP_HOST": "mail.example"}
