"""Lifecycle of one deployed app: the single deploy, chaos upgrade, backup, restore.

Deploy accounting: ``deploy_app`` is the only function that deploys a fresh app
and the only caller of ``_record_deploy``, which appends one line to the file
named by ``$CCCI_DEPLOY_COUNT_FILE``. The RUN SUMMARY guard (DG4.1) counts those
lines. Nothing else in this module records or performs a counted deploy.
"""
from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from harness.abra import Abra, AbraError, ServiceState
from harness.recipe import RecipeCheckout

log = logging.getLogger(__name__)

COUNT_ENV = "CCCI_DEPLOY_COUNT_FILE"


class LifecycleError(RuntimeError):
    """The app did not reach the state a lifecycle step requires."""


@dataclass(frozen=True)
class AppSpec:
    recipe: str
    domain: str
    version: str | None = None        # None -> chaos deploy of the checked-out head
    health_path: str = "/"
    converge_timeout: int = 600

    @property
    def chaos(self) -> bool:
        return self.version is None


@dataclass
class DeployedApp:
    """Handle on a running app; every tier works on the same instance."""

    spec: AppSpec
    abra: Abra
    version: str | None
    chaos_ref: str | None = None
    snapshots: list[str] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return self.spec.domain

    @property
    def url(self) -> str:
        return f"https://{self.spec.domain}{self.spec.health_path}"

    def services(self) -> list[ServiceState]:
        return self.abra.app_ps(self.domain)


def _record_deploy(domain: str) -> None:
    """Append one line per counted deploy to ``$CCCI_DEPLOY_COUNT_FILE``."""
    path = os.environ.get(COUNT_ENV)
    if not path:
        log.debug("deploy of %s not counted: %s unset", domain, COUNT_ENV)
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {domain}\n")


def read_deploy_count(path: str | os.PathLike[str]) -> int:
    """Number of deploy lines recorded in the counter file (0 if absent)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return 0
    return sum(1 for line in text.splitlines() if line.strip())


def deploy_app(abra: Abra, spec: AppSpec) -> DeployedApp:
    """Create and deploy a fresh app. THE deploy: counted exactly once per call."""
    if abra.app_exists(spec.domain):
        raise LifecycleError(f"{spec.domain} already exists on {abra.server}; refusing to reuse")
    log.info("deploy %s (%s) at %s", spec.domain, spec.recipe, spec.version or "checkout head")
    abra.app_new(spec.recipe, spec.domain, spec.version)
    abra.app_deploy(spec.domain, version=spec.version, chaos=spec.chaos,
                    timeout=spec.converge_timeout)
    _record_deploy(spec.domain)
    app = DeployedApp(spec=spec, abra=abra, version=spec.version)
    wait_healthy(app)
    return app


def _http_status(url: str, timeout: float = 10.0) -> int:
    req = urllib.request.Request(url, method="GET", headers={"User-Agent": "cc-ci"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return 0


def wait_healthy(app: DeployedApp, timeout: int | None = None, interval: float = 5.0) -> None:
    """Poll until every service converged and the health URL answers below 500."""
    deadline = time.monotonic() + (timeout or app.spec.converge_timeout)
    last = "no poll yet"
    while time.monotonic() < deadline:
        try:
            services = app.services()
        except AbraError as exc:
            services, last = [], f"ps failed: {exc}"
        if services and all(s.converged for s in services):
            status = _http_status(app.url)
            if 0 < status < 500:
                log.info("%s healthy (HTTP %d)", app.domain, status)
                return
            last = f"HTTP {status}"
        elif services:
            last = ", ".join(f"{s.name} {s.running}/{s.desired}" for s in services)
        time.sleep(interval)
    raise LifecycleError(f"{app.domain} not healthy within timeout: {last}")


def chaos_redeploy(app: DeployedApp, checkout: RecipeCheckout, ref: str) -> str:
    """The upgrade: redeploy PR head IN PLACE over the running app (``--chaos``).

    This does NOT call ``deploy_app`` and is not counted: the app, its volumes
    and its secrets stay; only the stack definition moves to ``ref``.
    """
    sha = checkout.switch(ref)
    app.abra.app_deploy(app.domain, chaos=True, force=True, timeout=app.spec.converge_timeout)
    app.chaos_ref = sha
    wait_healthy(app)
    return sha


def backup_app(app: DeployedApp) -> str:
    """Snapshot the running app's volumes (backupbot); never deploys."""
    snapshot = app.abra.backup_create(app.domain)
    app.snapshots.append(snapshot)
    log.info("%s backed up as %s", app.domain, snapshot)
    return snapshot


def restore_app(app: DeployedApp, snapshot: str) -> None:
    """Restore a snapshot into the same running app; never deploys."""
    if snapshot not in app.snapshots:
        raise LifecycleError(f"snapshot {snapshot} was not taken from {app.domain}")
    app.abra.backup_restore(app.domain, snapshot)
    wait_healthy(app)


def teardown_app(abra: Abra, domain: str) -> None:
    """Undeploy and remove an app with its volumes; tolerant of half-created apps."""
    for step in (abra.app_undeploy, abra.app_remove):
        try:
            step(domain)
        except AbraError as exc:
            log.warning("teardown %s: %s", domain, exc)
