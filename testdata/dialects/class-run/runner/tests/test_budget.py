from __future__ import annotations

import argparse
import os

import run_recipe_ci
from conftest import FakeCheckout
from harness import lifecycle


def _cfg(tmp_path, stages="install,upgrade,backup,restore,custom"):
    ns = argparse.Namespace(recipe="ghost", stages=stages, server="fake", domain_suffix="ci.test",
                            pr_ref="refs/pull/7/head", target_version=None,
                            workdir=str(tmp_path / "work"), keep_app=False)
    return run_recipe_ci.RunConfig.from_cli(ns, {"ABRA_DIR": str(tmp_path / "abra")})


def _run(tmp_path, fake_abra, **kw):
    run = run_recipe_ci.Run(_cfg(tmp_path, **kw), abra=fake_abra)
    run.checkout = FakeCheckout(fake_abra.head + "0" * 20)
    return run


def test_read_deploy_count_ignores_blank_lines(tmp_path):
    counter = tmp_path / "count"
    counter.write_text("t1 a.test\n\nt2 b.test\n")
    assert lifecycle.read_deploy_count(counter) == 2
    assert lifecycle.read_deploy_count(tmp_path / "missing") == 0


def test_green_run_is_one_deploy_at_previous_version(tmp_path, fake_abra, capsys):
    run = _run(tmp_path, fake_abra)
    assert run.execute() == 0
    out = capsys.readouterr().out
    assert "deploy-count = 1 (expect 1)" in out
    assert "deps deployed: []" in out
    assert fake_abra.deploy_calls[0][1:] == ("1.1.0+2.1", False)       # base = prev
    assert [c[2] for c in fake_abra.deploy_calls] == [False, True]      # then in-place chaos


def test_base_is_target_without_upgrade_tier(tmp_path, fake_abra):
    run = _run(tmp_path, fake_abra, stages="install,custom")
    assert run._select_base_version() is None and run.prev_version is None


def test_extra_deploy_fails_the_run(tmp_path, fake_abra, capsys):
    run = _run(tmp_path, fake_abra, stages="install")
    original = run.tier_install

    def sneaky_install():                       # as if something redeployed behind our back
        with open(run.counter_path, "a") as fh:
            fh.write("t x.test\n")
        return original()

    run._tiers["install"] = sneaky_install
    assert run.execute() == 1
    assert "deploy-count = 2 (expect 1)" in capsys.readouterr().out


def test_promote_pops_counter_before_deploying(tmp_path, monkeypatch, fake_abra):
    counter = tmp_path / "count"
    counter.write_text("")
    monkeypatch.setenv(lifecycle.COUNT_ENV, str(counter))
    assert run_recipe_ci.promote_canonical(fake_abra, "ghost", "1.1.0+2.1", "ghost.canon")
    assert lifecycle.COUNT_ENV not in os.environ
    assert lifecycle.read_deploy_count(counter) == 0
