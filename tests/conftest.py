"""Test configuration shared by every test.

Qt runs offscreen; QSettings are redirected to a temporary folder so that no test
reads or writes the user's real settings; and a test that leaves a QThread running
fails, like napari's leak guards.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point QSettings (and our own config dir) at a fresh temporary folder."""
    config_dir = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_dir))
    monkeypatch.setenv("PIANOLA_CONFIG_DIR", str(config_dir))
    try:
        from PySide6.QtCore import QCoreApplication, QSettings
    except ImportError:  # core-only environments
        yield
        return
    QCoreApplication.setOrganizationName("PianolaTests")
    QCoreApplication.setApplicationName("PianolaTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(config_dir))
    yield


@pytest.fixture(scope="session")
def _session_data_dir(tmp_path_factory: pytest.TempPathFactory):
    # One data folder per test session: the dataset cache in it is built once.
    return tmp_path_factory.mktemp("data")


@pytest.fixture(autouse=True)
def _isolated_data_dirs(
    _session_data_dir, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
):
    """Keep the user's data, log file and crash-recovery copies out of reach of tests."""
    monkeypatch.setenv("PIANOLA_DATA_DIR", str(_session_data_dir))
    monkeypatch.setenv("PIANOLA_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("PIANOLA_RECOVERY_DIR", str(tmp_path_factory.mktemp("recovery")))
    yield


@pytest.fixture(autouse=True)
def _no_dangling_threads(request: pytest.FixtureRequest):
    """Fail a Qt test that leaves a QThread running (it would crash at exit)."""
    yield
    if "qtbot" not in request.fixturenames:
        return
    from studio.ui.threads import running_threads

    leaked = running_threads()
    if leaked:
        for thread in leaked:
            thread.quit()
            thread.wait(5000)
        pytest.fail(f"test left {len(leaked)} QThread(s) running: {leaked}")


def _non_destructive_answer(buttons, default=None):
    """The answer a careful user gives a box nobody is there to see: discard nothing they
    asked to keep, but never block (Discard a test's throwaway song, else No, else Cancel)."""
    from PySide6.QtWidgets import QMessageBox

    b = QMessageBox.StandardButton
    for choice in (b.Discard, b.No, b.Cancel, b.Ok, b.Close):
        if buttons & choice:
            return choice
    return default if default is not None else b.Ok


@pytest.fixture(autouse=True)
def _no_blocking_dialogs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A modal QMessageBox or file dialog that no test answers would hang the whole run
    offscreen (pytest-timeout's signal cannot interrupt Qt's modal loop), e.g. "Unsaved
    changes?" when pytest-qt closes a modified window at teardown. Static boxes answer at
    once instead; tests that want another answer monkeypatch them as before."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    b = QMessageBox.StandardButton

    def question(parent, title, text, buttons=b.Yes | b.No, default=b.NoButton):
        return _non_destructive_answer(buttons, default)

    def notice(parent, title, text, buttons=b.Ok, default=b.NoButton):
        return _non_destructive_answer(buttons, default)

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    for name in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(notice))
    for name in ("getOpenFileName", "getSaveFileName"):
        monkeypatch.setattr(QFileDialog, name, staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: ""))
    yield
