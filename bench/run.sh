#!/usr/bin/env bash
# Whole-process benchmarks of deployguard against a parse-only floor and other tools.
#
#   bash bench/run.sh            # every job, RUNS=5 runs each
#   RUNS=3 JOBS="floor graph-django" bash bench/run.sh
#
# Fetches the pinned sdists (django 5.1.4, sympy 1.13.3) from PyPI into target/bench (ignored
# by git), builds the release binary and the parse-only floor (bench/parse_floor.rs), copies
# them aside (a rebuild during the run cannot change what is measured), and prints a Markdown
# table: median wall time and median peak RSS (GNU time) of each job, with its ratio to the
# parse-only floor over the same files. ripgrep, ast-grep and semgrep are measured when they
# are on PATH (Debian: `apt install ripgrep`; PyPI: `pip install ast-grep-cli semgrep`) and
# listed as "not installed" otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS="${RUNS:-5}"
JOBS="${JOBS:-floor sites-getattr sites-reverse graph-django graph-django-package graph-all graph-mock check-cold check-warm rg ast-grep semgrep}"
PYTHON="${PYTHON:-python3}"
BENCH="target/bench"
CORPUS="$BENCH/corpus"
mkdir -p "$BENCH/dl" "$CORPUS" "$BENCH/bin"

fetch() { # name version
    local name="$1" version="$2"
    [ -d "$CORPUS/$name" ] && return
    "$PYTHON" -m pip download --disable-pip-version-check --no-deps --no-binary :all: \
        "$name==$version" -d "$BENCH/dl" >&2
    local archive
    archive="$BENCH/dl/$(ls "$BENCH/dl" | grep -ix "$name-$version.tar.gz")"
    local tmp
    tmp="$(mktemp -d "$BENCH/unpack.XXXXXX")"
    tar -xzf "$archive" -C "$tmp"
    mv "$tmp"/* "$CORPUS/$name"
    rmdir "$tmp"
}
fetch django 5.1.4
fetch sympy 1.13.3
# One root holding both (hard links: no copy of the data).
[ -d "$BENCH/both" ] || { mkdir -p "$BENCH/both" && cp -al "$CORPUS/django" "$CORPUS/sympy" "$BENCH/both/"; }
mkdir -p "$CORPUS/mock"
cp "$("$PYTHON" -c 'import unittest.mock as m; print(m.__file__)')" "$CORPUS/mock/mock.py"

cargo build --release --quiet --bin deployguard --example parse_floor
cp target/release/deployguard target/release/examples/parse_floor "$BENCH/bin/"
DG="$BENCH/bin/deployguard"
FLOOR="$BENCH/bin/parse_floor"
BOTH=("$CORPUS/django" "$CORPUS/sympy")

# measure LABEL FLOOR_LABEL CMD...: RUNS runs; prints "LABEL FLOOR_LABEL wall_s rss_kb exit".
measure() {
    local label="$1" floor="$2"
    shift 2
    local times=() rss=() code=0
    for _ in $(seq "$RUNS"); do
        code=0
        /usr/bin/time -f "%e %M" -o "$BENCH/time.txt" "$@" >/dev/null 2>"$BENCH/stderr.txt" || code=$?
        read -r t m <"$BENCH/time.txt"
        times+=("$t")
        rss+=("$m")
    done
    echo "$label $floor $(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p") $(printf '%s\n' "${rss[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p") $code"
}

have() { command -v "$1" >/dev/null 2>&1; }

results="$BENCH/results.txt"
: >"$results"
for job in $JOBS; do
    case "$job" in
    floor)
        measure "parse-only floor, django + sympy" floor "$FLOOR" "${BOTH[@]}" >>"$results"
        measure "parse-only floor, django" floor-django "$FLOOR" "$CORPUS/django" >>"$results"
        measure "parse-only floor, django package" floor-package "$FLOOR" "$CORPUS/django/django" >>"$results"
        ;;
    sites-getattr) measure "sites --sink getattr, django + sympy" floor "$DG" sites "$BENCH/both" --sink getattr >>"$results" ;;
    sites-reverse) measure "sites --sink reverse, django + sympy" floor "$DG" sites "$BENCH/both" --sink reverse >>"$results" ;;
    graph-django) measure "graph --format json, django sdist" floor-django "$DG" graph "$CORPUS/django" --format json >>"$results" ;;
    graph-django-package) measure "graph --format json, django package" floor-package "$DG" graph "$CORPUS/django/django" --format json >>"$results" ;;
    graph-all) measure "graph --format json, django + sympy" floor "$DG" graph "$BENCH/both" --format json >>"$results" ;;
    graph-mock) measure "graph, unittest/mock.py" - "$DG" graph "$CORPUS/mock" >>"$results" ;;
    check-cold)
        RUNS_SAVED="$RUNS"
        RUNS=1
        measure "check testdata/cc-ci/runner (first run)" - "$DG" check testdata/cc-ci/runner >>"$results"
        RUNS="$RUNS_SAVED"
        ;;
    check-warm) measure "check testdata/cc-ci/runner (warm)" - "$DG" check testdata/cc-ci/runner >>"$results" ;;
    rg) if have rg; then measure "ripgrep 'getattr\\(', django + sympy" floor rg -c 'getattr\(' "${BOTH[@]}" >>"$results"; else echo "ripgrep: not installed" >&2; fi ;;
    ast-grep) if have ast-grep; then measure "ast-grep 'getattr(\$\$\$)', django + sympy" floor ast-grep run -l python -p 'getattr($$$)' "${BOTH[@]}" >>"$results"; else echo "ast-grep: not installed" >&2; fi ;;
    semgrep) if have semgrep; then measure "semgrep 'getattr(...)', django + sympy" floor semgrep --metrics=off -l python -e 'getattr(...)' "${BOTH[@]}" >>"$results"; else echo "semgrep: not installed" >&2; fi ;;
    *) echo "unknown job: $job" >&2; exit 2 ;;
    esac
done

"$PYTHON" - "$results" <<'PY'
import sys
rows = [line.rstrip("\n").split(" ") for line in open(sys.argv[1])]
parsed = []
for r in rows:
    code, rss, wall, floor = r[-1], int(r[-2]), float(r[-3]), r[-4]
    label = " ".join(r[:-4])
    parsed.append((label, floor, wall, rss, code))
floors = {f: w for (label, f, w, _, _) in parsed if label.startswith("parse-only floor")}
print("| job | wall (median) | peak RSS (median) | x parse-only floor | exit |")
print("|---|---|---|---|---|")
for label, floor, wall, rss, code in parsed:
    ratio = f"{wall / floors[floor]:.1f}x" if floor in floors and floors[floor] > 0 else "-"
    print(f"| {label} | {wall:.2f} s | {rss / 1024:.0f} MB | {ratio} | {code} |")
PY
