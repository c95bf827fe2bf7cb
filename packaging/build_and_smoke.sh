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

# System tools, and the .deb's Depends: build.py checks every system library the bundle needs
# against them, and the frozen app's self-test runs on them, so they must be installed here too.
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
groups=()
command -v dpkg-deb >/dev/null || groups+=(dpkg)
command -v appstreamcli >/dev/null || groups+=(appstream)
command -v desktop-file-validate >/dev/null || groups+=(desktop-file-utils)
command -v Xvfb >/dev/null || groups+=(xvfb)  # the smoke test's real-window check
command -v xwininfo >/dev/null || groups+=(x11-utils)
while read -r group; do
  found=""
  for alt in ${group//|/ }; do installed "$alt" && found=1 && break; done
  [ -n "$found" ] || groups+=("$group")
done < <("$PY" packaging/build.py depends)
if [ ${#groups[@]} -gt 0 ]; then
  if { [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; } && command -v apt-get >/dev/null; then
    $SUDO apt-get update -qq >/dev/null || true
    need=()
    for group in "${groups[@]}"; do
      pick=""
      for alt in ${group//|/ }; do  # the first alternative this system's apt knows
        if apt-cache show "$alt" >/dev/null 2>&1; then pick=$alt; break; fi
      done
      need+=("${pick:-${group%%|*}}")
    done
    echo "[packaging] apt-get install ${need[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "[packaging] missing ${groups[*]}: install them (not root, or no apt-get); going on" >&2
  fi
fi

"$PY" packaging/build.py freeze deb tarball
PACKAGING_STARTED=$started exec bash packaging/smoke_test.sh  # its last line is the pass/fail summary
