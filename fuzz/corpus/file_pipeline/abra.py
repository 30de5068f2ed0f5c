"""Thin, typed wrappers around the ``abra`` CLI.

Every interaction the harness has with Co-op Cloud goes through :class:`Abra`
so that the subprocess plumbing (non-interactive flags, timeouts, logging,
error wrapping) lives in exactly one place. Tests monkeypatch
``subprocess.run`` and assert on the argv built here.

Nothing in this module knows about the per-run deploy budget. Counting happens
one layer up: ``lifecycle.deploy_app(`` is the only function that calls
``lifecycle._record_deploy(``. :meth:`Abra.deploy` is deliberately NOT counted
because ``lifecycle.chaos_redeploy`` (the upgrade tier) also uses it.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from dataclasses import dataclass
from typing import Sequence

log = logging.getLogger(__name__)

ABRA_BIN = os.environ.get("ABRA_BIN", "abra")
DEFAULT_TIMEOUT = int(os.environ.get("CCCI_ABRA_TIMEOUT", "900"))


class AbraError(RuntimeError):
    """An abra invocation exited non-zero."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        tail = stderr.strip()[-400:]
        super().__init__(f"{shlex.join(self.argv)} exited {returncode}: {tail}")


@dataclass
class AbraResult:
    """Captured output of one abra invocation."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.stdout.splitlines() if ln.strip()]


class AbraBase:
    """Process plumbing shared by every abra sub-command."""

    def __init__(
        self,
        server: str | None = None,
        *,
        binary: str = ABRA_BIN,
        extra_env: dict[str, str] | None = None,
        dry_run: bool = False,
    ) -> None:
        self.server = server
        self.binary = binary
        self.extra_env = dict(extra_env or {})
        self.dry_run = dry_run

    def _argv(self, *args: str) -> list[str]:
        # --no-input: never prompt, CI has no TTY. --debug is noisy but is the
        # only way to see why a converge check timed out.
        argv = [self.binary, *args, "--no-input"]
        if os.environ.get("CCCI_ABRA_DEBUG") == "1":
            argv.append("--debug")
        return argv

    def _exec(self, *args: str, timeout: int = DEFAULT_TIMEOUT, check: bool = True) -> AbraResult:
        argv = self._argv(*args)
        log.debug("abra: %s", shlex.join(argv))
        if self.dry_run:
            return AbraResult(argv, 0, "", "")
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **self.extra_env},
            check=False,
        )
        result = AbraResult(argv, proc.returncode, proc.stdout or "", proc.stderr or "")
        if check and proc.returncode != 0:
            raise AbraError(argv, proc.returncode, result.stderr)
        return result


class Abra(AbraBase):
    """The abra sub-commands the harness uses."""

    # -- apps -------------------------------------------------------------
    def app_new(self, recipe: str, domain: str, version: str | None = None) -> AbraResult:
        args = ["app", "new", recipe]
        if version:
            args.append(version)
        args += ["--domain", domain]
        if self.server:
            args += ["--server", self.server]
        return self._exec(*args)

    def deploy(
        self,
        app: str,
        version: str | None = None,
        *,
        chaos: bool = False,
        force: bool = False,
        no_converge_checks: bool = False,
        timeout: int = DEFAULT_TIMEOUT,
    ) -> AbraResult:
        """``abra app deploy``. Uncounted: see the module docstring."""
        args = ["app", "deploy", app]
        if version and not chaos:
            args.append(version)
        if chaos:
            args.append("--chaos")
        if force:
            args.append("--force")
        if no_converge_checks:
            args.append("--no-converge-checks")
        return self._exec(*args, timeout=timeout)

    def undeploy(self, app: str, *, prune: bool = True) -> AbraResult:
        args = ["app", "undeploy", app]
        if prune:
            args.append("--prune")
        return self._exec(*args, check=False)

    def remove(self, app: str) -> AbraResult:
        return self._exec("app", "remove", app, "--force", check=False)

    def volume_remove(self, app: str) -> AbraResult:
        return self._exec("app", "volume", "remove", app, "--force", check=False)

    def ps(self, app: str) -> AbraResult:
        return self._exec("app", "ps", app, "--machine", check=False)

    def restart(self, app: str, service: str) -> AbraResult:
        return self._exec("app", "restart", app, service)

    def exec_in_service(self, app: str, service: str, command: Sequence[str]) -> AbraResult:
        return self._exec("app", "run", app, service, "--", *command)

    def logs(self, app: str, service: str | None = None) -> AbraResult:
        args = ["app", "logs", app]
        if service:
            args.append(service)
        return self._exec(*args, timeout=120, check=False)

    # -- secrets ----------------------------------------------------------
    def secret_generate(self, app: str) -> AbraResult:
        return self._exec("app", "secret", "generate", app, "--all")

    def secret_remove(self, app: str) -> AbraResult:
        return self._exec("app", "secret", "remove", app, "--all", check=False)

    # -- backupbot --------------------------------------------------------
    def backup(self, app: str, service: str | None = None) -> AbraResult:
        args = ["app", "backup", "create", app]
        if service:
            args += ["--service", service]
        return self._exec(*args, timeout=1800)

    def backup_list(self, app: str) -> AbraResult:
        return self._exec("app", "backup", "list", app, "--machine")

    def restore(self, app: str, snapshot: str | None = None, service: str | None = None) -> AbraResult:
        args = ["app", "restore", app]
        if snapshot:
            args.append(snapshot)
        if service:
            args += ["--service", service]
        return self._exec(*args, timeout=1800)

    # -- recipes ----------------------------------------------------------
    def recipe_versions(self, recipe: str) -> list[str]:
        result = self._exec("recipe", "versions", recipe, "--machine", check=False)
        return [ln.split()[0] for ln in result.lines if ln[:1].isdigit()]
