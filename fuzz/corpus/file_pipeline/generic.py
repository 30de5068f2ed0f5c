"""Generic tier checks, run for every recipe against the ONE shared app.

``run_recipe_ci.main`` deploys the recipe once (the base deploy) and then calls
the selected tiers, in order, through :data:`TIERS`:

* install -- services converged, app healthy, overlay ``install`` tests;
* upgrade -- in-place chaos redeploy of the PR head onto the running base app
  (:func:`harness.lifecycle.chaos_redeploy`), then :func:`assert_upgraded`;
* backup  -- seed a marker, backupbot snapshot, snapshot listed;
* restore -- seed -> backup -> mutate -> restore -> :func:`assert_data_intact`;
* custom  -- the recipe's own overlay tests.

None of these tiers deploys: they must never call ``deploy_app(`` (directly or
through a helper), or the DG4.1 budget ``1 + N_cold_deps`` would be exceeded
and the run would go red. Recipes configure the data probe in
``tests/ccci.toml``::

    [backup]
    service = "app"
    path = "/var/lib/ghost/content"
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness import lifecycle
from harness.results import TierResult
from harness.util import short_id

log = logging.getLogger(__name__)

OVERLAY_TIMEOUT = int(os.environ.get("CCCI_OVERLAY_TIMEOUT", "1200"))
HEALTH_RECHECK_TIMEOUT = int(os.environ.get("CCCI_HEALTH_RECHECK_TIMEOUT", "180"))
LIFECYCLE_MARKERS = ("install", "upgrade", "backup", "restore")
PYTEST_NO_TESTS = 5


class TierFailure(AssertionError):
    """A generic or overlay assertion failed (the tier is red, not errored)."""


@dataclass
class TierContext:
    """Everything a tier needs to know about the shared app under test."""

    app: str
    recipe: str
    recipe_dir: Path
    base_version: str
    target_version: str
    head_ref: str
    results_dir: Path
    health_path: str = "/"
    data_service: str | None = None
    data_path: str | None = None
    snapshot: str | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def overlay_dir(self) -> Path:
        return self.recipe_dir / "tests"

    @classmethod
    def from_recipe(cls, **kwargs: object) -> "TierContext":
        """Build a context, filling probe/health settings from ccci.toml."""
        ctx = cls(**kwargs)  # type: ignore[arg-type]
        cfg = _load_ccci(ctx.recipe_dir)
        backup = cfg.get("backup") or {}
        ctx.data_service = backup.get("service")
        ctx.data_path = backup.get("path")
        ctx.health_path = (cfg.get("health") or {}).get("path", "/")
        return ctx


TierBody = Callable[[TierContext], "str | None"]
TierFn = Callable[[TierContext], TierResult]


def _load_ccci(recipe_dir: Path) -> dict:
    path = recipe_dir / "tests" / "ccci.toml"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def timed_tier(name: str) -> Callable[[TierBody], TierFn]:
    """Decorator: time a tier body, log it, map exceptions to a TierResult."""

    def decorator(fn: TierBody) -> TierFn:
        @functools.wraps(fn)
        def wrapper(ctx: TierContext) -> TierResult:
            log.info("TIER %s: start (%s)", name, ctx.app)
            t0 = time.monotonic()
            try:
                detail = fn(ctx)
            except TierFailure as exc:
                status, detail = "fail", str(exc)
            except lifecycle.LifecycleError as exc:
                status, detail = "error", str(exc)
            else:
                status = "pass"
            elapsed = time.monotonic() - t0
            log.info("TIER %s: %s in %.0fs %s", name, status, elapsed, detail or "")
            return TierResult(name, status, elapsed, detail or "")

        return wrapper

    return decorator


# ---------------------------------------------------------------------------
# data probe (backup / restore integrity)
# ---------------------------------------------------------------------------


class DataProbe:
    """Seeds, mutates and reads back a marker file in the app's data volume."""

    def __init__(self, app: str, service: str, directory: str) -> None:
        self.app = app
        self.service = service
        self.path = f"{directory.rstrip('/')}/.ccci-marker"

    def _sh(self, script: str) -> str:
        return lifecycle.exec_in_service(self.app, self.service, ["sh", "-c", script])

    def write(self, token: str) -> None:
        self._sh(f"printf %s {token} > {self.path} && sync")

    def read(self) -> str:
        return self._sh(f"cat {self.path} 2>/dev/null || true").strip()

    def seed(self) -> str:
        token = f"seed-{short_id(8)}"
        self.write(token)
        if self.read() != token:
            raise TierFailure(f"could not seed marker in {self.service}:{self.path}")
        return token

    def mutate(self) -> str:
        token = f"mutated-{short_id(8)}"
        self.write(token)
        return token


def _probe_for(ctx: TierContext) -> DataProbe | None:
    if not (ctx.data_service and ctx.data_path):
        return None
    return DataProbe(ctx.app, ctx.data_service, ctx.data_path)


# ---------------------------------------------------------------------------
# assertions
# ---------------------------------------------------------------------------


def assert_services_converged(ctx: TierContext) -> list[str]:
    services = lifecycle.list_services(ctx.app)
    if not services:
        raise TierFailure(f"{ctx.app}: no services running")
    return services


def assert_healthy(ctx: TierContext) -> None:
    try:
        lifecycle.wait_healthy(ctx.app, timeout=HEALTH_RECHECK_TIMEOUT, path=ctx.health_path)
    except lifecycle.HealthTimeout as exc:
        raise TierFailure(str(exc)) from exc


def assert_version(ctx: TierContext, expected: str) -> None:
    actual = lifecycle.deployed_version(ctx.app)
    if actual != expected:
        raise TierFailure(f"{ctx.app} runs {actual!r}, expected {expected!r}")


def assert_upgraded(ctx: TierContext, before: str | None, head_sha: str) -> str:
    """The app really crossed over prev -> PR head (HC1), in place."""
    after = lifecycle.deployed_version(ctx.app)
    if after is None:
        raise TierFailure(f"{ctx.app}: no version label after upgrade")
    if after == before:
        raise TierFailure(f"{ctx.app}: still at {before} after chaos redeploy")
    if head_sha[:8] not in after:
        raise TierFailure(f"{ctx.app}: runs {after}, expected PR head {head_sha}")
    return after


def assert_snapshot_exists(ctx: TierContext, snapshot: str) -> None:
    if snapshot not in lifecycle.list_snapshots(ctx.app):
        raise TierFailure(f"snapshot {snapshot} of {ctx.app} not listed by backupbot")


def assert_data_intact(probe: DataProbe, expected: str) -> None:
    actual = probe.read()
    if actual != expected:
        raise TierFailure(f"restored marker is {actual!r}, expected {expected!r} (restore lost data)")


# ---------------------------------------------------------------------------
# overlay (recipe-provided pytest suites)
# ---------------------------------------------------------------------------


def run_overlay(ctx: TierContext, marker: str) -> str:
    """Run the recipe's overlay tests selected by ``marker``; raise on failure."""
    if not ctx.overlay_dir.is_dir():
        return "no overlay"
    junit = ctx.results_dir / f"overlay-{marker.split()[0]}.xml"
    argv = [sys.executable, "-m", "pytest", str(ctx.overlay_dir), "-m", marker, "-q", f"--junitxml={junit}"]
    env = {**os.environ, "CCCI_APP": ctx.app, "CCCI_RECIPE": ctx.recipe, "CCCI_DOMAIN": ctx.app}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=OVERLAY_TIMEOUT, check=False)
    (ctx.results_dir / f"overlay-{marker.split()[0]}.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode == PYTEST_NO_TESTS:
        return "overlay: no tests"
    if proc.returncode != 0:
        raise TierFailure(f"overlay {marker!r} failed (pytest exit {proc.returncode})")
    return "overlay: " + (proc.stdout.strip().splitlines() or ["ok"])[-1]


# ---------------------------------------------------------------------------
# tiers
# ---------------------------------------------------------------------------


@timed_tier("install")
def perform_install(ctx: TierContext) -> str:
    services = assert_services_converged(ctx)
    assert_healthy(ctx)
    assert_version(ctx, ctx.base_version)
    return f"{len(services)} services; " + run_overlay(ctx, "install")


@timed_tier("upgrade")
def perform_upgrade(ctx: TierContext) -> str:
    """prev -> PR head, in place on the shared app (adds no deploy)."""
    before = lifecycle.deployed_version(ctx.app)
    sha = lifecycle.chaos_redeploy(ctx.app, ctx.recipe_dir, ctx.head_ref)
    after = assert_upgraded(ctx, before, sha)
    assert_healthy(ctx)
    return f"{before} -> {after}; " + run_overlay(ctx, "upgrade")


@timed_tier("backup")
def perform_backup(ctx: TierContext) -> str:
    probe = _probe_for(ctx)
    token = probe.seed() if probe else None
    snapshot = lifecycle.backup_app(ctx.app, service=ctx.data_service)
    assert_snapshot_exists(ctx, snapshot)
    ctx.snapshot = snapshot
    if token:
        ctx.notes["backup_marker"] = token
    return f"snapshot {snapshot}; " + run_overlay(ctx, "backup")


@timed_tier("restore")
def perform_restore(ctx: TierContext) -> str:
    """P4: seed -> backup -> mutate -> restore -> assert data integrity."""
    probe = _probe_for(ctx)
    if probe is None:
        raise TierFailure("no [backup] service/path in ccci.toml: restore cannot be verified")
    seeded = probe.seed()
    snapshot = lifecycle.backup_app(ctx.app, service=ctx.data_service)
    probe.mutate()
    lifecycle.restore_app(ctx.app, snapshot=snapshot, service=ctx.data_service)
    assert_healthy(ctx)
    assert_data_intact(probe, seeded)
    return f"seed -> backup {snapshot} -> mutate -> restore: intact; " + run_overlay(ctx, "restore")


@timed_tier("custom")
def perform_custom(ctx: TierContext) -> str:
    assert_healthy(ctx)
    return run_overlay(ctx, "not (" + " or ".join(LIFECYCLE_MARKERS) + ")")


TIERS: dict[str, TierFn] = {
    "install": perform_install,
    "upgrade": perform_upgrade,
    "backup": perform_backup,
    "restore": perform_restore,
    "custom": perform_custom,
}
