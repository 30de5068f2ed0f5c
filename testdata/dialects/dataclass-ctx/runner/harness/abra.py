"""Thin, typed subprocess wrapper around the abra CLI (timeouts, transient retries)."""
from __future__ import annotations

import json
import logging
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ABRA_BIN = "abra"
TRANSIENT_MARKERS = (
    "connection reset",
    "i/o timeout",
    "tls handshake timeout",
    "context deadline exceeded",
    "cannot connect to the docker daemon",
)


class AbraError(RuntimeError):
    def __init__(self, argv: tuple[str, ...], returncode: int | None, stderr: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"{shlex.join(argv)} failed ({returncode}): {self.stderr[-400:]}")


@dataclass(frozen=True, slots=True)
class AbraResult:
    argv: tuple[str, ...]
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else None


def _is_transient(stderr: str) -> bool:
    lowered = stderr.lower()
    return any(marker in lowered for marker in TRANSIENT_MARKERS)


def run_abra(
    *args: str,
    timeout: float = 300,
    attempts: int = 1,
    backoff: float = 5.0,
    cwd: Path | None = None,
) -> AbraResult:
    """Run `abra <args> --no-input`; retry only transient transport errors, never logic errors."""
    argv = (ABRA_BIN, *args, "--no-input")
    for attempt in range(1, attempts + 1):
        started = time.monotonic()
        log.debug("abra[%d/%d]: %s", attempt, attempts, shlex.join(argv))
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd)
        except subprocess.TimeoutExpired as exc:
            if attempt == attempts:
                raise AbraError(argv, None, f"timed out after {timeout}s") from exc
            log.warning("abra timed out after %ss, retrying: %s", timeout, shlex.join(argv))
            continue
        elapsed = time.monotonic() - started
        if proc.returncode == 0:
            return AbraResult(argv, proc.stdout, proc.stderr, elapsed)
        if attempt == attempts or not _is_transient(proc.stderr):
            raise AbraError(argv, proc.returncode, proc.stderr)
        pause = backoff * 2 ** (attempt - 1)
        log.warning("transient abra failure (%s); retry in %.0fs", proc.stderr.strip()[:120], pause)
        time.sleep(pause)
    raise AssertionError("unreachable: attempts must be >= 1")
