"""deps.py - declared dependencies of a recipe (e.g. lasuite-docs -> keycloak).

A dep that is already live and warm (CCCI_WARM_<NAME> names a healthy app)
is reused and costs no deploy.  A cold dep is deployed once for this run
through lifecycle.deploy_app, counted, and torn down at the end.
"""

import os
import logging

from harness import abra, lifecycle, generic

log = logging.getLogger("ccci.deps")


def warm_domain(dep):
    return os.environ.get("CCCI_WARM_%s" % dep.upper().replace("-", "_"), "")


def is_warm(dep):
    domain = warm_domain(dep)
    if not domain:
        return False
    try:
        if not lifecycle.app_exists(domain):
            log.info("dep %s: warm app %s is gone", dep, domain)
            return False
    except abra.AbraError as e:
        log.warning("dep %s: cannot list apps (%s), treating as cold", dep, e)
        return False
    status = generic.http_status("https://%s/" % domain)
    return status is not None and status < 500


def setup_deps(declared, run_id):
    """Bring up every declared dep.  Returns (deployed, apps, failed):
    deployed = number of deps deployed cold for this run, apps = one dict
    per dep, failed = True if a cold deploy went wrong."""
    deployed = 0
    apps = []
    for dep in declared:
        warm = is_warm(dep)
        if warm:
            log.info("dep %s: live-warm at %s, reused (0 deploys)", dep, warm_domain(dep))
            apps.append({"name": dep, "domain": warm_domain(dep), "warm": True})
            continue
        domain = "%s-%s.%s" % (dep, run_id, lifecycle.CI_DOMAIN)
        apps.append({"name": dep, "domain": domain, "warm": False})
        try:
            version = lifecycle.latest_published(dep) or lifecycle.HEAD
            lifecycle.deploy_app(domain, dep, version)
            deployed += 1
        except abra.AbraError as e:
            log.error("dep %s: cold deploy failed: %s", dep, e)
            return deployed, apps, True
    return deployed, apps, False


def teardown_deps(apps):
    errors = 0
    for a in reversed(apps):
        if a["warm"]:
            continue            # not ours to remove
        try:
            lifecycle.teardown_app(a["domain"])
        except abra.AbraError as e:
            log.error("dep %s: teardown failed: %s", a["name"], e)
            errors += 1
    if errors:
        print("DEPS teardown: %d error(s)" % errors)
    else:
        print("DEPS teardown: clean")
    return errors
