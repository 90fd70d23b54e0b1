#!/usr/bin/env bash
# System packages the tests need that pip cannot provide: Debian's chromium for the simulator page
# test and the staff console tests (Playwright drives it; nothing downloads a browser), a Chinese font
# so that their screenshots are readable, and Debian's prometheus for `promtool`, which checks the
# alert rules in deploy/. Installed with apt-get when we are root on Debian/Ubuntu; elsewhere it says
# what to install and the tests that need them skip that part.
set -uo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} = 0 ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "system: installing ${missing[*]} for the tests (apt-get)…"
    apt-get update -qq >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        && exit 0
fi
echo "system: ${missing[*]} not installed (apt-get install ${missing[*]}): the page tests and the" \
    "promtool check of deploy/ will be skipped" >&2
