#!/usr/bin/env bash
# Installs what CentreDesk needs on a fresh Debian machine. Idempotent: each step
# checks first and does nothing when already done. Sourced by run-app.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

APT_PACKAGES=(
  # building the desktop shell (Tauri 2 on WebKitGTK)
  libwebkit2gtk-4.1-dev build-essential file pkg-config libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev
  # running it headless and testing it end to end
  xvfb xauth webkit2gtk-driver imagemagick
  # the phone pages (coach's phone roll call) in a real phone-sized browser
  chromium chromium-driver
  # Chinese glyphs in the window; poppler for checking PDFs; sqlite3 for bench peers
  fonts-noto-cjk poppler-utils sqlite3
  python3-venv
  # the device-token keyring test: a private D-Bus session with a real Secret Service
  dbus gnome-keyring
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# The web UI's packages (exact versions from package-lock.json).
if [ ! -d "$ROOT/ui/node_modules" ] || [ "$ROOT/ui/package-lock.json" -nt "$ROOT/ui/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci (ui)"
  (cd "$ROOT/ui" && npm ci --no-audit --no-fund)
fi
