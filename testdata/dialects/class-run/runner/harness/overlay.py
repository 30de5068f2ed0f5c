"""Per-recipe overlay suites: ``<recipe checkout>/tests/<tier>/`` run with pytest."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from harness.generic import CheckResult
from harness.lifecycle import DeployedApp

log = logging.getLogger(__name__)


class OverlaySuite:
    def __init__(self, checkout_dir: Path, results_dir: Path, timeout: int = 1800) -> None:
        self.root = checkout_dir / "tests"
        self.results_dir = results_dir
        self.timeout = timeout
        self.extra_env: dict[str, str] = {}

    def run(self, tier: str, app: DeployedApp) -> CheckResult:
        suite = self.root / tier
        if not suite.is_dir():
            return CheckResult(f"overlay:{tier}", True, "no overlay tests for this tier")
        env = {**os.environ, **self.extra_env, "APP_DOMAIN": app.domain,
               "APP_URL": f"https://{app.domain}", "CCCI_TIER": tier}
        junit = self.results_dir / f"overlay-{tier}.xml"
        argv = [sys.executable, "-m", "pytest", "-q", str(suite), f"--junitxml={junit}"]
        try:
            proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                                  timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            return CheckResult(f"overlay:{tier}", False, f"timed out after {self.timeout}s")
        tail = proc.stdout.strip().splitlines()[-1:] or [""]
        return CheckResult(f"overlay:{tier}", proc.returncode == 0, tail[0])
