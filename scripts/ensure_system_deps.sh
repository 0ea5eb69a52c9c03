#!/usr/bin/env bash
# Install the few system packages the project needs from Debian's registry, when missing:
#   - a CJK-capable font so Chinese region and outlet names render in charts;
#   - (with --browser) Debian's chromium for the real-browser test of the HTML reports.
# Only acts as root with apt-get; otherwise prints what to install and carries on.
set -u
want=()
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then want+=(fonts-wqy-microhei); fi
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then want+=(chromium); fi
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${want[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # no recommends: chromium's hard dependencies are enough headless (--no-sandbox) and
  # recommends would pull a desktop's worth of packages (~120) into CI
  apt_install() { apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null 2>&1; }
  apt_install || { apt-get update -qq >/dev/null 2>&1 && apt_install; } || echo "WARNING: could not install ${want[*]}"
  if [ "${1:-}" = "--browser" ] && ! chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1; then
    echo "WARNING: chromium is installed but does not start headless; tests/test_browser.py will fail"
  fi
  # matplotlib caches the font list; drop it so the new font is seen
  rm -rf "${HOME}/.cache/matplotlib" 2>/dev/null || true
else
  echo "WARNING: please install ${want[*]} (Chinese names in charts need a CJK font)."
fi
exit 0
