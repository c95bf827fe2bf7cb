"""Packaging: the pieces the installers are made of, checked without building them.

The real build (frozen app, .deb, .tar.gz, then the frozen self-test from the unpacked .deb) runs in
packaging/build_and_smoke.sh, which CI runs after pytest; these tests catch breakage in seconds.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(PACKAGING))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(PACKAGING))
    return module


def test_version_has_one_home():
    import app

    assert _load("version").app_version() == app.__version__
    # Nothing the installers are built from repeats it (checked while the version is specific
    # enough, X.Y.Z, not to collide with other numbers; the desktop entry's Version= is the spec's).
    if app.__version__.count(".") < 2:
        return
    for path in [*PACKAGING.rglob("*.py"), *PACKAGING.rglob("*.spec"), *PACKAGING.rglob("*.iss"),
                 *PACKAGING.rglob("*.xml"), *PACKAGING.rglob("*.sh")]:
        if "out" in path.relative_to(PACKAGING).parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(rf"(?<![\d.]){re.escape(app.__version__)}(?![\d.])", text), f"{path} hard-codes the version"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_icons_exist_at_every_size_and_in_windows_and_mac_formats():
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert _png_size((ICONS / f"tidings-{size}.png").read_bytes()) == (size, size)
    ico = (ICONS / "tidings.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, 7)
    for i in range(count):
        w, h, _, _, _, _, length, offset = struct.unpack("<BBBBHHII", ico[6 + 16 * i: 22 + 16 * i])
        size = _png_size(ico[offset:offset + length])
        assert size == ((w or 256), (h or 256))
    icns = (ICONS / "tidings.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    assert b"ic10" in icns and b"ic07" in icns  # 1024 and 128 px


def test_desktop_entry_and_metainfo_agree():
    desktop = (PACKAGING / "linux" / "tidings.desktop").read_text(encoding="utf-8")
    fields = dict(line.split("=", 1) for line in desktop.splitlines() if "=" in line)
    assert fields["Exec"].split()[0] == "tidings" and fields["Icon"] == "tidings"
    assert fields["Type"] == "Application" and fields["Terminal"] == "false"
    metainfo = next((PACKAGING / "linux").glob("*.metainfo.xml"))
    root = ET.parse(metainfo).getroot()
    assert metainfo.name == f"{root.findtext('id')}.metainfo.xml"
    assert root.findtext("launchable") == "tidings.desktop"
    assert root.find("releases/release").get("version") == "@VERSION@"  # filled in by build.py
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(PACKAGING / "linux" / "tidings.desktop")], check=True)


@pytest.mark.skipif(not Path("/bin/ls").exists() or not shutil.which("dpkg"), reason="needs a Debian system")
def test_deb_depends_check_catches_a_library_from_an_undeclared_package(tmp_path):
    build = _load("build")
    assert "libc.so.6" in build.elf_needed(Path("/bin/ls"))
    tree = tmp_path / "opt"
    tree.mkdir()
    shutil.copy2("/bin/ls", tree / "ls")
    needed = set(build.elf_needed(tree / "ls")) - {"libc.so.6"}
    if not needed:
        pytest.skip("/bin/ls needs only libc here")
    with pytest.raises(SystemExit, match="does not depend on"):
        build.check_deb_depends(tree, ["libc6"])
    owners = {build.owner_package(build.system_library(lib)) for lib in needed}
    build.check_deb_depends(tree, ["libc6", *owners])  # declaring the owners satisfies it


def test_selftest_passes_from_source(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TIDINGS_SELFTEST_KEEP": str(tmp_path / "keep")}
    r = subprocess.run([sys.executable, "-m", "ui.launch", "--data-dir", str(tmp_path / "data"), "selftest"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=110)
    assert r.returncode == 0, r.stdout + r.stderr
    steps = re.findall(r"^selftest: \[ok\] (\w+)", r.stdout, re.M)
    assert steps == ["start", "modules", "resources", "store", "sync", "window", "digest"], r.stdout
    assert "full text of 3 extracted" in r.stdout
    assert _png_size((tmp_path / "keep" / "main-window.png").read_bytes()) == (1280, 800)


def test_selftest_reports_a_broken_step_and_exits_1(tmp_path):
    # The loopback server serves no feed: sync fails, the digest is skipped, the window still renders.
    code = ("import sys, ui.selftest as s\n"
            "s._feed_xml = lambda base: b'<html><body>no feed here</body></html>'\n"
            "sys.exit(s.run())")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TIDINGS_DATA_DIR": str(tmp_path / "data")}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=110)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"^selftest: \[FAIL\] sync: ", r.stdout, re.M), r.stdout
    assert "selftest: [skip] digest: needs sync" in r.stdout
    assert "selftest: [ok] window" in r.stdout
    assert r.stdout.rstrip().endswith("selftest: FAILED: sync, digest")
