#!/usr/bin/env bash
# Debian packages that the test suite uses (not the build): poppler-utils for
# pdftotext (the PDF's text is checked against the numbers file) and Chromium
# (the HTML is loaded in a real headless browser). Installs only what is missing.
set -euo pipefail

need=()
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "warning: cannot install ${need[*]} (not root, no sudo); the tests that need them will be skipped" >&2
  exit 0
fi
echo "Installing Debian packages for the tests: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
