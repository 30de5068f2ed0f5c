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
# Graphviz (Debian's package) and mermaid from npm, for tests/pictures.rs (which fails, never
# skips, without them).
if ! command -v dot >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && apt-get install -y -qq graphviz >/dev/null
fi
if [ ! -f target/mermaid/node_modules/mermaid/package.json ] ||
  [ ! -f target/mermaid/node_modules/jsdom/package.json ]; then
  npm install --silent --no-audit --no-fund --prefix target/mermaid mermaid@11.17.2 jsdom@29.1.1
fi
cp scripts/parse_mermaid.mjs target/mermaid/parse_mermaid.mjs
export DEPLOYGUARD_MERMAID_PARSE="$PWD/target/mermaid/parse_mermaid.mjs"
export DEPLOYGUARD_PYTHON="$PWD/target/venv/bin/python"
cargo test --all-targets -- --include-ignored
