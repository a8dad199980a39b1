#!/usr/bin/env bash
# Debian packages the project uses beyond Python. Installs only what is missing.
#   paper: fonts-wqy-microhei, a small CJK font for the Chinese question texts in the PDF
#   test:  the paper's packages, plus poppler-utils (pdftotext: the PDF's text is checked
#          against the numbers file) and chromium (the HTML is loaded in a headless browser)
# A package that cannot be had (no network, no such package) is one warning line, not a
# failed build: without the font the PDF lacks the Chinese glyphs, nothing else changes.
set -euo pipefail
group="${1:-test}"

need=()
[ -d /usr/share/fonts/truetype/wqy ] || need+=(fonts-wqy-microhei)
if [ "$group" = "test" ]; then
  command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  echo "warning: cannot install Debian packages ${need[*]} (not root, no sudo);" \
       "install them yourself: the PDF lacks Chinese glyphs and the tests that need" \
       "pdftotext or chromium are skipped without them" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: no apt-get; install ${need[*]} with your system's package manager" >&2
  exit 0
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# Wait (up to 10 minutes) for another install holding the dpkg/apt lock, as on a fresh
# cloud machine, instead of failing at once.
apt=($SUDO apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=2)
why=""
if ! log=$("${apt[@]}" update -qq 2>&1); then
  why="apt-get update failed: $(grep -m1 -E '^(E|W):' <<<"$log" || tail -n1 <<<"$log")"
fi
for pkg in "${need[@]}"; do
  if ! log=$("${apt[@]}" install -y -qq --no-install-recommends "$pkg" 2>&1); then
    reason=$(grep -m1 '^E:' <<<"$log" || tail -n1 <<<"$log")
    echo "warning: cannot install $pkg (${reason}${why:+; $why}); the build goes on without it." \
         "Install it yourself (sudo apt-get install $pkg), before going offline" >&2
  fi
done
exit 0
