"""Entry point of the frozen app (PyInstaller): the same as the `tidings` console script (ui.launch)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from ui.launch import main

    sys.exit(main())
