#!/usr/bin/env bash
# Benchmark: the ratchet's cost follows the change. Builds a git repo with 500 test files
# (10 tests each), changes one file, then times
#   (a) `ratchet --base HEAD` (git: only the changed file is read and parsed), and
#   (b) the same comparison over everything (`--base-tree/--head-tree` of full copies).
# Usage: bash scripts/bench_ratchet.sh [path/to/deployguard]   (default: target/release/deployguard)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="$(realpath "${1:-target/release/deployguard}")"
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
mkdir -p "$repo/tests"
python3 - "$repo/tests" <<'PY'
import sys, os
root = sys.argv[1]
for f in range(500):
    with open(os.path.join(root, f"test_mod_{f:03}.py"), "w") as out:
        out.write("import pytest\n\n")
        for t in range(10):
            out.write(f"@pytest.mark.parametrize('n', [1, 2, 3])\ndef test_case_{t}(n):\n    value = compute({f}, {t}, n)\n    assert value == expected({f}, {t}, n)\n    assert value >= 0\n\n")
PY
git -C "$repo" init -q
git -C "$repo" add -A
git -C "$repo" -c user.name=b -c user.email=b@b commit -qm base
cp -r "$repo" "$work/base"
rm -rf "$work/base/.git"
sed -i 's/    assert value >= 0/    assert value >= 0\n    assert value < 1000/' "$repo/tests/test_mod_250.py"
cp -r "$repo" "$work/head"
rm -rf "$work/head/.git"
time_it() {
  local start end
  start=$(date +%s%N)
  for _ in 1 2 3 4 5; do "$@" > /dev/null; done
  end=$(date +%s%N)
  echo $(( (end - start) / 5000000 ))
}
changed=$(time_it "$bin" ratchet --base HEAD "$repo")
full=$(time_it "$bin" ratchet --base-tree "$work/base" --head-tree "$work/head")
echo "500 test files, 5000 tests, 1 file changed (mean of 5 runs):"
echo "  ratchet --base HEAD (changed files only): ${changed} ms"
echo "  full comparison (--base-tree/--head-tree): ${full} ms"
