#!/usr/bin/env bash
# What the tests need beyond Python packages, from Debian: Chromium at /usr/bin/chromium (Playwright drives it
# through executablePath; it never downloads a browser of its own) and nginx (the reverse proxy in front of
# `qa serve` in tests/qa/test_proxy.py, as the README's deployment puts one).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-noto-cjk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
