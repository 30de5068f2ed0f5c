#!/usr/bin/env python3
"""Independent oracle for `deployguard sites`: call sites counted by Python's own `ast`.

Usage:
    python3 scripts/ast_sites.py ROOT NAME [NAME ...]

Prints one JSON object on stdout:

    {"files": N,
     "sites": [{"file": "pkg/mod.py", "line": 12, "column": 5, "sink": "NAME"}, ...],
     "unparsable": ["pkg/broken.py", ...],
     "self_check_failures": [...]}

A site of NAME is an `ast.Call` whose `func` is `ast.Name(id=NAME)` or
`ast.Attribute(attr=NAME)`, wherever it occurs (decorators, default arguments,
lambdas, comprehensions, f-string replacement fields, class bodies, ...).

Positions:
  * line   = Call.lineno (1-based, Python's own line numbering: "\\r\\n", "\\r" and
             "\\n" end a line; form feed, U+2028, NEL ... do not).
  * column = 1 + number of Unicode code points before Call.col_offset on that line
             (col_offset is a UTF-8 byte offset). A leading UTF-8 BOM is not part of
             line 1.

Discovery (must match deployguard): every regular file whose name ends in ".py"
under ROOT, sorted by its ROOT-relative "/"-separated path. Symlinks (to files or
directories) are never followed or reported. Below ROOT, a directory is skipped
when its name starts with ".", is one of __pycache__, venv, node_modules, build,
dist, site-packages, target, ends with ".egg-info", or it contains a pyvenv.cfg.
ROOT itself is always walked, whatever its name.

A file goes to "unparsable" when it is not valid UTF-8 or `ast.parse` rejects it
(SyntaxError, null bytes, too deeply nested, ...).

Every reported position is self-checked: the source text between the Call's start
and end positions is re-parsed and must give the same tree as the Call node. A
failure there means the oracle's own positions cannot be trusted; such sites are
listed under "self_check_failures" (compare_sites.py treats any as a tool error).

Standard library only; written for Python 3.11.
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
import sys
import warnings

SKIP_DIRS = frozenset(
    {"__pycache__", "venv", "node_modules", "build", "dist", "site-packages", "target"}
)

# Python's tokenizer ends a line at "\r\n", "\r" or "\n" and nowhere else
# (str.splitlines() would also split at \x0b, \x0c, \x1c-\x1e, \x85, \u2028, \u2029).
_LINE_END = re.compile(r"\r\n|\r|\n")


def skip_dir(path: str, name: str) -> bool:
    if name.startswith("."):
        return True
    if os.path.isfile(os.path.join(path, "__init__.py")):
        return False  # a package is the project's code, whatever its name
    if name in SKIP_DIRS or name.endswith(".egg-info"):
        return True
    return os.path.exists(os.path.join(path, "pyvenv.cfg"))


def discover(root: str) -> list[str]:
    """ROOT-relative '/'-separated paths of the *.py files, sorted."""
    found: list[str] = []

    # Symlinks are followed, as Python's import follows them: files always, directories only
    # into a package; a directory link back to an ancestor being walked (a loop) and a link
    # to nothing are skipped.
    def walk(abs_dir: str, rel_dir: str, ancestors: frozenset[str]) -> None:
        with os.scandir(abs_dir) as it:
            entries = list(it)
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                mode = entry.stat(follow_symlinks=True).st_mode
            except OSError:
                continue  # dangling link or loop of links
            if stat.S_ISDIR(mode):
                real = os.path.realpath(entry.path)
                package = os.path.isfile(os.path.join(entry.path, "__init__.py"))
                if entry.is_symlink() and not package:
                    continue  # a linked directory is followed only into a package
                if real not in ancestors and not skip_dir(entry.path, entry.name):
                    walk(entry.path, rel, ancestors | {real})
            elif stat.S_ISREG(mode) and entry.name.endswith(".py"):
                found.append(rel)

    walk(root, "", frozenset({os.path.realpath(root)}))
    found.sort()
    return found


def split_lines(text: str) -> list[str]:
    """Lines as Python numbers them (index 0 is line 1), without terminators."""
    return _LINE_END.split(text)


def char_column(line_bytes: bytes, col_offset: int) -> int:
    return len(line_bytes[:col_offset].decode("utf-8")) + 1


def call_sink(node: ast.Call, names: frozenset[str]) -> str | None:
    func = node.func
    if isinstance(func, ast.Name) and func.id in names:
        return func.id
    if isinstance(func, ast.Attribute) and func.attr in names:
        return func.attr
    return None


def segment(lines_b: list[bytes], node: ast.expr) -> str:
    """Source text of node from its start to its end position (byte offsets)."""
    l0, c0 = node.lineno - 1, node.col_offset
    l1, c1 = node.end_lineno - 1, node.end_col_offset
    if l0 == l1:
        return lines_b[l0][c0:c1].decode("utf-8")
    parts = [lines_b[l0][c0:]] + lines_b[l0 + 1 : l1] + [lines_b[l1][:c1]]
    return b"\n".join(parts).decode("utf-8")


def self_check(lines_b: list[bytes], node: ast.Call) -> str | None:
    """None when the text at node's position re-parses to node; else a reason."""
    try:
        text = segment(lines_b, node)
    except (IndexError, UnicodeDecodeError) as exc:
        return f"position outside the source or inside a character: {exc}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            again = ast.parse("(\n" + text + "\n)", mode="eval").body
    except SyntaxError as exc:
        return f"text at the position does not parse ({exc.msg}): {text!r}"
    try:
        same = ast.dump(again) == ast.dump(node)
    except RecursionError:
        return None  # too deep to compare; the parse above already succeeded
    if not same:
        return f"text at the position is a different expression: {text!r}"
    return None


def scan_file(path: str, names: frozenset[str]):
    """(sites, failures) for one file, or None when Python cannot parse it."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        with warnings.catch_warnings():
            # e.g. "invalid escape sequence": never let a warning (or -W error) decide.
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines_b = [ln.encode("utf-8") for ln in split_lines(text)]
    sites = []
    failures = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        sink = call_sink(node, names)
        if sink is None:
            continue
        line = node.lineno
        column = char_column(lines_b[line - 1], node.col_offset)
        sites.append((line, column, sink))
        reason = self_check(lines_b, node)
        if reason is not None:
            failures.append((line, column, sink, reason))
    return sites, failures


def run(root: str, names: list[str]) -> dict:
    wanted = frozenset(names)
    files = discover(root)
    sites = []
    unparsable = []
    failures = []
    for rel in files:
        result = scan_file(os.path.join(root, *rel.split("/")), wanted)
        if result is None:
            unparsable.append(rel)
            continue
        file_sites, file_failures = result
        sites.extend((rel, line, col, sink) for line, col, sink in file_sites)
        failures.extend((rel,) + f for f in file_failures)
    sites.sort()
    failures.sort()
    return {
        "files": len(files),
        "sites": [
            {"file": f, "line": l, "column": c, "sink": s} for f, l, c, s in sites
        ],
        "unparsable": unparsable,
        "self_check_failures": [
            {"file": f, "line": l, "column": c, "sink": s, "reason": r}
            for f, l, c, s, r in failures
        ],
    }


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print("usage: python3 scripts/ast_sites.py ROOT NAME [NAME ...]", file=sys.stderr)
        return 2
    root = argv[1]
    names = argv[2:]
    if not os.path.isdir(root):
        print(f"ast_sites: ROOT is not a directory: {root}", file=sys.stderr)
        return 2
    for name in names:
        if not name.isidentifier():
            print(f"ast_sites: not a Python identifier: {name!r}", file=sys.stderr)
            return 2
    result = run(root, names)
    for f in result["self_check_failures"]:
        print(
            f"ast_sites: self-check failed at {f['file']}:{f['line']}:{f['column']}: {f['reason']}",
            file=sys.stderr,
        )
    json.dump(result, sys.stdout, ensure_ascii=True, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
