#!/bin/sh
# Creates the project's Python 2.7 environment in .venv/ (idempotent).
# Finds CPython 2.7 or PyPy2 on PATH or under pyenv; installs the pinned
# packages from PyPI. Exits non-zero with a message naming what is missing.
set -e
cd "$(dirname "$0")/.."
VENV=.venv
STAMP=$VENV/.elyz-pins
PINS="rpython==0.2.1 py==1.11.0 pytest==4.6.11 pyelftools==0.29 hypothesis==4.57.1 attrs==21.4.0 sortedcontainers==2.4.0 enum34==1.1.10"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PINS" ] && [ -x "$VENV/bin/python" ]; then
    exit 0
fi

find_python2() {
    for cand in python2.7 python2 pypy2 pypy; do
        if command -v "$cand" >/dev/null 2>&1; then
            p=$(command -v "$cand")
            if "$p" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (2, 7) else 1)' 2>/dev/null; then
                echo "$p"; return 0
            fi
        fi
    done
    if command -v pyenv >/dev/null 2>&1 || [ -d "${PYENV_ROOT:-$HOME/.pyenv}" ]; then
        root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
        for p in "$root"/versions/2.7*/bin/python2.7 "$root"/versions/pypy2*/bin/pypy; do
            if [ -x "$p" ]; then echo "$p"; return 0; fi
        done
    fi
    return 1
}

PY2=$(find_python2) || {
    echo "error: RPython needs Python 2.7, and none was found on PATH or under pyenv." >&2
    echo "       Install one, e.g. 'pyenv install 2.7.18' or your distro's python2.7/pypy package," >&2
    echo "       then run make again." >&2
    exit 1
}
echo "setup: creating .venv with $PY2"
rm -rf "$VENV"
if "$PY2" -c 'import virtualenv' 2>/dev/null; then
    "$PY2" -m virtualenv -q "$VENV"
else
    TOOLDIR=build/virtualenv-tool
    mkdir -p "$TOOLDIR"
    "$PY2" -m pip install -q --disable-pip-version-check --target "$TOOLDIR" 'virtualenv<20.22'  2>/dev/null || {
        echo "error: could not install virtualenv<20.22 for $PY2 from PyPI" >&2; exit 1; }
    PYTHONPATH="$TOOLDIR" "$PY2" -m virtualenv -q "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check $PINS 2>&1 | grep -v -e "^WARNING: Url" -e "legacy dependency resolver" -e "requires pytest<3" || true
"$VENV/bin/python" -c 'import rpython, py, pytest, elftools, hypothesis' || {
    echo "error: the pinned packages did not install into .venv ($PINS)" >&2; exit 1; }
echo "$PINS" > "$STAMP"
echo "setup: .venv ready"
