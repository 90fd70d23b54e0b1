#!/usr/bin/env bash
# System packages the tests need that pip cannot provide: Debian's chromium for the simulator page
# test (Playwright drives it; nothing downloads a browser). Installed with apt-get when we are root
# on Debian/Ubuntu; elsewhere it says what to install and the page test is skipped.
set -uo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "system: installing chromium for the simulator page test (apt-get)…"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        && exit 0
fi
echo "system: chromium not installed (apt-get install chromium); the simulator page test will be skipped" >&2
