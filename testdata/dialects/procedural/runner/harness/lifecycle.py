"""lifecycle.py - deploy, in-place redeploy, backup, restore, teardown.

deploy_app() is the one and only deploy, and the only caller of
_record_deploy(): each call appends one line to $CCCI_DEPLOY_COUNT_FILE.
chaos_redeploy() (the upgrade) redeploys the running app in place and does
NOT go through deploy_app, so it is not counted.  backup_app() and
restore_app() never deploy.
"""

import os
import json
import time
import logging

from harness import abra

log = logging.getLogger("ccci.lifecycle")

HEAD = "chaos"          # version name for "the PR checkout, unreleased"
SERVER = os.environ.get("CCCI_SERVER", "default")
CI_DOMAIN = os.environ.get("CCCI_DOMAIN", "ci.coopcloud.tech")
RECIPES_DIR = os.environ.get("CCCI_RECIPES_DIR", os.path.expanduser("~/.abra/recipes"))
CONVERGE_TIMEOUT = int(os.environ.get("CCCI_CONVERGE_TIMEOUT", "900"))


def _record_deploy(app, version):
    path = os.environ.get("CCCI_DEPLOY_COUNT_FILE")
    if not path:
        return
    fh = open(path, "a")
    try:
        fh.write("%d %s %s\n" % (time.time(), app, version))
    finally:
        fh.close()


def latest_published(recipe):
    """Newest released version of RECIPE, or None if it was never released."""
    out = abra.run(["recipe", "versions", recipe, "--machine"], timeout=120, retries=2)
    try:
        versions = json.loads(out or "[]")
    except ValueError:
        raise abra.AbraError("cannot parse versions of %s: %r" % (recipe, out[:200]))
    if not versions:
        return None
    last = versions[-1]
    if isinstance(last, dict):
        return last.get("version")
    return last


def _apps():
    out = abra.run(["app", "ls", "--server", SERVER, "--status", "--machine"],
                   timeout=120, retries=2)
    try:
        return json.loads(out or "[]")
    except ValueError:
        raise abra.AbraError("cannot parse app ls output")


def app_exists(app):
    for a in _apps():
        if a.get("domain") == app:
            return True
    return False


def deployed_version(app):
    for a in _apps():
        if a.get("domain") == app:
            return "%s %s" % (a.get("version", ""), a.get("chaosVersion", ""))
    raise abra.AbraError("%s is not deployed" % app)


def wait_converged(app, timeout=None):
    deadline = time.time() + (timeout or CONVERGE_TIMEOUT)
    while 1:
        try:
            services = json.loads(abra.run(["app", "ps", app, "--machine"], timeout=60) or "[]")
            pending = [s.get("service", "?") for s in services if s.get("status") != "running"]
        except (abra.AbraError, ValueError) as e:
            pending = ["<ps: %s>" % e]
        if not pending:
            return
        if time.time() > deadline:
            raise abra.AbraError("%s not converged: %s" % (app, ", ".join(pending)))
        time.sleep(10)


def deploy_app(app, recipe, version):
    """Create APP from RECIPE at VERSION (HEAD = PR checkout) and deploy it.
    The only counted deploy in the harness."""
    log.info("DEPLOY %s (%s @ %s)", app, recipe, version)
    args = ["app", "new", recipe]
    if version == HEAD:
        args.append("--chaos")
    else:
        args.append(version)
    args += ["--server", SERVER, "--domain", app, "--secrets", "--no-input"]
    abra.run(args, timeout=300)
    _record_deploy(app, version)
    args = ["app", "deploy", app, "--no-input", "--force"]
    if version == HEAD:
        args.append("--chaos")
    abra.run(args, timeout=CONVERGE_TIMEOUT)
    wait_converged(app)


def chaos_redeploy(app):
    """The upgrade: redeploy the PR checkout onto the RUNNING app, in place
    (same app, volumes and secrets).  Does NOT call deploy_app, so it is not
    counted - it shares the base deploy."""
    log.info("chaos redeploy (in place) %s", app)
    abra.run(["app", "deploy", app, "--chaos", "--force", "--no-input"],
             timeout=CONVERGE_TIMEOUT)
    wait_converged(app)


def backup_app(app):
    """Take a backupbot snapshot of the running app; return the snapshot id."""
    out = abra.run(["app", "backup", "create", app, "--no-input"], timeout=1200)
    snap = None
    for line in out.splitlines():
        if "snapshot" in line.lower():
            snap = line.split()[-1].strip(".")
    return snap


def restore_app(app, snapshot):
    abra.run(["app", "restore", app, "--id", snapshot, "--no-input"], timeout=1200)
    wait_converged(app)


def teardown_app(app):
    log.info("teardown %s", app)
    try:
        abra.run(["app", "undeploy", app, "--no-input"], timeout=300)
    except abra.AbraError as e:
        log.warning("undeploy %s: %s (removing anyway)", app, e)
    abra.run(["app", "rm", app, "--force", "--no-input"], timeout=300, retries=2)
