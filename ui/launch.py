"""The `tidings` command: the desktop app, or a subcommand.

Subcommands go to `app.cli` (which never imports Qt); this module hands it the three that need
the desktop app (the window, `selftest`, `screenshot`) and imports Qt only when one of them runs,
so `tidings feeds` starts as fast as the core does.
"""

from __future__ import annotations

import sys


def _window(data_dir) -> int:
    from ui.main import main as gui_main

    return gui_main([], data_dir=data_dir)


def _selftest() -> int:
    from ui.selftest import run

    return run()


def _screenshot(t, args) -> int:
    from ui.screenshot import render_main_window

    render_main_window(t, args.file, size=args.size)
    print(f"Saved {args.file}.", file=sys.stderr)
    return 0


FRONT_END = {"window": _window, "selftest": _selftest, "screenshot": _screenshot}


def main(argv: list[str] | None = None) -> int:
    from app.cli import main as cli_main

    return cli_main(argv, front_end=FRONT_END)


if __name__ == "__main__":
    sys.exit(main())
