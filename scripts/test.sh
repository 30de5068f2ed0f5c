#!/usr/bin/env bash
# The test command: every test, including the ones that need the PyPI corpus and the real
# pre-commit framework. Works on a fresh machine with cargo, git and python3 (pip reaches
# PyPI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/fetch_corpus.sh
# From PyPI into target/venv: pre-commit for tests/pre_commit.rs, jsonschema for
# tests/sarif.rs (each fails, never skips, without them).
if ! target/venv/bin/pre-commit --version >/dev/null 2>&1 ||
  ! target/venv/bin/python -c 'import jsonschema' >/dev/null 2>&1; then
  python3 -m venv target/venv
  target/venv/bin/pip install --quiet --disable-pip-version-check pre-commit jsonschema
fi
export DEPLOYGUARD_PRE_COMMIT="$PWD/target/venv/bin/pre-commit"
export DEPLOYGUARD_PYTHON="$PWD/target/venv/bin/python"
cargo test --all-targets -- --include-ignored
