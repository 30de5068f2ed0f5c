#!/usr/bin/env python3
"""Recipe CI entry point: one base deploy shared by all five tiers.

Deploy budget per run: 1 (base) + N cold deps, enforced by the DG4.1 guard below.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum

from harness import generic
from harness.abra import AbraError, run_abra
from harness.config import RunConfig
from harness.deps import DepsResult, load_dep_specs, provision_deps, teardown_deps
from harness.lifecycle import (
    COUNT_ENV,
    App,
    Snapshot,
    deploy_app,
    deploy_ledger,
    read_deploy_count,
    undeploy_app,
)

log = logging.getLogger("ccci")


class Stage(str, Enum):
    INSTALL = "install"
    UPGRADE = "upgrade"
    BACKUP = "backup"
    RESTORE = "restore"
    CUSTOM = "custom"


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


ALL_STAGES: tuple[Stage, ...] = tuple(Stage)


@dataclass(slots=True)
class TierResult:
    stage: Stage
    outcome: Outcome
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RunState:
    config: RunConfig
    app: App
    probe: generic.IntegrityProbe = field(default_factory=generic.IntegrityProbe)
    prev_version: str | None = None
    base_version: str | None = None
    snapshot: Snapshot | None = None
    results: list[TierResult] = field(default_factory=list)

    @property
    def marker(self) -> str:
        return f"ccci-{self.config.run_id}-{self.config.recipe}"

    @property
    def failed(self) -> bool:
        return any(r.outcome is Outcome.FAIL for r in self.results)


def selected_stages(config: RunConfig) -> tuple[Stage, ...]:
    if not config.stages:
        return ALL_STAGES
    unknown = set(config.stages) - {s.value for s in ALL_STAGES}
    if unknown:
        raise SystemExit(f"unknown STAGES: {sorted(unknown)}")
    return tuple(s for s in ALL_STAGES if s.value in config.stages)


def _version_key(version: str) -> tuple[int, ...]:
    head = version.split("+", 1)[0]
    return tuple(int(part) if part.isdigit() else 0 for part in head.split("."))


def previous_version(recipe: str, target: str | None) -> str | None:
    """Newest published version older than `target` (or newest at all if target unset)."""
    try:
        listing = run_abra("recipe", "versions", recipe, "--machine", timeout=120, attempts=3).json()
    except AbraError as exc:
        log.warning("cannot list versions of %s: %s", recipe, exc)
        return None
    names = {item["version"] if isinstance(item, dict) else str(item) for item in listing or []}
    ordered = sorted(names, key=_version_key)
    older = ordered[: ordered.index(target)] if target in ordered else ordered
    return older[-1] if older else None


def select_base_version(config: RunConfig, want_upgrade: bool) -> tuple[str | None, str | None]:
    """Deploy the base at the previous release when upgrading, so upgrade shares it."""
    target = config.target_version
    if not want_upgrade:
        return None, target
    prev = config.upgrade_base_version or previous_version(config.recipe, target)
    base = prev or target
    return prev, base


def _deploy_base(state: RunState, deps: DepsResult) -> None:
    deploy_app(state.app, state.base_version, env=deps.links, timeout=state.config.deploy_timeout)


def _tier_body(stage: Stage, state: RunState) -> Outcome:
    cfg, app = state.config, state.app
    match stage:
        case Stage.INSTALL:
            generic.check_health(app, timeout=cfg.health_timeout)
        case Stage.UPGRADE:
            if state.prev_version is None:
                log.warning("no previous published version: upgrade has nothing to cross over")
                return Outcome.SKIP
            generic.perform_upgrade(app, cfg.checkout, base_version=state.base_version,
                                    head_ref=cfg.head_ref, timeout=cfg.deploy_timeout)
        case Stage.BACKUP:
            state.snapshot = generic.perform_backup(app, state.probe, state.marker)
        case Stage.RESTORE:
            if state.snapshot is None:
                state.snapshot = generic.perform_backup(app, state.probe, state.marker)
            generic.perform_restore(app, state.probe, state.snapshot, state.marker)
        case Stage.CUSTOM:
            pass
    overlay = generic.run_overlay(cfg.checkout, stage.value, app, cfg.results_dir)
    if overlay is False:
        raise AssertionError(f"{stage.value} overlay tests failed")
    if stage is Stage.CUSTOM and overlay is None:
        return Outcome.SKIP
    return Outcome.PASS


def run_lifecycle_tier(stage: Stage, state: RunState) -> TierResult:
    started = time.monotonic()
    log.info("=== TIER %s ===", stage.value)
    try:
        outcome = _tier_body(stage, state)
        detail = ""
    except (AssertionError, AbraError, TimeoutError) as exc:
        log.error("tier %s failed: %s", stage.value, exc)
        outcome, detail = Outcome.FAIL, str(exc)
    return TierResult(stage, outcome, round(time.monotonic() - started, 1), detail)


def promote_canonical(config: RunConfig, version: str | None) -> None:
    """WC5 post-green warm-cache maintenance: refresh the canonical app.

    Not a test deploy: the ledger is detached first so it stays outside the run budget.
    """
    detached = os.environ.pop(COUNT_ENV, None)
    log.info("promote: deploy ledger detached (%s)", detached)
    canonical = App(recipe=config.recipe, domain=config.canonical_domain, server=config.server)
    try:
        deploy_app(canonical, version, timeout=config.deploy_timeout)
    except (AbraError, TimeoutError) as exc:
        log.warning("promote_canonical failed (non-fatal): %s", exc)


def write_results(state: RunState, deps: DepsResult, deploy_count: int, expected: int, status: int) -> None:
    out = state.config.results_dir / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "recipe": state.config.recipe,
        "run_id": state.config.run_id,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "base_version": state.base_version,
        "tiers": [{"stage": r.stage.value, "outcome": r.outcome.value,
                   "seconds": r.seconds, "detail": r.detail} for r in state.results],
        "deploy_count": deploy_count,
        "expected_deploy_count": expected,
        "deps_deployed": deps.deployed_names,
        "deps_reused": deps.reused_names,
        "status": status,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def print_summary(state: RunState, deps: DepsResult, deploy_count: int, expected: int) -> None:
    print("==================== RUN SUMMARY ====================")
    for r in state.results:
        print(f"  {r.stage.value:<8} {r.outcome.value:<4} {r.seconds:>7.1f}s {r.detail[:80]}")
    print(f"  deploy-count = {deploy_count} (expect {expected})")
    print(f"  deps deployed: {deps.deployed_names}")
    print(f"  deps reused (warm): {deps.reused_names}")


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    config = RunConfig.from_env()
    stages = selected_stages(config)
    status = 0
    deps = DepsResult()
    state = RunState(config, App(config.recipe, config.app_domain, config.server))

    with deploy_ledger(config.results_dir) as ledger:
        try:
            state.prev_version, state.base_version = select_base_version(config, Stage.UPGRADE in stages)
            log.info("base version %s (prev %s)", state.base_version or "latest", state.prev_version)
            provision_deps(load_dep_specs(config.checkout), config, deps)
            _deploy_base(state, deps)
            for stage in stages:
                state.results.append(run_lifecycle_tier(stage, state))
        except (RuntimeError, OSError) as exc:  # AbraError, TimeoutError, broken checkout
            log.error("run aborted before all tiers ran: %s", exc)
            status = 1
        finally:
            undeploy_app(state.app)
            teardown_deps(deps)

        if state.failed:
            status = 1

        # DG4.1: the run must have deployed exactly 1 base + one per cold dep.
        deploy_count = read_deploy_count(ledger)
        expected_deploy_count = 1 + deps.deployed_count
        print_summary(state, deps, deploy_count, expected_deploy_count)
        if deploy_count != expected_deploy_count:
            log.error("DG4.1 deploy budget violated: %d deploys, expected %d",
                      deploy_count, expected_deploy_count)
            status = 1

        write_results(state, deps, deploy_count, expected_deploy_count, status)
        if status == 0 and config.promote:
            promote_canonical(config, config.target_version)

    log.info("finished %s with status %d", config.recipe, status)
    sys.exit(status)


if __name__ == "__main__":
    main()
