"""Run configuration, read once from the environment into a frozen dataclass."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_TRUTHY = frozenset({"1", "true", "yes", "on"})


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name)
    return default if raw is None else raw.strip().lower() in _TRUTHY


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    return int(raw) if raw else default


def _csv(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in (raw or "").split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class RunConfig:
    recipe: str
    server: str
    domain_suffix: str
    checkout: Path
    results_dir: Path
    head_ref: str
    run_id: str
    stages: tuple[str, ...] = ()
    upgrade_base_version: str | None = None
    target_version: str | None = None
    promote: bool = False
    deploy_timeout: int = 900
    health_timeout: int = 300

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RunConfig:
        env = os.environ if env is None else env
        recipe = env.get("RECIPE", "").strip()
        if not recipe:
            raise SystemExit("RECIPE is required")
        return cls(
            recipe=recipe,
            server=env.get("CCCI_SERVER", "cc-ci.local"),
            domain_suffix=env.get("CCCI_DOMAIN_SUFFIX", "ci.coopcloud.tech"),
            checkout=Path(env.get("CCCI_RECIPE_CHECKOUT", f"/srv/ci/checkouts/{recipe}")),
            results_dir=Path(env.get("CCCI_RESULTS_DIR", "results")),
            head_ref=env.get("CCCI_HEAD_REF") or env.get("DRONE_COMMIT_SHA", "HEAD"),
            run_id=env.get("DRONE_BUILD_NUMBER") or f"local{os.getpid()}",
            stages=_csv(env.get("STAGES")),
            upgrade_base_version=env.get("UPGRADE_BASE_VERSION") or None,
            target_version=env.get("CCCI_TARGET_VERSION") or None,
            promote=_flag(env, "CCCI_PROMOTE"),
            deploy_timeout=_int(env, "CCCI_DEPLOY_TIMEOUT", 900),
            health_timeout=_int(env, "CCCI_HEALTH_TIMEOUT", 300),
        )

    @property
    def app_domain(self) -> str:
        return f"{self.recipe}-{self.run_id}.{self.domain_suffix}"

    @property
    def canonical_domain(self) -> str:
        return f"{self.recipe}.canonical.{self.domain_suffix}"

    def dep_domain(self, dep_recipe: str) -> str:
        return f"{dep_recipe}-for-{self.recipe}-{self.run_id}.{self.domain_suffix}"
