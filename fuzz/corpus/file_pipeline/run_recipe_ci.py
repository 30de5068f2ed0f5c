#!/usr/bin/env python3
"""cc-ci: run the recipe test sequence for ONE recipe.

Invoked by the Drone pipeline (and by hand on the CI host) as::

    RECIPE=ghost STAGES=install,upgrade,backup,restore,custom \\
        cc-ci-run runner/run_recipe_ci.py

Sequence and deploy budget (Phase 2b, enforced by DG4.1)::

    deploys == 1 (base) + N_cold_deps

1. check out the recipe at the PR head (or the default branch head);
2. declared deps: cold ones are deployed once each, live-warm ones reused;
3. ONE base deploy of the recipe -- at the previous published version when
   the upgrade tier is selected (``base = prev or target``), else at target;
4. the selected tiers, in order, all against that same app: install ->
   upgrade (in-place chaos redeploy of the PR head, uncounted) -> backup ->
   restore (seed -> backup -> mutate -> restore -> assert) -> custom;
5. teardown (app, then DEPS teardown), RUN SUMMARY, DG4.1 deploy-count guard;
6. WC5: on a green default-branch run, roll the canonical warm instance
   forward (post-green warm-cache maintenance, outside the budget).

Environment: RECIPE (required), STAGES, UPGRADE_BASE_VERSION, PR_REF,
CCCI_RUN_ID, CCCI_RESULTS_DIR, CCCI_KEEP_ON_FAILURE, CCCI_PROMOTE,
CCCI_MAX_TESTS, CCCI_DEPLOY_TIMEOUT. See ``load_config``.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Callable

from harness import deps, generic, lifecycle
from harness.lifecycle import DeployedApp, LifecycleError, deploy_app
from harness.results import Timings, TierResult, render_tier_table, write_results
from harness.util import canonical_app_name, configure_logging, env_flag, env_int, env_list, env_str
from harness.util import is_release, run_app_name, version_key

log = logging.getLogger("cc-ci")
# Canonical tier order; STAGES selects a subset, always run in this order.
ALL_STAGES = ("install", "upgrade", "backup", "restore", "custom")

# ---------------------------------------------------------------------------
# configuration (all from the environment; Drone passes build parameters)
# ---------------------------------------------------------------------------

RECIPE = env_str("RECIPE")
STAGES = env_list("STAGES", ALL_STAGES)
UPGRADE_BASE_VERSION = env_str("UPGRADE_BASE_VERSION") or None
PR_REF = env_str("PR_REF") or None
RUN_ID = env_str("CCCI_RUN_ID") or env_str("DRONE_BUILD_NUMBER") or time.strftime("%Y%m%d%H%M%S")
RESULTS_DIR = Path(env_str("CCCI_RESULTS_DIR", "/var/lib/cc-ci/results"))
LOCK_DIR = Path(env_str("CCCI_LOCK_DIR", "/run/cc-ci/slots"))
RECIPES_GIT_BASE = env_str("CCCI_RECIPES_GIT", "https://git.coopcloud.tech/coop-cloud")
DEFAULT_BRANCH = env_str("CCCI_DEFAULT_BRANCH", "main")
KEEP_ON_FAILURE = env_flag("CCCI_KEEP_ON_FAILURE")
PROMOTE = env_flag("CCCI_PROMOTE", default=True)
MAX_TESTS = env_int("CCCI_MAX_TESTS", 2)
DEPLOY_TIMEOUT = env_int("CCCI_DEPLOY_TIMEOUT", 900)
SLOT_WAIT = env_int("CCCI_SLOT_WAIT", 3600)
HOOKS_FILE = "ccci_hooks.py"
MIN_FREE_DISK_GB = env_int("CCCI_MIN_FREE_DISK_GB", 15)
STALE_APP_HOURS = env_int("CCCI_STALE_APP_HOURS", 6)
GITEA_URL = env_str("GITEA_URL", "https://git.coopcloud.tech")
GITEA_TOKEN = env_str("GITEA_TOKEN") or None
DRONE_REPO = env_str("DRONE_REPO")
PR_NUMBER = env_str("PR_NUMBER") or env_str("DRONE_PULL_REQUEST") or None
BUILD_LINK = env_str("DRONE_BUILD_LINK")

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_CONFIG = 2
EXIT_ABORTED = 130


class ConfigError(Exception):
    """The run cannot start: bad or missing configuration."""


class RunAborted(Exception):
    """SIGTERM/SIGINT (Drone cancel): unwind so teardown still runs."""


@dataclass
class RunConfig:
    """One run's resolved configuration."""

    recipe: str
    stages: tuple[str, ...]
    run_id: str
    pr_ref: str | None
    upgrade_base: str | None
    results_dir: Path
    keep_on_failure: bool = False
    promote: bool = True
    max_tests: int = 2
    deploy_timeout: int = 900
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def is_pr(self) -> bool:
        return self.pr_ref is not None

    @property
    def results_json(self) -> Path:
        return self.results_dir / "results.json"


def parse_stages(raw: tuple[str, ...]) -> tuple[str, ...]:
    """Validate STAGES and return them in canonical ``ALL_STAGES`` order.

    Order matters: upgrade must run before backup/restore because they
    operate on the upgraded app, and custom runs last against the final app.
    """
    unknown = [s for s in raw if s not in ALL_STAGES]
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}; valid: {', '.join(ALL_STAGES)}")
    selected = set(raw)
    return tuple(s for s in ALL_STAGES if s in selected)


def _extra_env() -> dict[str, str]:
    """``CCCI_ENV_FOO=bar`` -> ``FOO=bar`` in the app's env file."""
    prefix = "CCCI_ENV_"
    return {k[len(prefix):]: v for k, v in sorted(os.environ.items()) if k.startswith(prefix) and k != prefix}


def load_config() -> RunConfig:
    if not RECIPE:
        raise ConfigError("RECIPE is required")
    stages = parse_stages(STAGES)
    if not stages:
        raise ConfigError("STAGES selects nothing")
    results_dir = RESULTS_DIR / RECIPE / RUN_ID
    return RunConfig(
        recipe=RECIPE,
        stages=stages,
        run_id=RUN_ID,
        pr_ref=PR_REF,
        upgrade_base=UPGRADE_BASE_VERSION,
        results_dir=results_dir,
        keep_on_failure=KEEP_ON_FAILURE,
        promote=PROMOTE,
        max_tests=max(1, MAX_TESTS),
        deploy_timeout=DEPLOY_TIMEOUT,
        extra_env=_extra_env(),
    )


def attach_run_log(results_dir: Path) -> Path:
    """Tee all logging into ``<results_dir>/run.log`` (uploaded as artifact)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / "run.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return path


def describe_plan(cfg: RunConfig, base: str, target: str, declared: list[deps.DeclaredDep]) -> None:
    """Log what this run is going to do, including its deploy budget."""
    log.info("PLAN recipe      %s", cfg.recipe)
    log.info("PLAN stages      %s", " -> ".join(cfg.stages))
    log.info("PLAN base        %s%s", base, " (previous release; upgrade shares it)" if base != target else "")
    log.info("PLAN target      %s", target)
    log.info("PLAN deps        %s", [d.label for d in declared] or "none")
    log.info("PLAN budget      1 base + cold deps (live-warm deps cost 0), at most %d", 1 + len(declared))


# ---------------------------------------------------------------------------
# recipe checkout and versions
# ---------------------------------------------------------------------------


def _git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise LifecycleError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def checkout_recipe(recipe: str, pr_ref: str | None) -> Path:
    """Make abra's recipe checkout point at the commit under test.

    abra deploys from ``~/.abra/recipes/<recipe>``; we clone it if missing,
    fetch tags (the published versions) and check out the PR head or the
    default branch.
    """
    recipe_dir = lifecycle.recipe_dir_for(recipe)
    if not (recipe_dir / ".git").is_dir():
        recipe_dir.parent.mkdir(parents=True, exist_ok=True)
        _git("clone", "--quiet", f"{RECIPES_GIT_BASE}/{recipe}.git", str(recipe_dir))
    _git("fetch", "--quiet", "--tags", "--force", "origin", cwd=recipe_dir)
    if pr_ref:
        lifecycle.checkout_ref(recipe_dir, pr_ref)
    else:
        _git("checkout", "--quiet", "--force", f"origin/{DEFAULT_BRANCH}", cwd=recipe_dir)
    log.info("recipe %s checked out at %s", recipe, lifecycle.current_ref(recipe_dir))
    return recipe_dir


def head_sha(recipe_dir: Path) -> str:
    return _git("rev-parse", "HEAD", cwd=recipe_dir)


def published_versions(recipe_dir: Path) -> list[str]:
    """Release tags of the recipe, oldest first."""
    tags = _git("tag", "--list", cwd=recipe_dir).splitlines()
    return sorted((t for t in tags if is_release(t)), key=version_key)


def tags_at_head(recipe_dir: Path) -> list[str]:
    return _git("tag", "--points-at", "HEAD", cwd=recipe_dir, check=False).splitlines()


def target_version(recipe_dir: Path, cfg: RunConfig) -> str:
    """What the run is testing.

    Default-branch runs test the newest release tag at HEAD (or HEAD's sha
    when the branch is ahead of the last release); PR runs always test the
    PR head commit, which abra can deploy by sha.
    """
    if not cfg.is_pr:
        at_head = [t for t in tags_at_head(recipe_dir) if t in published_versions(recipe_dir)]
        if at_head:
            return at_head[-1]
    return head_sha(recipe_dir)[:8]


def previous_version(recipe_dir: Path, target: str) -> str | None:
    """Newest published version strictly older than ``target``.

    This is the version the base deploy uses when the upgrade tier runs, so
    the upgrade tier can cross over prev -> PR head on the same app.
    """
    releases = published_versions(recipe_dir)
    if target in releases:
        older = releases[: releases.index(target)]
    else:
        # target is a commit: the PR head is newer than every release.
        older = releases
    return older[-1] if older else None


# ---------------------------------------------------------------------------
# preflight and janitor
# ---------------------------------------------------------------------------


class PreflightError(Exception):
    """The node is not in a state where a run can succeed."""


def preflight() -> None:
    """Fail fast (before any deploy) if the node cannot host a run."""
    if shutil.which(os.environ.get("ABRA_BIN", "abra")) is None:
        raise PreflightError("abra not found on PATH")
    proc = subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or proc.stdout.strip() != "active":
        raise PreflightError(f"docker swarm not active: {proc.stdout.strip() or proc.stderr.strip()}")
    free_gb = shutil.disk_usage("/var/lib/docker").free / 1024**3
    if free_gb < MIN_FREE_DISK_GB:
        raise PreflightError(f"only {free_gb:.1f} GB free under /var/lib/docker (< {MIN_FREE_DISK_GB})")
    log.info("preflight ok (%.0f GB free)", free_gb)


def recipe_lint(recipe_dir: Path) -> list[str]:
    """``abra recipe lint``; warnings only, a lint error does not block tests."""
    proc = subprocess.run(
        [os.environ.get("ABRA_BIN", "abra"), "recipe", "lint", recipe_dir.name, "--no-input"],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [ln.strip() for ln in proc.stdout.splitlines() if "error" in ln.lower()]
    for line in problems:
        log.warning("lint: %s", line)
    return problems


def reap_stale_apps(recipe: str, *, max_age_hours: int = STALE_APP_HOURS) -> list[str]:
    """Remove per-run apps of ``recipe`` leaked by crashed runs.

    A run that was killed hard (OOM, node reboot) cannot run its finally:
    teardown. Its env file stays under ~/.abra/servers/<server>/; anything
    older than ``max_age_hours`` that is not a canonical warm instance is
    undeployed and removed. Never touches other recipes' apps.
    """
    server_dir = lifecycle.app_env_path("x").parent
    if not server_dir.is_dir():
        return []
    prefix = run_app_name(recipe, "x").split("-x.")[0] + "-"
    cutoff = time.time() - max_age_hours * 3600
    reaped: list[str] = []
    for env_file in sorted(server_dir.glob(f"{prefix}*.env")):
        app = env_file.name[: -len(".env")]
        if app == canonical_app_name(recipe) or env_file.stat().st_mtime > cutoff:
            continue
        log.warning("janitor: removing stale app %s", app)
        try:
            lifecycle.teardown_app(app)
        except Exception:  # noqa: BLE001 - best effort
            log.exception("janitor: could not remove %s", app)
            continue
        reaped.append(app)
    return reaped


# ---------------------------------------------------------------------------
# node concurrency (MAX_TESTS slots) and signals
# ---------------------------------------------------------------------------


@dataclass
class Slot:
    index: int
    fd: int
    path: Path


def acquire_slot(max_tests: int, *, wait: int = SLOT_WAIT) -> Slot:
    """Take one of ``max_tests`` flock slots; blocks (polling) up to ``wait``s."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    announced = False
    while True:
        for index in range(max_tests):
            path = LOCK_DIR / f"slot-{index}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {RECIPE} {RUN_ID}\n".encode())
            log.info("slot %d/%d acquired", index + 1, max_tests)
            return Slot(index, fd, path)
        if time.monotonic() > deadline:
            raise LifecycleError(f"no free test slot after {wait}s (MAX_TESTS={max_tests})")
        if not announced:
            log.info("all %d test slots busy; waiting", max_tests)
            announced = True
        time.sleep(15)


def release_slot(slot: Slot | None) -> None:
    if slot is None:
        return
    try:
        fcntl.flock(slot.fd, fcntl.LOCK_UN)
    finally:
        os.close(slot.fd)
    log.info("slot %d released", slot.index + 1)


def _raise_aborted(signum: int, _frame: object) -> None:
    raise RunAborted(f"received signal {signal.Signals(signum).name}")


def install_signal_handlers() -> None:
    """Turn Drone's cancel (SIGTERM) into an exception so finally: runs."""
    signal.signal(signal.SIGTERM, _raise_aborted)
    signal.signal(signal.SIGINT, _raise_aborted)


# ---------------------------------------------------------------------------
# recipe overlay hooks (tests/ccci_hooks.py)
# ---------------------------------------------------------------------------


def load_overlay_hooks(recipe_dir: Path) -> ModuleType | None:
    """Import the recipe's optional ``tests/ccci_hooks.py``.

    Hooks are ``before_<stage>(ctx)`` / ``after_<stage>(ctx)`` functions a
    recipe can use to prepare fixtures (create an admin user, load a
    realm...). Hooks never deploy: they get the shared app via ``ctx``.
    """
    path = recipe_dir / "tests" / HOOKS_FILE
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"ccci_hooks_{RUN_ID}", path)
    if spec is None or spec.loader is None:
        log.warning("cannot load %s", path)
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log.info("loaded overlay hooks from %s", path)
    return module


def call_hook(hooks: ModuleType | None, name: str, ctx: generic.TierContext) -> None:
    if hooks is None:
        return
    hook: Callable[[generic.TierContext], object] | None = getattr(hooks, name, None)
    if hook is None:
        return
    log.info("hook %s", name)
    hook(ctx)


def prepare_overlay_env(recipe_dir: Path, results_dir: Path) -> None:
    """Install the overlay's extra test requirements (``tests/requirements.txt``).

    Installed into the runner's own interpreter with ``--user``-less pip in
    the CI venv; cached wheels make this cheap after the first run.
    """
    requirements = recipe_dir / "tests" / "requirements.txt"
    if not requirements.is_file():
        return
    log.info("installing overlay requirements from %s", requirements)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
        capture_output=True,
        text=True,
        check=False,
    )
    (results_dir / "overlay-pip.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise LifecycleError(f"overlay requirements failed to install (pip exit {proc.returncode})")


# ---------------------------------------------------------------------------
# tiers
# ---------------------------------------------------------------------------


def run_lifecycle_tier(stage: str, ctx: generic.TierContext, hooks: ModuleType | None = None) -> TierResult:
    """Run one tier against the shared app.

    Dispatches to the generic implementation in :data:`harness.generic.TIERS`
    (which also runs the recipe's overlay tests for the tier). Tiers never
    deploy; the upgrade tier is an in-place chaos redeploy.
    """
    tier = generic.TIERS[stage]
    try:
        call_hook(hooks, f"before_{stage}", ctx)
    except Exception as exc:  # noqa: BLE001 - a broken hook fails the tier
        log.exception("hook before_%s failed", stage)
        return TierResult(stage, "error", 0.0, f"before_{stage} hook: {exc}")
    result = tier(ctx)
    if result.status == "pass":
        try:
            call_hook(hooks, f"after_{stage}", ctx)
        except Exception as exc:  # noqa: BLE001
            log.exception("hook after_%s failed", stage)
            return TierResult(stage, "fail", result.seconds, f"after_{stage} hook: {exc}")
    return result


def should_stop_after(stage: str, result: TierResult) -> bool:
    """A failed install or upgrade leaves nothing meaningful to test."""
    return stage in ("install", "upgrade") and not result.ok


# ---------------------------------------------------------------------------
# artifacts
# ---------------------------------------------------------------------------


def collect_artifacts(app: str, results_dir: Path, tiers: dict[str, TierResult]) -> None:
    """Service logs for the artifact; cheap, so always on (even when green)."""
    try:
        lifecycle.collect_logs(app, results_dir / "logs")
    except Exception:  # noqa: BLE001 - never mask the real failure
        log.exception("collecting logs of %s failed", app)
    failed = [name for name, res in tiers.items() if not res.ok]
    if failed:
        try:
            state = lifecycle.describe_app(app)
            (results_dir / "app-state.txt").write_text(repr(state) + "\n", encoding="utf-8")
        except Exception:  # noqa: BLE001
            log.exception("describing %s failed", app)


def _fmt_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def summarize_timings(timings: Timings) -> list[str]:
    """Pareto view of where the run's wall-clock went, biggest first."""
    total = timings.total() or 1.0
    rows = sorted(timings.spans.items(), key=lambda kv: kv[1], reverse=True)
    return [f"  {name:<16} {_fmt_seconds(secs):>8}  {100 * secs / total:5.1f}%" for name, secs in rows]


def write_junit(tiers: dict[str, TierResult], path: Path, recipe: str) -> Path:
    """Tier results as JUnit XML so Drone's test report shows one case per tier."""
    import xml.etree.ElementTree as ET

    failures = sum(1 for r in tiers.values() if r.status == "fail")
    errors = sum(1 for r in tiers.values() if r.status == "error")
    skipped = sum(1 for r in tiers.values() if r.status == "skip")
    suite = ET.Element(
        "testsuite",
        name=f"cc-ci.{recipe}",
        tests=str(len(tiers)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=f"{sum(r.seconds for r in tiers.values()):.1f}",
    )
    for name, res in tiers.items():
        case = ET.SubElement(suite, "testcase", classname=f"cc-ci.{recipe}", name=name, time=f"{res.seconds:.1f}")
        if res.status == "fail":
            ET.SubElement(case, "failure", message=res.detail[:200]).text = res.detail
        elif res.status == "error":
            ET.SubElement(case, "error", message=res.detail[:200]).text = res.detail
        elif res.status == "skip":
            ET.SubElement(case, "skipped", message=res.detail[:200])
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _tool_version(*argv: str) -> str:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (proc.stdout.strip().splitlines() or ["unknown"])[0]


def write_run_meta(cfg: RunConfig, head: str) -> Path:
    """Provenance for results.json consumers: which tools tested what."""
    meta = {
        "recipe": cfg.recipe,
        "run_id": cfg.run_id,
        "head": head,
        "pr_ref": cfg.pr_ref,
        "stages": list(cfg.stages),
        "abra": _tool_version(os.environ.get("ABRA_BIN", "abra"), "--version"),
        "docker": _tool_version("docker", "version", "--format", "{{.Server.Version}}"),
        "runner": Path(__file__).resolve().parent.name,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = cfg.results_dir / "meta.json"
    path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path


def find_leaks(app: str, run_id: str, deps_deployed: list[str]) -> list[str]:
    """Apps this run created that still have an env file after teardown."""
    candidates = [app, *(deps.dep_app_name(run_id, recipe) for recipe in deps_deployed)]
    return [name for name in candidates if lifecycle.app_exists(name)]


# Known infrastructure failure signatures -> category, so the results UI can
# tell "the recipe is broken" from "the node had a bad day".
FAILURE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("toomanyrequests", "registry-rate-limit"),
    ("manifest unknown", "image-missing"),
    ("converge", "converge-timeout"),
    ("not healthy after", "health-timeout"),
    ("no space left on device", "disk-full"),
    ("oom", "oom"),
    ("no free test slot", "node-busy"),
)


def classify_failure(tiers: dict[str, TierResult], run_log: Path | None = None) -> str | None:
    """Best-effort failure category for a red run (None when green)."""
    failed = [r for r in tiers.values() if not r.ok]
    if not failed:
        return None
    haystack = " ".join(r.detail.lower() for r in failed)
    if run_log is not None and run_log.exists():
        haystack += " " + run_log.read_text(encoding="utf-8", errors="replace")[-20000:].lower()
    for needle, category in FAILURE_PATTERNS:
        if needle in haystack:
            return category
    return "recipe"


def check_dns(app: str) -> None:
    """The wildcard DNS record must resolve the app domain before we deploy."""
    import socket

    try:
        addr = socket.gethostbyname(app)
    except OSError as exc:
        raise PreflightError(f"{app} does not resolve ({exc}); is the *.ci wildcard record there?") from exc
    log.debug("dns %s -> %s", app, addr)


def read_deploy_count(path: Path) -> int:
    """Number of counted deploys: one non-empty line per ``_record_deploy(``."""
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


# ---------------------------------------------------------------------------
# Gitea: commit status and PR comment (read-level bot; best effort)
# ---------------------------------------------------------------------------


def _gitea_request(method: str, path: str, payload: dict[str, object]) -> bool:
    if not (GITEA_TOKEN and DRONE_REPO):
        log.debug("gitea: no token/repo, skipping %s %s", method, path)
        return False
    req = urllib.request.Request(
        f"{GITEA_URL}/api/v1/repos/{DRONE_REPO}{path}",
        data=json.dumps(payload).encode(),
        method=method,
        headers={"Authorization": f"token {GITEA_TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, TimeoutError) as exc:
        log.warning("gitea %s %s failed: %s", method, path, exc)
        return False


def set_commit_status(sha: str, state: str, description: str) -> None:
    _gitea_request(
        "POST",
        f"/statuses/{sha}",
        {"state": state, "context": "cc-ci/recipe", "description": description[:140], "target_url": BUILD_LINK},
    )


def format_pr_comment(recipe: str, tiers: dict[str, TierResult], deploy_count: int, expected: int) -> str:
    icons = {"pass": "✅", "fail": "❌", "skip": "⏭️", "error": "💥"}
    lines = [f"### cc-ci: `{recipe}`", "", "| tier | result | time |", "| --- | --- | --- |"]
    for name, res in tiers.items():
        lines.append(f"| {name} | {icons.get(res.status, '?')} {res.status} | {_fmt_seconds(res.seconds)} |")
    lines += ["", f"deploy-count = {deploy_count} (expect {expected})"]
    if BUILD_LINK:
        lines += ["", f"[build log]({BUILD_LINK})"]
    return "\n".join(lines)


def post_pr_comment(body: str) -> None:
    if PR_NUMBER:
        _gitea_request("POST", f"/issues/{PR_NUMBER}/comments", {"body": body})


# ---------------------------------------------------------------------------
# WC5: canonical warm instances
# ---------------------------------------------------------------------------


def canonical_needs_promotion(recipe: str, version: str) -> bool:
    """Is the canonical warm instance of ``recipe`` deployed and behind?"""
    if not is_release(version):
        log.info("WC5: %s is not a published release; not promoting", version)
        return False
    canonical = canonical_app_name(recipe)
    if not lifecycle.app_exists(canonical):
        return False
    current = lifecycle.deployed_version(canonical)
    if current is None:
        log.info("WC5: %s has no running version; not promoting", canonical)
        return False
    return current != version


def promote_canonical(recipe: str, version: str, *, timeout: int = DEPLOY_TIMEOUT) -> bool:
    """WC5: roll the live-warm canonical instance forward after a GREEN run.

    Post-green warm-cache maintenance, NOT a test deploy: it happens after
    the RUN SUMMARY and the DG4.1 guard, and the deploy counter is detached
    (``CCCI_DEPLOY_COUNT_FILE`` popped) before the deploy_app( call below so
    _record_deploy( cannot count it against the per-run budget.

    The warm instance is what ``deps.is_live_warm`` reuses, so keeping it
    current keeps dependent recipes' runs at 0 deploys for this dep.
    """
    canonical = canonical_app_name(recipe)
    if not canonical_needs_promotion(recipe, version):
        log.info("WC5: %s is current (or absent); nothing to promote", canonical)
        return False
    log.info("WC5: promoting %s to %s", canonical, version)
    # Outside the per-run budget: detach the deploy counter first.
    os.environ.pop("CCCI_DEPLOY_COUNT_FILE", None)
    try:
        deploy_app(canonical, version, recipe=recipe, timeout=timeout)
    except LifecycleError as exc:
        log.warning("WC5: promotion of %s failed (warm cache stays old): %s", canonical, exc)
        return False
    log.info("WC5: %s now at %s", canonical, version)
    return True


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def main() -> int:
    """Run one recipe: one base deploy, all selected tiers, DG4.1 guard."""
    configure_logging(verbose=env_flag("CCCI_VERBOSE"))
    started = time.monotonic()
    try:
        cfg = load_config()
    except ConfigError as exc:
        log.error("config: %s", exc)
        return EXIT_CONFIG
    recipe = cfg.recipe
    stages = cfg.stages
    timings = Timings()
    tiers: dict[str, TierResult] = {}
    overall = EXIT_OK
    log.info("=" * 72)
    log.info("cc-ci run %s: recipe=%s stages=%s pr=%s", cfg.run_id, recipe, ",".join(stages), cfg.pr_ref or "-")
    log.info("=" * 72)
    run_log = attach_run_log(cfg.results_dir)
    try:
        preflight()
    except PreflightError as exc:
        log.error("preflight: %s", exc)
        return EXIT_FAIL
    reaped = reap_stale_apps(recipe)
    if reaped:
        log.warning("janitor removed %d stale app(s): %s", len(reaped), reaped)

    with timings.span("checkout"):
        recipe_dir = checkout_recipe(recipe, cfg.pr_ref)
    head = head_sha(recipe_dir)
    target = target_version(recipe_dir, cfg)

    # Deploy sharing: the base deploy IS the previous-version deploy when the
    # upgrade tier runs, so the upgrade costs no extra deploy of its own.
    want_upgrade = "upgrade" in stages
    prev: str | None = None
    if want_upgrade:
        prev = UPGRADE_BASE_VERSION or previous_version(recipe_dir, target)
        if prev is None:
            log.warning("UPGRADE: no published version older than %s; upgrade tier skipped", target)
        elif prev == target:
            raise SystemExit(f"UPGRADE_BASE_VERSION={prev} equals the target; nothing to upgrade")
    base = prev or target
    if want_upgrade and prev is None:
        stages = tuple(s for s in stages if s != "upgrade")
        tiers["upgrade"] = TierResult("upgrade", "skip", 0.0, "no previous published version")
    log.info("BASE %s (target %s, head %s, upgrade %s)", base, target, head[:8], "on" if prev else "off")

    app = run_app_name(recipe, cfg.run_id)
    declared = deps.load_declared_deps(recipe_dir)
    describe_plan(cfg, base, target, declared)
    write_run_meta(cfg, head)
    if recipe_lint(recipe_dir):
        log.warning("recipe lint reported errors (not blocking; see above)")
    set_commit_status(head, "pending", f"cc-ci: testing {recipe} ({', '.join(stages)})")

    # The deploy counter: deploy_app() -> _record_deploy() appends one line
    # per counted deploy to this file; the DG4.1 guard below counts them.
    count_file = cfg.results_dir / "deploy-count"
    count_file.write_text("", encoding="utf-8")
    os.environ["CCCI_DEPLOY_COUNT_FILE"] = str(count_file)
    try:
        hooks = load_overlay_hooks(recipe_dir)
    except Exception as exc:  # noqa: BLE001 - a broken hooks file is a red run
        log.error("overlay hooks: %s", exc)
        set_commit_status(head, "failure", "cc-ci: overlay hooks failed to load")
        return EXIT_FAIL
    deps_deployed: list[str] = []
    deployed: DeployedApp | None = None
    slot: Slot | None = None
    aborted = False
    install_signal_handlers()

    try:
        with timings.span("slot_wait"):
            slot = acquire_slot(cfg.max_tests)
        with timings.span("overlay_env"):
            prepare_overlay_env(recipe_dir, cfg.results_dir)
        check_dns(app)
        with timings.span("deps"):
            try:
                deps_deployed = deps.deploy_declared_deps(cfg.run_id, declared)
            except deps.DepDeployError as exc:
                deps_deployed = exc.deployed
                raise
        # Live-warm deps are reused as they are; make sure they still answer
        # before the recipe is pointed at them (a probe, not a deploy).
        for dep in declared:
            if dep.recipe not in deps_deployed:
                lifecycle.wait_healthy(canonical_app_name(dep.recipe), timeout=120)
        with timings.span("app_new"):
            lifecycle.app_new(recipe, app, version=base)
            deps.export_dep_env(app, cfg.run_id, declared, deps_deployed)
            for key, value in cfg.extra_env.items():
                lifecycle.set_env(app, key, value)
            if cfg.is_pr:
                # Label PR apps so the janitor (and humans) can tell which PR
                # left one behind if teardown ever fails.
                lifecycle.set_env(app, "CCCI_PR", str(PR_NUMBER or cfg.pr_ref))
            lifecycle.set_env(app, "CCCI_RUN_ID", cfg.run_id)
            lifecycle.secrets_generate(app)

        # The ONE base deploy of the recipe (1 of 1 + N_cold_deps). When the
        # upgrade tier runs, ``base`` is the previous release and this deploy
        # doubles as the upgrade's starting point; chaos_redeploy later moves
        # the same app to the PR head in place.
        with timings.span("deploy"):
            deployed = deploy_app(
                app,
                base,
                recipe=recipe,
                timeout=cfg.deploy_timeout,
            )

        ctx = generic.TierContext.from_recipe(
            app=app,
            recipe=recipe,
            recipe_dir=recipe_dir,
            base_version=base,
            target_version=target,
            head_ref=cfg.pr_ref or head,
            results_dir=cfg.results_dir,
        )
        log.info(
            "BASE deployed: %s @ %s, %d services (%s)",
            deployed.app,
            deployed.version,
            len(deployed.services),
            ", ".join(deployed.services) or "none reported",
        )
        if want_upgrade and prev is not None:
            running = lifecycle.deployed_version(app)
            if running not in (None, prev):
                log.warning("UPGRADE: base runs %s, expected previous release %s", running, prev)
        # Early warning for DG4.1: setup must have cost exactly 1 + cold deps.
        # A surplus here means something in setup deployed outside the budget.
        setup_count = read_deploy_count(count_file)
        if setup_count != 1 + len(deps_deployed):
            log.error("DG4.1 (setup): %d deploys so far, expected %d", setup_count, 1 + len(deps_deployed))
        else:
            log.info("DG4.1 (setup): %d deploy(s) so far, within budget", setup_count)

        for stage in stages:
            log.info("-" * 72)
            log.info("TIER %s (%d/%d) on %s", stage, stages.index(stage) + 1, len(stages), app)
            with timings.span(f"tier_{stage}"):
                result = run_lifecycle_tier(stage, ctx, hooks)
            tiers[stage] = result
            if result.detail:
                ctx.notes[f"{stage}_detail"] = result.detail[:500]
            set_commit_status(head, "pending", f"cc-ci: {recipe} {stage} {result.status}")
            if not result.ok:
                overall = EXIT_FAIL
            if stage == "upgrade" and result.ok:
                # In place: chaos_redeploy must not have moved the counter.
                log.info("UPGRADE done in place; deploy-count still %d", read_deploy_count(count_file))
            # Partial results so the results UI can show progress on long runs;
            # the final write after the DG4.1 guard supersedes this one.
            try:
                write_results(
                    cfg.results_dir / "results.partial.json",
                    recipe=recipe,
                    run_id=cfg.run_id,
                    tiers=tiers,
                    timings=timings,
                    deploy_count=read_deploy_count(count_file),
                    expected_deploy_count=1 + len(deps_deployed),
                    deps_deployed=deps_deployed,
                )
            except OSError:
                log.debug("partial results not written", exc_info=True)
            if should_stop_after(stage, result):
                for rest in stages[stages.index(stage) + 1 :]:
                    tiers[rest] = TierResult(rest, "skip", 0.0, f"skipped: {stage} {result.status}")
                break
        log.info("-" * 72)
        log.info("all tiers done: %s", ", ".join(f"{k}={v.status}" for k, v in tiers.items()))
    except RunAborted as exc:
        log.error("ABORTED: %s", exc)
        aborted = True
        overall = EXIT_ABORTED
        for stage in stages:
            if stage not in tiers:
                tiers[stage] = TierResult(stage, "error", 0.0, "aborted (build cancelled)")
    except deps.DepDeployError as exc:
        log.error("DEPS: %s (cold deps so far: %s)", exc, exc.deployed)
        overall = EXIT_FAIL
        for stage in stages:
            tiers.setdefault(stage, TierResult(stage, "error", 0.0, f"dependency {exc.recipe} failed"))
    except PreflightError as exc:
        log.error("preflight: %s", exc)
        overall = EXIT_FAIL
    except LifecycleError as exc:
        log.error("run failed: %s", exc)
        overall = EXIT_FAIL
        for stage in stages:
            tiers.setdefault(stage, TierResult(stage, "error", 0.0, str(exc)[:300]))
    except Exception:  # noqa: BLE001 - anything unexpected is a red run
        log.exception("unexpected error")
        overall = EXIT_FAIL
    finally:
        keep = cfg.keep_on_failure and overall != EXIT_OK and not aborted
        log.info("-" * 72)
        log.info("TEARDOWN %s%s", app, " (after abort)" if aborted else "")
        with timings.span("teardown"):
            for dep_recipe in deps_deployed:
                dep_app = deps.dep_app_name(cfg.run_id, dep_recipe)
                if lifecycle.app_exists(dep_app):
                    collect_artifacts(dep_app, cfg.results_dir / "deps" / dep_recipe, {})
            if deployed is not None or lifecycle.app_exists(app):
                collect_artifacts(app, cfg.results_dir, tiers)
                try:
                    lifecycle.teardown_app(app, keep=keep)
                except Exception:  # noqa: BLE001 - teardown must go on
                    log.exception("teardown of %s failed", app)
                    overall = overall or EXIT_FAIL
            if deps.teardown_deps(cfg.run_id, deps_deployed, keep=keep):
                overall = overall or EXIT_FAIL
            if not keep:
                leaks = find_leaks(app, cfg.run_id, deps_deployed)
                if leaks:
                    log.error("LEAK: still present after teardown: %s", leaks)
                    overall = overall or EXIT_FAIL
            else:
                log.warning("kept for debugging: %s (+ deps %s)", app, deps_deployed)
                log.warning("remove with: abra app undeploy %s && abra app remove %s --force", app, app)
        release_slot(slot)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        log.info("TEARDOWN done in %s", _fmt_seconds(timings.spans.get("teardown", 0.0)))

    if aborted:
        # Drone allows ~30s after SIGTERM: the teardown above is what matters,
        # the summary below is best effort.
        log.warning("run aborted; the summary below is partial")

    for stage in cfg.stages:
        tiers.setdefault(stage, TierResult(stage, "skip", 0.0, "not reached"))
    junit = write_junit(tiers, cfg.results_dir / "junit.xml", recipe)
    log.debug("junit report: %s", junit)
    category = classify_failure(tiers, run_log)
    if category:
        log.error("failure category: %s", category)
    timing_rows = summarize_timings(timings)
    (cfg.results_dir / "timings.txt").write_text("\n".join(timing_rows) + "\n", encoding="utf-8")

    # =======================================================================
    # DG4.1 deploy-count guard + RUN SUMMARY
    # =======================================================================
    # Budget (Phase 2b): deploys == 1 (base) + N_cold_deps, a hard failure.
    # Every counted deploy appended one line to $CCCI_DEPLOY_COUNT_FILE via
    # _record_deploy( inside deploy_app(. chaos_redeploy (the upgrade tier)
    # and backup/restore never do, so they cost nothing here. A green run
    # therefore proves it stayed in budget; a redundant redeploy turns it red.
    count_path = Path(os.environ.get("CCCI_DEPLOY_COUNT_FILE", str(count_file)))
    try:
        deploy_count = read_deploy_count(count_path)
    except FileNotFoundError:
        log.error("DG4.1: deploy-count file %s is missing", count_path)
        deploy_count = -1
        overall = overall or EXIT_FAIL
    for line in count_path.read_text(encoding="utf-8").splitlines() if count_path.exists() else []:
        log.debug("DG4.1 counted: %s", line)
    # A run whose base deploy never happened is red on its own; do not let a
    # matching (0 == 0) count hide that.
    if deployed is None and overall == EXIT_OK:
        log.error("DG4.1: base deploy did not happen")
        overall = EXIT_FAIL
    # Warm deps excluded: a live-warm dep was reused as it was, not deployed,
    # so it costs 0 and is NOT in deps_deployed (deploy_declared_deps returns
    # only the deps it deployed cold).
    deps_deployed_count = len(deps_deployed)
    expected_deploy_count = 1 + deps_deployed_count
    print(f"RUN SUMMARY {recipe} run={cfg.run_id} base={base} target={target}")
    print(f"  deploy-count = {deploy_count} (expect {expected_deploy_count})")
    print(f"  deps deployed: {deps_deployed}")
    print(f"  declared deps: {[d.label for d in declared]}")
    print(f"  app: {app}")
    print(f"  duration: {_fmt_seconds(time.monotonic() - started)}")
    print(f"  slot wait: {_fmt_seconds(timings.spans.get('slot_wait', 0.0))}")
    if category:
        print(f"  failure category: {category}")
    print("  tiers:")
    print(render_tier_table(tiers))
    print("  timings (largest first):")
    for row in timing_rows:
        print(row)
    print(f"  results: {cfg.results_json}")
    print(f"  artifacts: {cfg.results_dir}")
    # The guard itself. deploy_count == -1 (file missing) always fails here.
    # It deliberately does not tell "too many" from "too few": both mean the
    # budget claim no longer describes what the run actually did.
    sys.stdout.flush()
    if deploy_count != expected_deploy_count:
        log.error(
            "DG4.1 FAIL: deploy-count %d != expected %d (1 base + %d cold deps): redundant or missing deploy",
            deploy_count, expected_deploy_count, deps_deployed_count,
        )
        overall = 1

    write_results(
        cfg.results_json,
        recipe=recipe,
        run_id=cfg.run_id,
        tiers=tiers,
        timings=timings,
        deploy_count=deploy_count,
        expected_deploy_count=expected_deploy_count,
        deps_deployed=deps_deployed,
        extra={"base_version": base, "target_version": target, "head": head, "pr_ref": cfg.pr_ref, "failure": category},
    )
    set_commit_status(
        head,
        "success" if overall == EXIT_OK else "failure",
        f"cc-ci: {recipe} deploy-count {deploy_count}/{expected_deploy_count}",
    )
    post_pr_comment(format_pr_comment(recipe, tiers, deploy_count, expected_deploy_count))

    # WC5: post-green warm-cache maintenance (default branch only).
    if overall == EXIT_OK and cfg.promote and not cfg.is_pr:
        with timings.span("promote"):
            promote_canonical(recipe, target, timeout=cfg.deploy_timeout)

    log.info("cc-ci run %s finished: %s", cfg.run_id, "GREEN" if overall == EXIT_OK else f"RED ({overall})")
    return overall


if __name__ == "__main__":
    sys.exit(main())
