#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter for the bot env (Rasa 3.6 needs 3.8-3.10):
# `python3.10` on PATH, else pyenv's versions directory, else `uv python install 3.10`.
set -euo pipefail

is_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

if command -v python3.10 >/dev/null 2>&1 && is_310 python3.10; then
    command -v python3.10
    exit 0
fi
for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10; do
    if [ -x "$candidate" ] && is_310 "$candidate"; then
        echo "$candidate"
        exit 0
    fi
done
if command -v uv >/dev/null 2>&1; then
    uv python install 3.10 >&2
    uv python find 3.10
    exit 0
fi
echo "error: Python 3.10 not found (Rasa 3.6 needs it). Fix: 'pyenv install 3.10' or 'pip install uv' then re-run make." >&2
exit 1
