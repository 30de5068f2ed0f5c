"""Recipe-side objects: the git checkout abra deploys from, and ``cc-ci.toml``."""
from __future__ import annotations

import logging
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DepSpec:
    """A dependency the recipe declares (e.g. an SSO provider)."""

    name: str
    recipe: str
    version: str | None = None
    warm_domain: str | None = None


@dataclass(frozen=True)
class ProbeSpec:
    """Where the generic data-integrity probe writes its marker."""

    service: str = "app"
    path: str = "/data/.ccci-probe"


@dataclass(frozen=True)
class RecipeConfig:
    name: str
    health_path: str = "/"
    converge_timeout: int = 600
    deps: tuple[DepSpec, ...] = ()
    probe: ProbeSpec = field(default_factory=ProbeSpec)

    @classmethod
    def load(cls, name: str, checkout_dir: Path) -> "RecipeConfig":
        cfg_file = checkout_dir / "cc-ci.toml"
        if not cfg_file.is_file():
            log.info("%s: no cc-ci.toml, using defaults", name)
            return cls(name=name)
        with cfg_file.open("rb") as fh:
            raw = tomllib.load(fh)
        deps = tuple(
            DepSpec(name=d["name"], recipe=d.get("recipe", d["name"]),
                    version=d.get("version"), warm_domain=d.get("warm_domain"))
            for d in raw.get("deps", [])
        )
        probe = ProbeSpec(**raw.get("probe", {}))
        return cls(name=name, health_path=raw.get("health_path", "/"),
                   converge_timeout=int(raw.get("converge_timeout", 600)),
                   deps=deps, probe=probe)


class RecipeCheckout:
    """The recipe's git checkout under ``~/.abra/recipes/<recipe>``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._original: str | None = None

    def _git(self, *args: str, timeout: int = 120) -> str:
        proc = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True,
                              text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def head(self) -> str:
        return self._git("rev-parse", "HEAD")

    def switch(self, ref: str) -> str:
        """Detach onto ``ref`` (a PR head or a tag); remembers where we came from."""
        if self._original is None:
            self._original = self.head()
        self._git("fetch", "--quiet", "origin", ref, timeout=300)
        self._git("checkout", "--quiet", "--detach", "FETCH_HEAD")
        sha = self.head()
        log.info("recipe checkout %s -> %s (%s)", self.path.name, ref, sha[:10])
        return sha

    def restore(self) -> None:
        if self._original is not None:
            self._git("checkout", "--quiet", "--detach", self._original)
            self._original = None
