"""Shared fixtures: a fake ``abra`` behind ``subprocess.run`` and a deploy counter.

Nothing here talks to a swarm. ``fake_abra`` records every argv the harness
builds and answers from a small table of canned responses, so tests can
assert e.g. that ``lifecycle.deploy_app(...)`` ran ``abra app deploy`` once
and appended exactly one line to the count file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[1]
if str(RUNNER) not in sys.path:
    sys.path.insert(0, str(RUNNER))

from harness import abra, lifecycle  # noqa: E402


class FakeAbra:
    """Stand-in for ``subprocess.run`` as used by :mod:`harness.abra`."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.responses: dict[tuple[str, ...], tuple[int, str]] = {}
        self.ps_rows: list[dict[str, str]] = [{"service": "app", "status": "running", "version": "1.0.0+1"}]

    def respond(self, prefix: tuple[str, ...], returncode: int = 0, stdout: str = "") -> None:
        self.responses[prefix] = (returncode, stdout)

    def commands(self, *prefix: str) -> list[list[str]]:
        """Recorded calls whose argv (after the binary) starts with ``prefix``."""
        return [c for c in self.calls if tuple(c[1 : 1 + len(prefix)]) == prefix]

    def __call__(self, argv, **kwargs):  # noqa: ANN001 - mirrors subprocess.run
        argv = list(argv)
        self.calls.append(argv)
        args = tuple(argv[1:])
        for prefix, (rc, out) in sorted(self.responses.items(), key=lambda kv: -len(kv[0])):
            if args[: len(prefix)] == prefix:
                return subprocess.CompletedProcess(argv, rc, stdout=out, stderr="" if rc == 0 else "boom")
        if args[:2] == ("app", "ps"):
            return subprocess.CompletedProcess(argv, 0, stdout=json.dumps(self.ps_rows), stderr="")
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")


@pytest.fixture
def fake_abra(monkeypatch: pytest.MonkeyPatch) -> FakeAbra:
    fake = FakeAbra()
    monkeypatch.setattr(abra.subprocess, "run", fake)
    lifecycle.get_abra.cache_clear()
    yield fake
    lifecycle.get_abra.cache_clear()


@pytest.fixture
def abra_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "abra"
    (home / "servers" / lifecycle.CI_SERVER).mkdir(parents=True)
    monkeypatch.setattr(lifecycle, "ABRA_DIR", home)
    return home


@pytest.fixture
def count_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "deploy-count"
    path.write_text("", encoding="utf-8")
    monkeypatch.setenv("CCCI_DEPLOY_COUNT_FILE", str(path))
    return path


@pytest.fixture(autouse=True)
def no_health_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never poll real HTTPS endpoints or sleep in unit tests."""
    monkeypatch.setattr(lifecycle, "wait_healthy", lambda *a, **k: None)
    monkeypatch.setattr(lifecycle.time, "sleep", lambda _s: None)


def make_app(abra_home: Path, app: str) -> str:
    """Create the env file ``lifecycle.app_new`` would have written."""
    (abra_home / "servers" / lifecycle.CI_SERVER / f"{app}.env").write_text("TYPE=test\n", encoding="utf-8")
    return app


def counted(count_file: Path) -> int:
    return sum(1 for line in count_file.read_text(encoding="utf-8").splitlines() if line.strip())
