"""Registry of the app's worker threads, so tests and shutdown can find and join them."""

from __future__ import annotations

import weakref

from PySide6.QtCore import QThread

_threads: weakref.WeakSet[QThread] = weakref.WeakSet()


def register_thread(thread: QThread) -> QThread:
    """Track a worker thread; every QThread the app starts goes through here."""
    _threads.add(thread)
    return thread


def running_threads() -> list[QThread]:
    alive: list[QThread] = []
    for thread in list(_threads):
        try:
            if thread.isRunning():
                alive.append(thread)
        except RuntimeError:  # C++ object already deleted
            continue
    return alive


def stop_all(timeout_ms: int = 10000) -> None:
    """Ask every running worker thread to quit and wait for it."""
    for thread in running_threads():
        thread.requestInterruption()
        thread.quit()
        thread.wait(timeout_ms)
