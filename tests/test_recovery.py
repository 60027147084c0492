"""Lose nothing: autosave, crash recovery (a real process killed with SIGKILL), and save
errors that always reach the composer as a dialog."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from studio.core import edits
from studio.core.project import Project, load_project
from studio.core.recovery import RecoveryStore
from studio.core.song import Notes, Song, Track
from studio.ui import recovery as ui_recovery
from studio.ui.main_window import MainWindow

REPO = Path(__file__).resolve().parent.parent


def song(title: str = "Chorale") -> Song:
    return Song(title, tracks=[Track("Soprano", notes=Notes([72, 74], [0, 480], [480, 480]))])


# ----------------------------------------------------------------------------- the store
def test_a_copy_left_by_another_session_is_offered_then_discarded(tmp_path):
    crashed = RecoveryStore(tmp_path)
    crashed.save("main", Project(song()), "/music/bwv1.pianola", "Chorale")
    later = RecoveryStore(tmp_path)
    [entry] = later.pending()
    assert entry.display_name == "bwv1.pianola" and entry.source == "/music/bwv1.pianola"
    assert abs(entry.saved_at - time.time()) < 60
    assert later.restore(entry).song.tracks[0].notes.pitch.tolist() == [72, 74]
    assert crashed.pending() == []  # a session never offers its own copies
    later.discard(entry)
    assert list(tmp_path.iterdir()) == []


def test_copies_of_a_running_pianola_are_not_offered(tmp_path):
    parent = os.getppid()  # a process that is alive for the whole test
    store = RecoveryStore(tmp_path)
    store.save("main", Project(song()), None, "Chorale")
    alive = tmp_path / f"{parent}-abcdef12-main.pianola"
    store.path_for("main").rename(alive)
    assert RecoveryStore(tmp_path).pending() == []


def test_store_start_removes_temp_files_of_a_killed_autosave(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    orphan = tmp_path / f".{dead}-abcdef12-main.pianola.{dead}-abcd1234.tmp.pianola"
    orphan.write_text("{half")
    RecoveryStore(tmp_path)
    assert not orphan.exists()


def test_autosave_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(ui_recovery.AUTOSAVE_ENV, "0.5")
    assert ui_recovery.autosave_interval_ms() == 500
    for bad in ("nan", "-1", "zero", "1e12"):
        monkeypatch.setenv(ui_recovery.AUTOSAVE_ENV, bad)
        assert ui_recovery.autosave_interval_ms() == 30_000
    monkeypatch.delenv(ui_recovery.AUTOSAVE_ENV)
    assert ui_recovery.autosave_interval_ms() == 30_000


# ----------------------------------------------------------------------------- autosave
@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = MainWindow()
    qtbot.addWidget(window)
    window.autosaver = ui_recovery.Autosaver(window, RecoveryStore(tmp_path / "rec"), 40)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    return window


def add_note(window: MainWindow, pitch: int) -> None:
    window.document.push(edits.AddNotes(0, Notes([pitch], [0], [240])))


def test_edits_are_autosaved_and_a_save_removes_the_copy(window, qtbot, tmp_path):
    copy = window.autosaver.recovery_path
    qtbot.wait(150)
    assert not copy.exists()  # nothing changed: nothing written
    add_note(window, 61)
    qtbot.waitUntil(copy.exists, timeout=3000)
    pitches = load_project(copy).song.tracks[0].notes.pitch.tolist()
    assert 61 in pitches
    assert json.loads(copy.with_suffix(".json").read_text())["source"] is None
    assert window.save_to(str(tmp_path / "mine.pianola"))
    assert not copy.exists() and not copy.with_suffix(".json").exists()
    add_note(window, 62)
    qtbot.waitUntil(copy.exists, timeout=3000)
    assert json.loads(copy.with_suffix(".json").read_text())["source"].endswith("mine.pianola")
    window.close()  # a clean exit (the changes discarded) removes it too
    assert not copy.exists()


def test_undo_back_to_the_saved_state_removes_the_copy(window, qtbot):
    copy = window.autosaver.recovery_path
    add_note(window, 61)
    qtbot.waitUntil(copy.exists, timeout=3000)
    window.document.undo_stack.undo()
    assert not copy.exists()


def test_restore_discard_and_later(window, qtbot, tmp_path):
    crashed = RecoveryStore(tmp_path / "rec")
    crashed.save("main", Project(song("Lost")), str(tmp_path / "lost.mid"), "Lost")
    store = window.autosaver.store
    answers = iter(["later"])
    assert not ui_recovery.offer_recovery(window, window.autosaver, lambda *a: next(answers))
    assert len(store.pending()) == 1  # kept for the next start
    asked = []

    def restore(parent, entry, more):
        asked.append(ui_recovery.describe(entry))
        return "restore"

    assert ui_recovery.offer_recovery(window, window.autosaver, restore)
    assert "“lost.mid”" in asked[0] and "autosaved at" in asked[0]
    doc = window.document
    assert doc.song.title == "Lost" and doc.path == str(tmp_path / "lost.mid")
    assert doc.modified and window.isWindowModified()
    assert store.pending() == []
    assert window.autosaver.recovery_path.exists()  # the restored work is safe at once
    crashed.save("main", Project(song("Old")), None, "Old")
    assert not ui_recovery.offer_recovery(window, window.autosaver, lambda *a: "discard")
    assert store.pending() == []


def test_a_damaged_copy_is_explained_and_removed(window, tmp_path, monkeypatch):
    crashed = RecoveryStore(tmp_path / "rec")
    path = crashed.save("main", Project(song()), None, "x")
    path.write_text("{broken")
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _p, title, text: shown.append(text))
    assert not ui_recovery.offer_recovery(window, window.autosaver, lambda *a: "restore")
    assert "damaged" in shown[0] and window.autosaver.store.pending() == []


# ----------------------------------------------------------------------------- save errors
@pytest.fixture
def critical(monkeypatch):
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(
        QMessageBox, "critical", lambda _p, title, text: shown.append((title, text))
    )
    return shown


def test_a_title_that_cannot_be_encoded_is_saved_or_explained(qtbot, tmp_path, critical):
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_song(song("bad \ud800 title"))
    target = tmp_path / "x.pianola"
    if window.save_to(str(target)):  # the project writer repairs the title
        assert load_project(target).song.title.startswith("bad ")
    else:
        assert critical[0][0] == "Cannot save project" and str(target) in critical[0][1]


@pytest.mark.parametrize(
    "error",
    [
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        RuntimeError("something nobody expected"),
        OSError(errno.EACCES, "Permission denied"),
    ],
)
def test_every_save_error_reaches_the_user_as_a_dialog(
    qtbot, tmp_path, critical, monkeypatch, error
):
    window = MainWindow()
    qtbot.addWidget(window)

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr("studio.ui.main_window.save_project", fail)
    target = tmp_path / "x.pianola"
    assert not window.save_to(str(target))  # no exception escapes
    [(title, text)] = critical
    assert title == "Cannot save project" and str(target) in text
    assert "\n" not in text.split(" (details")[0]  # one sentence


def test_disk_full_while_saving_gives_a_dialog_and_keeps_the_old_file(
    qtbot, tmp_path, critical, monkeypatch
):
    window = MainWindow()
    qtbot.addWidget(window)
    target = tmp_path / "x.pianola"
    assert window.save_to(str(target))
    before = target.read_bytes()
    add_note(window, 50)

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", full)
        assert not window.save_to(str(target))
    assert critical == [("Cannot save project", f"Disk full while saving {target}")]
    assert target.read_bytes() == before and window.document.modified
    assert [p.name for p in tmp_path.iterdir()] == ["x.pianola"]
    window.document.undo_stack.setClean()  # closing must not ask


def test_export_midi_errors_reach_the_user(qtbot, tmp_path, critical, monkeypatch):
    window = MainWindow()
    qtbot.addWidget(window)
    target = tmp_path / "locked" / "x.mid"  # the folder does not exist
    monkeypatch.setattr(
        "studio.ui.main_window.ask_save_path", lambda *a, **k: str(target), raising=True
    )
    assert not window.export_midi()
    assert critical and critical[0][0] == "Cannot export MIDI" and str(target) in critical[0][1]


# ----------------------------------------------------------------------------- a real crash
def _driver(mode: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "recovery_driver.py"), mode],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_work_survives_sigkill_and_is_restored_at_the_next_start(tmp_path):
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PIANOLA_AUTOSAVE_SECONDS": "0.3",
        "PIANOLA_RECOVERY_DIR": str(tmp_path / "recovery"),
        "PIANOLA_STATE_DIR": str(tmp_path / "state"),
        "PIANOLA_CONFIG_DIR": str(tmp_path / "config"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    first = _driver("edit", env)
    try:
        line = first.stdout.readline()  # blocks until the autosave happened (or it died)
        assert line.startswith("AUTOSAVED "), first.stderr.read()[-3000:]
        copy = Path(line.split(" ", 1)[1].strip())
        assert copy.is_file()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    assert copy.is_file()  # nothing cleaned up: the process had no chance to

    second = _driver("restore", env)
    out, err = second.communicate(timeout=180)
    assert second.returncode == 0, err[-3000:]
    seen = json.loads(out.strip().splitlines()[-1])
    assert "Untitled" in seen["restore"] and "autosaved at" in seen["restore"]
    assert set(range(60, 72)) <= set(seen["song"]["notes"])  # all twelve edits
    assert seen["song"]["modified"] and seen["song"]["copy_exists"]
    assert not copy.exists()  # the old copy went once the restored one was safe
    # The second app quit cleanly (discarding): nothing is left to recover.
    assert not list((tmp_path / "recovery").glob("*.pianola"))
    log = (tmp_path / "state" / "pianola.log").read_text()
    assert "restored Untitled" in log
