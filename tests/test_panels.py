"""Training and Generation panels, driven like a composer would (pytest-qt, offscreen).

Train the `tiny` model on a few chorales from the panel (plots move, a preview appears,
Pause holds, Stop saves a checkpoint), generate from a checkpoint into the editor and
undo it, refuse a folder of broken files with the reasons, and close the window while
training (ask, stop cleanly, join). The thread-leak fixture in conftest fails any test
that leaves a worker running.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from captions import without_keys
from PySide6.QtCore import QPoint, QSettings, Qt

from studio.core.song import Notes, Song, Track
from studio.ui.panels.generation_panel import GROUP

BACH = Path(__file__).resolve().parents[1] / "resources" / "datasets" / "bach_chorales"
CHORALES = ("bwv10.7.mid", "bwv101.7.mid", "bwv102.7.mid")


@pytest.fixture
def few_chorales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PIANOLA_DATA_DIR", str(tmp_path / "data-dir"))
    folder = tmp_path / "chorales"
    folder.mkdir()
    for name in CHORALES:
        shutil.copy(BACH / name, folder / name)
    return folder


def copy_phrase_ends(folder: Path) -> None:
    """Give ``folder`` the bundled phrases.json entries of its chorales."""
    from studio.ml.phrases import read_sidecar, write_sidecar

    fermatas, tpb = read_sidecar(BACH)  # type: ignore[misc]
    write_sidecar(folder, {name: fermatas[name] for name in CHORALES}, tpb)


def train_tiny(root: Path, steps: int, **settings: Any) -> str:
    """A few steps of `tiny` on the test chorales, trained with the engine directly (no
    Qt); returns the last checkpoint. ``settings``: more `TrainConfig` fields."""
    from studio.ml.train import TrainConfig, train

    data = root / "chorales"
    data.mkdir()
    for name in CHORALES:
        shutil.copy(BACH / name, data / name)
    if settings.get("phrase_conditioning"):
        copy_phrase_ends(data)
    config = TrainConfig(
        data=str(data),
        out_dir=str(root / "run"),
        preset="tiny",
        steps=steps,
        batch_size=4,
        checkpoint_every=steps,
        preview_every=0,
        metrics_every=0,
        cache_dir=str(root / "cache"),
        **settings,
    )
    finished = [e for e in train(config) if type(e).__name__ == "Finished"]
    assert finished and finished[0].checkpoint
    return finished[0].checkpoint


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A few steps of `tiny`, trained with the engine directly (no Qt)."""
    return train_tiny(tmp_path_factory.mktemp("tiny-run"), steps=3)


def make_training_panel(qtbot, runs: Path):
    from studio.ui.panels.training_panel import TrainingPanel

    played: list[Song] = []
    opened: list[Song] = []
    panel = TrainingPanel(play_song=played.append, open_song=opened.append)
    qtbot.addWidget(panel)
    panel.settings_form.set_values(
        preset="tiny",
        steps=100_000,
        batch_size=4,
        preview_every=3,
        metrics_every=6,
        checkpoint_every=10_000,
        runs_folder=str(runs),
    )
    panel.resize(1200, 760)
    return panel, played, opened


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_train_tiny_from_the_panel_pause_then_stop_saves_a_checkpoint(
    qtbot, few_chorales: Path, tmp_path: Path
):
    panel, played, opened = make_training_panel(qtbot, tmp_path / "runs")
    panel.data_box.set_folder(str(few_chorales))
    qtbot.waitUntil(lambda: panel.data_box.scan_result is not None, timeout=30_000)
    assert panel.data_box.scan_result.files_found == 3
    assert panel.start_button.isEnabled()

    click(qtbot, panel.start_button)
    assert panel.is_training and not panel.start_button.isEnabled()
    assert not panel.settings_form.isEnabled()  # no changing knobs mid-run
    # The plots receive points (and draw them on their timer), and previews appear.
    qtbot.waitUntil(lambda: panel.plots.point_count >= 6, timeout=60_000)
    qtbot.waitUntil(lambda: panel.plots.curve_point_count("g") > 0, timeout=5_000)
    qtbot.waitUntil(lambda: len(panel.previews) >= 1, timeout=60_000)
    qtbot.waitUntil(lambda: bool(panel.plots.metric_names), timeout=60_000)
    assert panel.progress.value() >= 1 and panel.progress.maximum() == 100_000

    # Hear it learn: click plays, double-click opens in the editor.
    thumb = panel.previews.thumbnail(0)
    qtbot.mouseClick(thumb, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    assert played and played[0].note_count >= 0
    qtbot.mouseDClick(thumb, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    assert opened and opened[0].title.startswith("Training preview")

    # Pause holds training between two steps.
    click(qtbot, panel.pause_button)
    qtbot.waitUntil(lambda: panel.is_paused, timeout=30_000)
    assert panel.pause_button.text() == "Resume"
    held = panel.plots.point_count
    qtbot.wait(400)
    assert panel.plots.point_count == held

    # Stop (while paused) saves a checkpoint, and the thread ends.
    with qtbot.waitSignal(panel.trainingFinished, timeout=60_000) as finished:
        click(qtbot, panel.stop_button)
    event = finished.args[0]
    assert event.reason == "stopped"
    assert Path(event.checkpoint).is_file()
    assert panel.last_checkpoint == event.checkpoint
    assert not panel.is_training and panel.start_button.isEnabled()
    assert "Stopped at step" in panel.status_label.text()

    # Resume the run from its checkpoint: it goes on from the step it stopped at.
    stopped_at = event.step
    panel.settings_form.set_values(preset="default")  # the run's own settings win
    started: list[str] = []
    panel.trainingStarted.connect(started.append)
    assert panel.resume_run(panel.run_dir)
    assert panel.plots.point_count == stopped_at  # the curves so far, from the run's log
    qtbot.waitUntil(lambda: panel.progress.value() > stopped_at, timeout=60_000)
    with qtbot.waitSignal(panel.trainingFinished, timeout=60_000) as again:
        click(qtbot, panel.stop_button)
    assert again.args[0].step > stopped_at
    assert Path(again.args[0].checkpoint).is_file()


def test_broken_files_are_listed_with_reasons_and_training_does_not_start(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PIANOLA_DATA_DIR", str(tmp_path / "data-dir"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "not_midi.mid").write_bytes(b"this is a text file, not a song")
    (broken / "truncated.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00")
    (broken / "empty.midi").write_bytes(b"")
    panel, _, _ = make_training_panel(qtbot, tmp_path / "runs")
    panel.data_box.set_folder(str(broken))
    qtbot.waitUntil(lambda: len(panel.data_box.skipped_rows()) == 3, timeout=30_000)
    qtbot.waitUntil(lambda: not panel.data_box.is_scanning, timeout=10_000)
    rows = dict(panel.data_box.skipped_rows())
    assert set(rows) == {"not_midi.mid", "truncated.mid", "empty.midi"}
    assert all(reason.strip() for reason in rows.values())
    assert panel.data_box._message.is_error
    assert "training cannot start" in panel.data_box._message.text.lower()
    assert not panel.start_button.isEnabled()
    click(qtbot, panel.start_button)  # disabled: nothing happens
    assert panel.start() is False
    assert not panel.is_training and panel.run_dir is None


def test_an_engine_error_is_shown_in_the_panel_and_the_app_goes_on(
    qtbot, few_chorales: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from studio.ml.errors import NonFiniteLossError
    from studio.ml.train import Started, StepMetrics
    from studio.ui.panels import training_panel

    def diverging(config, control):
        yield Started(config.steps, "cpu", {"windows": 10})
        yield StepMetrics(1, config.steps, 1.0, 1.0, 0.0, 10.0, 0.1)
        raise NonFiniteLossError("training diverged at step 2: the generator loss is nan")

    monkeypatch.setattr(training_panel, "run_training", diverging)
    panel, _, _ = make_training_panel(qtbot, tmp_path / "runs")
    panel.data_box.set_folder(str(few_chorales))
    qtbot.waitUntil(lambda: panel.data_box.scan_result is not None, timeout=30_000)
    with qtbot.waitSignal(panel.trainingFinished, timeout=10_000):
        click(qtbot, panel.start_button)
    assert not panel.message.isHidden() and panel.message.is_error
    assert "NaN" in panel.message.text and "learning rate" in panel.message.text
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()


def test_training_settings_are_remembered(qtbot):
    from studio.ui.panels.training_settings import TrainingSettingsForm

    form = TrainingSettingsForm()
    qtbot.addWidget(form)
    form.set_values(preset="tiny", steps=1234, batch_size=16, lr_g=0.0003, seed=77)
    assert form.device.count() >= 2  # "Best available" plus real devices (at least the CPU)
    assert any("CPU" in form.device.itemText(k) for k in range(form.device.count()))
    again = TrainingSettingsForm()
    qtbot.addWidget(again)
    config = again.config("bach-chorales", "/tmp/out")
    assert (config.preset, config.steps, config.batch_size, config.seed) == ("tiny", 1234, 16, 77)
    assert config.lr_g == pytest.approx(0.0003)
    assert config.threads >= 1
    assert "generator" in form.steps.toolTip().lower()
    assert config.lr_decay == "none"  # constant rates unless asked


def test_settling_slows_both_rates_over_the_second_half(qtbot):
    from studio.ml.train import learning_rate_scale
    from studio.ui.panels.training_settings import TrainingSettingsForm

    form = TrainingSettingsForm()
    qtbot.addWidget(form)
    form.set_values(steps=1000)
    form.lr_settle.click()  # the user ticks "Settle over the second half"
    config = form.config("bach-chorales", "/tmp/out")
    assert (config.lr_decay, config.lr_decay_start) == ("linear", 500)
    assert learning_rate_scale(config, 499) == 1.0
    assert learning_rate_scale(config, 999) == pytest.approx(config.lr_final)
    again = TrainingSettingsForm()  # remembered
    qtbot.addWidget(again)
    assert again.lr_settle.isChecked()
    again.lr_settle.click()
    assert again.config("bach-chorales", "/tmp/out").lr_decay == "none"


def song_with_melody() -> Song:
    melody = Notes(
        [67, 69, 71, 72, 74, 72, 71, 69],
        [k * 480 for k in range(8)],
        [480] * 8,
    )
    bass = Notes([43, 45, 47, 48], [0, 960, 1920, 2880], [960] * 4)
    return Song(
        "Sketch",
        tracks=[
            Track("Soprano", program=0, colour="#4fc3f7", notes=melody),
            Track("Bass", program=32, colour="#e57373", notes=bass),
        ],
    )


@pytest.fixture
def window(qtbot):
    from studio.ui.main_window import MainWindow
    from studio.ui.panels import attach_panels

    played: list[Song] = []
    win = MainWindow()  # closed below, after its song is marked saved (no question)
    panels = attach_panels(win, transport=played.append)
    win.resize(1400, 900)
    win.show()
    win.panels = panels
    win.played = played
    win.document.set_song(song_with_melody())
    yield win
    panels.generation.shutdown(30_000)
    if getattr(panels.training, "_handle", None) is not None:
        panels.training._handle.shutdown(30_000)
    win.document.undo_stack.setClean()
    win.close()
    win.deleteLater()


def generate_and_wait(qtbot, panel) -> None:
    click(qtbot, panel.generate_button)
    qtbot.waitUntil(lambda: not panel.is_busy and not panel.is_working, timeout=60_000)
    assert panel.message.isHidden(), panel.message.text


# -- a scripted engine: the panel's own behaviour, fast and exact ----------------------
SATB = ("Soprano", "Alto", "Tenor", "Bass")


class ScriptedModel:
    """What the panel reads of a loaded model."""

    def __init__(self) -> None:
        self.bars = 4
        self.path = ""
        self.meta = {"step": 12, "data": {"summary": {"source": "bach-chorales", "files_used": 3}}}
        self.templates = [{"name": n} for n in SATB]


def scripted_song(seed: int, bars: int = 2, tpb: int = 480) -> Song:
    tracks = [
        Track(
            name,
            colour=["#4fc3f7", "#ffb74d", "#81c784", "#e57373"][k],
            notes=Notes(
                [72 - 7 * k + seed % 5] * 4 * bars,
                [j * tpb for j in range(4 * bars)],
                [tpb] * 4 * bars,
            ),
        )
        for k, name in enumerate(SATB)
    ]
    return Song(f"Generated {seed}", ticks_per_beat=tpb, tracks=tracks)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch):
    """Replace the engine calls of the panel's jobs: a draft, then the refined songs."""
    from studio.ml.generation import GenerationResult
    from studio.ui.panels import generation_jobs

    calls: list = []

    def load(source):
        return ScriptedModel()

    def run(request, model=None, progress=None, cancel=None):
        calls.append(request)
        seeds = tuple(request.seed + k for k in range(request.variations))
        songs = tuple(scripted_song(s, request.bars) for s in seeds)
        notes = (f"key {request.key} by post-processing",) if request.key else ()
        progress(0.5, "drafting")
        yield GenerationResult("draft", False, songs, seeds, notes=notes)
        progress(1.0, "refining")
        yield GenerationResult("refined", True, songs, seeds, notes=notes)

    monkeypatch.setattr(generation_jobs, "load_model_job", load)
    monkeypatch.setattr(generation_jobs, "generation_job", run)
    return calls


def test_cancel_returns_at_once_and_the_worker_ends_by_itself(qtbot, window, monkeypatch):
    import time

    from studio.ml.generation import GenerationCancelled
    from studio.ui.panels import generation_jobs

    asked_to_stop: list[float] = []

    def slow(request, model=None, progress=None, cancel=None):
        # An engine that checks ``cancel`` only every 0.5 s (between two long passes).
        for k in range(100):
            progress(k / 100, "drafting")
            time.sleep(0.5)
            if cancel():
                asked_to_stop.append(time.perf_counter())
                raise GenerationCancelled
        yield from ()

    monkeypatch.setattr(generation_jobs, "load_model_job", lambda source: ScriptedModel())
    monkeypatch.setattr(generation_jobs, "generation_job", slow)
    panel = window.panels.generation
    click(qtbot, panel.generate_button)
    qtbot.waitUntil(lambda: panel.is_busy and panel.progress.value() >= 0, timeout=10_000)
    qtbot.waitUntil(lambda: panel.progress.maximum() == 1000, timeout=10_000)
    assert panel.progress.isVisible() and panel.cancel_button.isEnabled()
    assert not panel.generate_button.isEnabled()

    t0 = time.perf_counter()
    click(qtbot, panel.cancel_button)
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.2, f"Cancel took {elapsed * 1000:.0f} ms"
    assert not panel.is_busy and panel.generate_button.isEnabled()
    assert not panel.cancel_button.isEnabled() and panel.progress.isHidden()
    assert "Cancelled" in panel.message.text and not panel.message.is_error
    qtbot.waitUntil(lambda: not panel.is_working, timeout=5_000)  # the thread has ended
    assert asked_to_stop  # the engine saw the flag; no error is shown for it
    assert not panel.message.is_error and len(panel.results) == 0


def test_a_generate_during_a_cancelled_jobs_last_pass_runs_after_it(
    qtbot, window, scripted, monkeypatch
):
    import threading

    from studio.ui.panels import generation_jobs

    release = threading.Event()
    fast = generation_jobs.generation_job

    def stubborn(request, model=None, progress=None, cancel=None):
        release.wait(10)  # a long pass that does not look at ``cancel``
        yield from fast(request, model, progress, cancel)

    monkeypatch.setattr(generation_jobs, "generation_job", stubborn)
    panel = window.panels.generation
    panel.variations.setValue(2)
    seed = panel.seed.value()
    click(qtbot, panel.generate_button)  # loads the model, then generates
    qtbot.waitUntil(
        lambda: panel.session.job and panel.session.job.kind == "generate", timeout=10_000
    )
    click(qtbot, panel.cancel_button)
    assert not panel.is_busy and panel.is_working
    monkeypatch.setattr(generation_jobs, "generation_job", fast)
    click(qtbot, panel.generate_button)  # queued behind the pass that is still running
    release.set()
    qtbot.waitUntil(lambda: len(panel.results) == 2 and not panel.is_working, timeout=10_000)
    # The cancelled batch used seeds s, s+1: the queued one makes new music.
    assert without_keys(panel.results.thumbnail(k).caption for k in range(2)) == [
        f"Seed {seed + 2}",
        f"Seed {seed + 3}",
    ]


def test_drafts_show_first_then_the_refined_variations_replace_them(qtbot, window, scripted):
    panel = window.panels.generation
    panel.variations.setValue(3)
    panel.seed.setValue(7)
    shown: list[list[str]] = []
    panel.generated.connect(
        lambda n: shown.append(without_keys(panel.results.thumbnail(k).caption for k in range(n)))
    )
    generate_and_wait(qtbot, panel)
    assert shown == [
        ["Seed 7 · draft", "Seed 8 · draft", "Seed 9 · draft"],
        ["Seed 7", "Seed 8", "Seed 9"],
    ]
    assert (
        "Bach chorales" in panel.model_info.text()
        and "12 training steps" in panel.model_info.text()
    )
    request = scripted[0]
    assert (request.mode, request.seed, request.variations) == ("generate", 7, 3)
    assert panel.seed.value() == 10  # unlocked: the next Generate makes new music


def test_the_generation_tempo_is_the_songs_unless_the_composer_sets_one(qtbot, window, scripted):
    from studio.core.song import TempoChange

    panel = window.panels.generation
    song = song_with_melody()
    song.tempos = [TempoChange(0, 84.0)]
    window.document.set_song(song)
    assert panel.tempo.value() == 84
    generate_and_wait(qtbot, panel)
    assert scripted[-1].tempo == 84
    panel.tempo.setValue(100)
    generate_and_wait(qtbot, panel)
    assert scripted[-1].tempo == 100
    window.document.set_song(song_with_melody())  # another song: its own tempo again
    assert panel.tempo.value() == 120


def test_inserted_tracks_get_colours_of_their_own(qtbot, window, scripted):
    panel = window.panels.generation
    doc = window.document
    panel.variations.setValue(1)
    generate_and_wait(qtbot, panel)
    used = {t.colour for t in doc.song.tracks}
    assert panel.insert_selected()
    added = doc.song.tracks[2:]
    assert [t.name for t in added] == [f"{n} · new" for n in SATB]
    colours = {t.colour for t in added}
    assert len(colours) == 4 and not colours & used


def test_replace_into_unmatched_tracks_says_where_each_voice_goes(
    qtbot, window, scripted, monkeypatch
):
    from studio.ui.panels import generation_panel

    panel = window.panels.generation
    doc = window.document
    before = doc.song.copy()
    panel.variations.setValue(1)
    panel.bars.setValue(2)
    generate_and_wait(qtbot, panel)
    asked: list[str] = []
    answers = [False, True]

    def ask(parent, plan):
        asked.append(plan.summary)
        return answers.pop(0)

    monkeypatch.setattr(generation_panel, "ask_replace", ask)
    assert panel.replace_button.isEnabled()
    click(qtbot, panel.replace_button)  # "Cancel": nothing changes
    assert doc.song == before and doc.undo_stack.count() == 0
    summary = asked[0]
    assert "Soprano → Soprano" in summary and "Bass → Bass" in summary
    assert "Alto → new track “Alto · new”" in summary and "Tenor → new track" in summary

    click(qtbot, panel.replace_button)  # "OK": all four voices land, as ONE step
    assert doc.undo_stack.count() == 1
    assert [t.name for t in doc.song.tracks] == ["Soprano", "Bass", "Alto · new", "Tenor · new"]
    assert (
        doc.song.tracks[0].notes.pitch[0]
        == scripted_song(panel.seed.value() - 1).tracks[0].notes.pitch[0]
    )
    assert "Alto → new track" in panel.message.text
    doc.undo_stack.undo()
    assert doc.song == before


def test_clicking_a_variation_without_an_audio_device_says_so(qtbot, window, scripted):
    class NoDevice:
        status = "No audio output device found."

        def play_song(self, song) -> bool:
            return False

    panel = window.panels.generation
    panel.set_play_song(NoDevice().play_song)
    panel.variations.setValue(2)
    generate_and_wait(qtbot, panel)
    qtbot.mouseClick(panel.results.thumbnail(1), Qt.MouseButton.LeftButton, pos=QPoint(8, 8))
    assert not panel.message.isHidden() and not panel.message.is_error
    assert "No audio output device" in panel.message.text
    assert "Audio Settings" in panel.message.text
    assert panel.results.selected_indices() == [1]  # the click still selects


def test_the_real_transport_without_a_device_explains_a_silent_audition(qtbot, scripted):
    from audio_fakes import SilentBackend

    from studio.ui.app import create_main_window

    window = create_main_window(audio_backend=SilentBackend(), threaded_audio=False)
    panel = window.panels.generation
    try:
        panel.variations.setValue(1)
        generate_and_wait(qtbot, panel)
        thumb = panel.results.thumbnail(0)
        qtbot.mouseClick(thumb, Qt.MouseButton.LeftButton, pos=QPoint(8, 8))
        assert "No audio output device" in panel.message.text
        assert "no output device found" in panel.message.text  # the transport's reason
    finally:
        window.document.undo_stack.setClean()
        window.close()
        window.deleteLater()


def test_opening_a_variation_asks_before_unsaved_changes_are_lost(
    qtbot, window, scripted, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    import studio.ui.main_window as main_window

    panel = window.panels.generation
    doc = window.document
    panel.variations.setValue(2)
    generate_and_wait(qtbot, panel)
    panel.insert_selected()  # an unsaved change
    edited = doc.song.copy()
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard]
    asked: list[str] = []

    def question(parent, title, text, *args):
        asked.append(title)
        return answers.pop(0)

    monkeypatch.setattr(main_window.QMessageBox, "question", question)
    qtbot.mouseDClick(panel.results.thumbnail(0), Qt.MouseButton.LeftButton, pos=QPoint(8, 8))
    assert asked == ["Unsaved changes"] and doc.song == edited  # Cancel: nothing lost
    click(qtbot, panel.open_button)
    assert len(asked) == 2 and doc.song.title.startswith("Generated")
    # The opened variation exists nowhere else: the next one asks too.
    assert doc.modified
    answers.append(QMessageBox.StandardButton.Cancel)
    panel.results.select(1)
    click(qtbot, panel.open_button)
    assert len(asked) == 3


def test_generate_stays_visible_in_a_small_dock(qtbot):
    from PySide6.QtCore import QRect

    from studio.ui.document import SongDocument
    from studio.ui.panels.generation_panel import GenerationPanel

    panel = GenerationPanel(SongDocument(song_with_melody()))
    qtbot.addWidget(panel)
    assert panel.minimumSizeHint().height() <= 140
    panel.show()
    for size in ((900, 140), (1280, 170), (1400, 420)):
        panel.resize(*size)
        qtbot.waitUntil(lambda size=size: panel.height() == size[1], timeout=2_000)
        for button in (panel.generate_button, panel.cancel_button, panel.insert_button):
            corner = button.mapTo(panel, QPoint(0, 0))
            assert panel.rect().contains(QRect(corner, button.size())), (size, button.text())
            assert button.visibleRegion().boundingRect().size() == button.size()


def test_generate_from_a_checkpoint_into_the_editor_and_undo(qtbot, window, tiny_checkpoint):
    panel = window.panels.generation
    doc = window.document
    before = doc.song.copy()
    panel.set_model_source(tiny_checkpoint)
    qtbot.waitUntil(lambda: panel.model is not None, timeout=30_000)
    assert "3 training steps" in panel.model_info.text()
    assert "chorales" in panel.model_info.text()

    panel.variations.setValue(3)
    panel.bars.setValue(4)
    panel.set_mode("generate")
    generate_and_wait(qtbot, panel)
    assert len(panel.results) == 3
    assert all(len(s.tracks) == len(panel.model.templates) for s in panel.results.songs())

    # Click auditions through the transport; the clicked variation is selected.
    qtbot.mouseClick(panel.results.thumbnail(1), Qt.MouseButton.LeftButton, pos=QPoint(8, 8))
    assert window.played and window.played[-1] is panel.results.song(1)
    assert panel.results.selected_indices() == [1]

    steps_before = doc.undo_stack.count()
    click(qtbot, panel.insert_button)
    assert len(doc.song.tracks) > len(before.tracks)
    assert doc.undo_stack.count() == steps_before + 1  # ONE undo step
    window.actions_by_id["edit.undo"].trigger()
    assert doc.song == before


def test_cancel_stops_the_real_engine(qtbot, window, tiny_checkpoint):
    import time

    panel = window.panels.generation
    panel.set_model_source(tiny_checkpoint)
    qtbot.waitUntil(lambda: panel.model is not None and not panel.is_working, timeout=30_000)
    panel.variations.setValue(16)
    panel.bars.setValue(64)
    panel.refine.setValue(6)  # many passes: long enough to cancel in the middle
    click(qtbot, panel.generate_button)
    qtbot.waitUntil(lambda: panel.progress.maximum() == 1000, timeout=30_000)
    t0 = time.perf_counter()
    click(qtbot, panel.cancel_button)
    assert time.perf_counter() - t0 < 0.2 and not panel.is_busy
    qtbot.waitUntil(lambda: not panel.is_working, timeout=30_000)  # stopped at its next pass
    assert not panel.message.is_error and "Cancelled" in panel.message.text
    captions = [panel.results.thumbnail(k).caption for k in range(len(panel.results))]
    assert all(c.endswith("· draft") for c in captions)  # nothing refined after the cancel


def test_regenerate_the_loop_replaces_only_those_bars_as_one_undo_step(
    qtbot, window, tiny_checkpoint
):
    panel = window.panels.generation
    doc = window.document
    before = doc.song.copy()
    panel.set_model_source(tiny_checkpoint)
    qtbot.waitUntil(lambda: panel.model is not None, timeout=30_000)
    doc.set_loop(1920, 3840)  # bar 2
    panel.set_mode("infill")
    assert "bar 2" in panel.context_label.text()
    panel.variations.setValue(2)
    panel.set_checked_tracks([0, 1])
    generate_and_wait(qtbot, panel)
    assert len(panel.results) == 2
    assert panel.replace_button.isEnabled()

    steps_before = doc.undo_stack.count()
    click(qtbot, panel.replace_button)  # the tracks' own notes: no question to ask
    assert doc.undo_stack.count() == steps_before + 1
    for k, track in enumerate(doc.song.tracks):
        old = before.tracks[k].notes
        # Notes outside the loop are untouched.
        outside = (track.notes.start < 1920) | (track.notes.start >= 3840)
        old_outside = (old.start < 1920) | (old.start >= 3840)
        assert np.array_equal(track.notes.start[outside], old.start[old_outside])
        assert np.array_equal(track.notes.pitch[outside], old.pitch[old_outside])
    doc.undo_stack.undo()
    assert doc.song == before


def test_variations_of_new_can_be_morphed_and_opened_as_a_new_song(qtbot, window, tiny_checkpoint):
    panel = window.panels.generation
    panel.set_model_source(tiny_checkpoint)
    qtbot.waitUntil(lambda: panel.model is not None, timeout=30_000)
    panel.key_combo.setCurrentIndex(panel.key_combo.findData("any"))  # a key: no morph
    panel.seed.setValue(100)
    panel.seed_lock.setChecked(True)
    panel.variations.setValue(2)
    panel.bars.setValue(2)
    generate_and_wait(qtbot, panel)
    captions = [panel.results.thumbnail(k).caption for k in range(2)]
    assert without_keys(captions) == ["Seed 100", "Seed 101"]
    assert all(c.endswith((" major", " minor")) for c in captions)  # each names its key
    assert panel.seed.value() == 100  # locked
    panel.results.select(0)
    panel.results.select(1, add=True)
    assert panel.interp_button.isEnabled()
    panel.interp_steps.setValue(4)
    click(qtbot, panel.interp_button)
    qtbot.waitUntil(lambda: not panel.is_busy and not panel.is_working, timeout=60_000)
    assert panel.message.isHidden(), panel.message.text
    assert len(panel.results) == 4
    assert panel.results.thumbnail(0).caption.startswith("100 → 101")

    window.document.set_song(window.document.song)  # saved state: nothing to ask about
    click(qtbot, panel.open_button)
    assert window.document.song is panel.results.song(0) or (
        window.document.song.note_count == panel.results.song(0).note_count
    )
    assert window.document.undo_stack.count() == 0


def test_closing_the_window_while_training_asks_then_stops_cleanly(
    qtbot, window, few_chorales: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import studio.ui.panels as panels_module

    training = window.panels.training
    training.settings_form.set_values(
        preset="tiny",
        steps=100_000,
        batch_size=4,
        preview_every=1000,
        metrics_every=1000,
        checkpoint_every=10_000,
        runs_folder=str(tmp_path / "runs"),
    )
    training.data_box.set_folder(str(few_chorales))
    qtbot.waitUntil(lambda: training.data_box.scan_result is not None, timeout=30_000)
    assert training.start()
    qtbot.waitUntil(lambda: training.plots.point_count >= 2, timeout=60_000)

    answers = [False, True]
    asked: list[bool] = []

    def answer(parent) -> bool:
        asked.append(True)
        return answers.pop(0)

    monkeypatch.setattr(panels_module, "ask_stop_training", answer)
    window.document.set_song(window.document.song)  # no unsaved-changes question
    assert not window.close()  # "Cancel": the window stays, training goes on
    assert window.isVisible() and training.is_training
    assert window.close()  # "Stop": checkpoint saved, thread joined, window closes
    assert len(asked) == 2
    assert not training.is_training
    run = Path(training.run_dir)
    assert list((run / "checkpoints").glob("step_*.pt"))


def test_the_bundled_model_writes_new_music_at_the_playhead(qtbot, window):
    from studio.ml.checkpoint import resolve_model
    from studio.ml.errors import CheckpointError

    try:
        resolve_model("default")
    except CheckpointError:
        pytest.skip("no bundled model in models/")
    panel = window.panels.generation
    doc = window.document
    assert panel.model_combo.currentData() == "default"
    doc.set_playhead(1920 + 100)  # inside bar 2
    panel.set_mode("generate")
    assert "bar 2" in panel.context_label.text()
    panel.variations.setValue(2)
    panel.bars.setValue(2)
    assert panel.refine.text() == "model's"  # its own reading, not yet known
    generate_and_wait(qtbot, panel)  # loads the bundled model first, then generates
    assert "Bach chorales" in panel.model_info.text()
    # bach-lines.pt: one whole-voice round, then one by beats (models/bach-default.md)
    assert panel.refine.text() == "model's (1 round)"
    assert panel.beat_rounds.text() == "model's (1 round)"
    assert len(panel.results) == 2
    panel.refine.setValue(1)
    assert panel.session.settings.sampling().refine_rounds == 1
    panel.refine.setValue(panel.refine.minimum())
    assert panel.session.settings.sampling().refine_rounds is None
    panel.beat_rounds.setValue(1)
    assert panel.session.settings.sampling().beat_rounds == 1
    panel.beat_rounds.setValue(panel.beat_rounds.minimum())
    assert panel.session.settings.sampling().beat_rounds is None
    tracks_before = len(doc.song.tracks)
    assert panel.insert_selected()
    new_tracks = doc.song.tracks[tracks_before:]
    assert new_tracks and all(t.name.endswith("· new") for t in new_tracks)
    starts = np.concatenate([t.notes.start for t in new_tracks])
    assert starts.min() >= 1920 and starts.max() < 1920 + 2 * 1920
    doc.undo_stack.undo()
    assert len(doc.song.tracks) == tracks_before


def test_every_bundled_model_is_listed_by_name_and_used_checkpoints_follow(
    qtbot, window, tiny_checkpoint
):
    from studio.ml.bundled import bundled_model, bundled_models

    phrases = bundled_model("bach-phrases")
    if phrases is None:
        pytest.skip("no bach-phrases.pt in models/")
    panel = window.panels.generation
    combo = panel.model_combo
    labels = [combo.itemText(k) for k in range(combo.count())]
    shipped = [m.label for m in bundled_models()]
    assert labels[: len(shipped)] == shipped and shipped[0] == "Bach chorales"
    assert "Bach, phrase ends" in shipped
    assert combo.currentData() == "default"
    at = combo.findData("bach-phrases")
    assert "fermatas" in combo.itemData(at, Qt.ItemDataRole.ToolTipRole)

    combo.setCurrentIndex(combo.findData("bach-phrases"))  # the composer picks it
    qtbot.waitUntil(
        lambda: panel.model is not None and panel.model.phrase_conditioned, timeout=30_000
    )
    qtbot.waitUntil(lambda: not panel.is_working, timeout=30_000)
    assert Path(panel.model.path) == phrases.path
    assert panel.phrase_combo.isEnabled()  # its cadences can be placed

    shipped = len(bundled_models())
    panel.set_model_source(tiny_checkpoint)  # a checkpoint of one's own goes below them
    assert combo.itemData(shipped) == tiny_checkpoint and combo.currentIndex() == shipped
    assert panel.session.settings.recent_models == [tiny_checkpoint]  # not the bundled ones
    qtbot.waitUntil(lambda: not panel.is_working, timeout=30_000)


def test_a_new_user_generates_at_temperature_zero(window):
    # The bundled model's measured quality holds when decoded by threshold; sampling at 1.0
    # fragments its notes (models/bach-default.md), so a fresh panel starts at 0.
    panel = window.panels.generation
    assert panel.temperature.value() == 0.0
    assert panel.temperature_slider.value() == 0


def test_the_refine_boxes_name_the_models_rounds_of_both_kinds():
    from studio.ui.panels.generation_panel import own_beats_text, own_reading_text

    assert own_reading_text(None) == own_beats_text(None) == "model's"
    assert own_reading_text(0) == "model's (one pass)"
    assert own_reading_text(2) == "model's (2 rounds)"
    assert own_beats_text(0) == "model's (none)"
    assert own_beats_text(1) == "model's (1 round)"


def test_refine_and_voice_rules_reach_the_engine_and_are_remembered(qtbot, window, tiny_checkpoint):
    panel = window.panels.generation
    # The measured defaults: the model's own reading (its box's lowest value) and the rules.
    assert panel.refine.value() == panel.refine.minimum() == -1 and panel.voice_rules.isChecked()
    panel.set_model_source(tiny_checkpoint)
    qtbot.waitUntil(lambda: panel.model is not None, timeout=30_000)
    assert panel.refine.text() == "model's (2 rounds)"  # a file that names no reading
    panel.variations.setValue(2)
    panel.bars.setValue(2)
    panel.set_mode("generate")
    shown: list[list[str]] = []

    def captions(_count: int) -> None:
        shown.append([panel.results.thumbnail(k).caption for k in range(len(panel.results))])

    panel.generated.connect(captions)

    panel.refine.setValue(0)
    panel.voice_rules.setChecked(False)
    generate_and_wait(qtbot, panel)
    sampling = panel.session.last_planned.request.sampling
    assert (sampling.refine_rounds, sampling.strict_voicing) == (0, False)
    assert len(shown) == 1 and not any("draft" in c for c in shown[0])  # one pass, no draft

    shown.clear()
    panel.refine.setValue(3)
    panel.voice_rules.setChecked(True)
    generate_and_wait(qtbot, panel)
    sampling = panel.session.last_planned.request.sampling
    assert (sampling.refine_rounds, sampling.strict_voicing) == (3, True)
    # The one-pass draft shows first, then the refined variations replace it.
    assert len(shown) == 2
    assert all(c.endswith("· draft") for c in shown[0])
    assert not any("draft" in c for c in shown[1])
    settings = QSettings()
    settings.beginGroup(GROUP)
    assert int(settings.value("refine")) == 3
    assert settings.value("voice_rules") in (True, "true")


def test_the_sixteenths_box_follows_the_model_and_reaches_the_engine(
    qtbot, window, tiny_checkpoint, tmp_path
):
    from studio.ml import checkpoint as ckpt
    from studio.ui.panels.generation_panel import GenerationPanel

    panel = window.panels.generation
    assert panel.sixteenths.isChecked() and not panel.sixteenths.isEnabled()  # no model yet
    panel.set_model_source(tiny_checkpoint)
    qtbot.waitUntil(lambda: panel.model is not None, timeout=30_000)
    assert not panel.sixteenths.isEnabled()  # its file names no sixteenths pass
    assert "no sixteenths pass" in panel.sixteenths.toolTip()
    state, meta = ckpt.load_checkpoint(ckpt.resolve_model(tiny_checkpoint))
    meta["reading"] = {"sixteenth_temperature": 0.35}
    with_pass = tmp_path / "with-sixteenths.pt"
    ckpt.save_checkpoint(with_pass, {"generator": state["generator"]}, meta)
    panel.set_model_source(str(with_pass))
    qtbot.waitUntil(lambda: panel.sixteenths.isEnabled(), timeout=30_000)
    panel.variations.setValue(1)
    panel.bars.setValue(2)
    panel.set_mode("generate")
    generate_and_wait(qtbot, panel)
    assert panel.session.last_planned.request.sampling.sixteenths is True
    panel.sixteenths.setChecked(False)
    generate_and_wait(qtbot, panel)
    assert panel.session.last_planned.request.sampling.sixteenths is False
    settings = QSettings()
    settings.beginGroup(GROUP)
    assert settings.value("sixteenths") in (False, "false")
    settings.setValue("beat_rounds", 2)  # stored by every version, read back since stop 28
    settings.setValue("cadence_every", 4)
    settings.endGroup()
    stored = GenerationPanel._stored_settings()  # what the panel starts with next time
    assert (stored.sixteenths, stored.beat_rounds, stored.cadence_every) == (False, 2, 4)


# -- key and metre (issue 12) -------------------------------------------------------------
def g_minor(time_signature: tuple[int, int] = (4, 4)) -> Song:
    """A phrase in G minor (B flat, E flat, F sharp), in the given metre."""
    from studio.core.song import TimeSignature

    melody = Notes([67, 70, 74, 72, 70, 69, 67, 66, 67], [k * 480 for k in range(9)], [480] * 9)
    bass = Notes([43, 50, 51, 50, 43], [k * 960 for k in range(5)], [960] * 5)
    return Song(
        "In G minor",
        time_signatures=[TimeSignature(0, *time_signature)],
        tracks=[
            Track("Soprano", colour="#4fc3f7", notes=melody),
            Track("Bass", program=32, colour="#e57373", notes=bass),
        ],
    )


def test_the_key_control_starts_on_any_key_for_an_empty_song_then_follows_the_song(qtbot):
    from studio.ui.document import SongDocument
    from studio.ui.panels.generation_panel import GenerationPanel

    document = SongDocument(Song("Empty"))
    panel = GenerationPanel(document)
    qtbot.addWidget(panel)
    assert panel.key_combo.currentText() == "Any key"
    assert panel.key_combo.findData("song") == -1  # no song key to offer
    assert panel.key_combo.count() == 1 + 24
    assert panel.key_combo.itemText(2) == "C minor" and panel.key_combo.itemText(3) == "C♯ major"
    document.set_song(g_minor())
    assert panel.key_combo.currentText() == "Song's key (G minor)"


def test_new_writes_in_the_chosen_key_and_harmonize_keeps_the_songs(qtbot, window, scripted):
    panel = window.panels.generation
    window.document.set_song(g_minor())
    assert panel.key_combo.currentText() == "Song's key (G minor)"  # the default
    assert panel.key_combo.isEnabled() and panel.metre_label.text() == "in 4/4"
    panel.variations.setValue(2)
    generate_and_wait(qtbot, panel)
    assert scripted[-1].key == "G minor"
    # The engine's notes are shown under the variations.
    assert panel.notes_label.isVisible()
    assert panel.notes_label.text() == "Key G minor by post-processing."

    panel.key_combo.setCurrentIndex(panel.key_combo.findText("D major"))
    generate_and_wait(qtbot, panel)
    assert scripted[-1].key == "D major"
    assert "D major" in panel.notes_label.text()
    assert not panel.interp_button.isEnabled()  # picked, transposed candidates: no morph
    settings = QSettings()
    settings.beginGroup(GROUP)
    assert settings.value("key") == "D major"  # remembered

    panel.set_mode("harmonize")
    assert not panel.key_combo.isEnabled()
    assert "keeps the key of the music it is given (G minor)" in panel.key_combo.toolTip()
    generate_and_wait(qtbot, panel)
    assert scripted[-1].mode == "harmonize" and scripted[-1].key is None
    assert panel.notes_label.isHidden()  # nothing to say about this music


def test_new_into_a_3_4_song_writes_in_3_4_and_says_how_the_key_was_reached(
    qtbot, window, tiny_checkpoint
):
    panel = window.panels.generation
    window.document.set_song(g_minor((3, 4)))
    assert panel.metre_label.text() == "in 3/4"
    panel.set_model_source(tiny_checkpoint)
    qtbot.waitUntil(lambda: panel.model is not None and not panel.is_working, timeout=30_000)
    panel.set_mode("generate")
    panel.variations.setValue(2)
    panel.bars.setValue(2)
    generate_and_wait(qtbot, panel)
    request = panel.session.last_planned.request
    assert (request.time_signature, request.key) == ((3, 4), "G minor")
    for variation in panel.session.variations:
        ts = variation.song.time_signatures[0]
        assert (ts.numerator, ts.denominator) == (3, 4)
        assert (variation.start, variation.end) == (0, 2 * 3 * 480)  # two bars of 3/4
    assert panel.notes_label.isVisible() and "G minor" in panel.notes_label.text()


def test_model_pickers_start_in_the_last_folder_used(qtbot, tmp_path, monkeypatch):
    # Issue 14: file dialogs start where the composer last was, and remember the choice.
    from PySide6.QtWidgets import QFileDialog

    from studio.ui.document import SongDocument
    from studio.ui.panels.generation_panel import GenerationPanel
    from studio.ui.recent import remember_folder

    runs = tmp_path / "runs"
    (runs / "bach").mkdir(parents=True)
    remember_folder(runs / "song.mid")
    panel = GenerationPanel(SongDocument())
    qtbot.addWidget(panel)
    starts: list[str] = []

    def choose_folder(parent, title, start=""):
        starts.append(start)
        return str(runs / "bach")

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(choose_folder))
    monkeypatch.setattr(
        QFileDialog,
        "getOpenFileName",
        staticmethod(lambda parent, title, start, filt: (starts.append(start), ("", ""))[1]),
    )
    panel._choose_run()
    panel._choose_checkpoint()
    assert starts == [str(runs), str(runs)]
    panel.shutdown()


# -- phrase ends (cadences) ----------------------------------------------------------------
@pytest.fixture(scope="module")
def phrase_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A few steps of `tiny` trained with phrase ends (the bundled fermatas)."""
    return train_tiny(tmp_path_factory.mktemp("phrase-run"), steps=2, phrase_conditioning=True)


def test_the_phrases_control_places_cadences_with_a_model_trained_on_phrase_ends(
    qtbot, window, tiny_checkpoint, phrase_checkpoint
):
    panel = window.panels.generation
    window.document.set_song(g_minor())
    panel.set_model_source(tiny_checkpoint)
    qtbot.waitUntil(lambda: panel.model is not None and not panel.is_working, timeout=30_000)
    assert not panel.phrase_combo.isEnabled()  # trained without phrase ends: says so
    assert "without phrase ends" in panel.phrase_combo.toolTip()

    panel.set_model_source(phrase_checkpoint)
    qtbot.waitUntil(
        lambda: panel.model is not None and panel.model.phrase_conditioned, timeout=30_000
    )
    qtbot.waitUntil(lambda: not panel.is_working, timeout=30_000)
    assert panel.phrase_combo.isEnabled()
    assert panel.phrase_combo.currentText() == "Cadence every 2 bars"  # the default
    panel.phrase_combo.setCurrentIndex(panel.phrase_combo.findText("Cadence every 4 bars"))
    panel.set_mode("generate")
    panel.variations.setValue(1)
    panel.bars.setValue(4)
    generate_and_wait(qtbot, panel)
    assert panel.session.last_planned.request.cadence_every == 4
    assert len(panel.session.variations) == 1
    settings = QSettings()
    settings.beginGroup(GROUP)
    assert int(settings.value("cadence_every")) == 4  # remembered

    panel.set_mode("harmonize")  # phrased by the given melody
    assert not panel.phrase_combo.isEnabled()
    assert "follows the phrasing of the music it is given" in panel.phrase_combo.toolTip()
    generate_and_wait(qtbot, panel)
    assert panel.session.last_planned.request.cadence_every is None


def test_learning_phrase_ends_from_the_panel_needs_them_and_says_so(
    qtbot, few_chorales: Path, tmp_path: Path
):
    from studio.ml.checkpoint import load_checkpoint

    panel, _, _ = make_training_panel(qtbot, tmp_path / "runs")
    panel.settings_form.set_values(phrase_conditioning=True)
    panel.data_box.set_folder(str(few_chorales))
    qtbot.waitUntil(lambda: panel.data_box.scan_result is not None, timeout=30_000)
    with qtbot.waitSignal(panel.trainingFinished, timeout=60_000):
        click(qtbot, panel.start_button)
    assert not panel.message.isHidden() and panel.message.is_error
    assert "phrases.json" in panel.message.text  # which file is missing, and what it is

    copy_phrase_ends(few_chorales)
    click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: panel.progress.value() >= 2, timeout=60_000)
    with qtbot.waitSignal(panel.trainingFinished, timeout=60_000) as finished:
        click(qtbot, panel.stop_button)
    _, meta = load_checkpoint(finished.args[0].checkpoint)
    assert meta["model_config"]["phrase_conditioning"] is True
    assert QSettings().value("training/phrase_conditioning") in (True, "true")  # remembered
