#!/usr/bin/env bash
# Benchmark: `check` on hostile files, each added as runner/harness/x.py to a copy of the cc-ci
# emulation (so it is in the guarded scope). Prints wall time, peak memory and exit code per
# input; docs/reliability.md quotes these numbers.
# Usage: bash scripts/bench_hostile.sh [path/to/deployguard]   (default: target/release/deployguard)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="$(realpath "${1:-target/release/deployguard}")"
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import os, shutil, sys

work = sys.argv[1]
n = 10_000
line = "def f():\n    return 1\n"
inputs = {
    "50 MB module": line * (50 * 1024 * 1024 // len(line)),
    "10,000 nested parentheses": "x = " + "(" * n + "1" + ")" * n + "\n",
    "1,000 nested ifs": "".join("    " * i + "if a:\n" for i in range(1000)) + "    " * 1000 + "pass\n",
    "5 MB one-line expression": "x = " + " + ".join(f"a{i % 1000}" for i in range(650_000)) + "\n",
    "10,000 nested calls": "x = " + "f(" * n + ")" * n + "\n",
    "10,000-call chain": "x = deploy_app" + "()" * n + "\n",
    "10,000-method chain": "x = a" + ".b()" * n + "\n",
    "100,000 attributes": "x = a" + ".b" * 100_000 + "\n",
    "10,000 nested lambdas": "x = " + "lambda: " * n + "deploy_app\n",
}
for i, (name, text) in enumerate(inputs.items()):
    tree = os.path.join(work, str(i))
    shutil.copytree("testdata/cc-ci", tree)
    with open(os.path.join(tree, "runner/harness/x.py"), "w") as out:
        out.write(text)
    with open(os.path.join(tree, "NAME"), "w") as out:
        out.write(name)
PY
printf '%-28s %10s %12s %5s\n' input seconds "peak MB" exit
for tree in $(ls -d "$work"/*/ | sort -V); do
  name="$(cat "$tree/NAME")"
  /usr/bin/time -f '%e %M %x' -o "$work/time" "$bin" check "$tree/runner" > /dev/null 2>&1 || true
  read -r seconds kb code < <(tail -n 1 "$work/time")
  printf '%-28s %10s %12s %5s\n' "$name" "$seconds" "$((kb / 1024))" "$code"
done
