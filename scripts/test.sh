#!/usr/bin/env bash
# The test command: every test, including the ones that need the PyPI corpus.
# Works on a fresh machine with cargo, git and python3 (pip reaches PyPI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/fetch_corpus.sh
cargo test --all-targets -- --include-ignored
