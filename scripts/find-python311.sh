#!/usr/bin/env bash
# Prints the path of a Python 3.11+ interpreter for the app env.
set -euo pipefail

for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
        command -v "$candidate"
        exit 0
    fi
done
echo "error: Python 3.11 or newer not found for the app env. Fix: install python3.11 (apt-get install python3.11 python3.11-venv) and re-run make." >&2
exit 1
