"""App lifecycle primitives on top of abra.

Deploy budget: `deploy_app` is the ONLY function that deploys an app, and the only
caller of `_record_deploy`, which appends one line per deploy to the ledger file
named by $CCCI_DEPLOY_COUNT_FILE. The ledger is owned by `deploy_ledger()` and read
back with `read_deploy_count()` for the DG4.1 guard.

`chaos_redeploy` (the upgrade), `backup_app` and `restore_app` act on an app that is
already running and never deploy it.
"""
from __future__ import annotations

import logging
import os
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

from .abra import AbraError, run_abra

log = logging.getLogger(__name__)

COUNT_ENV = "CCCI_DEPLOY_COUNT_FILE"
ABRA_DIR = Path(os.environ.get("ABRA_DIR", str(Path.home() / ".abra")))


class AppState(Enum):
    RUNNING = "running"
    CONVERGING = "converging"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class App:
    recipe: str
    domain: str
    server: str

    @property
    def url(self) -> str:
        return f"https://{self.domain}"

    @property
    def env_file(self) -> Path:
        return ABRA_DIR / "servers" / self.server / f"{self.domain}.env"


@dataclass(frozen=True, slots=True)
class Snapshot:
    app: App
    snapshot_id: str
    taken_at: datetime


# --- deploy ledger ---------------------------------------------------------------

@contextmanager
def deploy_ledger(directory: Path | None = None) -> Iterator[Path]:
    """Create a fresh count file, export it as $CCCI_DEPLOY_COUNT_FILE, clean up after."""
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    fd, raw = tempfile.mkstemp(prefix="ccci-deploys-", suffix=".count", dir=directory)
    os.close(fd)
    path = Path(raw)
    previous = os.environ.get(COUNT_ENV)
    os.environ[COUNT_ENV] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(COUNT_ENV, None)
        else:
            os.environ[COUNT_ENV] = previous
        path.unlink(missing_ok=True)


def read_deploy_count(path: Path) -> int:
    """Number of deploys recorded in the ledger (one line per deploy_app call)."""
    if not path.is_file():
        return 0
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def _record_deploy(app: App, version: str | None) -> None:
    target = os.environ.get(COUNT_ENV)
    if not target:
        log.debug("deploy of %s not counted: %s unset", app.domain, COUNT_ENV)
        return
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with Path(target).open("a", encoding="utf-8") as ledger:
        ledger.write(f"{stamp}\t{app.domain}\t{version or 'latest'}\n")


# --- state & readiness -----------------------------------------------------------

def app_state(app: App) -> AppState:
    try:
        services = run_abra("app", "ps", app.domain, "--machine", timeout=60, attempts=3).json()
    except AbraError as exc:
        log.debug("app ps %s: %s", app.domain, exc)
        return AppState.ABSENT
    if not services:
        return AppState.ABSENT
    ready = all(svc.get("status", "").lower().startswith("running") for svc in services)
    return AppState.RUNNING if ready else AppState.CONVERGING


def wait_healthy(app: App, timeout: float = 300, interval: float = 5.0) -> None:
    """Poll until every service runs and the app answers HTTP below 500."""
    deadline = time.monotonic() + timeout
    context = ssl.create_default_context()
    last = "never polled"
    while time.monotonic() < deadline:
        if (state := app_state(app)) is not AppState.RUNNING:
            last = f"services {state.value}"
        else:
            try:
                with urllib.request.urlopen(app.url, timeout=10, context=context) as resp:
                    if resp.status < 500:
                        log.info("%s healthy (HTTP %d)", app.domain, resp.status)
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    log.info("%s healthy (HTTP %d)", app.domain, exc.code)
                    return
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                last = f"{type(exc).__name__}: {exc}"
        time.sleep(interval)
    raise TimeoutError(f"{app.domain} not healthy after {timeout:.0f}s ({last})")


# --- deploy ----------------------------------------------------------------------

def _merge_env(env_file: Path, overrides: Mapping[str, str]) -> None:
    lines = env_file.read_text(encoding="utf-8").splitlines()
    pending = dict(overrides)
    merged = []
    for line in lines:
        key = line.split("=", 1)[0].strip()
        merged.append(f"{key}={pending.pop(key)}" if key in pending else line)
    merged.extend(f"{key}={value}" for key, value in pending.items())
    env_file.write_text("\n".join(merged) + "\n", encoding="utf-8")


def ensure_app_config(app: App, version: str | None, env: Mapping[str, str] | None = None) -> None:
    if not app.env_file.exists():
        args = ["app", "new", app.recipe, *([version] if version else [])]
        run_abra(*args, "--server", app.server, "--domain", app.domain, "--secrets", timeout=300)
    if env:
        _merge_env(app.env_file, env)


def deploy_app(
    app: App,
    version: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout: int = 900,
) -> None:
    """Deploy `app` at `version`. The one counted deploy: one ledger line per call."""
    ensure_app_config(app, version, env)
    log.info("DEPLOY %s @ %s", app.domain, version or "latest")
    run_abra("app", "deploy", app.domain, *([version] if version else []), timeout=timeout)
    _record_deploy(app, version)
    wait_healthy(app, timeout=timeout)


def _point_recipe_at(recipe: str, checkout: Path) -> None:
    link = ABRA_DIR / "recipes" / recipe
    if link.is_symlink() and link.resolve() == checkout.resolve():
        return
    if link.exists() and not link.is_symlink():
        raise RuntimeError(f"{link} is a real clone; refusing to replace it with {checkout}")
    link.unlink(missing_ok=True)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(checkout.resolve(), target_is_directory=True)


def chaos_redeploy(app: App, checkout: Path, *, timeout: int = 900) -> None:
    """Upgrade `app` IN PLACE to the PR-head recipe in `checkout` (abra --chaos).

    This is the HC1 upgrade under test, applied to the already-running base app.
    It does NOT call deploy_app and is therefore NOT counted against the budget.
    """
    _point_recipe_at(app.recipe, checkout)
    log.info("CHAOS REDEPLOY %s from %s", app.domain, checkout)
    run_abra("app", "deploy", app.domain, "--chaos", "--force", timeout=timeout)
    wait_healthy(app, timeout=timeout)


# --- backup / restore / teardown -------------------------------------------------

def backup_app(app: App, *, timeout: int = 1200) -> Snapshot:
    run_abra("app", "backup", "create", app.domain, timeout=timeout)
    listing = run_abra("app", "backup", "snapshots", app.domain, "--machine", timeout=120).json() or []
    if not listing:
        raise AbraError(("abra", "app", "backup", "snapshots", app.domain), 0, "no snapshot produced")
    latest = max(listing, key=lambda snap: snap.get("time", ""))
    log.info("backup of %s -> snapshot %s", app.domain, latest["id"])
    return Snapshot(app=app, snapshot_id=latest["id"], taken_at=datetime.now(timezone.utc))


def restore_app(app: App, snapshot: Snapshot, *, timeout: int = 1200) -> None:
    if snapshot.app != app:
        raise ValueError(f"snapshot {snapshot.snapshot_id} belongs to {snapshot.app.domain}")
    run_abra("app", "restore", app.domain, "--snapshot", snapshot.snapshot_id, timeout=timeout)
    wait_healthy(app, timeout=timeout)


def undeploy_app(app: App) -> None:
    """Best-effort teardown: undeploy and remove app, volumes and secrets."""
    for args in (("app", "undeploy", app.domain), ("app", "remove", app.domain, "--force")):
        try:
            run_abra(*args, timeout=300, attempts=3)
        except AbraError as exc:
            log.warning("teardown step failed for %s: %s", app.domain, exc)
