"""app/ is the Qt-free core: importing it (and running the headless CLI) must not load Qt."""

import subprocess
import sys


def test_importing_app_does_not_import_qt():
    code = (
        "import sys, app, app.cli, app.store, app.core, app.opml, app.html\n"
        "import importlib, pkgutil\n"
        "for m in pkgutil.walk_packages(app.__path__, 'app.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
