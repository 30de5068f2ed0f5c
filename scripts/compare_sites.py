#!/usr/bin/env python3
"""Compare `deployguard sites` with the ast oracle (scripts/ast_sites.py).

Usage:
    python3 scripts/compare_sites.py --deployguard PATH [options] ROOT NAME [NAME ...]

Runs
    PATH sites ROOT --sink NAME [--sink NAME ...] --format json
    python3 scripts/ast_sites.py ROOT NAME [NAME ...]
(argument lists, never a shell), drops from both sides every file that either
side could not parse (and lists them), then compares the multisets of
(file, line, column, sink) of deployguard's `"via": null` entries with the
oracle's sites. Entries with a non-null `via` (aliases, indirection) are not
modelled by the oracle: they are counted and ignored.

Also checked: deployguard's summary.files equals the number of files the oracle
discovered (same discovery rules), and summary.sites equals the number of
entries in "sites".

Exit status: 0 when everything agrees and at least one site was compared,
1 on any disagreement (or when nothing was compared), 2 when a tool fails
(missing binary, non-zero exit, unreadable JSON, oracle self-check failure).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.join(HERE, "ast_sites.py")
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # leave no __pycache__ in scripts/
import ast_sites  # noqa: E402  (for reading source lines exactly as the oracle does)


class ToolError(Exception):
    pass


def show_argv(argv: list[str], limit: int = 400) -> str:
    """The command line for a human, cut short when very long (many NAMEs)."""
    text = " ".join(argv)
    if len(text) <= limit:
        return text
    return f"{text[:limit]} ... ({len(argv)} arguments)"


def run_json(argv: list[str], what: str, timeout: float) -> dict:
    try:
        proc = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout
        )
    except FileNotFoundError as exc:
        raise ToolError(f"{what}: cannot run {argv[0]!r}: {exc}") from None
    except PermissionError as exc:
        raise ToolError(f"{what}: cannot run {argv[0]!r}: {exc}") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what}: no answer within {timeout:.0f}s: {show_argv(argv)}") from None
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise ToolError(
            f"{what} exited with status {proc.returncode}: {show_argv(argv)}\n"
            + (f"--- its stderr ---\n{err}" if err else "(no stderr)")
        )
    try:
        return json.loads(proc.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        head = proc.stdout[:600].decode("utf-8", "replace")
        raise ToolError(f"{what}: stdout is not one JSON object ({exc}); it begins:\n{head}") from None


def check_deployguard_shape(doc: object) -> None:
    def bad(msg: str) -> ToolError:
        return ToolError(f"deployguard: unexpected JSON shape: {msg}")

    if not isinstance(doc, dict) or not isinstance(doc.get("sites"), list):
        raise bad('no "sites" list')
    summary = doc.get("summary")
    if not isinstance(summary, dict):
        raise bad('no "summary" object')
    if not isinstance(summary.get("files"), int) or not isinstance(summary.get("sites"), int):
        raise bad('"summary.files" and "summary.sites" must be integers')
    errs = summary.get("files_with_syntax_errors")
    if not isinstance(errs, list) or not all(isinstance(f, str) for f in errs):
        raise bad('"summary.files_with_syntax_errors" must be a list of strings')
    for i, site in enumerate(doc["sites"]):
        if not isinstance(site, dict):
            raise bad(f"sites[{i}] is not an object")
        for key, typ in (("file", str), ("line", int), ("column", int), ("sink", str)):
            if not isinstance(site.get(key), typ) or isinstance(site.get(key), bool):
                raise bad(f"sites[{i}].{key} missing or not a {typ.__name__}: {site}")
        if "via" not in site:
            raise bad(f'sites[{i}] has no "via" key (null for a syntactic site): {site}')


class Sources:
    """Source lines, read and numbered exactly as the oracle does."""

    def __init__(self, root: str):
        self.root = root
        self.cache: dict[str, list[str] | None] = {}

    def line(self, rel: str, lineno: int) -> str | None:
        if rel not in self.cache:
            try:
                with open(os.path.join(self.root, *rel.split("/")), "rb") as fh:
                    raw = fh.read()
                if raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                self.cache[rel] = ast_sites.split_lines(raw.decode("utf-8", "replace"))
            except OSError:
                self.cache[rel] = None
        lines = self.cache[rel]
        if lines is None or not 1 <= lineno <= len(lines):
            return None
        return lines[lineno - 1]

    def show(self, rel: str, lineno: int, column: int) -> str:
        text = self.line(rel, lineno)
        if text is None:
            return "        (no such line in the file)"
        shown, caret = [], []
        for i, c in enumerate(text):
            if c == "\t":
                piece, pad = c, c
            elif c.isprintable():
                piece, pad = c, " "
            else:
                piece = f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                pad = " " * len(piece)
            shown.append(piece)
            if i < column - 1:
                caret.append(pad)
        shown, caret = "".join(shown), "".join(caret)
        note = "" if column - 1 <= len(text) else f"  (column {column} is past the end of the line)"
        return f"        | {shown}\n        | {caret}^{note}"


def pair_position_mismatches(missing: list[tuple], extra: list[tuple]):
    """Pair a missing and an extra entry of the same file and sink that share the line
    or the column, closest pairs first: most likely one site reported at two positions.
    Returns (pairs, unpaired missing, unpaired extra)."""
    extra_by: dict[tuple, list[int]] = collections.defaultdict(list)
    for j, e in enumerate(extra):
        extra_by[(e[0], e[3])].append(j)
    candidates = []
    for i, m in enumerate(missing):
        for j in extra_by.get((m[0], m[3]), ()):
            e = extra[j]
            if e[1] == m[1] or e[2] == m[2]:
                candidates.append((abs(e[1] - m[1]) * 100000 + abs(e[2] - m[2]), i, j))
    candidates.sort()
    used_m: set[int] = set()
    used_e: set[int] = set()
    pairs = []
    for _, i, j in candidates:
        if i not in used_m and j not in used_e:
            used_m.add(i)
            used_e.add(j)
            pairs.append((missing[i], extra[j]))
    pairs.sort()
    rest_m = [m for i, m in enumerate(missing) if i not in used_m]
    rest_e = [e for j, e in enumerate(extra) if j not in used_e]
    return pairs, rest_m, rest_e


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deployguard", required=True, help="path to the deployguard binary")
    ap.add_argument("--python", default=sys.executable, help="python for the oracle (default: this one)")
    ap.add_argument(
        "--strict-unparsable",
        action="store_true",
        help="also fail when the two sides disagree on which files cannot be parsed",
    )
    ap.add_argument(
        "--expect-unparsable",
        action="append",
        default=[],
        metavar="FILE",
        help="ROOT-relative file that both sides must report as unparsable (repeatable)",
    )
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds per tool run")
    ap.add_argument("root", metavar="ROOT")
    ap.add_argument("names", metavar="NAME", nargs="+")
    args = ap.parse_args()

    names = list(dict.fromkeys(args.names))
    if not os.path.isdir(args.root):
        print(f"compare_sites: ROOT is not a directory: {args.root}", file=sys.stderr)
        return 2
    dg_argv = [args.deployguard, "sites", args.root]
    for n in names:
        dg_argv += ["--sink", n]
    dg_argv += ["--format", "json"]
    oracle_argv = [args.python, ORACLE, args.root, *names]

    try:
        oracle = run_json(oracle_argv, "oracle (ast_sites.py)", args.timeout)
        dg = run_json(dg_argv, "deployguard", args.timeout)
        check_deployguard_shape(dg)
    except ToolError as exc:
        print(f"compare_sites: TOOL ERROR: {exc}", file=sys.stderr)
        return 2
    if oracle.get("self_check_failures"):
        print("compare_sites: TOOL ERROR: the oracle failed its own position self-check:", file=sys.stderr)
        for f in oracle["self_check_failures"]:
            print(f"  {f['file']}:{f['line']}:{f['column']} [{f['sink']}] {f['reason']}", file=sys.stderr)
        return 2

    problems: list[str] = []
    src = Sources(args.root)
    print(f"deployguard: {show_argv(dg_argv)}")
    print(f"oracle:      {show_argv(oracle_argv)}")

    # --- discovery ---------------------------------------------------------
    dg_summary = dg["summary"]
    print(f"\nfiles discovered: oracle {oracle['files']}, deployguard {dg_summary['files']}")
    if oracle["files"] != dg_summary["files"]:
        problems.append(
            f"discovery differs: oracle found {oracle['files']} .py files, "
            f"deployguard summary.files says {dg_summary['files']}"
        )
    if dg_summary["sites"] != len(dg["sites"]):
        problems.append(
            f"deployguard summary.sites is {dg_summary['sites']} but it lists {len(dg['sites'])} sites"
        )

    # --- unparsable files --------------------------------------------------
    o_bad = set(oracle["unparsable"])
    d_bad = set(dg_summary["files_with_syntax_errors"])
    dropped = o_bad | d_bad
    print(f"files dropped from the comparison (unparsable by either side): {len(dropped)}")
    for label, group in (
        ("both", sorted(o_bad & d_bad)),
        ("only the oracle (Python's ast)", sorted(o_bad - d_bad)),
        ("only deployguard", sorted(d_bad - o_bad)),
    ):
        print(f"  unparsable by {label}: {len(group)}")
        for f in group:
            print(f"    {f}")
    if args.strict_unparsable and o_bad != d_bad:
        problems.append("the two sides disagree on which files cannot be parsed (--strict-unparsable)")
    for f in args.expect_unparsable:
        if f not in o_bad:
            problems.append(f"expected unparsable file not in the oracle's list: {f}")
        if f not in d_bad:
            problems.append(f"expected unparsable file not in deployguard's files_with_syntax_errors: {f}")

    # --- sites -------------------------------------------------------------
    def key(s: dict) -> tuple:
        return (s["file"], s["line"], s["column"], s["sink"])

    o_sites = collections.Counter(key(s) for s in oracle["sites"] if s["file"] not in dropped)
    d_all = [s for s in dg["sites"] if s["file"] not in dropped]
    d_sites = collections.Counter(key(s) for s in d_all if s["via"] is None)
    d_via = collections.Counter(s["sink"] for s in d_all if s["via"] is not None)

    missing = sorted((o_sites - d_sites).elements())  # the oracle has them, deployguard not
    extra = sorted((d_sites - o_sites).elements())  # deployguard has them, the oracle not
    o_by = collections.Counter(k[3] for k in o_sites.elements())
    d_by = collections.Counter(k[3] for k in d_sites.elements())
    m_by = collections.Counter(k[3] for k in missing)
    e_by = collections.Counter(k[3] for k in extra)

    sinks = names + sorted(set(d_by) - set(names))
    width = max(len("NAME"), *(len(n) for n in sinks))
    print(f"\n{'NAME':<{width}}  {'oracle':>8}  {'deployguard':>11}  {'missing':>7}  {'extra':>7}  {'via (ignored)':>13}")
    for n in sinks:
        print(f"{n:<{width}}  {o_by[n]:>8}  {d_by[n]:>11}  {m_by[n]:>7}  {e_by[n]:>7}  {d_via[n]:>13}")
    total_o = sum(o_sites.values())
    total_d = sum(d_sites.values())
    print(f"{'total':<{width}}  {total_o:>8}  {total_d:>11}  {len(missing):>7}  {len(extra):>7}  {sum(d_via.values()):>13}")

    pairs, only_missing, only_extra = pair_position_mismatches(missing, extra)
    if pairs:
        print(f"\nSAME SITE, DIFFERENT POSITION ({len(pairs)}): oracle position vs deployguard position")
        for m, e in pairs:
            print(f"  {m[0]}:{m[1]}:{m[2]} [{m[3]}]  deployguard says {e[1]}:{e[2]}")
            print(src.show(m[0], m[1], m[2]))
            if e[1] != m[1]:
                print(src.show(e[0], e[1], e[2]))
    if only_missing:
        print(f"\nMISSING from deployguard (the oracle has them) ({len(only_missing)}):")
        for f, line, col, sink in only_missing:
            print(f"  {f}:{line}:{col} [{sink}]")
            print(src.show(f, line, col))
    if only_extra:
        print(f"\nEXTRA in deployguard (the oracle does not have them) ({len(only_extra)}):")
        for f, line, col, sink in only_extra:
            print(f"  {f}:{line}:{col} [{sink}]")
            print(src.show(f, line, col))
    if missing or extra:
        problems.append(f"sites differ: {len(missing)} missing from deployguard, {len(extra)} extra in deployguard")

    compared = total_o
    print(f"\ncompared_sites: {compared}")
    if compared == 0:
        problems.append("no site was compared (the oracle found no site of these names outside dropped files)")
    if problems:
        print("RESULT: DISAGREE")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"RESULT: AGREE ({compared} sites, {len(names)} names, {len(dropped)} files dropped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
