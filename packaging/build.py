"""Build Tidings' installers for the operating system this runs on.

    python packaging/build.py                 # everything this OS can build (see below)
    python packaging/build.py freeze          # only the PyInstaller one-folder build
    python packaging/build.py deb tarball     # Linux: .deb and portable .tar.gz (runs freeze first if needed)
    python packaging/build.py installer       # Windows: Inno Setup installer (needs iscc on PATH)
    python packaging/build.py dmg             # macOS: Tidings.app inside a .dmg (needs hdiutil)
    python packaging/build.py depends         # Linux: the Debian packages the .deb depends on

Everything lands in packaging/out/ (git-ignored): out/dist/ holds the frozen app, and the
installers are named tidings_<version>_<arch>.deb, tidings-<version>-linux-<arch>.tar.gz,
tidings-<version>-windows-x64-setup.exe, tidings-<version>-macos-<arch>.dmg.
The version comes from app/__init__.py (packaging/version.py), nowhere else.
Run it with the Python whose environment has Tidings' dependencies and PyInstaller installed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
DIST = OUT / "dist"
WORK = OUT / "build"
APP_ID = "io.github.tidings.Tidings"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

sys.path.insert(0, str(HERE))
from version import app_version  # noqa: E402

VERSION = app_version()

# Debian packages holding the system libraries the bundled Qt loads (offscreen, xcb and wayland
# platforms). `a | b` keeps both the pre- and post-64-bit-time names (Ubuntu 24.04 renamed some).
# The spec leaves these system libraries out of the bundle (LINUX_SYSTEM_LIBS); build.py checks
# that every library the bundle needs and lacks comes from one of these packages.
DEB_DEPENDS = [
    "libstdc++6", "zlib1g", "libexpat1", "libpng16-16t64 | libpng16-16",
    "libglib2.0-0t64 | libglib2.0-0", "libdbus-1-3", "libfontconfig1", "libfreetype6",
    "libegl1", "libgl1", "libopengl0", "libx11-6", "libx11-xcb1", "libxkbcommon0", "libxkbcommon-x11-0",
    "libxcb1", "libxcb-cursor0", "libxcb-glx0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1",
    "libxcb-randr0", "libxcb-render-util0", "libxcb-render0", "libxcb-shape0", "libxcb-shm0",
    "libxcb-sync1", "libxcb-util1", "libxcb-xfixes0", "libxcb-xkb1",
    "libwayland-client0", "libwayland-cursor0", "libwayland-egl1",
    "libgssapi-krb5-2", "libbrotli1", "libzstd1", "libuuid1", "fontconfig-config",
]
# Part of every Debian/Ubuntu system (Essential or required by libc6): no need to list them.
BASE_PACKAGES = {"libc6", "libgcc-s1"}
DEB_RECOMMENDS = ["fonts-dejavu-core | fonts-liberation2 | fonts-noto-core", "hicolor-icon-theme"]


def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def run(cmd: list[str], **kw) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def arch() -> str:
    m = platform.machine().lower()
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(m, m)


def frozen_dir() -> Path:
    return DIST / "tidings"


def freeze() -> Path:
    started = time.monotonic()
    run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", DIST, "--workpath", WORK, HERE / "tidings.spec"], cwd=ROOT)
    log(f"frozen build in {time.monotonic() - started:.0f} s: {frozen_dir()} ({mib(tree_size(frozen_dir()))})")
    return frozen_dir()


def ensure_frozen() -> Path:
    exe = frozen_dir() / ("Tidings.exe" if sys.platform == "win32" else "tidings")
    return frozen_dir() if exe.exists() else freeze()


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB"


def glibc_floor(tree: Path) -> str:
    """The newest GLIBC_x.y symbol version any bundled ELF file asks for."""
    best = (2, 17)
    for p in tree.rglob("*"):
        if not p.is_file() or p.is_symlink():
            continue
        with p.open("rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
            data = f.read()
        for major, minor in re.findall(rb"GLIBC_(\d+)\.(\d+)", data):
            best = max(best, (int(major), int(minor)))
    return f"{best[0]}.{best[1]}"


def elf_needed(path: Path) -> list[str] | None:
    """DT_NEEDED entries of a 64-bit little-endian ELF file (None if it is not one)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    shoff = int.from_bytes(data[0x28:0x30], "little")
    shentsize = int.from_bytes(data[0x3A:0x3C], "little")
    shnum = int.from_bytes(data[0x3C:0x3E], "little")
    sections = []
    for i in range(shnum):
        h = data[shoff + i * shentsize: shoff + (i + 1) * shentsize]
        sections.append((int.from_bytes(h[4:8], "little"), int.from_bytes(h[0x18:0x20], "little"),
                         int.from_bytes(h[0x20:0x28], "little"), int.from_bytes(h[0x28:0x2C], "little")))
    needed = []
    for kind, offset, size, link in sections:
        if kind != 6:  # SHT_DYNAMIC
            continue
        str_offset = sections[link][1]
        for pos in range(offset, offset + size, 16):
            tag = int.from_bytes(data[pos:pos + 8], "little")
            if tag == 0:
                break
            if tag == 1:  # DT_NEEDED
                start = str_offset + int.from_bytes(data[pos + 8:pos + 16], "little")
                needed.append(data[start:data.index(b"\0", start)].decode())
    return needed


def system_library(soname: str) -> str | None:
    """Where the dynamic linker finds `soname` on this system (ldconfig's cache), if anywhere."""
    for line in subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout.splitlines():
        m = re.match(r"\s+(\S+) \(([^)]*)\) => (\S+)", line)
        if m and m.group(1) == soname and (platform.machine() != "x86_64" or "x86-64" in m.group(2)):
            return m.group(3)
    return None


def owner_package(path: str) -> str | None:
    """The Debian package that installed `path` (merged-/usr aware)."""
    candidates = {path, os.path.realpath(path)}
    candidates |= {c.replace("/usr/lib/", "/lib/", 1) for c in candidates if c.startswith("/usr/lib/")}
    candidates |= {"/usr" + c for c in candidates if c.startswith("/lib/")}
    for c in sorted(candidates):
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def check_deb_depends(tree: Path, depends: list[str]) -> None:
    """Every shared library the bundle needs but does not carry must come from a package the .deb
    depends on: resolve each through ldconfig, ask dpkg which package owns it, compare."""
    bundled = {p.name for p in tree.rglob("*")}
    wanted: dict[str, str] = {}
    for p in tree.rglob("*"):
        if p.is_file() and not p.is_symlink() and (p.suffix == ".so" or ".so." in p.name or os.access(p, os.X_OK)):
            for lib in elf_needed(p) or []:
                if lib not in bundled:
                    wanted.setdefault(lib, str(p.relative_to(tree)))
    allowed = BASE_PACKAGES | {alt.split()[0] for group in depends for alt in group.split("|")}
    problems, owners = [], set()
    for lib, user in sorted(wanted.items()):
        path = system_library(lib)
        if not path:
            problems.append(f"{lib} (needed by {user}) is not installed here, so its package is unknown")
            continue
        owner = owner_package(path)
        if owner is None:
            problems.append(f"{lib} ({path}) belongs to no Debian package")
        elif owner not in allowed:
            problems.append(f"{lib} (needed by {user}) comes from {owner}, which the .deb does not depend on")
        else:
            owners.add(owner)
    if problems:
        raise SystemExit("[build] the .deb's Depends are incomplete:\n  " + "\n  ".join(problems))
    log(f"Depends checked: the bundle needs {len(wanted)} system libraries, from {len(owners)} packages it depends on")


def metainfo_text() -> str:
    text = (HERE / "linux" / f"{APP_ID}.metainfo.xml").read_text(encoding="utf-8")
    return text.replace("@VERSION@", VERSION).replace("@DATE@", dt.date.today().isoformat())


def deb() -> Path:
    src = ensure_frozen()
    started = time.monotonic()
    debarch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                             check=True).stdout.strip()
    root = OUT / "debroot"
    shutil.rmtree(root, ignore_errors=True)
    opt = root / "opt" / "tidings"
    shutil.copytree(src, opt, symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    os.symlink("/opt/tidings/tidings", root / "usr" / "bin" / "tidings")
    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copy2(HERE / "linux" / "tidings.desktop", share / "applications" / "tidings.desktop")
    (share / "metainfo").mkdir(parents=True)
    (share / "metainfo" / f"{APP_ID}.metainfo.xml").write_text(metainfo_text(), encoding="utf-8")
    icons = ROOT / "resources" / "icons"
    for s in ICON_SIZES:
        d = share / "icons" / "hicolor" / f"{s}x{s}" / "apps"
        d.mkdir(parents=True)
        shutil.copy2(icons / f"tidings-{s}.png", d / "tidings.png")
    d = share / "icons" / "hicolor" / "scalable" / "apps"
    d.mkdir(parents=True)
    shutil.copy2(icons / "tidings.svg", d / "tidings.svg")
    doc = share / "doc" / "tidings"
    doc.mkdir(parents=True)
    shutil.copy2(HERE / "linux" / "copyright", doc / "copyright")

    installed_kib = (tree_size(root) + 1023) // 1024
    depends = [f"libc6 (>= {glibc_floor(opt)})"] + DEB_DEPENDS
    check_deb_depends(opt, depends)
    control = "\n".join([
        "Package: tidings",
        f"Version: {VERSION}",
        f"Architecture: {debarch}",
        "Maintainer: Tidings developers <tidings@users.noreply.github.com>",
        f"Installed-Size: {installed_kib}",
        "Depends: " + ", ".join(depends),
        "Recommends: " + ", ".join(DEB_RECOMMENDS),
        "Suggests: ollama",
        "Section: net",
        "Priority: optional",
        "Description: desktop feed reader with a cited daily digest",
        " Tidings reads RSS and Atom feeds, syncs them for offline reading and fetches",
        " the full text of articles. Once a day it can write a digest of the news,",
        " grouped by story, each sentence citing its sources, with a local Ollama model",
        " (or an extractive digest without one).",
        " .",
        " This package ships a self-contained build (Python and Qt included) in /opt/tidings.",
        "",
    ])
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(control, encoding="utf-8")
    for p in [root, *root.rglob("*")]:  # dpkg wants sane modes whatever the umask was
        if p.is_symlink():
            continue
        if p.is_dir():
            p.chmod(0o755)
        else:
            p.chmod(0o755 if os.access(p, os.X_OK) else 0o644)
    target = OUT / f"tidings_{VERSION}_{debarch}.deb"
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z6", "--build", root, target])
    shutil.rmtree(root)
    log(f".deb in {time.monotonic() - started:.0f} s: {target} ({mib(target.stat().st_size)})")
    return target


def tarball() -> Path:
    src = ensure_frozen()
    started = time.monotonic()
    name = f"tidings-{VERSION}-linux-{arch()}"
    target = OUT / f"{name}.tar.gz"
    icons = ROOT / "resources" / "icons"
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(src, arcname=name)
        tar.add(HERE / "linux" / "tidings.desktop", arcname=f"{name}/tidings.desktop")
        tar.add(icons / "tidings-256.png", arcname=f"{name}/tidings.png")
        tar.add(HERE / "linux" / "README-portable.txt", arcname=f"{name}/README.txt")
    log(f"portable archive in {time.monotonic() - started:.0f} s: {target} ({mib(target.stat().st_size)})")
    return target


def installer() -> Path:
    """Windows: compile packaging/windows/tidings.iss with Inno Setup's iscc."""
    src = ensure_frozen()
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    if not iscc:
        for guess in (r"C:\Program Files (x86)\Inno Setup 6\ISCC.exe", r"C:\Program Files\Inno Setup 6\ISCC.exe"):
            if Path(guess).exists():
                iscc = guess
                break
    if not iscc:
        raise SystemExit("Inno Setup's iscc is not installed (choco install innosetup)")
    numeric = re.match(r"\d+(\.\d+){0,3}", VERSION).group(0)  # Windows version resources want digits only
    run([iscc, f"/DAppVersion={VERSION}", f"/DAppNumericVersion={numeric}", f"/DSourceDir={src}", f"/DOutputDir={OUT}",
         f"/DIconFile={ROOT / 'resources' / 'icons' / 'tidings.ico'}", HERE / "windows" / "tidings.iss"])
    target = OUT / f"tidings-{VERSION}-windows-x64-setup.exe"
    log(f"installer: {target} ({mib(target.stat().st_size)})")
    return target


def dmg() -> Path:
    """macOS: put Tidings.app and an /Applications link into a compressed disk image."""
    ensure_frozen()
    app = DIST / "Tidings.app"
    if not app.exists():
        raise SystemExit(f"{app} is missing: the spec builds it only on macOS")
    stage = OUT / "dmgroot"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    run(["ditto", app, stage / "Tidings.app"])
    os.symlink("/Applications", stage / "Applications")
    target = OUT / f"tidings-{VERSION}-macos-{arch()}.dmg"
    target.unlink(missing_ok=True)
    for attempt in range(3):  # hdiutil sometimes fails with "Resource busy" on CI machines
        try:
            run(["hdiutil", "create", "-volname", f"Tidings {VERSION}", "-srcfolder", stage, "-fs", "HFS+",
                 "-format", "UDZO", "-ov", target])
            break
        except subprocess.CalledProcessError:
            if attempt == 2:
                raise
            time.sleep(5)
    shutil.rmtree(stage)
    log(f"disk image: {target} ({mib(target.stat().st_size)})")
    return target


def depends() -> None:
    """Print the Debian packages the .deb depends on, one a line (alternatives as `a | b`)."""
    for group in DEB_DEPENDS:
        print(group)


STEPS = {"depends": depends, "freeze": freeze, "deb": deb, "tarball": tarball, "installer": installer, "dmg": dmg}
DEFAULT = {"linux": ["freeze", "deb", "tarball"], "win32": ["freeze", "installer"], "darwin": ["freeze", "dmg"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("steps", nargs="*", metavar="STEP",
                        help="default for this OS: " + " ".join(DEFAULT.get(sys.platform, ["freeze"])))
    args = parser.parse_args(argv)
    steps = args.steps or DEFAULT.get(sys.platform, ["freeze"])
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        parser.error(f"unknown step(s) {' '.join(unknown)}; choose from {' '.join(STEPS)}")
    OUT.mkdir(parents=True, exist_ok=True)
    if steps == ["depends"]:
        return depends() or 0
    log(f"Tidings {VERSION} on {sys.platform}/{arch()}: {' '.join(steps)}")
    for step in steps:
        STEPS[step]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
