"""Object wrapper around the ``abra`` command line.

Read-only sub-commands are retried on transient transport errors; mutating
sub-commands (new, deploy, undeploy, backup, restore) are never retried here:
whether to try again is a decision for the caller, not for the transport.
"""
from __future__ import annotations

import json
import logging
import shlex
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Sequence

log = logging.getLogger(__name__)


class AbraError(RuntimeError):
    """An abra invocation failed (non-zero exit or timeout)."""

    def __init__(self, argv: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        code = "timeout" if returncode is None else f"exit {returncode}"
        super().__init__(f"{shlex.join(self.argv)} failed ({code}): {self.stderr[-400:]}")


@dataclass(frozen=True)
class ServiceState:
    """One swarm service of a deployed app, as reported by ``abra app ps``."""

    name: str
    image: str
    version: str | None
    chaos: str | None
    running: int
    desired: int

    @property
    def converged(self) -> bool:
        return self.desired > 0 and self.running >= self.desired

    @classmethod
    def from_machine(cls, row: dict[str, Any]) -> "ServiceState":
        running, _, desired = str(row.get("replicas", "0/0")).partition("/")
        return cls(
            name=str(row.get("service", "?")),
            image=str(row.get("image", "")),
            version=row.get("version") or None,
            chaos=row.get("chaos") or None,
            running=int(running or 0),
            desired=int(desired or 0),
        )


class Abra:
    """The abra CLI bound to one swarm server."""

    TRANSIENT = ("connection reset", "i/o timeout", "tls handshake timeout",
                 "context deadline exceeded", "eof")

    def __init__(self, server: str, *, binary: str = "abra", timeout: int = 900,
                 read_retries: int = 3, backoff: float = 5.0) -> None:
        self.server = server
        self.binary = binary
        self.timeout = timeout
        self.read_retries = read_retries
        self.backoff = backoff

    def __repr__(self) -> str:
        return f"Abra(server={self.server!r})"

    # -- transport ---------------------------------------------------------
    def _invoke(self, args: Sequence[str], *, timeout: int | None = None,
                retries: int = 0) -> str:
        argv = [self.binary, *args, "--no-input"]
        attempt = 0
        while True:
            attempt += 1
            log.debug("abra[%d]: %s", attempt, shlex.join(argv))
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                                      timeout=timeout or self.timeout)
            except subprocess.TimeoutExpired as exc:
                raise AbraError(argv, None, str(exc.stderr or "")) from exc
            if proc.returncode == 0:
                return proc.stdout
            transient = any(m in proc.stderr.lower() for m in self.TRANSIENT)
            if transient and attempt <= retries:
                log.warning("abra transient failure (%s), retrying in %.0fs",
                            proc.stderr.strip()[-120:], self.backoff * attempt)
                time.sleep(self.backoff * attempt)
                continue
            raise AbraError(argv, proc.returncode, proc.stderr)

    def _query(self, args: Sequence[str]) -> Any:
        out = self._invoke([*args, "--machine"], retries=self.read_retries, timeout=120)
        try:
            return json.loads(out or "null")
        except json.JSONDecodeError as exc:
            raise AbraError(args, 0, f"unparseable --machine output: {exc}") from exc

    # -- read-only ---------------------------------------------------------
    def recipe_versions(self, recipe: str) -> list[str]:
        rows = self._query(["recipe", "versions", recipe]) or []
        return [str(r["version"] if isinstance(r, dict) else r) for r in rows]

    def app_exists(self, domain: str) -> bool:
        rows = self._query(["app", "ls", "--server", self.server]) or []
        return any(r.get("domain") == domain for r in rows if isinstance(r, dict))

    def app_ps(self, domain: str) -> list[ServiceState]:
        rows = self._query(["app", "ps", domain]) or []
        return [ServiceState.from_machine(r) for r in rows if isinstance(r, dict)]

    # -- mutating (single shot) ---------------------------------------------
    def app_new(self, recipe: str, domain: str, version: str | None = None) -> None:
        args = ["app", "new", recipe]
        if version:
            args.append(version)
        self._invoke([*args, "--server", self.server, "--domain", domain, "--secrets"])

    def app_deploy(self, domain: str, *, version: str | None = None, chaos: bool = False,
                   force: bool = False, timeout: int | None = None) -> None:
        args = ["app", "deploy", domain]
        if version and not chaos:
            args.append(version)
        if chaos:
            args.append("--chaos")
        if force:
            args.append("--force")
        self._invoke(args, timeout=timeout)

    def app_undeploy(self, domain: str) -> None:
        self._invoke(["app", "undeploy", domain], timeout=300)

    def app_remove(self, domain: str) -> None:
        self._invoke(["app", "remove", domain, "--force"], timeout=300)

    def backup_create(self, domain: str) -> str:
        out = self._invoke(["app", "backup", "create", domain], timeout=1800)
        snapshot = out.strip().splitlines()[-1].split()[-1] if out.strip() else ""
        if not snapshot:
            raise AbraError(["app", "backup", "create", domain], 0, "no snapshot id printed")
        return snapshot

    def backup_restore(self, domain: str, snapshot: str) -> None:
        self._invoke(["app", "restore", domain, "--snapshot", snapshot], timeout=1800)

    def run(self, domain: str, service: str, command: Sequence[str]) -> str:
        return self._invoke(["app", "run", domain, service, "--", *command], timeout=300)
