"""Shared fakes: an in-memory abra and a recipe checkout that never touches git."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import lifecycle  # noqa: E402
from harness.abra import ServiceState  # noqa: E402


class FakeAbra:
    def __init__(self, versions=("1.0.0+2.0", "1.1.0+2.1")) -> None:
        self.server = "fake"
        self.versions = list(versions)
        self.apps: dict[str, dict] = {}
        self.deploy_calls: list[tuple[str, str | None, bool]] = []
        self.volumes: dict[tuple[str, str], str] = {}
        self.snapshots: dict[str, dict] = {}
        self.head = "feedc0ffee0123456789"

    def recipe_versions(self, recipe):
        return list(self.versions)

    def app_exists(self, domain):
        return domain in self.apps

    def app_ps(self, domain):
        app = self.apps.get(domain)
        if not app or not app["up"]:
            return []
        return [ServiceState("app", "img", app["version"], app["chaos"], 1, 1)]

    def app_new(self, recipe, domain, version=None):
        self.apps[domain] = {"version": version, "chaos": None, "up": False}

    def app_deploy(self, domain, *, version=None, chaos=False, force=False, timeout=None):
        self.deploy_calls.append((domain, version, chaos))
        app = self.apps[domain]
        app.update(up=True, version=None if chaos else version,
                   chaos=self.head[:8] if chaos else None)

    def app_undeploy(self, domain):
        self.apps.get(domain, {})["up"] = False

    def app_remove(self, domain):
        self.apps.pop(domain, None)

    def backup_create(self, domain):
        sid = f"snap{len(self.snapshots)}"
        self.snapshots[sid] = {k: v for k, v in self.volumes.items() if k[0] == domain}
        return sid

    def backup_restore(self, domain, snapshot):
        self.volumes.update(self.snapshots[snapshot])

    def run(self, domain, service, command):
        if command[0] == "cat":
            return self.volumes.get((domain, command[1]), "")
        script = command[-1]                       # printf %s VALUE > PATH
        value, path = script.split(" ")[2], script.split(" > ")[1]
        self.volumes[(domain, path)] = value
        return ""


class FakeCheckout:
    def __init__(self, sha: str) -> None:
        self.sha = sha

    def switch(self, ref):
        return self.sha

    def restore(self):
        pass


@pytest.fixture
def fake_abra():
    return FakeAbra()


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    monkeypatch.setattr(lifecycle, "_http_status", lambda url, timeout=10.0: 200)
    monkeypatch.delenv(lifecycle.COUNT_ENV, raising=False)
