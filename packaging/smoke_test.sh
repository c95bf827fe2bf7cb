#!/usr/bin/env bash
# Smoke-test a built installer the way a person would get it, on the OS this runs on.
#
#   bash packaging/smoke_test.sh [INSTALLER]     # default: the newest one in packaging/out/
#
# Linux:   unpacks the .deb with `dpkg-deb -x` into a temporary root, checks its layout, desktop
#          entry, AppStream metainfo and that apt could resolve its Depends, then runs
#          <root>/opt/tidings/tidings --version and `selftest` headless (QT_QPA_PLATFORM=offscreen)
#          with a clean environment; and does the same from the portable .tar.gz.
# Windows: installs the Inno Setup installer silently into a temporary folder, runs
#          tidings-cli.exe selftest, then uninstalls silently and checks the folder is gone.
# macOS:   attaches the .dmg, copies Tidings.app out, runs its binary's selftest, detaches.
# Prints one line per check and ends with "smoke: N passed, N failed"; exits 0 only if none failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/out"
VERSION="$(cd "$HERE" && (python3 version.py 2>/dev/null || python version.py))"
passed=0
failed=0
ok() { echo "smoke: [ok] $*"; passed=$((passed + 1)); }
bad() { echo "smoke: [FAIL] $*"; failed=$((failed + 1)); }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
now() { python3 -c 'import time; print(time.time())' 2>/dev/null || python -c 'import time; print(time.time())'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# `timeout` where there is one (macOS has none by default).
TO=()
if command -v timeout >/dev/null; then TO=(timeout 300); fi
limit() { ${TO[@]+"${TO[@]}"} "$@"; }
finish() {
  if [ -n "${PACKAGING_STARTED:-}" ]; then
    echo "smoke: build and smoke test took $(( $(date +%s) - PACKAGING_STARTED )) s"
  fi
  echo "smoke: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# Run the frozen binary $1 with the remaining args headless, in a clean environment whose
# home and data folders are inside $SANDBOX; stdout+stderr go to $SANDBOX/last.log.
run_frozen() {
  local exe="$1"; shift
  mkdir -p "$SANDBOX/home" "$SANDBOX/data"
  (cd / && env -i PATH=/usr/bin:/bin HOME="$SANDBOX/home" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" \
      QT_QPA_PLATFORM=offscreen TIDINGS_DATA_DIR="$SANDBOX/data" ${TIDINGS_SELFTEST_KEEP:+TIDINGS_SELFTEST_KEEP="$TIDINGS_SELFTEST_KEEP"} \
      ${TO[@]+"${TO[@]}"} "$exe" "$@") >"$SANDBOX/last.log" 2>&1
}

# --version once cold, then three more times; then the self-test. $1: the binary, $2: a label.
time_and_selftest() {
  local exe="$1" label="$2" t0 t1 runs=""
  t0=$(now); run_frozen "$exe" --version; local rc=$?; t1=$(now)
  local first; first=$(elapsed "$t0" "$t1")
  if [ $rc -eq 0 ] && grep -q "Tidings $VERSION" "$SANDBOX/last.log"; then
    for _ in 1 2 3; do t0=$(now); run_frozen "$exe" --version; t1=$(now); runs="$runs $(elapsed "$t0" "$t1")"; done
    ok "$label --version says Tidings $VERSION (first run ${first} s, then${runs} s)"
  else
    bad "$label --version (exit $rc): $(tr '\n' ' ' <"$SANDBOX/last.log" | cut -c1-400)"
  fi
  t0=$(now); run_frozen "$exe" selftest; rc=$?; t1=$(now)
  sed 's/^/    /' "$SANDBOX/last.log"
  if [ $rc -eq 0 ]; then ok "$label selftest passed in $(elapsed "$t0" "$t1") s"; else bad "$label selftest exited $rc"; fi
}

# Start the GUI (no command) on a private Xvfb display through Qt's xcb platform, the way a desktop
# runs it, and wait for its main window to be mapped. Skipped where Xvfb or xwininfo are missing.
gui_window_check() {
  local exe="$1" label="$2" n xvfb app t0 mapped=""
  if ! command -v Xvfb >/dev/null || ! command -v xwininfo >/dev/null; then
    echo "smoke: [skip] $label real window under Xvfb: install xvfb and x11-utils to run it"
    return
  fi
  n=$((200 + RANDOM % 500))
  while [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
  Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb=$!
  for _ in $(seq 50); do DISPLAY=":$n" xwininfo -root >/dev/null 2>&1 && break; sleep 0.1; done
  mkdir -p "$SANDBOX/gui-home"
  t0=$(now)
  (cd / && exec env -i PATH=/usr/bin:/bin HOME="$SANDBOX/gui-home" TMPDIR="$SANDBOX" LANG=C.UTF-8 DISPLAY=":$n" \
      TIDINGS_DATA_DIR="$SANDBOX/gui-data" "$exe") >"$SANDBOX/gui.log" 2>&1 &
  app=$!
  for _ in $(seq 400); do
    if DISPLAY=":$n" xwininfo -root -tree 2>/dev/null | grep -q '("tidings" "Tidings")'; then mapped=$(elapsed "$t0" "$(now)"); break; fi
    kill -0 "$app" 2>/dev/null || break
    sleep 0.05
  done
  kill "$app" 2>/dev/null; wait "$app" 2>/dev/null
  kill "$xvfb" 2>/dev/null; wait "$xvfb" 2>/dev/null
  if [ -n "$mapped" ]; then ok "$label the app's window appears on an X display (xcb) after $mapped s"
  else bad "$label no window on the X display within 20 s: $(tr '\n' ' ' <"$SANDBOX/gui.log" | cut -c1-400)"; fi
}

smoke_linux() {
  local deb="${1:-$(ls -t "$OUT"/tidings_*.deb 2>/dev/null | head -n1)}"
  [ -n "$deb" ] && [ -f "$deb" ] || { bad "no .deb found (run packaging/build.py first)"; finish; }
  echo "smoke: $deb ($(du -h "$deb" | cut -f1))"
  SANDBOX="$(mktemp -d -t tidings-smoke-XXXXXX)"
  trap 'rm -rf "$SANDBOX"' EXIT
  local root="$SANDBOX/root"
  check "dpkg-deb -x unpacks it" dpkg-deb -x "$deb" "$root"
  check "package metadata: tidings $VERSION" test "$(dpkg-deb -f "$deb" Package Version | tr '\n' ' ')" = "Package: tidings Version: $VERSION "
  check "/opt/tidings/tidings is executable" test -x "$root/opt/tidings/tidings"
  check "/usr/bin/tidings links to /opt/tidings/tidings" test "$(readlink "$root/usr/bin/tidings")" = /opt/tidings/tidings
  check "desktop entry is there" test -f "$root/usr/share/applications/tidings.desktop"
  if command -v desktop-file-validate >/dev/null; then
    check "desktop-file-validate accepts the desktop entry" desktop-file-validate "$root/usr/share/applications/tidings.desktop"
  fi
  local meta; meta=$(ls "$root"/usr/share/metainfo/*.metainfo.xml 2>/dev/null | head -n1)
  check "AppStream metainfo is there" test -n "$meta"
  if [ -n "$meta" ] && command -v appstreamcli >/dev/null; then
    check "appstreamcli validate accepts the metainfo" appstreamcli validate --no-net "$meta"
  elif [ -n "$meta" ] && command -v xmllint >/dev/null; then
    check "metainfo is well-formed XML" xmllint --noout "$meta"
  fi
  check "hicolor icons 16..512 px and scalable" test -f "$root/usr/share/icons/hicolor/256x256/apps/tidings.png" \
    -a -f "$root/usr/share/icons/hicolor/16x16/apps/tidings.png" -a -f "$root/usr/share/icons/hicolor/scalable/apps/tidings.svg"
  if command -v apt-get >/dev/null; then
    # Simulated install: proves apt can resolve every Depends on this system, installs nothing.
    if apt-get install -s -q "$deb" >"$SANDBOX/apt.log" 2>&1; then ok "apt-get can resolve its Depends (simulated install)"
    else bad "apt-get cannot resolve its Depends: $(tail -n5 "$SANDBOX/apt.log" | tr '\n' ' ')"; fi
  fi
  time_and_selftest "$root/opt/tidings/tidings" ".deb:"
  gui_window_check "$root/opt/tidings/tidings" ".deb:"

  local tgz; tgz=$(ls -t "$OUT"/tidings-"$VERSION"-linux-*.tar.gz 2>/dev/null | head -n1)
  if [ -n "$tgz" ]; then
    echo "smoke: $tgz ($(du -h "$tgz" | cut -f1))"
    mkdir -p "$SANDBOX/portable"
    check "the portable archive unpacks" tar -xzf "$tgz" -C "$SANDBOX/portable"
    local pexe; pexe=$(ls "$SANDBOX"/portable/*/tidings 2>/dev/null | head -n1)
    if [ -n "$pexe" ]; then
      run_frozen "$pexe" --version
      check "portable: tidings --version says Tidings $VERSION" grep -q "Tidings $VERSION" "$SANDBOX/last.log"
      if run_frozen "$pexe" selftest; then ok "portable: selftest passed"
      else sed 's/^/    /' "$SANDBOX/last.log"; bad "portable: selftest failed"; fi
    else
      bad "the portable archive has no tidings binary"
    fi
  fi
}

smoke_windows() {
  local setup="${1:-$(ls -t "$OUT"/tidings-*-windows-*-setup.exe 2>/dev/null | head -n1)}"
  [ -n "$setup" ] && [ -f "$setup" ] || { bad "no setup .exe found (run packaging/build.py first)"; finish; }
  echo "smoke: $setup ($(du -h "$setup" | cut -f1))"
  SANDBOX="$(mktemp -d -t tidings-smoke-XXXXXX)"
  local dir="$SANDBOX/app" windir
  windir="$(cygpath -w "$dir")"
  export MSYS2_ARG_CONV_EXCL='*'  # pass /VERYSILENT etc. through untouched
  check "silent install" "$setup" /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /CURRENTUSER "/DIR=$windir" "/LOG=$(cygpath -w "$SANDBOX/install.log")"
  check "Tidings.exe and tidings-cli.exe are installed" test -f "$dir/Tidings.exe" -a -f "$dir/tidings-cli.exe"
  check "the uninstaller is installed" test -f "$dir/unins000.exe"
  local menu="$APPDATA/Microsoft/Windows/Start Menu/Programs/Tidings/Tidings.lnk"
  check "Start-menu entry" test -f "$(cygpath -u "$menu")"
  run_windows() { (cd "$dir" && QT_QPA_PLATFORM=offscreen TIDINGS_DATA_DIR="$(cygpath -w "$SANDBOX/data")" \
                     limit ./tidings-cli.exe "$@") >"$SANDBOX/last.log" 2>&1; }
  local t0 t1 rc
  t0=$(now); run_windows --version; rc=$?; t1=$(now)
  if [ $rc -eq 0 ] && grep -q "Tidings $VERSION" "$SANDBOX/last.log"; then ok "tidings-cli --version ($(elapsed "$t0" "$t1") s)"; else bad "tidings-cli --version (exit $rc): $(cat "$SANDBOX/last.log")"; fi
  t0=$(now); run_windows selftest; rc=$?; t1=$(now)
  sed 's/^/    /' "$SANDBOX/last.log"
  if [ $rc -eq 0 ]; then ok "selftest passed in $(elapsed "$t0" "$t1") s"; else bad "selftest exited $rc"; fi
  check "silent uninstall" "$dir/unins000.exe" /VERYSILENT /SUPPRESSMSGBOXES /NORESTART
  # The uninstaller runs on from a temporary copy of itself: wait (up to a minute) for it to finish.
  for _ in $(seq 60); do [ -e "$dir/Tidings.exe" ] || [ -e "$dir/unins000.exe" ] || break; sleep 1; done
  check "the install folder is removed" test ! -e "$dir/Tidings.exe"
  check "the Start-menu entry is removed" test ! -e "$(cygpath -u "$menu")"
}

smoke_macos() {
  local dmg="${1:-$(ls -t "$OUT"/tidings-*-macos-*.dmg 2>/dev/null | head -n1)}"
  [ -n "$dmg" ] && [ -f "$dmg" ] || { bad "no .dmg found (run packaging/build.py first)"; finish; }
  echo "smoke: $dmg ($(du -h "$dmg" | cut -f1))"
  SANDBOX="$(mktemp -d -t tidings-smoke)"
  local mnt="$SANDBOX/mnt"
  mkdir -p "$mnt"
  check "hdiutil attaches the disk image" hdiutil attach -nobrowse -readonly -mountpoint "$mnt" "$dmg"
  check "the image holds Tidings.app and an Applications link" test -d "$mnt/Tidings.app" -a -L "$mnt/Applications"
  check "Tidings.app copies out (as a drag to Applications would)" ditto "$mnt/Tidings.app" "$SANDBOX/Applications/Tidings.app"
  hdiutil detach "$mnt" >/dev/null || true
  local plist="$SANDBOX/Applications/Tidings.app/Contents/Info.plist"
  check "Info.plist has version $VERSION" test "$(/usr/libexec/PlistBuddy -c 'Print :CFBundleShortVersionString' "$plist")" = "$VERSION"
  time_and_selftest "$SANDBOX/Applications/Tidings.app/Contents/MacOS/tidings" ".app:"
}

case "$(uname -s)" in
  Linux) smoke_linux "$@" ;;
  MINGW* | MSYS* | CYGWIN*) smoke_windows "$@" ;;
  Darwin) smoke_macos "$@" ;;
  *) bad "unsupported OS $(uname -s)" ;;
esac
finish
