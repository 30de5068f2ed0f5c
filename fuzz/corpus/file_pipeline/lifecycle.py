"""Per-app lifecycle primitives for recipe CI.

new -> secrets -> deploy -> wait healthy -> (upgrade / backup / restore) ->
undeploy -> remove. All of it is driven through the abra wrapper in
:mod:`harness.abra`.

Deploy accounting (Phase 2b, DG4.1)
-----------------------------------
The per-run budget is ``deploys == 1 (base) + N_cold_deps``. Every counted
deploy goes through :func:`deploy_app`, and :func:`deploy_app` is the ONLY
caller of :func:`_record_deploy`, which appends one line to the file named
by ``$CCCI_DEPLOY_COUNT_FILE``. The orchestrator counts those lines at the
end of the run and hard-fails on a mismatch.

Operations that must NOT add a deploy:

* :func:`chaos_redeploy` -- the upgrade tier, an in-place redeploy of the PR
  head onto the already-running base app (uses ``Abra.deploy`` directly);
* :func:`backup_app` / :func:`restore_app` -- backupbot, on the running app.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from .abra import Abra, AbraError

log = logging.getLogger(__name__)

T = TypeVar("T")

COUNT_ENV = "CCCI_DEPLOY_COUNT_FILE"
CI_SERVER = os.environ.get("CCCI_SERVER", "default")
ABRA_DIR = Path(os.environ.get("ABRA_DIR", str(Path.home() / ".abra")))
DEPLOY_TIMEOUT = int(os.environ.get("CCCI_DEPLOY_TIMEOUT", "900"))
HEALTH_TIMEOUT = int(os.environ.get("CCCI_HEALTH_TIMEOUT", "600"))
HEALTH_INTERVAL = float(os.environ.get("CCCI_HEALTH_INTERVAL", "5"))


class LifecycleError(RuntimeError):
    """A lifecycle step failed (wraps :class:`AbraError`)."""


class HealthTimeout(LifecycleError):
    """The app did not become healthy in time."""


@dataclass
class DeployedApp:
    """What :func:`deploy_app` hands back to its caller."""

    app: str
    version: str
    recipe: str | None = None
    deployed_at: float = field(default_factory=time.time)
    services: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def get_abra() -> Abra:
    """The process-wide abra client for the CI server."""
    return Abra(server=CI_SERVER)


def _with_retry(fn: Callable[..., T], *args: object, attempts: int = 3, delay: float = 10.0, **kwargs: object) -> T:
    """Call ``fn`` and retry transient abra failures (registry 5xx, swarm lag)."""
    last: AbraError | None = None
    for attempt in range(1, attempts + 1):
        try:
            return fn(*args, **kwargs)
        except AbraError as exc:
            last = exc
            log.warning("attempt %d/%d failed: %s", attempt, attempts, exc)
            if attempt < attempts:
                time.sleep(delay * attempt)
    assert last is not None
    raise LifecycleError(str(last)) from last


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise LifecycleError(f"git {' '.join(args)} in {repo}: {proc.stderr.strip()}")
    return proc.stdout.strip()


# ---------------------------------------------------------------------------
# deploy accounting
# ---------------------------------------------------------------------------


def _record_deploy(app: str, version: str) -> None:
    """Append one line per counted deploy to ``$CCCI_DEPLOY_COUNT_FILE``.

    Only :func:`deploy_app` calls this. If the variable is unset (local runs,
    or WC5 promotion, which pops it first) the deploy is simply not counted.
    """
    path = os.environ.get(COUNT_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{int(time.time())}\t{app}\t{version}\n")


# ---------------------------------------------------------------------------
# app creation and configuration
# ---------------------------------------------------------------------------


def app_env_path(app: str) -> Path:
    return ABRA_DIR / "servers" / CI_SERVER / f"{app}.env"


def app_new(recipe: str, domain: str, *, version: str | None = None) -> str:
    """``abra app new``; the app name is its domain. Returns the app name."""
    log.info("APP NEW %s (%s%s)", domain, recipe, f"@{version}" if version else "")
    try:
        get_abra().app_new(recipe, domain, version=version)
    except AbraError as exc:
        raise LifecycleError(f"app new {domain}: {exc}") from exc
    return domain


def set_env(app: str, key: str, value: str) -> None:
    """Set or replace ``KEY=value`` in the app's env file."""
    path = app_env_path(app)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    prefix = f"{key}="
    kept = [ln for ln in lines if not ln.lstrip("# ").startswith(prefix)]
    kept.append(f"{key}={value}")
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def read_env(app: str) -> dict[str, str]:
    """Parse the app's env file (``KEY=value`` lines, comments ignored)."""
    path = app_env_path(app)
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"')
    return values


def app_exists(app: str) -> bool:
    return app_env_path(app).exists()


def secrets_generate(app: str) -> None:
    log.info("SECRETS generate %s", app)
    _with_retry(get_abra().secret_generate, app, attempts=2, delay=3.0)


def secrets_remove(app: str) -> None:
    get_abra().secret_remove(app)


# ---------------------------------------------------------------------------
# deploy (the only counted path)
# ---------------------------------------------------------------------------


def deploy_app(
    app: str,
    version: str,
    *,
    recipe: str | None = None,
    timeout: int = DEPLOY_TIMEOUT,
    wait: bool = True,
) -> DeployedApp:
    """Deploy ``app`` at ``version`` and count it.

    This is the single counted deploy primitive. Call sites are fixed by the
    Phase-2b budget: the base deploy in ``run_recipe_ci.main``, one per cold
    declared dep in ``harness.deps``, and WC5 ``promote_canonical`` (which
    detaches the counter first). Adding another caller breaks DG4.1.

    ``timeout`` bounds abra's own converge checks; when ``wait`` is true we
    additionally poll the app's health endpoint so callers get a usable app;
    ``wait=False`` is for callers that run their own readiness probe.
    """
    if not app_exists(app):
        raise LifecycleError(f"deploy {app}: no env file at {app_env_path(app)} (run app_new first)")
    log.info("DEPLOY %s @ %s", app, version)
    t0 = time.monotonic()
    client = get_abra()
    try:
        client.deploy(app, version, timeout=timeout)
    except AbraError as exc:
        raise LifecycleError(f"deploy {app}@{version} failed: {exc}") from exc
    # Count only deploys that abra reported as converged.
    _record_deploy(app, version)
    if wait:
        wait_healthy(app, timeout=HEALTH_TIMEOUT)
    services = list_services(app)
    log.info("DEPLOY %s done in %.0fs (%d services)", app, time.monotonic() - t0, len(services))
    return DeployedApp(app=app, version=version, recipe=recipe, services=services)


# ---------------------------------------------------------------------------
# health and inspection
# ---------------------------------------------------------------------------


def list_services(app: str) -> list[str]:
    """Service names of a deployed app, from ``abra app ps --machine``."""
    result = get_abra().ps(app)
    if result.returncode != 0 or not result.stdout.strip():
        return []
    try:
        rows = json.loads(result.stdout)
    except json.JSONDecodeError:
        return []
    return sorted({row.get("service", "") for row in rows if row.get("service")})


def _service_states(app: str) -> dict[str, str]:
    result = get_abra().ps(app)
    if result.returncode != 0 or not result.stdout.strip():
        return {}
    try:
        rows = json.loads(result.stdout)
    except json.JSONDecodeError:
        return {}
    return {row.get("service", "?"): row.get("status", "") for row in rows}


def _http_ok(url: str, timeout: float = 10.0) -> bool:
    req = urllib.request.Request(url, headers={"User-Agent": "cc-ci/healthcheck"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return 200 <= resp.status < 400
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return False


def is_deployed(app: str) -> bool:
    states = _service_states(app)
    return bool(states) and all(s.lower().startswith("running") for s in states.values())


def wait_healthy(app: str, *, timeout: int = HEALTH_TIMEOUT, path: str = "/") -> None:
    """Poll until every service is running and ``https://<app><path>`` answers."""
    deadline = time.monotonic() + timeout
    url = f"https://{app}{path}"
    last_states: dict[str, str] = {}
    while time.monotonic() < deadline:
        last_states = _service_states(app)
        converged = bool(last_states) and all(s.lower().startswith("running") for s in last_states.values())
        if converged and _http_ok(url):
            log.info("HEALTHY %s", app)
            return
        time.sleep(HEALTH_INTERVAL)
    raise HealthTimeout(f"{app} not healthy after {timeout}s (services: {last_states})")


def deployed_version(app: str) -> str | None:
    """Version label of the running app (``coop-cloud.<stack>.version``)."""
    result = get_abra().ps(app)
    if result.returncode != 0 or not result.stdout.strip():
        return None
    try:
        rows = json.loads(result.stdout)
    except json.JSONDecodeError:
        return None
    versions = {row.get("version") for row in rows if row.get("version")}
    if len(versions) > 1:
        log.warning("%s runs mixed versions: %s", app, sorted(versions))
    return sorted(versions)[-1] if versions else None


def wait_service_running(app: str, service: str, *, timeout: int = 300) -> None:
    """Wait for one service (e.g. after a backupbot restore restarted it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _service_states(app).get(service, "")
        if state.lower().startswith("running"):
            return
        time.sleep(HEALTH_INTERVAL)
    raise HealthTimeout(f"{app}/{service} not running after {timeout}s")


def describe_app(app: str) -> dict[str, object]:
    """Snapshot of an app's state for results.json and failure reports."""
    return {
        "app": app,
        "version": deployed_version(app),
        "services": _service_states(app),
        "env": {k: v for k, v in read_env(app).items() if not k.startswith("SECRET_")},
    }


def restart_app(app: str, service: str) -> None:
    """Restart one service in place (no redeploy, not counted)."""
    log.info("RESTART %s/%s", app, service)
    get_abra().restart(app, service)


def exec_in_service(app: str, service: str, command: list[str]) -> str:
    """Run ``command`` inside ``service`` via ``abra app run``; returns stdout."""
    try:
        return get_abra().exec_in_service(app, service, command).stdout
    except AbraError as exc:
        raise LifecycleError(f"exec in {app}/{service}: {exc}") from exc


def collect_logs(app: str, dest: Path) -> Path:
    """Dump every service's logs into ``dest/<service>.log`` for the artifact."""
    dest.mkdir(parents=True, exist_ok=True)
    client = get_abra()
    # An app whose deploy failed may have no services: fall back to "all".
    for service in list_services(app) or [""]:
        name = service or "all"
        out = client.logs(app, service or None)
        (dest / f"{name}.log").write_text(out.stdout + out.stderr, encoding="utf-8")
    return dest


# ---------------------------------------------------------------------------
# teardown
# ---------------------------------------------------------------------------


def undeploy_app(app: str, *, prune: bool = True) -> None:
    log.info("UNDEPLOY %s", app)
    result = get_abra().undeploy(app, prune=prune)
    if result.returncode != 0:
        log.warning("undeploy %s: %s", app, result.stderr.strip())


def wait_undeployed(app: str, *, timeout: int = 180) -> bool:
    """Swarm removes services asynchronously; wait until none are left.

    Volumes cannot be removed while a task still holds them, so teardown
    calls this between :func:`undeploy_app` and :func:`remove_app`.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _service_states(app):
            return True
        time.sleep(HEALTH_INTERVAL)
    log.warning("%s still has services after %ds", app, timeout)
    return False


def teardown_app(app: str, *, keep: bool = False) -> None:
    """Undeploy and remove ``app`` unless ``keep`` (debugging a red run)."""
    if keep:
        log.warning("KEEP %s (CCCI_KEEP_ON_FAILURE); remove it by hand", app)
        return
    undeploy_app(app)
    wait_undeployed(app)
    remove_app(app)


def remove_app(app: str, *, volumes: bool = True, secrets: bool = True) -> None:
    """Remove volumes, secrets and the env file. Best-effort, never raises."""
    client = get_abra()
    if volumes:
        client.volume_remove(app)
    if secrets:
        client.secret_remove(app)
    client.remove(app)
    env = app_env_path(app)
    if env.exists():
        env.unlink()
    log.info("REMOVED %s", app)


# ---------------------------------------------------------------------------
# upgrade (in place, uncounted)
# ---------------------------------------------------------------------------


def recipe_dir_for(recipe: str) -> Path:
    """abra's checkout of ``recipe`` (``~/.abra/recipes/<recipe>``)."""
    return ABRA_DIR / "recipes" / recipe


def current_ref(recipe_dir: Path) -> str:
    """Branch name or short sha currently checked out (for logs)."""
    branch = _git(recipe_dir, "rev-parse", "--abbrev-ref", "HEAD")
    return branch if branch != "HEAD" else _git(recipe_dir, "rev-parse", "--short", "HEAD")


def checkout_ref(recipe_dir: Path, ref: str, *, fetch: bool = True) -> str:
    """Check out ``ref`` in the recipe repo; returns the short sha.

    PR heads are not on a branch abra knows about, so by default the ref is
    fetched first and FETCH_HEAD is checked out (detached).
    """
    if fetch:
        _git(recipe_dir, "fetch", "--quiet", "origin", ref)
        ref = "FETCH_HEAD"
    _git(recipe_dir, "checkout", "--quiet", "--force", ref)
    return _git(recipe_dir, "rev-parse", "--short", "HEAD")


def chaos_redeploy(app: str, recipe_dir: Path, head_ref: str, *, timeout: int = DEPLOY_TIMEOUT) -> str:
    """Upgrade ``app`` IN PLACE to the PR head (the HC1 upgrade under test).

    ``abra app deploy --chaos`` of the recipe checkout at ``head_ref`` onto the
    SAME running app that the base deploy created at the previous version.
    This deliberately does NOT call deploy_app(...), so _record_deploy(...)
    never runs: the upgrade tier adds no deploy to the 1 + N_cold_deps budget.
    """
    log.info("UPGRADE chaos redeploy %s <- %s @ %s", app, recipe_dir.name, head_ref)
    sha = checkout_ref(recipe_dir, head_ref)
    client = get_abra()
    try:
        client.deploy(app, chaos=True, force=True, timeout=timeout)
    except AbraError as exc:
        raise LifecycleError(f"chaos redeploy of {app} to {sha} failed: {exc}") from exc
    wait_healthy(app, timeout=timeout)
    log.info("UPGRADE %s now at PR head %s (in place, not counted)", app, sha)
    return sha


# ---------------------------------------------------------------------------
# backup / restore (backupbot, on the running app, uncounted)
# ---------------------------------------------------------------------------


def list_snapshots(app: str) -> list[str]:
    result = get_abra().backup_list(app)
    try:
        rows = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        return []
    return [row["id"] for row in rows if "id" in row]


def backup_app(app: str, *, service: str | None = None) -> str:
    """Create a backupbot snapshot of the running app; returns its id."""
    log.info("BACKUP %s%s", app, f"/{service}" if service else "")
    before = set(list_snapshots(app))
    _with_retry(get_abra().backup, app, service, attempts=2, delay=15.0)
    new = [s for s in list_snapshots(app) if s not in before]
    if not new:
        raise LifecycleError(f"backup of {app} reported success but no new snapshot appeared")
    return new[-1]


def restore_app(app: str, *, snapshot: str | None = None, service: str | None = None) -> None:
    """Restore ``snapshot`` (default: latest) into the running app.

    backupbot stops the affected services, restores the volumes and starts
    them again; that is a service restart, not a redeploy, so nothing here
    goes through deploy_app() or _record_deploy().
    """
    log.info("RESTORE %s <- %s", app, snapshot or "latest")
    try:
        get_abra().restore(app, snapshot=snapshot, service=service)
    except AbraError as exc:
        raise LifecycleError(f"restore of {app}: {exc}") from exc
    wait_healthy(app, timeout=HEALTH_TIMEOUT)
