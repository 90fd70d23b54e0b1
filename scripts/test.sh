#!/usr/bin/env bash
# `make test`: every test of both environments; non-zero if any fails.
# Test dirs of the app env (Python 3.11) and of the bot env (Python 3.10, Rasa) are listed here.
set -uo pipefail
cd "$(dirname "$0")/.."

app_dirs=(tests/scripts tests/deploy tests/backend tests/dialogue tests/clients tests/platforms tests/bot_runtime tests/simulator tests/notifier tests/e2e tests/conversations)
bot_dirs=(tests/actions tests/bot)
bot_channel_tests=(tests/bot_runtime/test_sms_channel.py)

run_suite() {
    local python=$1; shift
    local dirs=()
    for d in "$@"; do [ -d "$d" ] && dirs+=("$d"); done
    [ ${#dirs[@]} -eq 0 ] && return 0
    echo "== $python -m pytest ${dirs[*]}"
    "$python" -m pytest "${dirs[@]}" -q -p no:cacheprovider
}

status=0
run_suite .venv/bin/python "${app_dirs[@]}" || status=1
run_suite .venv-bot/bin/python "${bot_dirs[@]}" || status=1
# Channel tests that import rasa but live beside their app-env siblings (whose conftest is app-only).
echo "== .venv-bot/bin/python -m pytest --noconftest ${bot_channel_tests[*]}"
.venv-bot/bin/python -m pytest --noconftest "${bot_channel_tests[@]}" -q -p no:cacheprovider || status=1
if [ $status -ne 0 ]; then echo "make test: FAILED"; else echo "make test: all suites passed"; fi
exit $status
