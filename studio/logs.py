"""Pianola's log file: where warnings, worker errors and tracebacks can be read afterwards.

A frozen app on Windows or macOS has no console, so whatever goes wrong must land in a
file the user can open (Help ▸ Show Log) and send. `setup_logging` attaches one rotating
file handler (a few MB, three old files kept) to the root logger, routes Python warnings
through logging, and `install_excepthook` logs every uncaught exception, in any thread,
with its traceback. The user is shown one sentence (`one_sentence`); the details are in
the log. No Qt here: `install_qt_message_handler` imports QtCore only when called.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from studio.paths import user_log_dir

LOG_FILE_NAME = "pianola.log"
MAX_LOG_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 3
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"

log = logging.getLogger("studio")

_handler: logging.handlers.RotatingFileHandler | None = None


def log_file() -> Path:
    """The current log file (the handler's, else where `setup_logging` would put it)."""
    if _handler is not None:
        return Path(_handler.baseFilename)
    return user_log_dir() / LOG_FILE_NAME


def setup_logging(folder: str | os.PathLike[str] | None = None, level: int = logging.INFO) -> Path:
    """Log to ``folder/pianola.log`` (default: the platform's log folder). Idempotent.

    A second call with another folder moves the handler there (tests use this).
    Returns the log file's path.
    """
    global _handler
    path = Path(folder) / LOG_FILE_NAME if folder is not None else user_log_dir() / LOG_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if _handler is not None:
        if Path(_handler.baseFilename) == path.resolve():
            return path
        shutdown_logging()
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_LOG_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=True
    )
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(level)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    logging.captureWarnings(True)
    _handler = handler
    log.info("Pianola started (pid %d, Python %s)", os.getpid(), sys.version.split()[0])
    return path


def shutdown_logging() -> None:
    """Detach and close the file handler (the file can then be moved or deleted)."""
    global _handler
    if _handler is None:
        return
    logging.getLogger().removeHandler(_handler)
    _handler.close()
    _handler = None
    logging.captureWarnings(False)


def one_sentence(error: BaseException) -> str:
    """What the user reads: the error's first line, or its type when it has no message."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return first or type(error).__name__.replace("Error", " error").strip()


ErrorCallback = Callable[[BaseException], None]


def install_excepthook(on_error: ErrorCallback | None = None) -> None:
    """Log uncaught exceptions (main thread and worker threads) with their tracebacks.

    ``on_error`` is then called with the exception (the GUI shows one sentence); a
    KeyboardInterrupt keeps Python's default behaviour.
    """
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, error, tb)
            return
        log.critical("Uncaught exception", exc_info=(kind, error, tb))
        if on_error is not None:
            try:
                on_error(error)
            except Exception:  # the reporter must never raise from inside the hook
                log.exception("The error reporter itself failed")

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "?"
        log.critical(
            "Uncaught exception in thread %s",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = hook
    threading.excepthook = thread_hook


def install_qt_message_handler() -> None:
    """Send Qt's own warnings (qWarning, QML, plugin problems) to the log."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }
    qt_log = logging.getLogger("qt")

    def handler(kind: QtMsgType, context: object, message: str) -> None:
        qt_log.log(levels.get(kind, logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)
