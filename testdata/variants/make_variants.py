#!/usr/bin/env python3
"""Regenerate testdata/variants/*.patch from the edit recipes below.

Each variant is a list of edits applied to a scratch copy of testdata/cc-ci.
The copy is a throwaway git repository; the patch is its ``git diff`` (with
rename detection), preceded by the ``#`` header the tests read. Run this after
changing testdata/cc-ci, then run ``check_patches.sh``.

    python3 testdata/variants/make_variants.py            # rewrite all patches
    python3 testdata/variants/make_variants.py NAME ...   # only these
    python3 testdata/variants/make_variants.py --table    # README table

Edit operations:
    ("sub", path, old, new)   replace ``old`` (which must occur exactly once)
    ("new", path, text)       create a file
    ("mv", old_path, new_path) rename a file (git records it as a rename)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = HERE.parent / "cc-ci"

R = "runner/run_recipe_ci.py"
L = "runner/harness/lifecycle.py"
D = "runner/harness/deps.py"
G = "runner/harness/generic.py"
U = "runner/harness/util.py"

TIERS_HDR = """# ---------------------------------------------------------------------------
# tiers
# ---------------------------------------------------------------------------
"""
MAIN_HDR = """# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
"""
RESTORE_LINE = "    lifecycle.restore_app(ctx.app, snapshot=snapshot, service=ctx.data_service)\n"
BACKUP_LINES = (
    "    snapshot = lifecycle.backup_app(ctx.app, service=ctx.data_service)\n"
    "    assert_snapshot_exists(ctx, snapshot)\n"
)
CHAOS_LINE = "    sha = lifecycle.chaos_redeploy(ctx.app, ctx.recipe_dir, ctx.head_ref)\n"
GEN_IMPORT = "from harness import lifecycle\n"
POP_BLOCK = (
    "    # Outside the per-run budget: detach the deploy counter first.\n"
    '    os.environ.pop("CCCI_DEPLOY_COUNT_FILE", None)\n'
)
CHAOS_TRY = """    client = get_abra()
    try:
        client.deploy(app, chaos=True, force=True, timeout=timeout)
    except AbraError as exc:
        raise LifecycleError(f"chaos redeploy of {app} to {sha} failed: {exc}") from exc
"""
RESTORE_TAIL = """        raise LifecycleError(f"restore of {app}: {exc}") from exc
    wait_healthy(app, timeout=HEALTH_TIMEOUT)
"""


@dataclass
class Variant:
    name: str
    exit: int
    codes: list[str]
    feature: str
    why: str
    edits: list[tuple]
    witness: list[str] = field(default_factory=list)


V: list[Variant] = []


def variant(name, exit, codes, feature, why, edits, witness=()):  # noqa: A002
    V.append(Variant(name, exit, list(codes), feature, why, list(edits), list(witness)))


# ===========================================================================
# DG001: _record_deploy outside deploy_app
# ===========================================================================

variant(
    "dg001-record-deploy-call-in-main", 1, ["DG001"],
    "DG001: direct call of the counter from run_recipe_ci.main (imported by name)",
    "A maintainer wants the RUN SUMMARY to list every deploy that hit the swarm, so main() "
    "records the in-place chaos upgrade itself.",
    [
        ("sub", R, "from harness.lifecycle import DeployedApp, LifecycleError, deploy_app\n",
         "from harness.lifecycle import DeployedApp, LifecycleError, _record_deploy, deploy_app\n"),
        ("sub", R,
         """            if stage == "upgrade" and result.ok:
                # In place: chaos_redeploy must not have moved the counter.
                log.info("UPGRADE done in place; deploy-count still %d", read_deploy_count(count_file))
""",
         """            if stage == "upgrade" and result.ok:
                # The chaos redeploy really did hit the swarm: record it so the
                # RUN SUMMARY shows every deploy that happened.
                _record_deploy(app, f"chaos@{head[:8]}")
"""),
    ],
    ["main", "_record_deploy"],
)

variant(
    "dg001-record-deploy-alias-in-restore", 1, ["DG001"],
    "DG001: counter referenced through a local alias (rec = _record_deploy) in restore_app",
    "Someone argues a backupbot restore restarts the whole stack and so should be counted like a deploy.",
    [
        ("sub", L, RESTORE_TAIL, RESTORE_TAIL + """    # backupbot restarts the whole stack on restore, which costs as much as
    # a deploy: account for it the same way.
    rec = _record_deploy
    rec(app, f"restore:{snapshot or 'latest'}")
"""),
    ],
    ["restore_app", "_record_deploy"],
)

variant(
    "dg001-record-deploy-imported-as-alias-in-generic", 1, ["DG001"],
    "DG001: counter imported under another name (from ... import _record_deploy as _count_deploy)",
    "To make the upgrade visible in deploy-count, perform_upgrade records the chaos redeploy with an "
    "aliased import of the private counter.",
    [
        ("sub", G, GEN_IMPORT, GEN_IMPORT + "from harness.lifecycle import _record_deploy as _count_deploy\n"),
        ("sub", G, "    after = assert_upgraded(ctx, before, sha)\n",
         """    after = assert_upgraded(ctx, before, sha)
    # Make the in-place upgrade visible in deploy-count as well.
    _count_deploy(ctx.app, f"chaos@{sha}")
"""),
    ],
    ["perform_upgrade", "_record_deploy"],
)

# ===========================================================================
# DG002: unaccounted deploy_app call sites (no forbidden source involved)
# ===========================================================================

variant(
    "dg002-extra-deploy-in-run-lifecycle-tier", 1, ["DG002", "DG004"],
    "DG002: extra deploy in the orchestrator's tier dispatcher (a caller of the forbidden sources, not reachable from them)",
    "To give restore a clean stack, a developer redeploys the base in run_lifecycle_tier right before the restore tier.",
    [
        ("sub", R, "    tier = generic.TIERS[stage]\n", """    tier = generic.TIERS[stage]
    if stage == "restore":
        # Restore must start from a freshly converged stack, not from whatever
        # the backup tier's marker writes left behind: redeploy the base first.
        deploy_app(ctx.app, ctx.base_version, recipe=ctx.recipe)
"""),
    ],
    ["run_lifecycle_tier", "deploy_app"],
)

variant(
    "dg002-new-module-warmup", 1, ["DG002", "DG004"],
    "DG002: deploy in a brand-new module (harness/warmup.py) called from main",
    "An image pre-warm step deploys the recipe once into a scratch app so that the timed base deploy "
    "does not include image pulls.",
    [
        ("new", "runner/harness/warmup.py", '''"""Image pre-warming: pull a recipe's images before the timed deploy.

The first deploy of a recipe on a fresh node spends most of its time pulling
images, which made the base deploy's timing useless for attribution. Deploying
the target once into a scratch app and removing it again leaves the images in
the local store, so the real base deploy measures convergence only.
"""

from __future__ import annotations

import logging

from harness.lifecycle import app_new, deploy_app, secrets_generate, teardown_app
from harness.util import run_app_name

log = logging.getLogger(__name__)


def prewarm_images(recipe: str, version: str, run_id: str) -> str:
    """Deploy ``recipe@version`` into a scratch app and tear it down again."""
    app = run_app_name(f"prewarm-{recipe}", run_id)
    log.info("PREWARM %s @ %s via %s", recipe, version, app)
    app_new(recipe, app, version=version)
    secrets_generate(app)
    try:
        deploy_app(app, version, recipe=recipe, wait=False)
    finally:
        teardown_app(app)
    return app
'''),
        ("sub", R, "from harness import deps, generic, lifecycle\n", "from harness import deps, generic, lifecycle, warmup\n"),
        ("sub", R, "        check_dns(app)\n", """        check_dns(app)
        with timings.span("prewarm"):
            warmup.prewarm_images(recipe, base, cfg.run_id)
"""),
    ],
    ["prewarm_images", "deploy_app"],
)

variant(
    "dg002-base-deploy-moved-to-helper", 1, ["DG002"],
    "DG002: the base deploy extracted from main into a helper function (call site no longer in main)",
    "A readability refactor moves the base deploy into deploy_base(), which the policy does not account for.",
    [
        ("sub", R, MAIN_HDR, '''def deploy_base(app: str, version: str, recipe: str, timeout: int) -> DeployedApp:
    """The ONE base deploy of the recipe (1 of 1 + N_cold_deps)."""
    log.info("BASE deploy %s @ %s", app, version)
    return deploy_app(app, version, recipe=recipe, timeout=timeout)


''' + MAIN_HDR),
        ("sub", R, """            deployed = deploy_app(
                app,
                base,
                recipe=recipe,
                timeout=cfg.deploy_timeout,
            )
""", "            deployed = deploy_base(app, base, recipe, cfg.deploy_timeout)\n"),
    ],
    ["deploy_base", "deploy_app"],
)

variant(
    "dg002-install-tier-idempotence-redeploy", 1, ["DG002", "DG004"],
    "DG002: deploy in a non-forbidden tier (perform_install), so DG003 must NOT be the reason",
    "An idempotence check redeploys the same version in the install tier to catch recipes whose entrypoint re-initialises.",
    [
        ("sub", G, """    assert_version(ctx, ctx.base_version)
    return f"{len(services)} services; " + run_overlay(ctx, "install")
""", """    assert_version(ctx, ctx.base_version)
    # Idempotence: deploying the same version again must be a no-op that
    # leaves the app healthy (catches recipes whose entrypoint re-inits).
    lifecycle.deploy_app(ctx.app, ctx.base_version, recipe=ctx.recipe)
    assert_healthy(ctx)
    return f"{len(services)} services; " + run_overlay(ctx, "install")
"""),
    ],
    ["perform_install", "deploy_app"],
)

# ===========================================================================
# DG003: a forbidden source reaches deploy_app
# ===========================================================================

variant(
    "dg003-direct-call-in-perform-backup", 1, ["DG003", "DG002", "DG004"],
    "DG003: direct attribute call lifecycle.deploy_app(...) in perform_backup",
    "Backups after the upgrade sometimes miss volumes of restarting services, so the backup tier "
    "redeploys the target first.",
    [
        ("sub", G, "    token = probe.seed() if probe else None\n", """    # backupbot only sees the volumes of a converged stack; after the upgrade
    # tier some services may still be restarting, so redeploy the target first.
    lifecycle.deploy_app(ctx.app, ctx.target_version, recipe=ctx.recipe)
    token = probe.seed() if probe else None
"""),
    ],
    ["perform_backup", "deploy_app"],
)

variant(
    "dg003-import-alias-in-perform-restore", 1, ["DG003", "DG002", "DG004"],
    "DG003: resolution of an aliased from-import (from harness.lifecycle import deploy_app as d)",
    "A recipe caches config read at start-up, so the restore tier redeploys after restoring, via a short alias.",
    [
        ("sub", G, GEN_IMPORT, GEN_IMPORT + "from harness.lifecycle import deploy_app as d\n"),
        ("sub", G, RESTORE_LINE, RESTORE_LINE + """    # Some recipes cache config read at start-up: redeploy so the restored
    # files are picked up before we assert on them.
    d(ctx.app, ctx.target_version, recipe=ctx.recipe)
"""),
    ],
    ["perform_restore", "deploy_app"],
)

variant(
    "dg003-reexport-from-harness-package", 1, ["DG003", "DG002", "DG004"],
    "DG003: resolution through the package re-export (from harness import deploy_app, defined in harness.lifecycle)",
    "The upgrade tier falls back to a plain deploy of the target when the chaos redeploy of a dirty checkout fails.",
    [
        ("sub", G, GEN_IMPORT, "from harness import deploy_app, lifecycle\n"),
        ("sub", G, CHAOS_LINE, """    try:
        sha = lifecycle.chaos_redeploy(ctx.app, ctx.recipe_dir, ctx.head_ref)
    except lifecycle.LifecycleError as exc:
        # A dirty chaos checkout should not fail the tier: fall back to a
        # plain deploy of the target version.
        log.warning("chaos redeploy failed (%s); deploying %s instead", exc, ctx.target_version)
        deploy_app(ctx.app, ctx.target_version, recipe=ctx.recipe)
        sha = ctx.target_version
"""),
    ],
    ["perform_upgrade", "deploy_app"],
)

variant(
    "dg003-import-module-as-lc", 1, ["DG003", "DG002", "DG004"],
    "DG003: resolution of a dotted module import with alias (import harness.lifecycle as lc; lc.deploy_app)",
    "Code pasted from a notebook brings its own module alias and redeploys after a restore.",
    [
        ("sub", G, GEN_IMPORT, "import harness.lifecycle as lc\n" + GEN_IMPORT),
        ("sub", G, RESTORE_LINE, RESTORE_LINE + """    # Restart the stack cleanly on top of the restored volumes.
    lc.deploy_app(ctx.app, ctx.target_version, recipe=ctx.recipe)
"""),
    ],
    ["perform_restore", "deploy_app"],
)

variant(
    "dg003-relative-import-function", 1, ["DG003", "DG002", "DG004"],
    "DG003: resolution of a relative from-import of the function (from .lifecycle import deploy_app)",
    "When backupbot finds no volumes after the upgrade, the backup tier redeploys to re-attach the labels and retries.",
    [
        ("sub", G, GEN_IMPORT, GEN_IMPORT + "from .lifecycle import deploy_app\n"),
        ("sub", G, BACKUP_LINES, """    try:
        snapshot = lifecycle.backup_app(ctx.app, service=ctx.data_service)
    except lifecycle.LifecycleError:
        # backupbot sometimes misses volumes after the upgrade's chaos deploy;
        # a clean redeploy re-attaches the backupbot labels.
        deploy_app(ctx.app, ctx.target_version, recipe=ctx.recipe)
        snapshot = lifecycle.backup_app(ctx.app, service=ctx.data_service)
    assert_snapshot_exists(ctx, snapshot)
"""),
    ],
    ["perform_backup", "deploy_app"],
)

variant(
    "dg003-relative-import-module", 1, ["DG003", "DG002", "DG004"],
    "DG003: resolution of a relative package-module import (from . import lifecycle) then lifecycle.deploy_app",
    "The restore tier restores into a stopped stack and then brings it back up with a deploy; the import was "
    "switched to relative at the same time.",
    [
        ("sub", G, GEN_IMPORT, "from . import lifecycle\n"),
        ("sub", G, RESTORE_LINE, """    # Restore into a stopped stack so no service writes during the restore,
    # then bring it back up.
    lifecycle.undeploy_app(ctx.app, prune=False)
    lifecycle.restore_app(ctx.app, snapshot=snapshot, service=ctx.data_service)
    lifecycle.deploy_app(ctx.app, ctx.target_version, recipe=ctx.recipe)
"""),
    ],
    ["perform_restore", "deploy_app"],
)

variant(
    "dg003-transitive-helper-other-module", 1, ["DG003", "DG002", "DG004"],
    "DG003: transitive reach, perform_restore -> generic._settle -> util.ensure_running (local import) -> deploy_app",
    "A 'make sure it is running' helper in util redeploys an app that swarm lost after a node reboot, and "
    "the restore tier calls it to settle.",
    [
        ("sub", U, '''def configure_logging(verbose: bool = False) -> None:''', '''def ensure_running(app: str, version: str) -> None:
    """Make sure ``app`` is up; redeploy it if swarm lost it (node reboot)."""
    from harness import lifecycle  # local import: lifecycle does not import util

    if not lifecycle.is_deployed(app):
        log.warning("%s is not running; redeploying %s", app, version)
        lifecycle.deploy_app(app, version)


def configure_logging(verbose: bool = False) -> None:'''),
        ("sub", G, "from harness.util import short_id\n", "from harness.util import ensure_running, short_id\n"),
        ("sub", G, TIERS_HDR, '''def _settle(ctx: TierContext) -> None:
    """Wait out service restarts left behind by the previous tier."""
    ensure_running(ctx.app, ctx.target_version)
    assert_healthy(ctx)


''' + TIERS_HDR),
        ("sub", G, "    seeded = probe.seed()\n", "    _settle(ctx)\n    seeded = probe.seed()\n"),
    ],
    ["perform_restore", "ensure_running", "deploy_app"],
)

variant(
    "dg003-dict-dispatch", 1, ["DG003", "DG002", "DG004"],
    "DG003: call through a dict of callables indexed by a runtime key (_ACTIONS[key](...))",
    "Recipes choose how the app is brought back after a restore (restart or redeploy) via a lookup table.",
    [
        ("sub", G, GEN_IMPORT, GEN_IMPORT + "from harness.lifecycle import deploy_app, restart_app\n"),
        ("sub", G, "PYTEST_NO_TESTS = 5\n", '''PYTEST_NO_TESTS = 5

# How to bring the app back after a restore ([backup] recover = "...").
_ACTIONS: dict[str, Callable[..., object]] = {
    "restart": restart_app,
    "redeploy": deploy_app,
}
'''),
        ("sub", G, RESTORE_LINE, RESTORE_LINE + """    key = ctx.notes.get("recover", "restart")
    _ACTIONS[key](ctx.app, ctx.data_service if key == "restart" else ctx.target_version)
"""),
    ],
    ["perform_restore", "deploy_app"],
)

variant(
    "dg003-list-of-callables", 1, ["DG003", "DG002", "DG004"],
    "DG003: call through a list of (callable, args) pairs that is iterated",
    "A 'cold restore' is written as a list of steps: stop the stack, restore the volumes, deploy again.",
    [
        ("sub", G, RESTORE_LINE, """    # Cold restore: stop the stack, restore the volumes, start it again.
    steps: list[tuple[Callable[..., object], tuple[object, ...]]] = [
        (lifecycle.undeploy_app, (ctx.app,)),
        (lifecycle.restore_app, (ctx.app,)),
        (lifecycle.deploy_app, (ctx.app, ctx.target_version)),
    ]
    for step, args in steps:
        step(*args)
"""),
    ],
    ["perform_restore", "deploy_app"],
)

variant(
    "dg003-factory-returns-deploy-app", 1, ["DG003", "DG002", "DG004"],
    "DG003: a factory function returns deploy_app and its result is called (_recovery_for(ctx)(...))",
    "A strategy helper picks restart_app when the recipe names its data service and deploy_app otherwise.",
    [
        ("sub", G, TIERS_HDR, '''def _recovery_for(ctx: TierContext) -> Callable[..., object]:
    """How to bring the app back after a restore: restart the data service
    when the recipe names one, otherwise redeploy the whole stack."""
    if ctx.data_service:
        return lifecycle.restart_app
    return lifecycle.deploy_app


''' + TIERS_HDR),
        ("sub", G, RESTORE_LINE, RESTORE_LINE + "    _recovery_for(ctx)(ctx.app, ctx.data_service or ctx.target_version)\n"),
    ],
    ["perform_restore", "deploy_app"],
)

variant(
    "dg003-lambda", 1, ["DG003", "DG002", "DG004"],
    "DG003: deploy_app called inside a lambda bound to a local and invoked in perform_backup",
    "A retry-once path redeploys when backupbot loses track of the volumes, written as a small lambda.",
    [
        ("sub", G, BACKUP_LINES, """    redeploy = lambda: lifecycle.deploy_app(ctx.app, ctx.target_version, recipe=ctx.recipe)  # noqa: E731
    try:
        snapshot = lifecycle.backup_app(ctx.app, service=ctx.data_service)
    except lifecycle.LifecycleError:
        redeploy()  # backupbot lost track of the volumes: re-attach and retry once
        snapshot = lifecycle.backup_app(ctx.app, service=ctx.data_service)
    assert_snapshot_exists(ctx, snapshot)
"""),
    ],
    ["perform_backup", "deploy_app"],
)

variant(
    "dg003-functools-partial", 1, ["DG003", "DG002", "DG004"],
    "DG003: functools.partial(deploy_app, ...) bound early and called later",
    "The restore tier prepares a pre-bound redeploy so restored config files are picked up after the restore.",
    [
        ("sub", G, "    seeded = probe.seed()\n",
         "    redeploy = functools.partial(lifecycle.deploy_app, ctx.app, recipe=ctx.recipe)\n    seeded = probe.seed()\n"),
        ("sub", G, RESTORE_LINE, RESTORE_LINE + "    redeploy(ctx.target_version)  # pick up restored config files\n"),
    ],
    ["perform_restore", "deploy_app"],
)

variant(
    "dg003-decorator-wrapper-on-backup-app", 1, ["DG003", "DG002", "DG004"],
    "DG003: a decorator whose wrapper calls deploy_app, applied to backup_app",
    "backupbot needs the stack up, so a decorator redeploys the app first if swarm lost it.",
    [
        ("sub", L, "def list_snapshots(app: str) -> list[str]:\n", '''def _ensure_deployed(fn: Callable[..., T]) -> Callable[..., T]:
    """backupbot needs the stack up: (re)deploy it first if swarm lost it."""

    @functools.wraps(fn)
    def wrapper(app: str, *args: object, **kwargs: object) -> T:
        if not is_deployed(app):
            log.warning("%s is down before %s; redeploying it", app, fn.__name__)
            deploy_app(app, deployed_version(app) or "latest", wait=True)
        return fn(app, *args, **kwargs)

    return wrapper


def list_snapshots(app: str) -> list[str]:
'''),
        ("sub", L, "def backup_app(app: str, *, service: str | None = None) -> str:\n",
         "@_ensure_deployed\ndef backup_app(app: str, *, service: str | None = None) -> str:\n"),
    ],
    ["backup_app", "deploy_app"],
)

variant(
    "dg003-mro-base-class-method", 1, ["DG003", "DG002", "DG004"],
    "DG003: self._redeploy() resolved through the MRO to a method of an in-project base class",
    "A probe base class gains a _redeploy helper, and DataProbe.reset() uses it to start apps that cache "
    "directory listings fresh.",
    [
        ("sub", G, '''class DataProbe:
    """Seeds, mutates and reads back a marker file in the app's data volume."""
''', '''class _ProbeBase:
    """Plumbing shared by data probes."""

    app: str

    def _redeploy(self, version: str) -> None:
        """Bring the whole stack back to a known state after a destructive step."""
        lifecycle.deploy_app(self.app, version)


class DataProbe(_ProbeBase):
    """Seeds, mutates and reads back a marker file in the app's data volume."""
'''),
        ("sub", G, '''        token = f"mutated-{short_id(8)}"
        self.write(token)
        return token
''', '''        token = f"mutated-{short_id(8)}"
        self.write(token)
        return token

    def reset(self, version: str) -> None:
        """Some apps cache the marker's directory listing: start them fresh."""
        self._redeploy(version)
'''),
        ("sub", G, RESTORE_LINE, RESTORE_LINE + "    probe.reset(ctx.target_version)\n"),
    ],
    ["perform_restore", "_redeploy", "deploy_app"],
)

variant(
    "dg003-class-init-deploys", 1, ["DG003", "DG002", "DG004"],
    "DG003: instantiating a class whose __init__ calls deploy_app (ScratchApp(ctx))",
    "To prove snapshots are portable, the restore tier also restores into a fresh scratch app, which it deploys.",
    [
        ("sub", G, TIERS_HDR, '''class ScratchApp:
    """A throwaway app to restore into, proving the snapshot is portable
    (restorable into a fresh app, not only back into the one it came from)."""

    def __init__(self, ctx: TierContext) -> None:
        self.app = f"scratch-{ctx.app}"
        lifecycle.app_new(ctx.recipe, self.app, version=ctx.target_version)
        lifecycle.secrets_generate(self.app)
        self.deployed = lifecycle.deploy_app(self.app, ctx.target_version, recipe=ctx.recipe)

    def close(self) -> None:
        lifecycle.teardown_app(self.app)


''' + TIERS_HDR),
        ("sub", G, "    assert_data_intact(probe, seeded)\n", """    assert_data_intact(probe, seeded)
    scratch = ScratchApp(ctx)
    try:
        lifecycle.restore_app(scratch.app, snapshot=snapshot, service=ctx.data_service)
    finally:
        scratch.close()
"""),
    ],
    ["perform_restore", "ScratchApp", "deploy_app"],
)

variant(
    "dg003-getattr-literal", 1, ["DG003", "DG002", "DG004"],
    "DG003: getattr(module, \"deploy_app\") with a literal name is resolvable (so DG003, not DG007)",
    "A debug switch for flaky chaos deploys does a full deploy of the target, written with getattr left over "
    "from a config-driven experiment.",
    [
        ("sub", G, CHAOS_LINE, """    if os.environ.get("CCCI_UPGRADE_MODE") == "full":
        # Debug switch for flaky chaos deploys: full deploy of the target.
        getattr(lifecycle, "deploy_app")(ctx.app, ctx.target_version, recipe=ctx.recipe)
        sha = ctx.target_version
    else:
        sha = lifecycle.chaos_redeploy(ctx.app, ctx.recipe_dir, ctx.head_ref)
"""),
    ],
    ["perform_upgrade", "deploy_app"],
)

variant(
    "dg003-callable-argument-with-retry", 1, ["DG003", "DG002", "DG004"],
    "DG003: deploy_app passed as an argument (_with_retry(deploy_app, ...)) from chaos_redeploy; "
    "the call happens inside the callee via the parameter",
    "A chaos deploy of a dirty checkout sometimes fails on the first try, so chaos_redeploy falls back to "
    "deploying the commit with the existing retry helper.",
    [
        ("sub", L, '''    except AbraError as exc:
        raise LifecycleError(f"chaos redeploy of {app} to {sha} failed: {exc}") from exc
''', '''    except AbraError as exc:
        # A chaos deploy of a dirty checkout sometimes fails on the first try;
        # fall back to deploying the checked-out commit, with retries.
        log.warning("chaos redeploy of %s failed (%s); deploying %s", app, exc, sha)
        _with_retry(deploy_app, app, sha, timeout=timeout)
'''),
    ],
    ["chaos_redeploy", "deploy_app"],
)

variant(
    "dg003-chaos-redeploy-calls-deploy-app", 1, ["DG003", "DG002", "DG004"],
    "DG003: chaos_redeploy itself rewritten to go through deploy_app",
    "abra can deploy a commit directly, so a cleanup replaces the separate --chaos code path with the one "
    "deploy primitive.",
    [
        ("sub", L, CHAOS_TRY, """    # abra can deploy a commit directly: reuse the one deploy primitive
    # instead of keeping a second code path with --chaos.
    deploy_app(app, sha, timeout=timeout, wait=False)
"""),
    ],
    ["chaos_redeploy", "deploy_app"],
)

variant(
    "dg003-module-level-alias-redeploy", 1, ["DG003", "DG002", "DG004"],
    "DG003: module-level alias assignment (redeploy = deploy_app) called from perform_restore",
    "When services do not come back after a backupbot restore, the restore tier redeploys via a module-level alias.",
    [
        ("sub", G, GEN_IMPORT, GEN_IMPORT + "from harness.lifecycle import deploy_app\n"),
        ("sub", G, "PYTEST_NO_TESTS = 5\n", """PYTEST_NO_TESTS = 5

# Used by the restore tier when backupbot's own service restart times out.
redeploy = deploy_app
"""),
        ("sub", G, RESTORE_LINE, """    try:
        lifecycle.restore_app(ctx.app, snapshot=snapshot, service=ctx.data_service)
    except lifecycle.HealthTimeout:
        log.warning("services did not come back after restore; redeploying %s", ctx.app)
        redeploy(ctx.app, ctx.target_version, recipe=ctx.recipe)
"""),
    ],
    ["perform_restore", "deploy_app"],
)

variant(
    "dg003-perform-upgrade-full-deploy", 1, ["DG003", "DG002", "DG004"],
    "DG003: the upgrade tier replaced by a full deploy of the PR head (the exact regression DG4.1 exists for)",
    "Someone decides a real deploy of the PR commit is 'more realistic' than abra's --chaos and rewrites perform_upgrade.",
    [
        ("sub", G, CHAOS_LINE, """    # abra deploys a commit directly; simpler than --chaos and "more real".
    lifecycle.checkout_ref(ctx.recipe_dir, ctx.head_ref)
    sha = lifecycle.deploy_app(ctx.app, ctx.target_version, recipe=ctx.recipe).version
"""),
    ],
    ["perform_upgrade", "deploy_app"],
)

variant(
    "dg003-restore-redeploys-deps-accounted-site", 1, ["DG003", "DG004"],
    "DG003 without DG002: the deploy_app call site is in harness.deps (accounted), but a forbidden source reaches it",
    "The restore rolls back OIDC client secrets, so the restore tier bounces the cold SSO dep through a new "
    "deps.redeploy_dep helper.",
    [
        ("sub", D, '''def is_live_warm(dep: DeclaredDep) -> bool:''', '''def redeploy_dep(run_id: str, recipe: str, version: str) -> None:
    """Bounce a cold dep (e.g. SSO sessions invalidated by a restore)."""
    app = dep_app_name(run_id, recipe)
    log.info("DEPS: redeploying %s", app)
    deploy_app(app, version, recipe=recipe)


def is_live_warm(dep: DeclaredDep) -> bool:'''),
        ("sub", G, GEN_IMPORT, "from harness import deps, lifecycle\n"),
        ("sub", G, "    assert_data_intact(probe, seeded)\n", """    assert_data_intact(probe, seeded)
    # The restore rolled back OIDC client secrets: bounce the cold SSO deps
    # so the custom tier can still log in.
    for dep_recipe in ctx.notes.get("cold_deps", "").split():
        deps.redeploy_dep(ctx.notes["run_id"], dep_recipe, "latest")
"""),
    ],
    ["perform_restore", "redeploy_dep", "deploy_app"],
)

DEPS_TAIL = '    log.info("DEPS teardown %s", "clean" if not failed else f"FAILED for {failed}")\n    return failed\n'
BACKUP_SNAPSHOT = "    ctx.snapshot = snapshot\n"


def deps_probe(ready_body: str, iter_body: str) -> str:
    return DEPS_TAIL + f'''

class DepProbe:
    """A dep's app, asked whether it answers before a tier relies on it."""

    def __init__(self, app: str) -> None:
        self.app = app

    @property
    def ready(self) -> bool:
{ready_body}

    def __iter__(self):
{iter_body}
'''


variant(
    "dg003-property-getter-in-deps", 1, ["DG003", "DG004"],
    "DG003: a property getter (read as `probe.ready`, no call written) deploys, from the deps module",
    "Before trusting a snapshot, the backup tier asks the app's dep probe whether it is ready; the probe's "
    "`ready` property brings the app up if it is not.",
    [
        ("sub", D, DEPS_TAIL, deps_probe(
            "        deploy_app(self.app, \"latest\")\n        return True",
            "        return iter([self.app])")),
        ("sub", G, BACKUP_SNAPSHOT, BACKUP_SNAPSHOT + """    from harness.deps import DepProbe

    if not DepProbe(ctx.app).ready:
        raise TierFailure(f"{ctx.app} is not ready after backup")
"""),
    ],
    ["perform_backup", "property getter", "deploy_app"],
)

variant(
    "dg003-iteration-in-deps", 1, ["DG003", "DG004"],
    "DG003: iterating an object whose `__iter__` deploys (a `for` loop, no call written), from the deps module",
    "The backup tier walks the apps a dep probe yields; the probe's `__iter__` redeploys the app first so the "
    "list is fresh.",
    [
        ("sub", D, DEPS_TAIL, deps_probe(
            "        return True",
            "        deploy_app(self.app, \"latest\")\n        return iter([self.app])")),
        ("sub", G, BACKUP_SNAPSHOT, BACKUP_SNAPSHOT + """    from harness.deps import DepProbe

    for app in DepProbe(ctx.app):
        log.info("backup covers %s", app)
"""),
    ],
    ["perform_backup", "__iter__", "deploy_app"],
)

variant(
    "clean-property-and-iteration-in-deps", 0, [],
    "clean: the same probe read as a property and iterated, where neither deploys",
    "The clean twin of the two variants above: a read-only probe.",
    [
        ("sub", D, DEPS_TAIL, deps_probe(
            "        return bool(self.app)",
            "        return iter([self.app])")),
        ("sub", G, BACKUP_SNAPSHOT, BACKUP_SNAPSHOT + """    from harness.deps import DepProbe

    if not DepProbe(ctx.app).ready:
        raise TierFailure(f"{ctx.app} is not ready after backup")
    for app in DepProbe(ctx.app):
        log.info("backup covers %s", app)
"""),
    ],
)


# ===========================================================================
# DG004: the static deploy budget of one run of run_recipe_ci.main
#        (<= 1 base + N_cold_deps; warm deps cost 0; promote_canonical is exempt)
# ===========================================================================

BASE_DEPLOY = """        with timings.span("deploy"):
            deployed = deploy_app(
                app,
                base,
                recipe=recipe,
                timeout=cfg.deploy_timeout,
            )
"""
TIER_LOG = '            log.info("TIER %s (%d/%d) on %s", stage, stages.index(stage) + 1, len(stages), app)\n'
WARM_BRANCH = """        if is_live_warm(dep):
            log.info("DEPS: %s is live-warm (%s); reused, not deployed", dep.label, canonical_app_name(dep.recipe))
            continue
"""
DEP_DEPLOY = "            deploy_app(app, version, recipe=dep.recipe)\n"
DEPS_CALL = """            try:
                deps_deployed = deps.deploy_declared_deps(cfg.run_id, declared)
            except deps.DepDeployError as exc:
                deps_deployed = exc.deployed
                raise
"""
WARMUP_DEPLOY = """        with timings.span("deploy"):
            # Warm-up: a first, unwaited deploy pulls the images onto the node,
            # so the real deploy below times convergence, not registry pulls.
            deploy_app(app, base, recipe=recipe, timeout=cfg.deploy_timeout, wait=False)
            deployed = deploy_app(
                app,
                base,
                recipe=recipe,
                timeout=cfg.deploy_timeout,
            )
"""

variant(
    "dg004-second-base-deploy", 1, ["DG004"],
    "DG004: a second deploy_app( in main on the same path (warm-up then real deploy); both sites are base sites, "
    "so no DG002",
    "To keep image pulls out of the deploy timing, the base deploy is preceded by an unwaited warm-up deploy of "
    "the same app and version.",
    [("sub", R, BASE_DEPLOY, WARMUP_DEPLOY)],
    ["main", "deploy_app"],
)

variant(
    "dg004-deploy-in-tier-loop", 1, ["DG004"],
    "DG004: a deploy inside main's loop over the selected tiers (a loop that is not over the cold deps is unbounded)",
    "For tier isolation, every tier after the first starts from an app reconverged at the version it is running, "
    "in case an earlier tier's hooks scaled services down or edited the env.",
    [
        ("sub", R, TIER_LOG, TIER_LOG + """            if stage != stages[0]:
                # Tier isolation: an earlier tier's hooks may have scaled
                # services down or edited the env file. Reconverge the app at
                # the version it is running before the next tier starts.
                running = lifecycle.deployed_version(app) or base
                deployed = deploy_app(app, running, recipe=recipe, timeout=cfg.deploy_timeout)
"""),
    ],
    ["main", "deploy_app"],
)

variant(
    "dg004-deploy-in-retry-loop", 1, ["DG004"],
    "DG004: the base deploy wrapped in a for attempt in range(...) retry loop in main (a failed attempt can "
    "already have been counted)",
    "Converge timeouts on a busy swarm are usually transient, so the base deploy is retried up to three times.",
    [
        ("sub", R, BASE_DEPLOY, """        with timings.span("deploy"):
            for attempt in range(1, 4):
                try:
                    deployed = deploy_app(app, base, recipe=recipe, timeout=cfg.deploy_timeout)
                    break
                except LifecycleError as exc:
                    # A converge timeout on a busy swarm is usually transient.
                    if attempt == 3:
                        raise
                    log.warning("BASE deploy attempt %d/3 failed (%s); retrying", attempt, exc)
                    time.sleep(30)
"""),
    ],
    ["main", "deploy_app"],
)

variant(
    "dg004-redeploy-while-not-running", 1, ["DG004"],
    "DG004: a while loop around a second base deploy in main (deploy again until every service runs)",
    "Some recipes report converged before swarm has scheduled every service, so the base is deployed again "
    "until all of them are running.",
    [
        ("sub", R, BASE_DEPLOY, BASE_DEPLOY + """            # Some recipes report converged before swarm has scheduled every
            # service: deploy again until all of them are running.
            while not lifecycle.is_deployed(app):
                log.warning("BASE %s not fully running yet; deploying again", app)
                deployed = deploy_app(app, base, recipe=recipe, timeout=cfg.deploy_timeout)
"""),
    ],
    ["main", "deploy_app"],
)

variant(
    "dg004-warm-deps-deployed", 1, ["DG004"],
    "DG004: the live-warm branch of deploy_declared_deps no longer skips the deploy (continue removed), so warm "
    "deps are deployed too: warm deps must cost 0",
    "For isolation, every run gets a private copy of each dep; the warm instance is kept only so its images "
    "stay cached on the node.",
    [
        ("sub", D, WARM_BRANCH, """        if is_live_warm(dep):
            # The warm instance keeps the images hot on the node, but tests get
            # a private copy so one run's data cannot leak into the next.
            log.info("DEPS: %s is live-warm (%s); images cached, deploying a private copy", dep.label, canonical_app_name(dep.recipe))
"""),
    ],
    ["deploy_declared_deps", "deploy_app"],
)

variant(
    "dg004-warm-dep-refreshed-in-warm-branch", 1, ["DG004"],
    "DG004: a deploy in the live-warm branch of deploy_declared_deps (not appended to the returned list), so a "
    "warm dep costs 1 (the site is in harness.deps, so no DG002)",
    "A warm instance that lags the declared version is rolled forward in place before it is reused.",
    [
        ("sub", D, WARM_BRANCH, """        if is_live_warm(dep):
            # Reusing a warm instance that lags the declared version makes the
            # run test against the wrong dep: roll it forward in place first.
            canonical = canonical_app_name(dep.recipe)
            if dep.version and lifecycle.deployed_version(canonical) != dep.version:
                log.info("DEPS: %s is live-warm but behind; refreshing %s", dep.label, canonical)
                deploy_app(canonical, dep.version, recipe=dep.recipe)
            log.info("DEPS: %s is live-warm (%s); reused, not deployed", dep.label, canonical)
            continue
"""),
    ],
    ["deploy_declared_deps", "deploy_app"],
)

variant(
    "dg004-dep-deployed-twice", 1, ["DG004"],
    "DG004: two deploys per iteration of the loop over the cold deps (2 x N_cold_deps > N_cold_deps)",
    "SSO deps only apply their OIDC env once the realm exists, so a dep with env is deployed a second time "
    "after the first boot.",
    [
        ("sub", D, DEP_DEPLOY, DEP_DEPLOY + """            # SSO deps (keycloak & co.) only apply OIDC_* env once the realm
            # exists: the first boot creates it, a second deploy applies the env.
            if dep.env:
                set_env(app, "CCCI_REALM_READY", "1")
                deploy_app(app, version, recipe=dep.recipe)
"""),
    ],
    ["deploy_declared_deps", "deploy_app"],
)

variant(
    "dg004-deps-retried-after-failure", 1, ["DG004"],
    "DG004: a call costs its callee's budget, and an except handler follows (part of) its try body: "
    "deploy_declared_deps called again in the handler of its own DepDeployError (1 + 2 x N_cold_deps)",
    "A dep that failed to converge usually comes up on a second try, so main tears down what exists and "
    "deploys the deps once more.",
    [
        ("sub", R, DEPS_CALL, """            try:
                deps_deployed = deps.deploy_declared_deps(cfg.run_id, declared)
            except deps.DepDeployError as exc:
                # A dep that failed to converge usually comes up on a second
                # try (registry hiccup): tear down what exists and retry once.
                log.warning("DEPS: %s; tearing down %s and retrying once", exc, exc.deployed)
                deps.teardown_deps(cfg.run_id, exc.deployed)
                try:
                    deps_deployed = deps.deploy_declared_deps(cfg.run_id, declared)
                except deps.DepDeployError as again:
                    deps_deployed = again.deployed
                    raise
"""),
    ],
    ["main", "deploy_declared_deps"],
)

# ===========================================================================
# DG005: the DG4.1 guard in main is missing or weakened
# ===========================================================================

GUARD = """    if deploy_count != expected_deploy_count:
        log.error(
            "DG4.1 FAIL: deploy-count %d != expected %d (1 base + %d cold deps): redundant or missing deploy",
            deploy_count, expected_deploy_count, deps_deployed_count,
        )
        overall = 1
"""
GUARD_BLOCK = """    # The guard itself. deploy_count == -1 (file missing) always fails here.
    # It deliberately does not tell "too many" from "too few": both mean the
    # budget claim no longer describes what the run actually did.
    sys.stdout.flush()
""" + GUARD
EXPECTED_LINE = "    expected_deploy_count = 1 + deps_deployed_count\n"
WARM_EXCLUDED = """    # Warm deps excluded: a live-warm dep was reused as it was, not deployed,
    # so it costs 0 and is NOT in deps_deployed (deploy_declared_deps returns
    # only the deps it deployed cold).
    deps_deployed_count = len(deps_deployed)
"""
READ_COUNT = """    try:
        deploy_count = read_deploy_count(count_path)
    except FileNotFoundError:
        log.error("DG4.1: deploy-count file %s is missing", count_path)
        deploy_count = -1
        overall = overall or EXIT_FAIL
"""
MAIN_TAIL = 'if __name__ == "__main__":\n    sys.exit(main())\n'
FINISHED_LOG = ('    log.info("cc-ci run %s finished: %s", cfg.run_id, "GREEN" if overall == EXIT_OK else f"RED ({overall})")\n'
                "    return overall\n")

variant(
    "dg005-guard-deleted", 1, ["DG005"],
    "DG005: the whole final guard block deleted; the count is still read and printed, and the setup-time check "
    "(which only logs) is still there and must not pass for the guard",
    "The RUN SUMMARY already prints deploy-count against the expected count, and a flaky count file turned green "
    "runs red, so the hard failure is dropped.",
    [("sub", R, GUARD_BLOCK, "    sys.stdout.flush()\n")],
    ["main"],
)

variant(
    "dg005-inequality-loosened", 1, ["DG005"],
    "DG005: the exact check != loosened to > (a missing deploy no longer fails the run)",
    "A missing base deploy already fails the run on its own, so the guard is narrowed to surplus deploys.",
    [
        ("sub", R, GUARD, """    if deploy_count > expected_deploy_count:
        log.error(
            "DG4.1 FAIL: deploy-count %d > expected %d (1 base + %d cold deps): redundant deploy",
            deploy_count, expected_deploy_count, deps_deployed_count,
        )
        overall = 1
"""),
    ],
    ["main"],
)

variant(
    "dg005-only-missing-deploys", 1, ["DG005"],
    "DG005: the exact check != narrowed to < (a surplus deploy no longer fails the run)",
    "Surplus counts were blamed on abra retries being counted twice, so the guard only fails a run when a "
    "counted deploy is missing.",
    [
        ("sub", R, GUARD, """    if deploy_count < expected_deploy_count:
        log.error(
            "DG4.1 FAIL: deploy-count %d < expected %d (1 base + %d cold deps): missing deploy",
            deploy_count, expected_deploy_count, deps_deployed_count,
        )
        overall = 1
"""),
    ],
    ["main"],
)

variant(
    "dg005-tolerance-of-one", 1, ["DG005"],
    "DG005: the exact check replaced by a tolerance (abs(deploy_count - expected_deploy_count) > 1)",
    "To stop one flaky retried deploy from turning a run red, the guard allows the count to be off by one either way.",
    [
        ("sub", R, GUARD, """    # Allow one flaky retried deploy either way; more than that is a real problem.
    if abs(deploy_count - expected_deploy_count) > 1:
        log.error(
            "DG4.1 FAIL: deploy-count %d, expected %d (1 base + %d cold deps) +-1: redundant or missing deploy",
            deploy_count, expected_deploy_count, deps_deployed_count,
        )
        overall = 1
"""),
    ],
    ["main"],
)

variant(
    "dg005-constant-changed", 1, ["DG005"],
    "DG005: the expected count's constant changed (2 + deps_deployed_count instead of 1 + deps_deployed_count)",
    "Someone aligns the guard with plan B1's nominal budget 1 base + 1 upgrade + N, counting the in-place "
    "upgrade as a deploy.",
    [("sub", R, EXPECTED_LINE, "    # Plan B1: 1 base + 1 upgrade + N cold deps.\n    expected_deploy_count = 2 + deps_deployed_count\n")],
    ["main"],
)

variant(
    "dg005-expected-counts-declared-deps", 1, ["DG005"],
    "DG005: the dep share taken from the declared deps (len(declared)) instead of the cold deps actually "
    "deployed (len(deps_deployed)), so warm deps are budgeted a deploy",
    "A cleanup argues whether a dep is warm is a property of the CI host, not of the recipe, and budgets one "
    "deploy per declared dep.",
    [
        ("sub", R, WARM_EXCLUDED, """    # One deploy per declared dep: whether a dep is warm is a property of the
    # CI host, not of the recipe, and the expected count should not depend on it.
    deps_deployed_count = len(declared)
"""),
    ],
    ["main"],
)

variant(
    "dg005-failure-only-logs", 1, ["DG005"],
    "DG005: the failure branch keeps the error log but no longer sets overall = 1",
    "While flaky count files are investigated, a mismatch is reported in the log and the RUN SUMMARY but no "
    "longer fails the run.",
    [
        ("sub", R, GUARD, """    if deploy_count != expected_deploy_count:
        # Reported, not fatal, while the flaky count file is investigated.
        log.error(
            "DG4.1 FAIL: deploy-count %d != expected %d (1 base + %d cold deps): redundant or missing deploy",
            deploy_count, expected_deploy_count, deps_deployed_count,
        )
"""),
    ],
    ["main"],
)

variant(
    "dg005-failure-flag-never-returned", 1, ["DG005"],
    "DG005: the failure flag is set on a variable (guard_status) that feeds the commit status but never reaches "
    "return overall",
    "A refactor gives the guard its own status for the commit status but forgets to fold it into overall.",
    [
        ("sub", R, GUARD, """    guard_status = EXIT_OK
    if deploy_count != expected_deploy_count:
        log.error(
            "DG4.1 FAIL: deploy-count %d != expected %d (1 base + %d cold deps): redundant or missing deploy",
            deploy_count, expected_deploy_count, deps_deployed_count,
        )
        guard_status = EXIT_FAIL
"""),
        ("sub", R, '        "success" if overall == EXIT_OK else "failure",\n',
         '        "success" if overall == EXIT_OK and guard_status == EXIT_OK else "failure",\n'),
    ],
    ["main"],
)

variant(
    "dg005-advisory-mode-resets-overall", 1, ["DG005"],
    "DG005: overall reset to EXIT_OK after the guard on one path (CCCI_ADVISORY), so a mismatch can exit 0",
    "Recipes being onboarded run in an advisory mode that reports failures but never blocks a merge.",
    [
        ("sub", R, FINISHED_LOG, """    if env_flag("CCCI_ADVISORY"):
        # Advisory runs (recipes being onboarded) report but never block.
        if overall != EXIT_OK:
            log.warning("advisory run: exit status %d reported as 0", overall)
        overall = EXIT_OK
""" + FINISHED_LOG),
    ],
    ["main"],
)

variant(
    "dg005-exit-zero", 1, ["DG005"],
    "DG005: the script ends with main(); sys.exit(0), so the guard's status no longer reaches the process exit",
    "Drone should always run the artifact upload step, and the verdict is in results.json and the commit status anyway.",
    [
        ("sub", R, MAIN_TAIL, """if __name__ == "__main__":
    main()
    # Drone must always run the artifact upload step; the verdict is in
    # results.json and the commit status.
    sys.exit(0)
"""),
    ],
)

variant(
    "dg005-exit-status-dropped", 1, ["DG005"],
    "DG005: main() called in a try/finally without sys.exit(main()), so the process exits 0 whatever main returns",
    "Log handlers are flushed at exit with a try/finally, and the return value of main() is lost in the rewrite.",
    [
        ("sub", R, MAIN_TAIL, """if __name__ == "__main__":
    try:
        main()
    finally:
        logging.shutdown()
"""),
    ],
)

variant(
    "dg005-count-from-constant", 1, ["DG005"],
    "DG005: deploy_count computed from what main meant to deploy (1 + len(deps_deployed)) instead of read from "
    "the counter file (CCCI_DEPLOY_COUNT_FILE via read_deploy_count)",
    "The count file went missing on hosts whose results dir is on tmpfs, so the count is computed from what "
    "the run deployed.",
    [
        ("sub", R, READ_COUNT, """    # The count file went missing on hosts whose results dir is on tmpfs and
    # turned green runs red; what this run deployed is known here anyway.
    deploy_count = 1 + len(deps_deployed)
"""),
    ],
    ["main"],
)

variant(
    "dg004-dg005-warmup-deploy-and-expected-bumped", 1, ["DG004", "DG005"],
    "DG004 and DG005 together: a warm-up deploy added to main and the expected count bumped to 2 + "
    "deps_deployed_count to keep the runtime guard green",
    "The warm-up deploy turned every run red, so its author raised the expected count to match.",
    [
        ("sub", R, BASE_DEPLOY, WARMUP_DEPLOY),
        ("sub", R, EXPECTED_LINE, "    # 1 warm-up + 1 base + the cold deps.\n    expected_deploy_count = 2 + deps_deployed_count\n"),
    ],
    ["main", "deploy_app"],
)

# ===========================================================================
# DG006: WC5 promotion must detach the counter on every path before deploying
# ===========================================================================

WC5_TRY = """    try:
        deploy_app(canonical, version, recipe=recipe, timeout=timeout)
    except LifecycleError as exc:
        log.warning("WC5: promotion of %s failed (warm cache stays old): %s", canonical, exc)
        return False
"""

variant(
    "dg006-pop-after-deploy", 1, ["DG006", "DG004"],
    "DG006: the pop moved after the deploy (into a finally: clause)",
    "A tidy-up moves 'detach the counter' into a finally: so it also runs on failure, but now it runs after the deploy.",
    [
        ("sub", R, POP_BLOCK + WC5_TRY, WC5_TRY.replace("        return False\n", """        return False
    finally:
        # Outside the per-run budget: detach the deploy counter.
        os.environ.pop("CCCI_DEPLOY_COUNT_FILE", None)
""")),
    ],
    ["promote_canonical"],
)

variant(
    "dg006-pop-in-one-branch", 1, ["DG006", "DG004"],
    "DG006: the pop happens on one branch of an if only; the other path deploys with the counter attached",
    "Someone reasons that only Drone runs have a live counter and guards the pop with a DRONE check.",
    [
        ("sub", R, POP_BLOCK, """    if os.environ.get("DRONE") == "true":
        # In CI the counter is live: detach it first (local runs have none).
        os.environ.pop("CCCI_DEPLOY_COUNT_FILE", None)
"""),
    ],
    ["promote_canonical"],
)

variant(
    "dg006-pop-removed", 1, ["DG006", "DG004"],
    "DG006: the pop removed entirely",
    "Promotion runs after the guard has read the count, so a cleanup deletes the pop as 'redundant'.",
    [
        ("sub", R, POP_BLOCK, "    # (promotion runs after the DG4.1 guard has already read the count)\n"),
    ],
    ["promote_canonical"],
)

variant(
    "dg006-pop-mistyped-key", 1, ["DG006", "DG004"],
    "DG006: the pop of a different (mistyped) variable name",
    "A rename of the variable in a comment-driven edit leaves the pop with a truncated key.",
    [
        ("sub", R, '    os.environ.pop("CCCI_DEPLOY_COUNT_FILE", None)\n', '    os.environ.pop("CCCI_DEPLOY_COUNT", None)\n'),
    ],
    ["promote_canonical"],
)

variant(
    "dg006-env-restored-before-deploy", 1, ["DG006", "DG004"],
    "DG006: the variable is popped and then set back (os.environ[...] = saved) before the deploy",
    "results.json is rewritten after promotion and needs the path, so someone restores the variable, "
    "but does it before the deploy.",
    [
        ("sub", R, POP_BLOCK, """    # Outside the per-run budget: detach the deploy counter first.
    saved = os.environ.pop("CCCI_DEPLOY_COUNT_FILE", None)
    if saved is not None:
        # results.json is rewritten after promotion and still needs the path.
        os.environ["CCCI_DEPLOY_COUNT_FILE"] = saved
"""),
    ],
    ["promote_canonical"],
)

# ===========================================================================
# DG007: unresolvable calls inside the reach of a forbidden source
# ===========================================================================

variant(
    "dg007-getattr-variable-in-perform-restore", 1, ["DG007"],
    "DG007: getattr(lifecycle, action) with a non-literal name inside perform_restore",
    "Recipes may pick a service-scoped restore helper by name in ccci.toml, looked up with getattr.",
    [
        ("sub", G, RESTORE_LINE, """    # Recipes can pick a service-scoped restore helper in ccci.toml
    # ([backup] restore = "restore_app" by default).
    action = ctx.notes.get("restore_action", "restore_app")
    getattr(lifecycle, action)(ctx.app, snapshot=snapshot, service=ctx.data_service)
"""),
    ],
    ["perform_restore", "getattr"],
)

variant(
    "dg007-import-module-in-backup-app", 1, ["DG007"],
    "DG007: importlib.import_module(<f-string>) inside backup_app",
    "Recipes with a database get a pre-backup dump hook loaded as a plugin module chosen by an env var.",
    [
        ("sub", L, "import functools\nimport json\n", "import functools\nimport importlib\nimport json\n"),
        ("sub", L, "    before = set(list_snapshots(app))\n", """    plugin = os.environ.get("CCCI_BACKUP_PLUGIN")
    if plugin:
        # e.g. "pgdump": recipes with a database dump hook run it before the snapshot.
        importlib.import_module(f"harness.backup_plugins.{plugin}").before_backup(app)
    before = set(list_snapshots(app))
"""),
    ],
    ["backup_app", "import_module"],
)

variant(
    "dg007-dunder-import-in-restore-app", 1, ["DG007"],
    "DG007: __import__(name) plus getattr(module, func) with non-literal names inside restore_app",
    "An optional per-recipe restore verifier is configured as 'module:function' and loaded dynamically.",
    [
        ("sub", L, RESTORE_TAIL, RESTORE_TAIL + """    verifier = os.environ.get("CCCI_RESTORE_VERIFIER")  # "module:function"
    if verifier:
        module_name, _, func = verifier.partition(":")
        getattr(__import__(module_name, fromlist=[func]), func)(app)
"""),
    ],
    ["restore_app", "__import__"],
)

# ===========================================================================
# DG100: a guarded file that does not parse
# ===========================================================================

variant(
    "dg100-syntax-error-generic", 1, ["DG100"],
    "DG100: unparsable guarded file (half-finished edit in harness/generic.py)",
    "A developer pushes mid-edit while adding a timeout argument to the backup call.",
    [
        ("sub", G, BACKUP_LINES, """    snapshot = lifecycle.backup_app(ctx.app, service=ctx.data_service, timeout=
    assert_snapshot_exists(ctx, snapshot)
"""),
    ],
    ["generic.py"],
)

# ===========================================================================
# clean refactors (exit 0, no findings)
# ===========================================================================

variant(
    "clean-base-deploy-import-alias", 0, [],
    "alias resolution on an accounted site: from harness.lifecycle import deploy_app as _deploy, used in main and promote_canonical",
    "A style change renames the imported deploy primitive to a private alias.",
    [
        ("sub", R, "from harness.lifecycle import DeployedApp, LifecycleError, deploy_app\n",
         "from harness.lifecycle import DeployedApp, LifecycleError\nfrom harness.lifecycle import deploy_app as _deploy\n"),
        ("sub", R, "        deploy_app(canonical, version, recipe=recipe, timeout=timeout)\n",
         "        _deploy(canonical, version, recipe=recipe, timeout=timeout)\n"),
        ("sub", R, "            deployed = deploy_app(\n", "            deployed = _deploy(\n"),
        ("sub", "runner/tests/test_guard.py", 'mock.patch.object(run_recipe_ci, "deploy_app", side_effect=fake_deploy)',
         'mock.patch.object(run_recipe_ci, "_deploy", side_effect=fake_deploy)'),
        ("sub", "runner/tests/test_guard.py", 'mock.patch.object(run_recipe_ci, "deploy_app") as deploy',
         'mock.patch.object(run_recipe_ci, "_deploy") as deploy'),
    ],
)

variant(
    "clean-deps-helper-deploy-one", 0, [],
    "policy scope: any function of harness.deps is accounted (the call moves into a new helper _deploy_one)",
    "The deps loop is refactored so that a single cold dep is created and deployed by a helper.",
    [
        ("sub", D, "# The only deploy_app( call site outside run_recipe_ci.py: one per cold dep.\n", '''def _deploy_one(run_id: str, dep: DeclaredDep) -> str:
    """Create, configure and deploy one cold dep; returns its app name."""
    app = dep_app_name(run_id, dep.recipe)
    log.info("DEPS: %s is cold; deploying %s", dep.label, app)
    app_new(dep.recipe, app, version=dep.version)
    for key, value in dep.env:
        set_env(app, key, value)
    secrets_generate(app)
    version = dep.version or lifecycle.deployed_version(canonical_app_name(dep.recipe)) or "latest"
    deploy_app(app, version, recipe=dep.recipe)
    return app


# The only deploy_app( call sites outside run_recipe_ci.py: one per cold dep.
'''),
        ("sub", D, """        app = dep_app_name(run_id, dep.recipe)
        log.info("DEPS: %s is cold; deploying %s", dep.label, app)
        try:
            app_new(dep.recipe, app, version=dep.version)
            for key, value in dep.env:
                set_env(app, key, value)
            secrets_generate(app)
            version = dep.version or lifecycle.deployed_version(canonical_app_name(dep.recipe)) or "latest"
            deploy_app(app, version, recipe=dep.recipe)
        except LifecycleError as exc:
""", """        try:
            app = _deploy_one(run_id, dep)
        except LifecycleError as exc:
"""),
    ],
)

variant(
    "clean-promote-pop-via-helper", 0, [],
    "DG006 interprocedural: the pop happens in a helper (_detach_deploy_counter) called first in promote_canonical",
    "The detach step is factored into a named helper so main() can reuse it.",
    [
        ("sub", R, "def promote_canonical(", '''def _detach_deploy_counter() -> str | None:
    """Stop counting deploys in this process (WC5 is outside the budget)."""
    return os.environ.pop("CCCI_DEPLOY_COUNT_FILE", None)


def promote_canonical('''),
        ("sub", R, '''    current keeps dependent recipes' runs at 0 deploys for this dep.
    """
''', '''    current keeps dependent recipes' runs at 0 deploys for this dep.
    """
    _detach_deploy_counter()
'''),
        ("sub", R, POP_BLOCK, ""),
    ],
)

variant(
    "clean-pop-module-constant", 0, [],
    "DG006 constant folding: os.environ.pop(COUNT_ENV, None) with a module constant COUNT_ENV = \"CCCI_DEPLOY_COUNT_FILE\"",
    "The variable name is spelled once as a module constant instead of three string literals.",
    [
        ("sub", R, 'HOOKS_FILE = "ccci_hooks.py"\n', 'HOOKS_FILE = "ccci_hooks.py"\nCOUNT_ENV = "CCCI_DEPLOY_COUNT_FILE"\n'),
        ("sub", R, '    os.environ.pop("CCCI_DEPLOY_COUNT_FILE", None)\n', "    os.environ.pop(COUNT_ENV, None)\n"),
        ("sub", R, '    os.environ["CCCI_DEPLOY_COUNT_FILE"] = str(count_file)\n', "    os.environ[COUNT_ENV] = str(count_file)\n"),
        ("sub", R, '    count_path = Path(os.environ.get("CCCI_DEPLOY_COUNT_FILE", str(count_file)))\n',
         "    count_path = Path(os.environ.get(COUNT_ENV, str(count_file)))\n"),
    ],
)

variant(
    "clean-pop-imported-constant", 0, [],
    "DG006 constant resolution across modules: os.environ.pop(COUNT_ENV, None) with COUNT_ENV imported from harness.lifecycle",
    "The orchestrator reuses lifecycle's own constant so the name cannot drift between the writer and the detacher.",
    [
        ("sub", R, "from harness.lifecycle import DeployedApp, LifecycleError, deploy_app\n",
         "from harness.lifecycle import COUNT_ENV, DeployedApp, LifecycleError, deploy_app\n"),
        ("sub", R, '    os.environ.pop("CCCI_DEPLOY_COUNT_FILE", None)\n', "    os.environ.pop(COUNT_ENV, None)\n"),
    ],
)

variant(
    "clean-del-guarded-by-in", 0, [],
    "DG006 path analysis: del os.environ[...] guarded by an 'in os.environ' test (absent on every path)",
    "A reviewer prefers an explicit del over pop(..., None), guarded so a missing variable does not raise KeyError.",
    [
        ("sub", R, POP_BLOCK, """    # Outside the per-run budget: detach the deploy counter first.
    if "CCCI_DEPLOY_COUNT_FILE" in os.environ:
        del os.environ["CCCI_DEPLOY_COUNT_FILE"]
"""),
    ],
)

variant(
    "clean-backup-dict-dispatch-literal-getattr", 0, [],
    "precision: dict dispatch whose values are all non-deploy handlers, and getattr(obj, \"read\") with a literal, in perform_backup",
    "The backup tier picks a whole-app or per-service backup from a table and re-reads the marker afterwards.",
    [
        ("sub", G, TIERS_HDR, '''def _backup_whole_app(ctx: TierContext) -> str:
    return lifecycle.backup_app(ctx.app)


def _backup_data_service(ctx: TierContext) -> str:
    return lifecycle.backup_app(ctx.app, service=ctx.data_service)


_BACKUP_MODES: dict[str, Callable[[TierContext], str]] = {
    "app": _backup_whole_app,
    "service": _backup_data_service,
}


''' + TIERS_HDR),
        ("sub", G, "    token = probe.seed() if probe else None\n" + BACKUP_LINES, """    token = probe.seed() if probe else None
    mode = "service" if ctx.data_service else "app"
    snapshot = _BACKUP_MODES[mode](ctx)
    assert_snapshot_exists(ctx, snapshot)
    if probe is not None and getattr(probe, "read")() != token:
        raise TierFailure("marker changed while the snapshot was taken")
"""),
    ],
)

variant(
    "clean-docstrings-mention-deploy-app", 0, [],
    "precision: deploy_app( and _record_deploy( in docstrings, comments, commented-out code and log strings only",
    "A reviewer documents, in the tiers themselves, why they must never redeploy.",
    [
        ("sub", G, '    """prev -> PR head, in place on the shared app (adds no deploy)."""\n', '''    """prev -> PR head, in place on the shared app (adds no deploy).

    Do NOT replace this with ``lifecycle.deploy_app(ctx.app, ctx.target_version)``:
    deploy_app( is counted by _record_deploy( and would make the upgrade cost a
    second deploy, turning every run with an upgrade tier red under DG4.1.
    """
'''),
        ("sub", G, "    token = probe.seed() if probe else None\n",
         "    # No deploy_app(...) here: backupbot works on the running app.\n    token = probe.seed() if probe else None\n"),
        ("sub", G, RESTORE_LINE, RESTORE_LINE + """    # lifecycle.deploy_app(ctx.app, ctx.target_version)  # NO: restore is not a redeploy
    log.debug("restore: not calling deploy_app(%s) or _record_deploy(...)", ctx.app)
"""),
    ],
)

variant(
    "clean-class-based-backup-restore", 0, [],
    "precision: class-based refactor whose methods (named backup/restore/seed/...) call each other via self, no deploy",
    "The backup and restore tiers are refactored into one BackupRestoreCheck class with a round_trip() method.",
    [
        ("sub", G, '''@timed_tier("backup")
def perform_backup(ctx: TierContext) -> str:
    probe = _probe_for(ctx)
    token = probe.seed() if probe else None
    snapshot = lifecycle.backup_app(ctx.app, service=ctx.data_service)
    assert_snapshot_exists(ctx, snapshot)
    ctx.snapshot = snapshot
''', '''class BackupRestoreCheck:
    """P4 backup/restore round trip on the shared app, step by step."""

    def __init__(self, ctx: TierContext) -> None:
        self.ctx = ctx
        self.probe = _probe_for(ctx)

    def seed(self) -> str | None:
        return self.probe.seed() if self.probe else None

    def backup(self) -> str:
        return lifecycle.backup_app(self.ctx.app, service=self.ctx.data_service)

    def mutate(self) -> None:
        if self.probe:
            self.probe.mutate()

    def restore(self, snapshot: str) -> None:
        lifecycle.restore_app(self.ctx.app, snapshot=snapshot, service=self.ctx.data_service)
        assert_healthy(self.ctx)

    def verify(self, expected: str) -> None:
        if self.probe is None:
            raise TierFailure("no [backup] service/path in ccci.toml: restore cannot be verified")
        assert_data_intact(self.probe, expected)

    def round_trip(self) -> str:
        if self.probe is None:
            raise TierFailure("no [backup] service/path in ccci.toml: restore cannot be verified")
        seeded = self.seed() or ""
        snapshot = self.backup()
        self.mutate()
        self.restore(snapshot)
        self.verify(seeded)
        return snapshot


@timed_tier("backup")
def perform_backup(ctx: TierContext) -> str:
    check = BackupRestoreCheck(ctx)
    token = check.seed()
    snapshot = check.backup()
    assert_snapshot_exists(ctx, snapshot)
    ctx.snapshot = snapshot
'''),
        ("sub", G, '''    """P4: seed -> backup -> mutate -> restore -> assert data integrity."""
    probe = _probe_for(ctx)
    if probe is None:
        raise TierFailure("no [backup] service/path in ccci.toml: restore cannot be verified")
    seeded = probe.seed()
    snapshot = lifecycle.backup_app(ctx.app, service=ctx.data_service)
    probe.mutate()
    lifecycle.restore_app(ctx.app, snapshot=snapshot, service=ctx.data_service)
    assert_healthy(ctx)
    assert_data_intact(probe, seeded)
''', '''    """P4: seed -> backup -> mutate -> restore -> assert data integrity."""
    snapshot = BackupRestoreCheck(ctx).round_trip()
'''),
    ],
)

variant(
    "clean-logging-decorator", 0, [],
    "decorators: one generic decorator (util.logged) on BOTH deploy_app and perform_backup; the wrapper's fn(...) "
    "is neither a new deploy_app call site (DG002) nor a path from perform_backup to deploy_app (DG003)",
    "Debug logging of entry/exit and duration is added with one decorator on the deploy primitive and on the backup tier.",
    [
        ("sub", U, "import logging\nimport os\n", "import functools\nimport logging\nimport os\n"),
        ("sub", U, "import sys\n", "import sys\nimport time\nfrom typing import Callable, TypeVar\n"),
        ("sub", U, 'CI_DOMAIN = os.environ.get("CCCI_DOMAIN", "ci.coopcloud.tech")\n',
         'T = TypeVar("T")\n\nCI_DOMAIN = os.environ.get("CCCI_DOMAIN", "ci.coopcloud.tech")\n'),
        ("sub", U, "def configure_logging(verbose: bool = False) -> None:", '''def logged(fn: Callable[..., T]) -> Callable[..., T]:
    """Debug-log entry, exit and duration of ``fn``."""

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> T:
        log.debug("-> %s", fn.__qualname__)
        t0 = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            log.debug("<- %s (%.1fs)", fn.__qualname__, time.monotonic() - t0)

    return wrapper


def configure_logging(verbose: bool = False) -> None:'''),
        ("sub", L, "from .abra import Abra, AbraError\n", "from .abra import Abra, AbraError\nfrom .util import logged\n"),
        ("sub", L, "def deploy_app(\n", "@logged\ndef deploy_app(\n"),
        ("sub", G, "from harness.util import short_id\n", "from harness.util import logged, short_id\n"),
        ("sub", G, '@timed_tier("backup")\ndef perform_backup(', '@timed_tier("backup")\n@logged\ndef perform_backup('),
    ],
)

variant(
    "clean-new-test-calls-deploy-app", 0, [],
    "scope: test code (runner/tests) may call deploy_app and _record_deploy with mocks",
    "A new budget test drives deploy_app, deps and the counter against a fake abra.",
    [
        ("new", "runner/tests/test_budget.py", '''"""Budget arithmetic against a fake abra: 1 base + N cold deps, upgrade free."""

from __future__ import annotations

from pathlib import Path

from conftest import counted, make_app

from harness import deps, lifecycle
from harness.lifecycle import deploy_app


def test_base_plus_one_cold_dep_is_two(fake_abra, abra_home, count_file, monkeypatch) -> None:
    monkeypatch.setattr(deps, "app_new", lambda recipe, app, version=None: make_app(abra_home, app))
    monkeypatch.setattr(deps, "is_live_warm", lambda dep: False)
    cold = deps.deploy_declared_deps("b1", [deps.DeclaredDep("keycloak", "10.1.0+25.0.6")])
    deploy_app(make_app(abra_home, "docs-b1.ci.example"), "2.0.0+3.1.0")
    assert counted(count_file) == 1 + len(cold) == 2


def test_upgrade_adds_nothing(fake_abra, abra_home, count_file, monkeypatch) -> None:
    app = make_app(abra_home, "ghost-b2.ci.example")
    deploy_app(app, "1.1.0+5.0.0")
    monkeypatch.setattr(lifecycle, "checkout_ref", lambda _d, _r: "abcdef12")
    lifecycle.chaos_redeploy(app, Path("/tmp/ghost"), "refs/pull/1/head")
    assert counted(count_file) == 1


def test_record_deploy_appends_one_line(count_file) -> None:
    lifecycle._record_deploy("x.ci.example", "1.0.0")
    assert counted(count_file) == 1
'''),
    ],
)

variant(
    "clean-rename-util-module", 0, [],
    "module resolution after a tree-wide rename (harness/util.py -> harness/common.py, every import updated)",
    "'util' is renamed to 'common' across the tree to match the other cc-ci repos.",
    [
        ("mv", U, "runner/harness/common.py"),
        ("sub", R, "from harness.util import canonical_app_name, configure_logging, env_flag, env_int, env_list, env_str\n"
                   "from harness.util import is_release, run_app_name, version_key\n",
         "from harness.common import canonical_app_name, configure_logging, env_flag, env_int, env_list, env_str\n"
         "from harness.common import is_release, run_app_name, version_key\n"),
        ("sub", D, "from harness.util import canonical_app_name, run_app_name\n", "from harness.common import canonical_app_name, run_app_name\n"),
        ("sub", G, "from harness.util import short_id\n", "from harness.common import short_id\n"),
        ("sub", "runner/harness/__init__.py", "* :mod:`harness.util`      -- env parsing, naming, version ordering\n",
         "* :mod:`harness.common`    -- env parsing, naming, version ordering\n"),
        ("sub", "README.md", "`harness.generic`, `harness.results` and `harness.util`.",
         "`harness.generic`, `harness.results` and `harness.common`."),
    ],
)

variant(
    "clean-chaos-redeploy-with-retry", 0, [],
    "precision: the retry helper used by chaos_redeploy with a non-deploy callable (client.deploy), unlike dg003-callable-argument-with-retry",
    "Registry hiccups during the chaos deploy are transient, so the abra call is wrapped in the existing retry helper.",
    [
        ("sub", L, CHAOS_TRY, """    client = get_abra()
    # Registry hiccups during the chaos deploy are transient: retry, in place.
    _with_retry(client.deploy, app, chaos=True, force=True, timeout=timeout, attempts=2)
"""),
    ],
)

variant(
    "clean-dynamic-import-in-custom-tier", 0, [],
    "DG007 scope: importlib.import_module + getattr(non-literal) in perform_custom, which no forbidden source reaches "
    "(all tiers share the timed_tier wrapper)",
    "The custom tier lets a recipe name extra Python checks as 'module:function' in its notes.",
    [
        ("sub", G, "import functools\nimport logging\n", "import functools\nimport importlib\nimport logging\n"),
        ("sub", G, """def perform_custom(ctx: TierContext) -> str:
    assert_healthy(ctx)
""", """def perform_custom(ctx: TierContext) -> str:
    assert_healthy(ctx)
    checks = ctx.notes.get("custom_checks")  # e.g. "ccci_checks.smtp:check_mail"
    if checks:
        module_name, _, func = checks.partition(":")
        getattr(importlib.import_module(module_name), func)(ctx)
"""),
    ],
)


# ===========================================================================
# clean refactors of the budget (DG004) and the guard (DG005)
# ===========================================================================

variant(
    "clean-base-deploy-split-branches", 0, [],
    "DG004 if/else takes the max: the base deploy split over two mutually exclusive branches in main, still one "
    "deploy per run",
    "For readability the base deploy names the version it deploys: the previous release on upgrade runs, "
    "else the target.",
    [
        ("sub", R, BASE_DEPLOY, """        with timings.span("deploy"):
            if want_upgrade and prev is not None:
                # Upgrade run: start from the previous release; chaos_redeploy
                # later moves this same app to the PR head in place.
                deployed = deploy_app(app, prev, recipe=recipe, timeout=cfg.deploy_timeout)
            else:
                deployed = deploy_app(app, target, recipe=recipe, timeout=cfg.deploy_timeout)
"""),
    ],
)

variant(
    "clean-guard-written-as-equality", 0, [],
    "DG005 exact check written as == with the failure (overall = 1) in the else branch",
    "The guard is rewritten to log a positive line on success as well.",
    [
        ("sub", R, GUARD, """    if deploy_count == expected_deploy_count:
        log.info("DG4.1 ok: deploy-count %d == expected %d", deploy_count, expected_deploy_count)
    else:
        log.error(
            "DG4.1 FAIL: deploy-count %d != expected %d (1 base + %d cold deps): redundant or missing deploy",
            deploy_count, expected_deploy_count, deps_deployed_count,
        )
        overall = 1
"""),
    ],
)

variant(
    "clean-deps-loop-as-comprehension", 0, [],
    "DG004 loop over the cold deps written as a list comprehension over a filtered list "
    "(cold = [d for d in declared if not is_live_warm(d)]) calling a helper that deploys once; the returned list "
    "is the cold list",
    "deploy_declared_deps is rewritten in a functional style: filter the cold deps, then deploy each with a helper.",
    [
        ("sub", D, '''# The only deploy_app( call site outside run_recipe_ci.py: one per cold dep.
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
''', '''# The only deploy_app( call site outside run_recipe_ci.py: one per cold dep.
def _deploy_cold(run_id: str, dep: DeclaredDep, cold: list[DeclaredDep]) -> str:
    """Create, configure and deploy one cold dep (one counted deploy); return its recipe."""
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
        # Cold deps come up in order: this one (maybe half-created) and every
        # one before it go to DEPS teardown, then the orchestrator fails the run.
        upto = [d.recipe for d in cold[: cold.index(dep) + 1]]
        raise DepDeployError(dep.recipe, upto, exc) from exc
    log.info("DEPS: %s up", app)
    return dep.recipe


def deploy_declared_deps(run_id: str, declared: list[DeclaredDep]) -> list[str]:
    """Bring up every declared dep; return the recipes deployed COLD.

    Live-warm deps are reused (no deploy, cost 0); every other dep gets a fresh
    per-run app and exactly one counted deploy. Feeds expected_deploy_count.
    """
    cold = [dep for dep in declared if not is_live_warm(dep)]
    reused = [dep.recipe for dep in declared if dep not in cold]
    for recipe in reused:
        log.info("DEPS: %s is live-warm (%s); reused, not deployed", recipe, canonical_app_name(recipe))
    deployed = [_deploy_cold(run_id, dep, cold) for dep in cold]
'''),
    ],
)

variant(
    "clean-extra-logging", 0, [],
    "precision: extra log lines and prints around the base deploy, the dep deploys and the guard (an else branch "
    "that only logs), and log strings that mention deploy_app(",
    "Debugging a slow run, a developer adds budget bookkeeping to the logs and the RUN SUMMARY.",
    [
        ("sub", R, BASE_DEPLOY, """        log.info("BASE deploy: 1 of this run's budget of %d (1 + %d cold deps)", 1 + len(deps_deployed), len(deps_deployed))
""" + BASE_DEPLOY + """        print(f"deployed base {app} @ {base}", flush=True)
"""),
        ("sub", R, '    print(f"  deps deployed: {deps_deployed}")\n', '''    print(f"  deps deployed: {deps_deployed}")
    print(f"  budget: 1 base + {deps_deployed_count} cold dep(s); warm reused: "
          f"{[d.recipe for d in declared if d.recipe not in deps_deployed]}")
'''),
        ("sub", R, GUARD, GUARD + """        print(f"  DG4.1: FAIL ({deploy_count} != {expected_deploy_count})", flush=True)
    else:
        log.info("DG4.1 ok: deploy-count %d == expected %d", deploy_count, expected_deploy_count)
        print("  DG4.1: ok", flush=True)
"""),
        ("sub", D, DEP_DEPLOY, """            log.debug("DEPS: deploy_app(%s, %s) for cold dep #%d", app, version, len(deployed) + 1)
""" + DEP_DEPLOY),
    ],
)

variant(
    "clean-guard-in-helper", 0, [],
    "DG005 interprocedural: the guard moved into check_deploy_budget(deploy_count, expected) -> int, whose result "
    "is folded into overall (overall = check_deploy_budget(...) or overall)",
    "The guard is extracted into a helper so it can be unit-tested on its own.",
    [
        ("sub", R, '''def read_deploy_count(path: Path) -> int:
    """Number of counted deploys: one non-empty line per ``_record_deploy(``."""
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())
''', '''def read_deploy_count(path: Path) -> int:
    """Number of counted deploys: one non-empty line per ``_record_deploy(``."""
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def check_deploy_budget(deploy_count: int, expected: int) -> int:
    """DG4.1: EXIT_FAIL unless exactly ``expected`` deploys were counted.

    deploy_count == -1 (file missing) always fails. It deliberately does not
    tell "too many" from "too few": both mean the budget claim no longer
    describes what the run actually did.
    """
    if deploy_count != expected:
        log.error("DG4.1 FAIL: deploy-count %d != expected %d: redundant or missing deploy", deploy_count, expected)
        return EXIT_FAIL
    log.info("DG4.1 ok: deploy-count %d", deploy_count)
    return EXIT_OK
'''),
        ("sub", R, GUARD_BLOCK, """    # The guard itself (see check_deploy_budget).
    sys.stdout.flush()
    overall = check_deploy_budget(deploy_count, expected_deploy_count) or overall
"""),
    ],
)

variant(
    "clean-expected-count-helper", 0, [],
    "DG005 interprocedural: expected_deploy_count = deploy_budget(deps_deployed), a helper that returns "
    "1 + len(deps_deployed), also used by the setup check and the partial results",
    "The budget formula, written out in three places in main, is given one name.",
    [
        ("sub", R, MAIN_HDR, '''def deploy_budget(deps_deployed: list[str]) -> int:
    """Phase-2b budget: 1 base deploy + 1 per dep deployed cold (warm deps cost 0)."""
    return 1 + len(deps_deployed)


''' + MAIN_HDR),
        ("sub", R, """        if setup_count != 1 + len(deps_deployed):
            log.error("DG4.1 (setup): %d deploys so far, expected %d", setup_count, 1 + len(deps_deployed))
""", """        if setup_count != deploy_budget(deps_deployed):
            log.error("DG4.1 (setup): %d deploys so far, expected %d", setup_count, deploy_budget(deps_deployed))
"""),
        ("sub", R, "                    expected_deploy_count=1 + len(deps_deployed),\n",
         "                    expected_deploy_count=deploy_budget(deps_deployed),\n"),
        ("sub", R, EXPECTED_LINE, "    expected_deploy_count = deploy_budget(deps_deployed)\n"),
    ],
)

variant(
    "clean-early-return-nothing-to-run", 0, [],
    "DG004/DG005 paths: an early return EXIT_OK before any deploy (and before the counter exists) ends a path "
    "that made no deploy, so it needs no guard",
    "When only the upgrade tier was selected and there is no previous release, nothing is left to test, so the "
    "run stops before spending a deploy.",
    [
        ("sub", R, '    log.info("BASE %s (target %s, head %s, upgrade %s)", base, target, head[:8], "on" if prev else "off")\n',
         '''    log.info("BASE %s (target %s, head %s, upgrade %s)", base, target, head[:8], "on" if prev else "off")
    if not stages:
        # Only the upgrade tier was selected and there is no previous release:
        # nothing is left to test, so do not spend a deploy on it.
        log.warning("no tier left to run; not deploying %s", recipe)
        return EXIT_OK
'''),
    ],
)

variant(
    "clean-promote-deps-canonical-in-loop", 0, [],
    "DG004 exemption: promote_canonical (exempt, cost 0) called in a loop over the declared deps after the guard; "
    "0 deploys per iteration stays 0",
    "After a green default-branch run, the warm instances of the cold deps are rolled forward to the versions "
    "the run just tested with.",
    [
        ("sub", R, """            promote_canonical(recipe, target, timeout=cfg.deploy_timeout)
""", """            promote_canonical(recipe, target, timeout=cfg.deploy_timeout)
            # The cold deps ran at their declared versions and passed with the
            # recipe: roll their warm instances forward to them as well.
            for dep in declared:
                if dep.recipe in deps_deployed and dep.version:
                    promote_canonical(dep.recipe, dep.version, timeout=cfg.deploy_timeout)
"""),
    ],
)


# ===========================================================================
# machinery
# ===========================================================================


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    proc = subprocess.run(
        ["git", "-c", "user.name=variants", "-c", "user.email=variants@example.invalid",
         "-c", "core.autocrlf=false", "-c", "diff.noprefix=false", *args],
        cwd=repo, env=env, capture_output=True, text=True, check=True,
    )
    return proc.stdout


def header(v: Variant) -> str:
    lines = [
        f"# variant: {v.name}",
        f"# expect-exit: {v.exit}",
        ("# expect-codes: " + " ".join(v.codes)).rstrip(),
    ]
    if v.witness:
        lines.append("# expect-witness: " + " ".join(v.witness))
    lines += [f"# feature: {v.feature}", f"# why: {v.why}"]
    return "\n".join(lines) + "\n"


def build(v: Variant) -> str:
    with tempfile.TemporaryDirectory(prefix=f"variant-{v.name}-") as tmp:
        repo = Path(tmp)
        shutil.copytree(BASE, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _git(repo, "init", "-q")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "base")
        for op in v.edits:
            kind = op[0]
            if kind == "sub":
                _, path, old, new = op
                target = repo / path
                text = target.read_text(encoding="utf-8")
                n = text.count(old)
                if n != 1:
                    raise SystemExit(f"{v.name}: {path}: expected 1 occurrence, found {n}:\n{old}")
                target.write_text(text.replace(old, new), encoding="utf-8")
            elif kind == "new":
                _, path, text = op
                target = repo / path
                if target.exists():
                    raise SystemExit(f"{v.name}: {path} already exists")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            elif kind == "mv":
                _, old, new = op
                _git(repo, "mv", old, new)
            else:
                raise SystemExit(f"{v.name}: unknown edit {kind}")
        _git(repo, "add", "-A")
        diff = _git(repo, "diff", "--cached", "-M", "--no-color", "--no-ext-diff")
        if not diff.strip():
            raise SystemExit(f"{v.name}: empty diff")
        return header(v) + diff


def table() -> str:
    """The README's variant table (``--table``)."""
    rows = ["| variant | exit | expected codes | feature |", "| --- | --- | --- | --- |"]
    for v in V:
        feature = v.feature.replace("|", "\\|")
        rows.append(f"| `{v.name}` | {v.exit} | {' '.join(v.codes) or '(none)'} | {feature} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--table"]:
        print(table())
        return 0
    names = [v.name for v in V]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SystemExit(f"duplicate variant names: {sorted(dupes)}")
    wanted = set(argv) or set(names)
    unknown = wanted - set(names)
    if unknown:
        raise SystemExit(f"unknown variants: {sorted(unknown)}")
    for v in V:
        if v.name not in wanted:
            continue
        (HERE / f"{v.name}.patch").write_text(build(v), encoding="utf-8")
        print(f"wrote {v.name}.patch")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
