"""cc-ci recipe test harness.

Modules:

* :mod:`harness.abra`      -- subprocess wrappers around the abra CLI
* :mod:`harness.lifecycle` -- app new / deploy / health / upgrade / backup / restore / teardown
* :mod:`harness.deps`      -- declared dependency apps (cold deploy or live-warm reuse)
* :mod:`harness.generic`   -- the generic install / upgrade / backup / restore / custom tiers
* :mod:`harness.results`   -- tier results, timings, results.json
* :mod:`harness.util`      -- env parsing, naming, version ordering

The deploy budget (``1 base + N_cold_deps``) is enforced by counting calls to
``deploy_app(`` via ``_record_deploy(``; see :mod:`harness.lifecycle`.
"""

from .lifecycle import DeployedApp, LifecycleError, deploy_app, undeploy_app, wait_healthy

__all__ = [
    "DeployedApp",
    "LifecycleError",
    "deploy_app",
    "undeploy_app",
    "wait_healthy",
]

__version__ = "2.4.0"
