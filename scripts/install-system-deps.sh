#!/usr/bin/env bash
# System packages the tests need that pip cannot provide: Debian's chromium for the simulator page
# and staff console tests (Playwright drives it; nothing downloads a browser), and a Chinese font so
# that their screenshots are readable. Installed with apt-get when we are root on Debian/Ubuntu;
# elsewhere it says what to install and the page tests are skipped.
set -uo pipefail

if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "system: installing chromium and a Chinese font for the page tests (apt-get)…"
    apt-get update -qq >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null \
        && exit 0
fi
echo "system: chromium not installed (apt-get install chromium fonts-wqy-microhei); the page tests will be skipped" >&2
