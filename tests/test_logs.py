"""The log file: rotation, warnings, uncaught exceptions, worker errors, Qt messages, and
Help ▸ Show Log."""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from pathlib import Path

import pytest

from studio import logs


@pytest.fixture
def log_path(tmp_path):
    path = logs.setup_logging(tmp_path / "logs")
    yield path
    logs.shutdown_logging()


def flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_log_goes_to_the_platform_state_folder_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("PIANOLA_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    if sys.platform.startswith("linux"):
        assert logs.log_file() == tmp_path / "state" / "pianola" / "pianola.log"


def test_warnings_and_messages_are_written_and_the_file_rotates(log_path):
    warnings.warn("a deprecated thing", UserWarning, stacklevel=1)
    logging.getLogger("studio.test").warning("something odd")
    flush()
    text = log_path.read_text()
    assert "a deprecated thing" in text and "something odd" in text
    handler = logs._handler
    assert handler.maxBytes == logs.MAX_LOG_BYTES <= 5 * 2**20 and handler.backupCount >= 1
    chunk = "x" * 1000
    for _ in range(logs.MAX_LOG_BYTES // 1000 + 50):
        logging.getLogger("studio.test").info(chunk)
    flush()
    assert log_path.with_name("pianola.log.1").is_file()
    assert log_path.stat().st_size < logs.MAX_LOG_BYTES


def test_uncaught_exceptions_are_logged_with_traceback_and_reported(log_path, monkeypatch):
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    logs.install_excepthook(on_error=reported.append)
    try:
        raise ValueError("the widget broke\nsecond line")
    except ValueError as error:
        sys.excepthook(type(error), error, error.__traceback__)
    thread = threading.Thread(target=lambda: 1 / 0, name="helper")
    thread.start()
    thread.join()
    flush()
    text = log_path.read_text()
    assert "Uncaught exception" in text and "Traceback" in text and "the widget broke" in text
    assert "Uncaught exception in thread helper" in text and "ZeroDivisionError" in text
    assert [str(e) for e in reported] == ["the widget broke\nsecond line"]
    assert logs.one_sentence(reported[0]) == "the widget broke"
    assert logs.one_sentence(KeyError()) == "Key error"


def test_worker_errors_land_in_the_log_with_their_traceback(log_path, qtbot):
    from studio.ui.workers import start_generator

    def failing():
        yield 1
        raise RuntimeError("the engine failed")

    handle = start_generator(failing, name="failing")
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    flush()
    text = log_path.read_text()
    assert "worker" in text and "failing" in text
    assert "Traceback" in text and "RuntimeError: the engine failed" in text


def test_qt_warnings_are_logged(log_path, qtbot):
    from PySide6.QtCore import qInstallMessageHandler, qWarning

    logs.install_qt_message_handler()
    try:
        qWarning("a Qt complaint")
    finally:
        qInstallMessageHandler(None)
    flush()
    assert "WARNING qt" in log_path.read_text() and "a Qt complaint" in log_path.read_text()


def test_help_show_log_shows_the_end_of_the_log(log_path, qtbot, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from studio.ui.log_viewer import LogDialog
    from studio.ui.main_window import MainWindow

    logging.getLogger("studio.test").error("the last thing that happened")
    flush()
    window = MainWindow()
    qtbot.addWidget(window)
    action = window.commands.action("help.show_log")
    assert action.text() == "Show Log" and action in window.menu("help").actions()
    action.trigger()
    dialog = window.findChild(LogDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.text.toPlainText().rstrip().endswith("the last thing that happened")
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    dialog.open_folder.click()
    assert [Path(p) for p in opened] == [log_path.parent]
    dialog.close()


def test_show_log_before_anything_was_logged(tmp_path, qtbot):
    from studio.ui.log_viewer import LogDialog

    dialog = LogDialog(tmp_path / "none.log")
    qtbot.addWidget(dialog)
    assert dialog.text.toPlainText() == "(nothing logged yet)"
