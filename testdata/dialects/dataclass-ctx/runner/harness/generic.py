"""Generic tier actions and assertions shared by every recipe.

Upgrade = in-place chaos redeploy (lifecycle.chaos_redeploy); backup/restore go through
lifecycle.backup_app / restore_app. None of these deploys, so none of them is counted.
"""
from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import lifecycle
from .abra import run_abra
from .lifecycle import App, Snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IntegrityProbe:
    """Where the seed->backup->mutate->restore->assert marker lives inside the app."""

    service: str = "app"
    path: str = "/tmp/.ccci-integrity"

    def _exec(self, app: App, script: str) -> str:
        out = run_abra("app", "run", app.domain, self.service, "--", "sh", "-c", script, timeout=120)
        return out.stdout.strip()

    def write(self, app: App, value: str) -> None:
        self._exec(app, f"printf %s {shlex.quote(value)} > {shlex.quote(self.path)}")

    def read(self, app: App) -> str:
        return self._exec(app, f"cat {shlex.quote(self.path)} 2>/dev/null || true")


def check_health(app: App, timeout: float = 120) -> None:
    lifecycle.wait_healthy(app, timeout=timeout)


def deployed_version(app: App) -> str | None:
    services = run_abra("app", "ps", app.domain, "--machine", timeout=60, attempts=3).json() or []
    versions = {svc.get("version") for svc in services if svc.get("version")}
    if len(versions) > 1:
        raise AssertionError(f"{app.domain} runs mixed versions {sorted(versions)}")
    return versions.pop() if versions else None


def assert_upgraded(app: App, from_version: str | None, head_ref: str) -> None:
    """The upgrade must be a real crossover: no longer the base, now the PR head."""
    now = deployed_version(app)
    if now is None:
        raise AssertionError(f"{app.domain}: no version label after upgrade")
    if from_version and now == from_version:
        raise AssertionError(f"{app.domain} still on base {from_version} after upgrade")
    if head_ref != "HEAD" and head_ref[:8] not in now:
        raise AssertionError(f"{app.domain} runs {now}, expected PR head {head_ref[:8]}")
    log.info("upgrade verified: %s -> %s", from_version or "?", now)


def perform_upgrade(app: App, checkout: Path, *, base_version: str | None, head_ref: str,
                    timeout: int = 900) -> None:
    before = deployed_version(app) or base_version
    lifecycle.chaos_redeploy(app, checkout, timeout=timeout)
    check_health(app)
    assert_upgraded(app, from_version=before, head_ref=head_ref)


def perform_backup(app: App, probe: IntegrityProbe, marker: str) -> Snapshot:
    probe.write(app, marker)
    if (seeded := probe.read(app)) != marker:
        raise AssertionError(f"seed did not stick on {app.domain}: {seeded!r}")
    return lifecycle.backup_app(app)


def perform_restore(app: App, probe: IntegrityProbe, snapshot: Snapshot, marker: str) -> None:
    probe.write(app, f"mutated-{marker}")
    if probe.read(app) == marker:
        raise AssertionError("mutation did not take effect; restore check would be vacuous")
    lifecycle.restore_app(app, snapshot)
    check_health(app)
    if (restored := probe.read(app)) != marker:
        raise AssertionError(f"restore lost data on {app.domain}: {restored!r} != {marker!r}")
    log.info("data integrity verified through snapshot %s", snapshot.snapshot_id)


def run_overlay(checkout: Path, stage: str, app: App, results_dir: Path) -> bool | None:
    """Run the recipe's own pytest overlay for `stage`; None when the recipe has none."""
    suite = checkout / "tests" / stage
    if not suite.is_dir():
        return None
    junit = results_dir / f"junit-{stage}.xml"
    env = {**os.environ, "CCCI_APP_DOMAIN": app.domain, "CCCI_STAGE": stage}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", str(suite), f"--junitxml={junit}"],
            env=env, cwd=checkout, timeout=1800, check=False,
        )
    except subprocess.TimeoutExpired:
        log.error("%s overlay timed out", stage)
        return False
    return proc.returncode == 0
