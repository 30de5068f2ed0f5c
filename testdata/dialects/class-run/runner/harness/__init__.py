"""cc-ci recipe harness: object model around the abra CLI.

Modules:
    abra       -- the ``Abra`` CLI wrapper (subprocess, timeouts, read retries)
    recipe     -- recipe checkout + ``cc-ci.toml`` configuration objects
    lifecycle  -- deploy / chaos redeploy / backup / restore of one app
    generic    -- generic tier assertions (health, upgrade crossover, data integrity)
    overlay    -- per-recipe overlay test suites (pytest under ``tests/<tier>``)
    deps       -- ``DepsManager``: warm reuse or cold deploy of declared deps
"""

__all__ = ["abra", "recipe", "lifecycle", "generic", "overlay", "deps"]
