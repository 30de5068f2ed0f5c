"""cc-ci recipe harness: abra wrapper, lifecycle primitives, deps, generic tier checks."""
from __future__ import annotations

__all__ = ["abra", "config", "deps", "generic", "lifecycle"]
