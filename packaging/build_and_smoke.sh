#!/usr/bin/env bash
# One command for CI (and people): build the Linux installers for real and smoke-test them.
#
#   bash packaging/build_and_smoke.sh [VENV]     # VENV: a virtualenv with Tidings' deps (default .venv)
#
# Installs what it needs when missing (PyInstaller into VENV; dpkg, appstream, desktop-file-utils
# and the Qt runtime libraries with apt, as root or through passwordless sudo), runs
# packaging/build.py (frozen app, .deb, .tar.gz into packaging/out/), then packaging/smoke_test.sh.
# Exit 0 only if all passed; the last line is "smoke: N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${1:-.venv}"
PY="$VENV/bin/python"
started=$(date +%s)

if [ ! -x "$PY" ]; then
  echo "[packaging] creating $VENV and installing Tidings into it"
  python3 -m venv "$VENV"
  "$PY" -m pip install -q -e .
fi
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
  echo "[packaging] installing PyInstaller into $VENV"
  "$PY" -m pip install -q -r packaging/requirements.txt
fi

# System tools and the libraries the bundled Qt needs (also the .deb's Depends).
need=()
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v appstreamcli >/dev/null || need+=(appstream)
command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
for lib in libEGL.so.1 libGL.so.1 libfontconfig.so.1 libxkbcommon.so.0 libdbus-1.so.3 libglib-2.0.so.0 libX11.so.6; do
  ldconfig -p 2>/dev/null | grep -q "$lib" || { need+=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libglib2.0-0 libx11-6 libfreetype6); break; }
done
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
if [ ${#need[@]} -gt 0 ]; then
  if { [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; } && command -v apt-get >/dev/null; then
    echo "[packaging] apt-get install ${need[*]}"
    $SUDO apt-get update -qq >/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "[packaging] missing ${need[*]}: install them (not root, or no apt-get), going on" >&2
  fi
fi

"$PY" packaging/build.py freeze deb tarball
PACKAGING_STARTED=$started exec bash packaging/smoke_test.sh  # its last line is the pass/fail summary
