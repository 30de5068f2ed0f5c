#!/usr/bin/env python3
"""cc-ci: run one recipe through its lifecycle tiers against ONE shared deploy.

Per cold run the deploy budget is ``1 (base) + N_cold_deps``: the base app is
deployed once (at the previous published version when the upgrade tier runs)
and every tier works on it in place. ``Run._check_deploy_budget`` (DG4.1)
turns any extra deploy into a failed run.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import generic, lifecycle  # noqa: E402
from harness.abra import Abra, AbraError  # noqa: E402
from harness.deps import DepsManager  # noqa: E402
from harness.generic import CheckResult, DataProbe, TierFailure  # noqa: E402
from harness.lifecycle import AppSpec, DeployedApp, LifecycleError  # noqa: E402
from harness.overlay import OverlaySuite  # noqa: E402
from harness.recipe import RecipeCheckout, RecipeConfig  # noqa: E402

log = logging.getLogger("cc-ci")

ALL_STAGES: tuple[str, ...] = ("install", "upgrade", "backup", "restore", "custom")

HARNESS_ERRORS = (AbraError, LifecycleError, TierFailure, RuntimeError)


@dataclass(frozen=True)
class TierResult:
    name: str
    checks: tuple[CheckResult, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "FAIL"


def run_lifecycle_tier(name: str, app: DeployedApp, overlay: OverlaySuite, *,
                       action: Callable[[], object] | None = None) -> TierResult:
    """Run one tier: its action (if any), the generic checks, then the overlay suite."""
    started = time.monotonic()
    checks: list[CheckResult] = []
    try:
        if action is not None:
            action()
            checks.append(CheckResult(f"{name}:action", True))
        checks.extend(check(app) for check in generic.GENERIC_CHECKS[name])
        checks.append(overlay.run(name, app))
    except HARNESS_ERRORS as exc:
        checks.append(CheckResult(f"{name}:error", False, f"{type(exc).__name__}: {exc}"))
    return TierResult(name, tuple(checks), time.monotonic() - started)


def promote_canonical(abra: Abra, recipe: str, version: str | None,
                      canonical_domain: str) -> bool:
    """WC5: after a GREEN run, refresh the warm canonical instance of ``recipe``.

    Post-green cache maintenance, not a test deploy: the counter variable is
    dropped FIRST, on every path, so this deploy is outside the per-run budget.
    """
    os.environ.pop(lifecycle.COUNT_ENV, None)
    if version is None:
        log.info("promote: PR-head run has no published version; canonical untouched")
        return False
    try:
        if abra.app_exists(canonical_domain):
            lifecycle.teardown_app(abra, canonical_domain)
        lifecycle.deploy_app(abra, AppSpec(recipe=recipe, domain=canonical_domain,
                                           version=version))
    except (AbraError, LifecycleError) as exc:
        log.warning("promote %s -> %s failed (run stays green): %s", recipe, canonical_domain, exc)
        return False
    log.info("promoted %s %s to %s", recipe, version, canonical_domain)
    return True


@dataclass(frozen=True)
class RunConfig:
    recipe: str
    stages: tuple[str, ...]
    server: str
    domain_suffix: str
    pr_ref: str
    run_id: str
    target_version: str | None
    upgrade_base_version: str | None
    recipes_root: Path
    workdir: Path
    canonical_domain: str | None = None
    keep_app: bool = False

    @property
    def checkout_dir(self) -> Path:
        return self.recipes_root / self.recipe

    @classmethod
    def from_cli(cls, ns: argparse.Namespace, env: Mapping[str, str]) -> "RunConfig":
        if not ns.recipe:
            raise ValueError("no recipe (use --recipe or RECIPE)")
        wanted = [s.strip() for s in ns.stages.split(",") if s.strip()]
        unknown = sorted(set(wanted) - set(ALL_STAGES))
        if unknown:
            raise ValueError(f"unknown stages {unknown}; known: {', '.join(ALL_STAGES)}")
        run_id = env.get("DRONE_BUILD_NUMBER") or uuid.uuid4().hex[:8]
        workdir = Path(ns.workdir or f"/tmp/cc-ci/{ns.recipe}-{run_id}")
        return cls(
            recipe=ns.recipe,
            stages=tuple(s for s in ALL_STAGES if s in wanted),
            server=ns.server,
            domain_suffix=ns.domain_suffix,
            pr_ref=ns.pr_ref,
            run_id=run_id,
            target_version=ns.target_version or None,
            upgrade_base_version=env.get("UPGRADE_BASE_VERSION") or None,
            recipes_root=Path(env.get("ABRA_DIR", Path.home() / ".abra")) / "recipes",
            workdir=workdir,
            canonical_domain=env.get("CANONICAL_DOMAIN") or None,
            keep_app=ns.keep_app,
        )


class Run:
    """One recipe run: deps, the shared base deploy, the tiers, the budget guard."""

    def __init__(self, cfg: RunConfig, abra: Abra | None = None) -> None:
        self.cfg = cfg
        self.abra = abra or Abra(cfg.server)
        cfg.workdir.mkdir(parents=True, exist_ok=True)
        self.checkout = RecipeCheckout(cfg.checkout_dir)
        self.recipe = RecipeConfig.load(cfg.recipe, cfg.checkout_dir)
        self.deps = DepsManager(self.abra, cfg.run_id, cfg.domain_suffix)
        self.overlay = OverlaySuite(cfg.checkout_dir, cfg.workdir)
        self.counter_path = self._arm_counter()
        self.app: DeployedApp | None = None
        self.base_domain: str | None = None
        self.prev_version: str | None = None
        self.base_version: str | None = None
        self.results: list[TierResult] = []
        self._probe: DataProbe | None = None
        self._snapshot: str | None = None
        self._tiers: dict[str, Callable[[], TierResult]] = {
            "install": self.tier_install,
            "upgrade": self.tier_upgrade,
            "backup": self.tier_backup,
            "restore": self.tier_restore,
            "custom": self.tier_custom,
        }

    # -- setup ----------------------------------------------------------------
    def _arm_counter(self) -> Path:
        raw = os.environ.get(lifecycle.COUNT_ENV)
        path = Path(raw) if raw else self.cfg.workdir / "deploy-count"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")          # a fresh budget for this run
        os.environ[lifecycle.COUNT_ENV] = str(path)
        return path

    def _previous_version(self) -> str | None:
        versions = self.abra.recipe_versions(self.cfg.recipe)
        if self.cfg.target_version in versions:
            versions = versions[: versions.index(self.cfg.target_version)]
        return versions[-1] if versions else None

    def _select_base_version(self) -> str | None:
        want_upgrade = "upgrade" in self.cfg.stages
        prev = None
        if want_upgrade:
            prev = self.cfg.upgrade_base_version or self._previous_version()
        base = prev or self.cfg.target_version
        self.prev_version, self.base_version = prev, base
        return base

    def _deploy_base(self) -> DeployedApp:
        """The single base deploy, shared by every tier (upgrade included)."""
        base = self._select_base_version()
        if base is None:
            self.checkout.switch(self.cfg.pr_ref)      # chaos deploy of PR head
        self.base_domain = f"{self.cfg.recipe}-{self.cfg.run_id}.{self.cfg.domain_suffix}"
        spec = AppSpec(recipe=self.cfg.recipe, domain=self.base_domain, version=base,
                       health_path=self.recipe.health_path,
                       converge_timeout=self.recipe.converge_timeout)
        log.info("base deploy: %s at %s (prev=%s, target=%s)", spec.domain,
                 base or "PR head", self.prev_version, self.cfg.target_version)
        return lifecycle.deploy_app(self.abra, spec)

    @property
    def shared_app(self) -> DeployedApp:
        if self.app is None:
            raise LifecycleError("no base app deployed")
        return self.app

    @property
    def probe(self) -> DataProbe:
        if self._probe is None:
            self._probe = DataProbe(self.shared_app, self.recipe.probe)
        return self._probe

    # -- tiers ----------------------------------------------------------------
    def tier_install(self) -> TierResult:
        return run_lifecycle_tier("install", self.shared_app, self.overlay)

    def tier_upgrade(self) -> TierResult:
        return run_lifecycle_tier("upgrade", self.shared_app, self.overlay, action=self._upgrade)

    def _upgrade(self) -> None:
        generic.perform_upgrade(self.shared_app, self.checkout, self.cfg.pr_ref,
                                base=self.base_version)

    def tier_backup(self) -> TierResult:
        return run_lifecycle_tier("backup", self.shared_app, self.overlay, action=self._backup)

    def _backup(self) -> None:
        self._snapshot = generic.perform_backup(self.shared_app, self.probe)

    def tier_restore(self) -> TierResult:
        return run_lifecycle_tier("restore", self.shared_app, self.overlay, action=self._restore)

    def _restore(self) -> None:
        if self._snapshot is None:
            log.info("restore without a backup tier: seeding and snapshotting first")
            self._backup()
        assert self._snapshot is not None
        generic.perform_restore(self.shared_app, self.probe, self._snapshot)

    def tier_custom(self) -> TierResult:
        return run_lifecycle_tier("custom", self.shared_app, self.overlay)

    def _run_tiers(self) -> None:
        for stage in ALL_STAGES:
            if stage not in self.cfg.stages:
                continue
            log.info("===== tier %s =====", stage)
            result = self._tiers[stage]()
            self.results.append(result)
            for check in result.checks:
                (log.info if check.passed else log.error)("  %s %s %s", stage, check.name,
                                                          check.detail)

    # -- teardown / guard -----------------------------------------------------
    def _teardown(self) -> None:
        if self.base_domain and not self.cfg.keep_app:
            lifecycle.teardown_app(self.abra, self.base_domain)
        self.deps.teardown()
        try:
            self.checkout.restore()
        except RuntimeError as exc:
            log.warning("could not restore recipe checkout: %s", exc)

    def _check_deploy_budget(self) -> int:
        """DG4.1: deploys must equal 1 (base) + cold deps. 0 if so, 1 otherwise."""
        deploy_count = lifecycle.read_deploy_count(self.counter_path)
        deps_deployed = list(self.deps.report.deployed)   # warm-reused deps never listed
        expected_deploy_count = 1 + len(deps_deployed)
        print("==================== RUN SUMMARY ====================")
        print(f"recipe {self.cfg.recipe}: base {self.base_version or 'PR head'}, "
              f"prev {self.prev_version}, head {self.cfg.pr_ref}")
        for result in self.results:
            print(f"  {result.name:<8} {result.verdict:<5} {result.seconds:8.1f}s")
        print(f"deploy-count = {deploy_count} (expect {expected_deploy_count})")
        print(f"deps deployed: {deps_deployed}")
        if self.deps.report.reused:
            print(f"deps reused warm: {self.deps.report.reused}")
        sys.stdout.flush()
        if deploy_count != expected_deploy_count:
            log.error("DG4.1 deploy budget violated: %d deploys, expected %d",
                      deploy_count, expected_deploy_count)
            return 1
        return 0

    def execute(self) -> int:
        status = 0
        try:
            self.deps.provision(self.recipe.deps)
            self.overlay.extra_env.update(
                {f"DEP_{name.upper()}_DOMAIN": dom for name, dom in self.deps.report.domains.items()})
            self.app = self._deploy_base()
            self._run_tiers()
        except HARNESS_ERRORS as exc:
            log.error("run aborted: %s", exc)
            status = 1
        finally:
            self._teardown()
        if len(self.results) != len(self.cfg.stages) or not all(r.passed for r in self.results):
            status = 1
        if self._check_deploy_budget() != 0:
            status = 1
        if status == 0 and self.cfg.canonical_domain:
            promote_canonical(self.abra, self.cfg.recipe, self.cfg.target_version,
                              self.cfg.canonical_domain)
        return status


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default=env.get("RECIPE"))
    p.add_argument("--stages", default=env.get("STAGES", ",".join(ALL_STAGES)))
    p.add_argument("--server", default=env.get("CCCI_SERVER", "cc-ci.local"))
    p.add_argument("--domain-suffix", default=env.get("CCCI_DOMAIN_SUFFIX", "ci.coopcloud.tech"))
    p.add_argument("--pr-ref", default=env.get("PR_REF", "HEAD"))
    p.add_argument("--target-version", default=env.get("TARGET_VERSION"))
    p.add_argument("--workdir", default=env.get("CCCI_WORKDIR"))
    p.add_argument("--keep-app", action="store_true", default=env.get("KEEP_APP") == "1")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    ns = _parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if ns.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    try:
        cfg = RunConfig.from_cli(ns, os.environ)
    except ValueError as exc:
        log.error("bad configuration: %s", exc)
        return 2
    return Run(cfg).execute()


if __name__ == "__main__":
    raise SystemExit(main())
