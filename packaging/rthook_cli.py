"""PyInstaller runtime hook of the Linux build: run the command line when called as pianola-cli.

On Linux `pianola-cli` is a symbolic link to `pianola` (one executable instead of two that
would each carry their own 36 MB copy of the Python modules), so the program decides by the
name it was started under, before `main.py` (the desktop app) runs.
"""

import os
import sys

if os.path.basename(sys.argv[0]) == "pianola-cli":
    import multiprocessing

    multiprocessing.freeze_support()
    from studio.cli import console_main

    console_main()
