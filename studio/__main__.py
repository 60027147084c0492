"""``python -m studio`` behaves exactly like the ``pianola`` console script."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from studio.cli import console_main

    console_main()
