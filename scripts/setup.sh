#!/usr/bin/env bash
# Install Tidings from this checkout on Debian/Ubuntu: the system libraries Qt needs, a virtual
# environment in .venv, and the app in it (editable, so `git pull` updates it).
#   scripts/setup.sh          the app
#   scripts/setup.sh --test   also the test tools, Xvfb, and the real model for the end-to-end test
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# Qt's runtime libraries (shared/NOTES.md lists what a fresh Debian 12 lacks), fonts for rendering.
pkgs=(libglib2.0-0 libegl1 libgl1 libx11-6 libdbus-1-3 libfontconfig1 libfreetype6 libxkbcommon0
      libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
      libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1
      libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 fontconfig fonts-dejavu-core)
if [ $want_test = 1 ]; then
  pkgs+=(xvfb xauth dpkg-dev cmake build-essential)
  # a real Tiny Tiny RSS for the account tests (tests/support/ttrss_server.py); dbconfig-no-thanks
  # keeps tt-rss's package from configuring a database of its own
  pkgs+=(dbconfig-no-thanks tt-rss php-cli php-pgsql php-curl php-intl php-mbstring php-xml postgresql)
fi
python3 -c 'import ensurepip' 2>/dev/null || pkgs+=(python3-venv python3-pip)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 - <<'PY' || { echo "Tidings needs Python 3.11 or newer (python3 is older)." >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ $want_test = 1 ]; then
  .venv/bin/python -m pip install -q -e ".[test]"
  bash scripts/install_e2e.sh .venv
else
  .venv/bin/python -m pip install -q -e .
fi
echo "Tidings is installed in .venv: run .venv/bin/tidings (the app) or .venv/bin/tidings --help (the CLI)." >&2
