"""abra.py - thin wrapper around the abra CLI (and git, for the recipe head)."""

import os
import time
import logging
import subprocess

log = logging.getLogger("ccci.abra")

ABRA = os.environ.get("ABRA_BIN", "abra")


class AbraError(Exception):
    pass


def run(args, timeout=300, retries=0, cwd=None):
    """Run `abra ARGS`, return its stdout.  Raise AbraError on failure.

    retries is only for read-only queries (ls, ps, versions); anything that
    changes an app is called with retries=0.
    """
    cmd = [ABRA] + list(args)
    env = dict(os.environ)
    env["NO_COLOR"] = "1"
    attempt = 0
    while 1:
        attempt += 1
        log.debug("$ %s", " ".join(cmd))
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=timeout, cwd=cwd, env=env)
        except subprocess.TimeoutExpired:
            err = "timed out after %ds" % timeout
        except OSError as e:
            raise AbraError("cannot run %s: %s" % (ABRA, e))
        else:
            if p.returncode == 0:
                return p.stdout
            err = "rc %d: %s" % (p.returncode, (p.stderr or p.stdout).strip()[-500:])
        if attempt > retries:
            raise AbraError("abra %s: %s" % (" ".join(args), err))
        log.warning("abra %s failed (%s), retry %d/%d", args[0:2], err, attempt, retries)
        time.sleep(5 * attempt)


def git_head(path):
    """Short commit of the recipe checkout (the PR head)."""
    try:
        out = subprocess.check_output(["git", "-C", path, "rev-parse", "--short=8", "HEAD"],
                                      text=True, timeout=30)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        raise AbraError("git rev-parse in %s: %s" % (path, e))
    return out.strip()
