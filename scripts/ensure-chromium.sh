#!/usr/bin/env bash
# The web pages' end-to-end tests drive Debian's Chromium headless; CJK fonts let Korean render in screenshots.
# Installs the chromium and fonts-noto-cjk packages when missing (needs root or sudo).
set -euo pipefail

if [ -x /usr/bin/chromium ] && compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK*" >/dev/null; then
    exit 0
fi
echo "Chromium or its CJK fonts not found: installing Debian's chromium and fonts-noto-cjk packages" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null; then
    SUDO="sudo"
else
    echo "Install Chromium (Debian: apt-get install chromium fonts-noto-cjk) and run again." >&2
    exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
