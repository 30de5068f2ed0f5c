"""Generic, recipe-independent tier assertions.

Every tier runs these against the one shared app before the recipe's overlay
suite. Upgrade / backup / restore operate on that app in place: nothing here
deploys a new app.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Callable

from harness import lifecycle
from harness.abra import AbraError
from harness.lifecycle import DeployedApp
from harness.recipe import ProbeSpec, RecipeCheckout

log = logging.getLogger(__name__)


class TierFailure(AssertionError):
    """A generic assertion did not hold."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class VersionStamp:
    """What is running: published version label and chaos commit, per the ps output."""

    version: str | None
    chaos: str | None

    @classmethod
    def of(cls, app: DeployedApp) -> "VersionStamp":
        services = app.services()
        if not services:
            raise TierFailure(f"{app.domain}: no services running")
        versions = {s.version for s in services if s.version}
        chaos = {s.chaos for s in services if s.chaos}
        if len(versions) > 1 or len(chaos) > 1:
            raise TierFailure(f"{app.domain}: mixed stack versions {versions} / {chaos}")
        return cls(next(iter(versions), None), next(iter(chaos), None))


def check_converged(app: DeployedApp) -> CheckResult:
    lagging = [f"{s.name} {s.running}/{s.desired}" for s in app.services() if not s.converged]
    return CheckResult("services-converged", not lagging, ", ".join(lagging))


def check_http(app: DeployedApp) -> CheckResult:
    status = lifecycle._http_status(app.url)
    return CheckResult("http-health", 0 < status < 500, f"{app.url} -> {status}")


GENERIC_CHECKS: dict[str, tuple[Callable[[DeployedApp], CheckResult], ...]] = {
    "install": (check_converged, check_http),
    "upgrade": (check_converged, check_http),
    "backup": (check_converged,),
    "restore": (check_converged, check_http),
    "custom": (check_converged,),
}


def assert_upgraded(before: VersionStamp, after: VersionStamp, *, base: str | None,
                    head_sha: str) -> None:
    """The upgrade must be a real crossover: prev published version -> PR head."""
    if base is not None and before.version != base:
        raise TierFailure(f"upgrade started from {before.version}, expected base {base}")
    if not after.chaos or not head_sha.startswith(after.chaos[:7]):
        raise TierFailure(f"after upgrade running {after.chaos!r}, expected PR head {head_sha[:10]}")
    if before == after:
        raise TierFailure("upgrade changed nothing: stack identical before and after")
    if base is None:
        log.warning("no previous published version: upgrade was head -> head redeploy")


def perform_upgrade(app: DeployedApp, checkout: RecipeCheckout, ref: str,
                    base: str | None) -> VersionStamp:
    """HC1 upgrade under test: in-place chaos redeploy of ``ref`` over the base app."""
    before = VersionStamp.of(app)
    head_sha = lifecycle.chaos_redeploy(app, checkout, ref)
    after = VersionStamp.of(app)
    assert_upgraded(before, after, base=base, head_sha=head_sha)
    return after


class DataProbe:
    """Seed -> backup -> mutate -> restore -> assert, through a marker file in a volume."""

    def __init__(self, app: DeployedApp, spec: ProbeSpec) -> None:
        self.app = app
        self.spec = spec
        self.token: str | None = None

    def _write(self, value: str) -> None:
        self.app.abra.run(self.app.domain, self.spec.service,
                          ["sh", "-c", f"printf %s {value} > {self.spec.path}"])

    def _read(self) -> str:
        try:
            return self.app.abra.run(self.app.domain, self.spec.service,
                                     ["cat", self.spec.path]).strip()
        except AbraError as exc:
            raise TierFailure(f"probe unreadable: {exc}") from exc

    def seed(self) -> str:
        self.token = secrets.token_hex(8)
        self._write(self.token)
        if self._read() != self.token:
            raise TierFailure("probe seed did not persist")
        return self.token

    def mutate(self) -> None:
        self._write("mutated-" + secrets.token_hex(4))

    def verify(self) -> None:
        if self.token is None:
            raise TierFailure("probe was never seeded")
        found = self._read()
        if found != self.token:
            raise TierFailure(f"restore lost data: probe {found!r} != seeded {self.token!r}")


def perform_backup(app: DeployedApp, probe: DataProbe) -> str:
    probe.seed()
    return lifecycle.backup_app(app)


def perform_restore(app: DeployedApp, probe: DataProbe, snapshot: str) -> None:
    probe.mutate()
    lifecycle.restore_app(app, snapshot)
    probe.verify()
