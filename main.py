"""Launch the Pianola desktop app: ``python main.py [FILE]``."""

import multiprocessing
import sys

if __name__ == "__main__":
    # First thing: a frozen (PyInstaller) app must not re-run the GUI in child processes.
    multiprocessing.freeze_support()
    from studio.ui.app import run_app

    sys.exit(run_app(sys.argv[1:]))
