#!/usr/bin/env bash
# Check every testdata/variants/*.patch on its own:
#   1. the header is well formed (variant name = file name, expect-exit, expect-codes, feature, why);
#   2. on a fresh copy of testdata/cc-ci: git apply --check, then git apply;
#   3. python3 -m py_compile on every .py file of the result. All of them must
#      compile, except in DG100 variants, where at least one must fail.
# Exits non-zero on any problem. Usage: testdata/variants/check_patches.sh [PATCH...]
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
base="$here/../cc-ci"
fail=0
count=0
names=()

problem() { echo "FAIL $1: $2"; fail=1; this_failed=1; }

compile_tree() { # dir -> prints files that do not compile
  local dir="$1" f
  while IFS= read -r -d '' f; do
    PYTHONDONTWRITEBYTECODE=1 python3 -m py_compile "$f" >/dev/null 2>&1 || echo "${f#"$dir"/}"
  done < <(find "$dir" -name '*.py' -not -path '*/__pycache__/*' -print0 | sort -z)
}

# The base tree itself must compile.
tmp_base="$(mktemp -d)"
cp -R "$base/." "$tmp_base/"
bad="$(compile_tree "$tmp_base")"
[ -z "$bad" ] || problem "cc-ci (base)" "does not compile: $bad"
rm -rf "$tmp_base"

if [ "$#" -gt 0 ]; then patches=("$@"); else patches=("$here"/*.patch); fi

for patch in "${patches[@]}"; do
  patch="$(cd "$(dirname "$patch")" && pwd)/$(basename "$patch")"
  name="$(basename "$patch" .patch)"
  count=$((count + 1))
  names+=("$name")
  this_failed=0

  # -- header ---------------------------------------------------------------
  hdr="$(sed -n '1,/^diff --git /p' "$patch" | grep '^#')"
  h_variant="$(printf '%s\n' "$hdr" | sed -n 's/^# variant: *//p')"
  h_exit="$(printf '%s\n' "$hdr" | sed -n 's/^# expect-exit: *//p')"
  h_codes_line="$(printf '%s\n' "$hdr" | grep -c '^# expect-codes:')"
  h_codes="$(printf '%s\n' "$hdr" | sed -n 's/^# expect-codes:[ ]*//p')"
  h_feature="$(printf '%s\n' "$hdr" | sed -n 's/^# feature: *//p')"
  h_why="$(printf '%s\n' "$hdr" | sed -n 's/^# why: *//p')"
  [ "$h_variant" = "$name" ] || problem "$name" "header variant '$h_variant' != file name"
  case "$h_exit" in 0|1) ;; *) problem "$name" "expect-exit must be 0 or 1, got '$h_exit'" ;; esac
  [ "$h_codes_line" = 1 ] || problem "$name" "needs exactly one '# expect-codes:' line"
  [ -n "$h_feature" ] || problem "$name" "missing '# feature:'"
  [ -n "$h_why" ] || problem "$name" "missing '# why:'"
  if [ "$h_exit" = 0 ] && [ -n "$h_codes" ]; then problem "$name" "clean variant lists codes: $h_codes"; fi
  if [ "$h_exit" = 1 ] && [ -z "$h_codes" ]; then problem "$name" "violating variant lists no codes"; fi
  for c in $h_codes; do
    case "$c" in DG001|DG002|DG003|DG004|DG005|DG006|DG007|DG100) ;; *) problem "$name" "unknown code $c" ;; esac
  done
  grep -q '^diff --git ' "$patch" || problem "$name" "no 'diff --git' section"

  # -- apply on a fresh copy --------------------------------------------------
  tmp="$(mktemp -d)"
  cp -R "$base/." "$tmp/"
  find "$tmp" -name __pycache__ -prune -exec rm -rf {} +
  if ! (cd "$tmp" && git apply --check "$patch" 2>&1); then
    problem "$name" "git apply --check failed"
    rm -rf "$tmp"; continue
  fi
  if ! (cd "$tmp" && git apply "$patch" 2>&1); then
    problem "$name" "git apply failed"
    rm -rf "$tmp"; continue
  fi

  # -- compile ----------------------------------------------------------------
  bad="$(compile_tree "$tmp")"
  case " $h_codes " in
    *" DG100 "*)
      [ -n "$bad" ] || problem "$name" "DG100 variant but every file compiles" ;;
    *)
      [ -z "$bad" ] || problem "$name" "does not compile: $(echo $bad)" ;;
  esac
  rm -rf "$tmp"
  [ "$this_failed" = 0 ] && echo "ok   $name"
done

dupes="$(printf '%s\n' "${names[@]}" | sort | uniq -d)"
[ -z "$dupes" ] || problem "all" "duplicate variant names: $dupes"
if [ "$#" -eq 0 ] && [ "$count" -lt 38 ]; then problem "all" "only $count variants (need >= 38)"; fi

echo "checked $count patch(es)"
if [ "$fail" != 0 ]; then echo "PROBLEMS FOUND"; exit 1; fi
echo "all patches OK"
