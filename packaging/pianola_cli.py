"""Entry point of the frozen ``pianola-cli`` program (the ``pianola`` command line)."""

import multiprocessing

if __name__ == "__main__":
    # First thing: a frozen program must not re-run itself in child processes.
    multiprocessing.freeze_support()
    from studio.cli import console_main

    console_main()
