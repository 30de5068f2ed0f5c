"""Declared dependencies (e.g. an SSO provider): reuse live-warm ones, deploy cold ones.

A live-warm dep is reused as-is and contributes 0 deploys. Each cold dep is deployed
exactly once via lifecycle.deploy_app and reported in DepsResult.cold, which is what
the DG4.1 guard's expected count (1 + deployed_count) is built from.
"""
from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .config import RunConfig
from .lifecycle import App, AppState, app_state, deploy_app, undeploy_app

log = logging.getLogger(__name__)

CI_METADATA = ".ccci.toml"


@dataclass(frozen=True, slots=True)
class DepSpec:
    recipe: str
    version: str | None = None
    warm_domain: str | None = None
    link_as: str | None = None


@dataclass
class DepsResult:
    cold: list[App] = field(default_factory=list)
    warm: list[App] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def deployed_count(self) -> int:
        return len(self.cold)

    @property
    def deployed_names(self) -> list[str]:
        return [app.recipe for app in self.cold]

    @property
    def reused_names(self) -> list[str]:
        return [app.recipe for app in self.warm]


def load_dep_specs(checkout: Path) -> list[DepSpec]:
    meta = checkout / CI_METADATA
    if not meta.is_file():
        return []
    with meta.open("rb") as fh:
        data = tomllib.load(fh)
    return [
        DepSpec(
            recipe=entry["recipe"],
            version=entry.get("version"),
            warm_domain=entry.get("warm"),
            link_as=entry.get("link_as"),
        )
        for entry in data.get("deps", [])
    ]


def _live_warm(spec: DepSpec, server: str) -> App | None:
    if spec.warm_domain is None:
        return None
    candidate = App(recipe=spec.recipe, domain=spec.warm_domain, server=server)
    state = app_state(candidate)
    if state is AppState.RUNNING:
        return candidate
    log.info("warm %s at %s is %s; falling back to a cold deploy", spec.recipe, spec.warm_domain, state.value)
    return None


def provision_deps(specs: list[DepSpec], config: RunConfig, result: DepsResult) -> DepsResult:
    """Fill `result` in place so the caller can tear down whatever got deployed on failure."""
    for spec in specs:
        if (warm := _live_warm(spec, config.server)) is not None:
            log.info("DEPS reuse live-warm %s (%s): 0 deploys", spec.recipe, warm.domain)
            result.warm.append(warm)
            app = warm
        else:
            app = App(recipe=spec.recipe, domain=config.dep_domain(spec.recipe), server=config.server)
            result.cold.append(app)
            deploy_app(app, spec.version, timeout=config.deploy_timeout)
        if spec.link_as:
            result.links[spec.link_as] = app.domain
    log.info("DEPS deployed cold: %s; reused warm: %s", result.deployed_names, result.reused_names)
    return result


def teardown_deps(result: DepsResult) -> None:
    """Remove the cold deps this run deployed (newest first); warm deps are never touched."""
    for app in reversed(result.cold):
        undeploy_app(app)
    log.info("DEPS teardown done (%d cold removed, %d warm kept)", len(result.cold), len(result.warm))
