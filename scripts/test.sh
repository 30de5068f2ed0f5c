#!/usr/bin/env bash
# The test command: every test, including the ones that need the PyPI corpus and the real
# pre-commit framework. Works on a fresh machine with cargo, git and python3 (pip reaches
# PyPI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/fetch_corpus.sh
# pre-commit from PyPI, for tests/pre_commit.rs (which fails, never skips, without it).
if ! target/venv/bin/pre-commit --version >/dev/null 2>&1; then
  python3 -m venv target/venv
  target/venv/bin/pip install --quiet --disable-pip-version-check pre-commit
fi
export DEPLOYGUARD_PRE_COMMIT="$PWD/target/venv/bin/pre-commit"
cargo test --all-targets -- --include-ignored
