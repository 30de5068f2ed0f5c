"""Small helpers shared by the orchestrator and the harness modules.

Environment parsing, app naming and version ordering. No abra calls and no
deploys live here (nothing in this module may call ``deploy_app(``).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys

log = logging.getLogger(__name__)

CI_DOMAIN = os.environ.get("CCCI_DOMAIN", "ci.coopcloud.tech")
CANONICAL_PREFIX = os.environ.get("CCCI_CANONICAL_PREFIX", "warm")

_SLUG_RE = re.compile(r"[^a-z0-9-]+")
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\+(.+))?$")


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name, default)
    return value.strip() if value else default


def env_flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        log.warning("ignoring non-integer %s=%r, using %d", name, raw, default)
        return default


def env_list(name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    items = [p.strip() for p in re.split(r"[,\s]+", raw) if p.strip()]
    return tuple(items) if items else default


def slugify(value: str, max_len: int = 40) -> str:
    slug = _SLUG_RE.sub("-", value.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "x"


def short_id(n: int = 6) -> str:
    return secrets.token_hex(n)[:n]


def run_app_name(recipe: str, run_id: str) -> str:
    """Per-run app (= domain) name, unique so parallel runs never collide."""
    return f"{slugify(recipe, 20)}-{slugify(run_id, 12)}.{CI_DOMAIN}"


def canonical_app_name(recipe: str) -> str:
    """The long-lived warm instance of ``recipe`` (WC5), e.g. warm-keycloak."""
    return f"{CANONICAL_PREFIX}-{slugify(recipe, 30)}.{CI_DOMAIN}"


def version_key(version: str) -> tuple[int, int, int, str]:
    """Sort key for Co-op Cloud recipe versions (``1.2.3+4.5.6``)."""
    m = _VERSION_RE.match(version.strip())
    if not m:
        return (-1, -1, -1, version)
    major, minor, patch, upstream = m.groups()
    return (int(major), int(minor), int(patch), upstream or "")


def is_release(version: str) -> bool:
    return bool(_VERSION_RE.match(version.strip()))


def configure_logging(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(
        level=level,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
