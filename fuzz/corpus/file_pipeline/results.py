"""Run results: per-tier outcomes, per-phase timings and ``results.json``.

``results.json`` is the artifact the Drone step uploads and the results UI
consumes. The deploy count written here is informational; the hard check is
the DG4.1 guard in ``run_recipe_ci.main``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
STATUSES = ("pass", "fail", "skip", "error")


@dataclass
class TierResult:
    """Outcome of one lifecycle tier."""

    tier: str
    status: str
    seconds: float = 0.0
    detail: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown tier status {self.status!r}")

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "skip")


@dataclass
class Timings:
    """Wall-clock spans, in the order they were opened."""

    spans: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        try:
            yield
        finally:
            elapsed = time.monotonic() - t0
            self.spans[name] = self.spans.get(name, 0.0) + elapsed
            log.debug("timing %s: %.1fs", name, elapsed)

    def total(self) -> float:
        return sum(self.spans.values())


def render_tier_table(tiers: dict[str, TierResult]) -> str:
    width = max((len(t) for t in tiers), default=6)
    rows = [f"  {name:<{width}}  {res.status:<5}  {res.seconds:7.1f}s  {res.detail}" for name, res in tiers.items()]
    return "\n".join(rows)


def write_results(
    path: Path,
    *,
    recipe: str,
    run_id: str,
    tiers: dict[str, TierResult],
    timings: Timings,
    deploy_count: int,
    expected_deploy_count: int,
    deps_deployed: list[str],
    extra: dict[str, Any] | None = None,
) -> Path:
    payload: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "recipe": recipe,
        "run_id": run_id,
        "tiers": {name: asdict(res) for name, res in tiers.items()},
        "timings": {k: round(v, 2) for k, v in timings.spans.items()},
        "deploys": {
            "count": deploy_count,
            "expected": expected_deploy_count,
            "deps_deployed": list(deps_deployed),
        },
        "ok": all(res.ok for res in tiers.values()) and deploy_count == expected_deploy_count,
    }
    if extra:
        payload.update(extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    log.info("results written to %s", path)
    return path
