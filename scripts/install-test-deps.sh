#!/usr/bin/env bash
# What the browser tests need beyond Python packages: Debian's Chromium at /usr/bin/chromium.
# Playwright drives it through executablePath; it never downloads a browser of its own.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
