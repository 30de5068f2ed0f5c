"""Declared dependency apps (e.g. an SSO provider for lasuite-docs).

A recipe declares the apps it needs in ``tests/ccci.toml``::

    [deps.keycloak]
    version = "10.1.0+25.0.6"
    warm = true                 # a live-warm canonical instance may be reused
    env = { OIDC_REALM = "ci" }

Each dep costs at most one deploy: a COLD dep is deployed exactly once for
the run (one ``deploy_app(`` per dep, counted) and torn down at the end; a
LIVE-WARM dep (the canonical ``warm-<recipe>`` instance is up and healthy) is
reused and costs 0. :func:`deploy_declared_deps` returns only the deps it
actually deployed, which is what the DG4.1 guard adds to the base deploy.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from harness import lifecycle
from harness.lifecycle import LifecycleError, app_new, deploy_app, secrets_generate, set_env
from harness.util import canonical_app_name, run_app_name

log = logging.getLogger(__name__)

CONFIG_NAME = "ccci.toml"


class DepDeployError(LifecycleError):
    """A cold dep failed to come up; carries what must still be torn down."""

    def __init__(self, recipe: str, deployed: list[str], cause: Exception) -> None:
        super().__init__(f"dep {recipe} failed: {cause}")
        self.recipe = recipe
        self.deployed = list(deployed)


@dataclass(frozen=True)
class DeclaredDep:
    """One ``[deps.<recipe>]`` table."""

    recipe: str
    version: str | None = None
    warm: bool = False
    env: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"{self.recipe}@{self.version}" if self.version else self.recipe


def load_declared_deps(recipe_dir: Path) -> list[DeclaredDep]:
    """Parse ``<recipe>/tests/ccci.toml``; no file or no table means no deps."""
    path = recipe_dir / "tests" / CONFIG_NAME
    if not path.exists():
        return []
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    declared: list[DeclaredDep] = []
    for recipe, table in sorted((data.get("deps") or {}).items()):
        unknown = set(table) - {"version", "warm", "env"}
        if unknown:
            log.warning("DEPS: %s: ignoring unknown keys %s", recipe, sorted(unknown))
        env = tuple(sorted((str(k), str(v)) for k, v in (table.get("env") or {}).items()))
        declared.append(
            DeclaredDep(recipe=recipe, version=table.get("version"), warm=bool(table.get("warm")), env=env)
        )
    log.debug("DEPS: declared %s", [d.label for d in declared])
    return declared


def dep_app_name(run_id: str, recipe: str) -> str:
    return run_app_name(f"dep-{recipe}", run_id)


# The only deploy_app( call site outside run_recipe_ci.py: one per cold dep.
def deploy_declared_deps(run_id: str, declared: list[DeclaredDep]) -> list[str]:
    """Bring up every declared dep; return the recipes deployed COLD.

    Live-warm deps are reused (no deploy, cost 0); every other dep gets a fresh
    per-run app and exactly one counted deploy. Feeds expected_deploy_count.
    """
    deployed: list[str] = []
    for dep in declared:
        if is_live_warm(dep):
            log.info("DEPS: %s is live-warm (%s); reused, not deployed", dep.label, canonical_app_name(dep.recipe))
            continue
        app = dep_app_name(run_id, dep.recipe)
        log.info("DEPS: %s is cold; deploying %s", dep.label, app)
        try:
            app_new(dep.recipe, app, version=dep.version)
            for key, value in dep.env:
                set_env(app, key, value)
            secrets_generate(app)
            version = dep.version or lifecycle.deployed_version(canonical_app_name(dep.recipe)) or "latest"
            deploy_app(app, version, recipe=dep.recipe)
        except LifecycleError as exc:
            # The app may exist half-created: hand it to DEPS teardown too so
            # nothing leaks, then let the orchestrator fail the run.
            raise DepDeployError(dep.recipe, [*deployed, dep.recipe], exc) from exc
        deployed.append(dep.recipe)
        log.info("DEPS: %s up (%d cold so far)", app, len(deployed))
    reused = [d.recipe for d in declared if d.recipe not in deployed]
    if deployed:
        log.info("DEPS: deployed cold: %s", deployed)
    if reused:
        log.info("DEPS: reused live-warm (0 deploys): %s", reused)
    if not declared:
        log.info("DEPS: recipe declares no deps")
    log.info(
        "DEPS: budget contribution %d deploy(s) for %d declared dep(s)",
        len(deployed),
        len(declared),
    )
    # run_recipe_ci adds 1 (the base deploy) to len() of this list.
    return deployed


def is_live_warm(dep: DeclaredDep) -> bool:
    """True when the dep may be reused: declared ``warm`` and its canonical
    instance is deployed and every service is running."""
    if not dep.warm:
        return False
    canonical = canonical_app_name(dep.recipe)
    try:
        return lifecycle.is_deployed(canonical)
    except LifecycleError as exc:
        log.warning("DEPS: cannot inspect %s: %s", canonical, exc)
        return False


def dep_endpoint(run_id: str, dep: DeclaredDep, deployed: list[str]) -> str:
    """The domain the recipe under test should talk to for ``dep``."""
    if dep.recipe in deployed:
        return dep_app_name(run_id, dep.recipe)
    return canonical_app_name(dep.recipe)


def export_dep_env(app: str, run_id: str, declared: list[DeclaredDep], deployed: list[str]) -> None:
    """Point the app under test at its deps (``<RECIPE>_DOMAIN=...``)."""
    for dep in declared:
        key = f"{dep.recipe.upper().replace('-', '_')}_DOMAIN"
        set_env(app, key, dep_endpoint(run_id, dep, deployed))


def teardown_deps(run_id: str, deployed: list[str], *, keep: bool = False) -> list[str]:
    """DEPS teardown: remove only what this run deployed cold.

    Live-warm deps were never deployed by this run and are left alone.
    Returns the recipes whose teardown raised (logged, never re-raised, so
    one stuck dep does not leak the others).
    """
    failed: list[str] = []
    for recipe in reversed(deployed):
        app = dep_app_name(run_id, recipe)
        log.info("DEPS teardown: %s", app)
        try:
            lifecycle.teardown_app(app, keep=keep)
        except Exception:  # noqa: BLE001 - teardown must go on
            log.exception("DEPS teardown of %s failed", app)
            failed.append(recipe)
    log.info("DEPS teardown %s", "clean" if not failed else f"FAILED for {failed}")
    return failed
