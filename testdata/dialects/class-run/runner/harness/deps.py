"""Declared dependencies: reuse a live warm instance, else deploy one cold."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from harness import lifecycle
from harness.abra import Abra, AbraError
from harness.lifecycle import AppSpec, DeployedApp
from harness.recipe import DepSpec

log = logging.getLogger(__name__)


@dataclass
class DepsReport:
    """What provisioning did; ``deployed`` is what the deploy budget counts."""

    deployed: list[str] = field(default_factory=list)   # cold: one deploy each
    reused: list[str] = field(default_factory=list)     # live-warm: zero deploys
    domains: dict[str, str] = field(default_factory=dict)


class DepsManager:
    def __init__(self, abra: Abra, run_id: str, domain_suffix: str) -> None:
        self.abra = abra
        self.run_id = run_id
        self.domain_suffix = domain_suffix
        self._owned: list[DeployedApp] = []
        self.report = DepsReport()

    def _is_warm(self, dep: DepSpec) -> bool:
        if not dep.warm_domain:
            return False
        try:
            services = self.abra.app_ps(dep.warm_domain)
        except AbraError as exc:
            log.info("warm %s unreachable (%s): going cold", dep.name, exc)
            return False
        return bool(services) and all(s.converged for s in services)

    def _deploy_cold(self, dep: DepSpec) -> DeployedApp:
        spec = AppSpec(recipe=dep.recipe, version=dep.version,
                       domain=f"{dep.name}-{self.run_id}.{self.domain_suffix}")
        try:
            app = lifecycle.deploy_app(self.abra, spec)
        except (AbraError, lifecycle.LifecycleError):
            lifecycle.teardown_app(self.abra, spec.domain)   # don't leak a half-made dep
            raise
        self._owned.append(app)
        return app

    def provision(self, deps: tuple[DepSpec, ...]) -> DepsReport:
        """Fill ``self.report`` as we go, so a half-done provisioning is still reported."""
        report = self.report
        for dep in deps:
            if self._is_warm(dep):
                log.info("dep %s: reusing live warm %s", dep.name, dep.warm_domain)
                report.reused.append(dep.name)
                report.domains[dep.name] = str(dep.warm_domain)
                continue
            app = self._deploy_cold(dep)
            report.deployed.append(dep.name)
            report.domains[dep.name] = app.domain
        log.info("deps deployed cold: %s; reused warm: %s", report.deployed, report.reused)
        return report

    def teardown(self) -> None:
        for app in reversed(self._owned):
            lifecycle.teardown_app(self.abra, app.domain)
        log.info("DEPS teardown %s", "clean" if self._owned else "(nothing owned)")
        self._owned.clear()
