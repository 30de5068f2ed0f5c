#!/usr/bin/env bash
# Validates deployguard's SARIF (check, ratchet, verify; clean and with findings) with
# Microsoft's SARIF multitool, installed from npm into target/sarif-multitool. Called by
# .ci/run when npm can install it. The multitool prints schema violations as
# `file(line,col): error ...` but exits 0, so its output is searched for them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tool=target/sarif-multitool/node_modules/.bin/sarif-multitool
cargo build --quiet
bin="$PWD/target/debug/deployguard"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r testdata/cc-ci "$work/repo"
(
  cd "$work/repo"
  git init -q
  git add -A
  git -c user.name=ci -c user.email=ci@example.com -c commit.gpgsign=false commit -q -m harness
  "$bin" check runner --format sarif > "$work/check-clean.sarif" || true
  "$bin" verify runner --base HEAD --format sarif > "$work/verify-clean.sarif" || true
  git apply "$OLDPWD/testdata/variants/dg003-direct-call-in-perform-backup.patch"
  sed -i 's/self.assertEqual(run_recipe_ci.read_deploy_count(self.count_file), 2)/self.assertTrue(run_recipe_ci.read_deploy_count(self.count_file))/' runner/tests/test_guard.py
  "$bin" check runner --format sarif > "$work/check-findings.sarif" || true
  "$bin" ratchet runner --base HEAD --format sarif > "$work/ratchet-findings.sarif" || true
  "$bin" verify runner --base HEAD --format sarif > "$work/verify-findings.sarif" || true
)
out="$("$tool" validate "$work"/*.sarif 2>&1)"
echo "$out" | grep -v '^$'
if echo "$out" | grep -q ': error '; then
  echo "SARIF multitool: deployguard's SARIF has errors" >&2
  exit 1
fi
echo "SARIF multitool: $(ls "$work"/*.sarif | wc -l) logs valid"
