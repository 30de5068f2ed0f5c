#!/usr/bin/env bash
# Download a large real Python tree (the Django source distribution) from PyPI,
# without installing it, and unpack it into target/corpus/django; copy the local Python's
# unittest/mock.py into target/corpus/mock.
# Idempotent: does nothing when target/corpus/django is already there.
# Needs only python3 with pip (and network access to PyPI).
set -euo pipefail

DJANGO_VERSION="${DJANGO_VERSION:-5.1.4}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="$REPO_ROOT/target/corpus"
DEST="$CORPUS/django"
DL="$CORPUS/dl"
PYTHON="${PYTHON:-python3}"

# unittest/mock.py of the local Python: one file that once made value flow run away.
MOCK="$CORPUS/mock/mock.py"
if [ ! -f "$MOCK" ]; then
    mkdir -p "$CORPUS/mock"
    cp "$("$PYTHON" -c 'import unittest.mock as m; print(m.__file__)')" "$MOCK"
    echo "fetch_corpus: copied unittest/mock.py into $MOCK"
fi

if [ -f "$DEST/django/__init__.py" ]; then
    echo "fetch_corpus: $DEST already present (delete it to re-fetch)"
    exit 0
fi

mkdir -p "$DL"
"$PYTHON" -m pip download --disable-pip-version-check --no-deps \
    --no-binary :all: "django==$DJANGO_VERSION" -d "$DL"

"$PYTHON" - "$DL" "$DEST" "$DJANGO_VERSION" <<'PY'
import os, shutil, sys, tarfile, tempfile

dl, dest, version = sys.argv[1:4]
wanted = f"django-{version}.tar.gz"
archives = [n for n in os.listdir(dl) if n.lower() == wanted]
if not archives:
    sys.exit(f"fetch_corpus: no {wanted} in {dl}: {sorted(os.listdir(dl))}")
archive = os.path.join(dl, archives[0])
parent = os.path.dirname(dest)
tmp = tempfile.mkdtemp(prefix=".unpack-", dir=parent)
try:
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp, filter="data")
        else:  # Python without extraction filters: refuse odd members ourselves
            for m in tar.getmembers():
                if m.name.startswith("/") or ".." in m.name.split("/") or m.issym() or m.islnk():
                    sys.exit(f"fetch_corpus: refusing archive member {m.name!r}")
            tar.extractall(tmp)
    tops = os.listdir(tmp)
    if len(tops) != 1:
        sys.exit(f"fetch_corpus: expected one top directory in {archive}, got {tops}")
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.rename(os.path.join(tmp, tops[0]), dest)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
n = sum(f.endswith(".py") for _, _, fs in os.walk(dest) for f in fs)
print(f"fetch_corpus: unpacked {archive} into {dest} ({n} .py files)")
PY
