#!/usr/bin/env python3
"""run_recipe_ci.py - run the cc-ci test tiers for one recipe.

    RECIPE=ghost STAGES=install,upgrade,backup,restore,custom run_recipe_ci.py

Deploy budget (DG4.1): one base deploy shared by all tiers (the upgrade
shares it: the base goes up at the previous published version and is
upgraded in place) plus one per COLD declared dep.  A live-warm dep costs 0.
If the recorded deploy count differs from that, the run fails.
"""

import os
import sys
import json
import time
import logging
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import abra, lifecycle, deps, generic

log = logging.getLogger("ccci")

ALL_STAGES = ["install", "upgrade", "backup", "restore", "custom"]

UPGRADE_BASE_VERSION = os.environ.get("UPGRADE_BASE_VERSION", "")


def parse_stages(raw):
    if not raw:
        return ALL_STAGES[:]
    wanted = [s.strip().lower() for s in raw.split(",") if s.strip()]
    for s in wanted:
        if s not in ALL_STAGES:
            raise SystemExit("unknown stage %r (known: %s)" % (s, ",".join(ALL_STAGES)))
    return [s for s in ALL_STAGES if s in wanted]


def load_overlay(recipe):
    tests_dir = os.path.join(lifecycle.RECIPES_DIR, recipe, "tests")
    conf = {"deps": [], "service": "app", "health_path": "/",
            "data_path": "/var/lib/ccci-probe", "tests_dir": tests_dir}
    path = os.path.join(tests_dir, "ccci.json")
    if os.path.exists(path):
        fh = open(path)
        try:
            conf.update(json.load(fh))
        finally:
            fh.close()
    return conf


def run_lifecycle_tier(stage, ctx):
    """Run one tier against the shared app: "pass", "fail" or "skip"."""
    t0 = time.time()
    try:
        if stage == "install":
            generic.check_services(ctx)
            generic.check_health(ctx)
        elif stage == "upgrade":
            if not ctx["prev"]:
                log.warning("upgrade: %s has no published version to upgrade from", ctx["recipe"])
                return "skip"
            generic.perform_upgrade(ctx)
            generic.assert_upgraded(ctx)
            generic.check_health(ctx)
        elif stage == "backup":
            generic.seed_data(ctx)
            generic.perform_backup(ctx)
        elif stage == "restore":
            if not ctx["snapshot"]:         # restore without a backup tier
                generic.seed_data(ctx)
                generic.perform_backup(ctx)
            generic.mutate_data(ctx)
            generic.perform_restore(ctx)
            generic.assert_data(ctx)
            generic.check_health(ctx)
        elif stage == "custom":
            generic.check_health(ctx)
            generic.run_overlay_tests(ctx)
    except (generic.TierFailure, abra.AbraError) as e:
        log.error("tier %s FAILED after %ds: %s", stage, time.time() - t0, e)
        return "fail"
    log.info("tier %s passed in %ds", stage, time.time() - t0)
    return "pass"


def check_deploy_budget(count, cold):
    """DG4.1: the run may deploy exactly 1 (base) + cold deps."""
    expected = 1 + cold
    print("deploy-count = %d (expect %d)" % (count, expected))
    if count != expected:
        log.error("DG4.1: deploy budget violated: %d deploys, budget %d", count, expected)
        return False
    return True


def promote_canonical(recipe, version):
    """WC5: after a green run, refresh the canonical warm instance of the
    recipe.  Cache maintenance, not a test deploy: the counter file is dropped
    first so this deploy is outside the per-run budget."""
    os.environ.pop("CCCI_DEPLOY_COUNT_FILE", None)
    domain = "%s.%s" % (recipe, lifecycle.CI_DOMAIN)
    try:
        if lifecycle.app_exists(domain):
            lifecycle.teardown_app(domain)
        lifecycle.deploy_app(domain, recipe, version)
    except abra.AbraError as e:
        log.warning("promote: canonical %s not refreshed: %s", domain, e)
        return 1
    log.info("promote: canonical %s now at %s", domain, version)
    return 0


def main():
    logging.basicConfig(level=os.environ.get("CCCI_LOG", "INFO"),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    recipe = os.environ.get("RECIPE", "")
    if not recipe:
        log.error("RECIPE is not set")
        return 2
    stages = parse_stages(os.environ.get("STAGES", ""))
    run_id = os.environ.get("DRONE_BUILD_NUMBER") or "%d" % time.time()

    if not os.environ.get("CCCI_DEPLOY_COUNT_FILE"):
        fd, path = tempfile.mkstemp(prefix="ccci-deploys-")
        os.close(fd)
        os.environ["CCCI_DEPLOY_COUNT_FILE"] = path
    open(os.environ["CCCI_DEPLOY_COUNT_FILE"], "w").close()

    conf = load_overlay(recipe)
    target = lifecycle.HEAD
    results = {}
    for s in stages:
        results[s] = "not run"
    overall = 0
    n_cold, dep_apps = 0, []
    app = "%s-%s.%s" % (recipe, run_id, lifecycle.CI_DOMAIN)
    ctx = {"recipe": recipe, "app": app, "conf": conf, "deps": [],
           "prev": None, "head": None, "snapshot": None, "marker": None}
    base_up = False
    try:
        ctx["head"] = abra.git_head(os.path.join(lifecycle.RECIPES_DIR, recipe))
        want_upgrade = "upgrade" in stages
        previous_version = None
        if want_upgrade:
            previous_version = lifecycle.latest_published(recipe)
            ctx["prev"] = UPGRADE_BASE_VERSION or previous_version
        prev = ctx["prev"]
        base = prev or target

        n_cold, dep_apps, dep_failed = deps.setup_deps(conf["deps"], run_id)
        ctx["deps"] = dep_apps
        if dep_failed:
            overall = 1
        else:
            log.info("base deploy %s at %s (shared by: %s)", app, base, ",".join(stages))
            base_up = True
            lifecycle.deploy_app(app, recipe, base)
            for stage in stages:
                results[stage] = run_lifecycle_tier(stage, ctx)
                if results[stage] == "fail":
                    overall = 1
    except abra.AbraError as e:
        log.error("run aborted: %s", e)
        overall = 1
    finally:
        if os.environ.get("CCCI_KEEP_APPS") != "1":
            if base_up:
                try:
                    lifecycle.teardown_app(app)
                except abra.AbraError as e:
                    log.error("teardown %s: %s", app, e)
                    overall = 1
            if deps.teardown_deps(dep_apps):
                overall = 1

    print("=" * 20 + " RUN SUMMARY " + "=" * 20)
    print("recipe: %s  app: %s  base: %s" % (recipe, app, ctx["prev"] or target))
    for s in stages:
        print("  %-8s %s" % (s, results[s]))
    print("deps deployed: %r" % ([a["name"] for a in dep_apps if not a["warm"]],))
    with open(os.environ["CCCI_DEPLOY_COUNT_FILE"]) as fh:
        deploy_count = len(fh.read().splitlines())
    if not check_deploy_budget(deploy_count, n_cold):
        overall = 1
    print("overall: %s" % (overall and "FAIL" or "PASS"))

    if overall == 0 and os.environ.get("CCCI_PROMOTE") == "1":
        promote_canonical(recipe, target)
    return overall


if __name__ == "__main__":
    rc = main()
    sys.exit(rc)
