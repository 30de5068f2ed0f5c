"""generic.py - recipe-agnostic tier actions and assertions.

Every tier runs against the one shared app in ctx["app"].  Nothing in here
deploys: the upgrade is lifecycle.chaos_redeploy (in place), backup and
restore go through lifecycle.backup_app / restore_app.
"""

import os
import sys
import ssl
import glob
import time
import uuid
import shlex
import logging
import subprocess
import urllib.error
import urllib.request

from harness import abra, lifecycle

log = logging.getLogger("ccci.generic")

HEALTH_TIMEOUT = int(os.environ.get("CCCI_HEALTH_TIMEOUT", "300"))
OVERLAY_TIMEOUT = int(os.environ.get("CCCI_OVERLAY_TIMEOUT", "1800"))


class TierFailure(Exception):
    pass


def fail(msg, *args):
    raise TierFailure(msg % args)


def http_status(url):
    sslctx = ssl.create_default_context()
    if os.environ.get("CCCI_INSECURE_TLS") == "1":
        sslctx.check_hostname = False
        sslctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(url, headers={"User-Agent": "cc-ci"})
    try:
        return urllib.request.urlopen(req, timeout=20, context=sslctx).status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return None


def check_health(ctx):
    url = "https://%s%s" % (ctx["app"], ctx["conf"]["health_path"])
    deadline = time.time() + HEALTH_TIMEOUT
    status = None
    while time.time() < deadline:
        status = http_status(url)
        if status is not None and status < 400:
            log.info("health %s -> %d", url, status)
            return status
        time.sleep(5)
    fail("health: %s never answered < 400 (last: %s)", url, status)


def check_services(ctx):
    lifecycle.wait_converged(ctx["app"], timeout=120)


def perform_upgrade(ctx):
    ctx["version_before"] = lifecycle.deployed_version(ctx["app"])
    log.info("upgrade %s: %s -> PR head %s", ctx["app"], ctx["prev"], ctx["head"])
    lifecycle.chaos_redeploy(ctx["app"])


def assert_upgraded(ctx):
    after = lifecycle.deployed_version(ctx["app"])
    if after == ctx["version_before"]:
        fail("upgrade: version unchanged (%s)", after)
    if ctx["head"] not in after:
        fail("upgrade: running %r, expected PR head %s", after, ctx["head"])
    log.info("upgraded %s: %s -> %s", ctx["app"], ctx["version_before"], after)


def _in_app(ctx, script):
    return abra.run(["app", "run", ctx["app"], ctx["conf"]["service"], "--",
                     "sh", "-c", script], timeout=120)


def _marker_file(ctx):
    return shlex.quote(ctx["conf"]["data_path"].rstrip("/") + "/ccci-marker")


def read_marker(ctx):
    return _in_app(ctx, "cat %s 2>/dev/null || true" % _marker_file(ctx)).strip()


def seed_data(ctx):
    ctx["marker"] = uuid.uuid4().hex
    _in_app(ctx, "mkdir -p %s && echo %s > %s" % (shlex.quote(ctx["conf"]["data_path"]),
                                                   ctx["marker"], _marker_file(ctx)))
    if read_marker(ctx) != ctx["marker"]:
        fail("seed: marker did not read back")


def perform_backup(ctx):
    snap = lifecycle.backup_app(ctx["app"])
    if not snap:
        fail("backup: no snapshot id reported")
    log.info("backup %s -> snapshot %s", ctx["app"], snap)
    ctx["snapshot"] = snap


def mutate_data(ctx):
    _in_app(ctx, "echo clobbered > %s" % _marker_file(ctx))
    if read_marker(ctx) == ctx["marker"]:
        fail("mutate: marker unchanged, restore would prove nothing")


def perform_restore(ctx):
    lifecycle.restore_app(ctx["app"], ctx["snapshot"])


def assert_data(ctx):
    got = read_marker(ctx)
    if got != ctx["marker"]:
        fail("restore: marker is %r, want %r", got, ctx["marker"])


def run_overlay_tests(ctx):
    tdir = ctx["conf"]["tests_dir"]
    if not glob.glob(os.path.join(tdir, "test_*.py")):
        log.info("custom: no overlay tests in %s, generic checks only", tdir)
        return
    env = dict(os.environ)
    env["APP_DOMAIN"] = ctx["app"]
    for d in ctx["deps"]:
        env["DEP_%s_DOMAIN" % d["name"].upper().replace("-", "_")] = d["domain"]
    try:
        p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", tdir],
                           env=env, timeout=OVERLAY_TIMEOUT)
    except subprocess.TimeoutExpired:
        fail("custom: overlay tests timed out after %ds", OVERLAY_TIMEOUT)
    if p.returncode != 0:
        fail("custom: overlay tests failed (pytest rc %d)", p.returncode)
