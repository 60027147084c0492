"""The Training panel: pick data, set the knobs, train, watch the plots and hear it learn.

The engine's `train()` generator runs in a `GeneratorWorker` thread. Step metrics are
coalesced by the worker (a batch every ~80 ms instead of a signal per step) and drawn
by the plots' own timer; previews, quality reports and checkpoints arrive one by one.
Pause is cooperative (the generator is held between two steps); Stop asks the engine
to stop, and the engine saves a checkpoint before it finishes. Errors (NaN losses, out
of memory, bad data) are shown in the panel; they never end the app.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QSize, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.core.song import Song
from studio.ui.panels.common import (
    MessageBox,
    control_column,
    describe_error,
    format_duration,
    heading,
    hint,
)
from studio.ui.panels.dataset_box import DataSourceBox
from studio.ui.panels.loss_plots import LossPlots
from studio.ui.panels.roll_thumbnail import ThumbnailStrip
from studio.ui.panels.training_settings import TrainingSettingsForm
from studio.ui.workers import WorkerHandle, start_generator

MAX_PREVIEWS = 60
PREVIEW_SIZE = QSize(112, 60)  # small: the strip sits beside the plots in a short dock
STOP_TIMEOUT_MS = 120_000


def run_training(config: Any, control: Any) -> Iterator[Any]:
    """The engine's training generator, run at a lower CPU priority than the GUI."""
    from studio.ml.train import train

    lower_this_threads_priority()
    yield from train(config, control)


def lower_this_threads_priority(niceness: int = 10) -> None:
    """Let the GUI thread win the CPU when both want it (the window stays responsive
    even on a busy two-core machine). On Linux a thread is a task with its own nice
    value; elsewhere QThread.LowPriority (set by the panel) does the same job."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def _saved_train_config(run_dir: Path) -> dict[str, Any]:
    """The settings a run was started with (its ``config.json``), or {}."""
    try:
        data = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    saved = data.get("train_config") if isinstance(data, dict) else None
    return saved if isinstance(saved, dict) else {}


def _is_step(event: object) -> bool:
    return type(event).__name__ == "StepMetrics"


class TrainingPanel(QWidget):
    """Data, settings, run control, live plots and the 'hear it learn' strip."""

    trainingStarted = Signal(str)  # run folder
    trainingFinished = Signal(object)  # the engine's Finished event, or None after an error
    checkpointSaved = Signal(str)
    previewPlayRequested = Signal(object)  # Song
    previewOpenRequested = Signal(object)  # Song

    def __init__(
        self,
        play_song: Callable[[Song], None] | None = None,
        open_song: Callable[[Song], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self._play_song = play_song
        self._open_song = open_song
        self._handle: WorkerHandle | None = None
        self._control: Any = None
        self._run_dir: str | None = None
        self._last_checkpoint: str | None = None
        self._finished_event: Any = None
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=64)
        self._total_steps = 0
        self._pause_wanted = False
        self._paused_seen = False
        self._dock: QDockWidget | None = None  # the dock the panel lives in, if any
        self._playing_timer = QTimer(self)
        self._playing_timer.setSingleShot(True)
        self._playing_timer.timeout.connect(lambda: self.previews.set_playing(None))

        self.data_box = DataSourceBox()
        self.settings_form = TrainingSettingsForm()
        self.plots = LossPlots()
        self.previews = ThumbnailStrip(
            max_items=MAX_PREVIEWS,
            thumb_size=PREVIEW_SIZE,
            wrap=True,
            empty_text="Samples of the model's music appear here as it learns. "
            "Click one to listen, double-click to open it in the editor.",
        )

        self.start_button = QPushButton("▶  Start training")
        self.start_button.setToolTip("Train a new model on the chosen music with these settings")
        self.start_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Hold training between two steps; resume at any time")
        self.stop_button = QPushButton("■  Stop")
        self.stop_button.setToolTip("Stop training and save a checkpoint you can generate from")
        self.resume_button = QPushButton("Resume a run…")
        self.resume_button.setToolTip(
            "Continue an earlier run from its latest checkpoint (choose its folder)"
        )
        self.progress = QProgressBar()
        self.progress.setValue(0)
        self.speed_label = QLabel("")
        self.status_label = hint("")
        self._has_run = False  # once a run started, the status line speaks of that run
        self.message = MessageBox()

        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self._choose_run_to_resume)
        self.previews.playRequested.connect(self._on_preview_play)
        self.previews.openRequested.connect(self._on_preview_open)
        self.data_box.scanned.connect(self._update_buttons)
        self.data_box.scanFailed.connect(self._update_buttons)
        self.data_box.scanStarted.connect(self._update_buttons)
        self.settings_form.changed.connect(self._show_planned_steps)

        self._build_layout()
        self._show_planned_steps()
        self._update_buttons()
        self._follow_dock()  # when made with a dock as its parent

    def _build_layout(self) -> None:
        # Left: what to learn from and how (scrolls when the dock is short), with the
        # run controls pinned below the scroll area so Start is always in view.
        controls = QWidget()
        controls_layout = QVBoxLayout(controls)
        controls_layout.setContentsMargins(8, 4, 8, 8)
        controls_layout.setSpacing(10)
        controls_layout.addWidget(self.data_box)
        controls_layout.addWidget(self.settings_form)
        controls_layout.addWidget(heading("3 · Train"))
        controls_layout.addWidget(self.resume_button)
        controls_layout.addWidget(self.speed_label)
        controls_layout.addWidget(self.message)
        controls_layout.addStretch(1)
        scroll = control_column(controls)

        run_row = QWidget()
        run_row.setObjectName("trainingRunRow")
        run_layout = QVBoxLayout(run_row)
        run_layout.setContentsMargins(8, 4, 8, 6)
        run_layout.setSpacing(3)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        run_layout.addLayout(buttons)
        run_layout.addWidget(self.progress)
        run_layout.addWidget(self.status_label)
        self.run_row = run_row

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(0)
        left_layout.addWidget(scroll, 1)
        left_layout.addWidget(run_row)
        self.controls_scroll = scroll

        previews = QWidget()
        previews_layout = QVBoxLayout(previews)
        previews_layout.setContentsMargins(4, 4, 4, 4)
        previews_layout.setSpacing(2)
        previews_layout.addWidget(heading("Hear it learn"))
        self.previews_hint = hint(
            "Samples appear as the model learns: click one to listen, double-click to open it."
        )
        previews_layout.addWidget(self.previews_hint)
        previews_layout.addWidget(self.previews, 1)
        previews.setMinimumWidth(PREVIEW_SIZE.width() + 36)  # one column of thumbnails

        # Plots and previews side by side: the dock is wide and short, and a plot needs
        # its height more than its width.
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.plots)
        splitter.addWidget(previews)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([380, 860, 160])
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # -- state ------------------------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        """From Start until the run has ended and the panel has taken note of it."""
        return self._handle is not None

    @property
    def is_paused(self) -> bool:
        """True once the panel has heard that the worker holds training between two steps.

        Read from the worker's `paused` signal, not its flag: the signal is queued behind
        the last step's points, so once this is True the curves have everything.
        """
        return self._handle is not None and self._paused_seen

    @property
    def run_dir(self) -> str | None:
        return self._run_dir

    @property
    def last_checkpoint(self) -> str | None:
        return self._last_checkpoint

    def closeEvent(self, event: Any) -> None:
        # Only when the panel is a window of its own (in the app, the main window's
        # close guard does this): never leave a training thread behind.
        if self.isWindow():
            self.stop_and_wait()
        super().closeEvent(event)

    # Scan lazily: only when the composer first looks at the panel (or changes the data),
    # so a composer who never opens Training pays nothing for it at start-up. A dock in
    # the background of a tab group is "visible" to Qt (it is only moved off screen), so
    # in a dock the panel waits for the dock's visibilityChanged(True), which Qt sends
    # when the dock is shown *and on screen*: its tab is current, or it stands alone.
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ParentChange and hasattr(self, "_dock"):
            self._follow_dock()
        return super().event(event)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._dock is None:  # a window of its own, or inside some other widget
            QTimer.singleShot(0, self.data_box.ensure_scanned)

    def _follow_dock(self) -> None:
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is self._dock:
            return
        if self._dock is not None:
            with contextlib.suppress(RuntimeError, TypeError):  # the old dock is gone
                self._dock.visibilityChanged.disconnect(self._on_dock_visibility)
        self._dock = dock
        if dock is not None:
            dock.visibilityChanged.connect(self._on_dock_visibility)

    def _on_dock_visibility(self, visible: bool) -> None:
        if visible:
            QTimer.singleShot(0, self.data_box.ensure_scanned)

    # -- run control --------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a new run on the scanned data. False (with a message) when it cannot."""
        if self.is_training:
            return False
        scan = self.data_box.scan_result
        if scan is None:
            if self.data_box.is_scanning:
                self.status_label.setText("Still reading the music — Start when it is done.")
            else:
                self.message.show_error(
                    "Training cannot start: there is no usable music to learn from.",
                    "Choose the Bach chorales or a folder with MIDI files.",
                )
                self._reveal_message()
            return False
        stamp = time.strftime("%Y%m%d-%H%M%S")
        preset = self.settings_form.preset.currentData()
        name = "".join(c if c.isalnum() else "-" for c in self.data_box.source_label())
        out_dir = Path(self.settings_form.runs_folder.text()) / f"{stamp}-{name}-{preset}"
        config = self.settings_form.config(self.data_box.source(), str(out_dir))
        return self._launch(config)

    def resume_run(self, run_dir: str) -> bool:
        """Continue a run from the latest checkpoint in its folder, with its own settings
        (model size, batch, learning rates, data); only a larger step count is taken
        from the form, so a finished run can be trained further."""
        if self.is_training:
            return False
        from studio.ml.checkpoint import latest_checkpoint

        if latest_checkpoint(run_dir) is None:
            self.message.show_error(
                "Nothing to resume in that folder.",
                f"{run_dir} holds no checkpoints. Choose the folder of an earlier run.",
            )
            self._reveal_message()
            return False
        saved = _saved_train_config(Path(run_dir))
        config = self.settings_form.config(
            str(saved.get("data", self.data_box.source())), str(run_dir), resume=True
        )
        kept = ("preset", "batch_size", "lr_g", "lr_d", "seed", "mapping", "bars", "loss")
        # A run that was settling keeps its schedule (older runs have none saved).
        kept += ("lr_decay", "lr_decay_start", "lr_final")
        kept += ("oversample_metres",)  # the same windows per epoch as before the pause
        # The network's shape: a resumed run must build the one its checkpoints hold.
        shape = ("steps_per_beat", "key_conditioning", "phrase_conditioning", "metre_planes")
        for key in (*kept, *shape):
            if key in saved and hasattr(config, key):
                setattr(config, key, saved[key])
        config.steps = max(config.steps, int(saved.get("steps", 0)))
        if not self._launch(config):
            return False
        from studio.ml.checkpoint import step_of

        latest = latest_checkpoint(run_dir)
        self._load_history(Path(run_dir) / "metrics.jsonl", step_of(latest) if latest else 0)
        return True

    def _load_history(self, log: Path, up_to_step: int) -> None:
        """Show the curves of the steps already trained (from the run's log)."""
        rows: list[dict[str, Any]] = []
        try:
            with log.open(encoding="utf-8") as handle:
                for line in handle:
                    if '"step"' in line and '"g_loss"' in line:
                        row = json.loads(line)
                        # Steps after the checkpoint are trained again by the resumed run.
                        if row.get("step", 0) <= up_to_step:
                            rows.append(row)
        except (OSError, ValueError):
            return
        if rows:
            self.plots.add_losses(
                [r.get("step", 0) for r in rows],
                [r.get("g_loss", float("nan")) for r in rows],
                [r.get("d_loss", float("nan")) for r in rows],
                [r.get("gp", 0.0) for r in rows],
                [r.get("recon", 0.0) for r in rows],
            )

    def _launch(self, config: Any) -> bool:
        from studio.ml.train import TrainControl

        self.settings_form.save()
        self.message.hide()
        self.plots.clear()
        self.previews.clear()
        self._rate_window.clear()
        self._finished_event = None
        self._pause_wanted = False
        self._paused_seen = False
        self._last_checkpoint = None
        self._run_dir = config.out_dir
        self._total_steps = config.steps
        self._has_run = True
        self.progress.setFormat("step %v / %m")
        self.progress.setRange(0, config.steps)
        self.progress.setValue(0)
        self.speed_label.setText("")
        self.status_label.setText("Preparing the data and the model…")
        self._control = TrainControl()
        self._handle = start_generator(
            run_training,
            config,
            self._control,
            coalesce=_is_step,
            name="pianola-training",
            connect={
                "yielded": self._on_event,
                "yieldedBatch": self._on_steps,
                "errored": self._on_error,
                "paused": self._on_paused,
                "resumed": self._on_resumed,
                "finished": self._on_finished,
            },
        )
        if not sys.platform.startswith("linux"):
            self._handle.thread.setPriority(QThread.Priority.LowPriority)
        self._update_buttons()
        self.trainingStarted.emit(config.out_dir)
        return True

    def _on_paused(self) -> None:
        self._paused_seen = True
        self._update_buttons()

    def _on_resumed(self) -> None:
        self._paused_seen = False
        self._update_buttons()

    def toggle_pause(self) -> None:
        if not self.is_training or self._control.stopping:
            return
        assert self._handle is not None
        self._pause_wanted = not self._pause_wanted
        if self._pause_wanted:
            self._handle.pause()
            self.status_label.setText("Paused — press Resume to go on.")
        else:
            self._handle.resume()
            self.status_label.setText("Training…")
        self._update_buttons()

    def stop(self) -> None:
        """Ask the engine to stop; it saves a checkpoint and then finishes."""
        if not self.is_training:
            return
        assert self._handle is not None
        self._control.request_stop()
        self._pause_wanted = False
        self._handle.resume()
        self.status_label.setText("Stopping — saving a checkpoint…")
        self._update_buttons()

    def stop_and_wait(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Stop (checkpoint saved) and join the thread: for closing the window."""
        if self._handle is None:
            self.data_box.shutdown()
            return True
        control = self._control
        done = self._handle.shutdown(timeout_ms, stop=control.request_stop if control else None)
        self.data_box.shutdown()
        if done:
            # The events the worker queued before it ended (the checkpoint and Finished)
            # are delivered first, then the run is closed without waiting for the relay.
            QCoreApplication.sendPostedEvents()
            self._on_finished()
        return done

    # -- events from the worker (GUI thread) ------------------------------------------------
    def _on_steps(self, steps: list) -> None:
        self.plots.add_losses(
            [m.step for m in steps],
            [m.g_loss for m in steps],
            [m.d_loss for m in steps],
            [m.gp for m in steps],
            [getattr(m, "recon", 0.0) for m in steps],
        )
        last = steps[-1]
        self._total_steps = last.total
        if self.progress.maximum() != last.total:
            self.progress.setRange(0, last.total)
        self.progress.setValue(last.step)
        self._rate_window.append((time.monotonic(), last.step))
        eta = self._eta(last.step, last.total)
        self.speed_label.setText(
            f"{last.samples_per_s:,.0f} phrases/s · elapsed {format_duration(last.elapsed)}"
            f" · about {format_duration(eta)} left"
        )
        if not self._pause_wanted and not self._control.stopping:
            self.status_label.setText("Training…")

    def _eta(self, step: int, total: int) -> float:
        if len(self._rate_window) < 2:
            return float("nan")
        (t0, s0), (t1, s1) = self._rate_window[0], self._rate_window[-1]
        if s1 <= s0 or t1 <= t0:
            return float("nan")
        return (total - step) * (t1 - t0) / (s1 - s0)

    def _on_event(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "Started":
            summary = event.dataset_summary or {}
            self.progress.setRange(0, event.total_steps)
            self.progress.setValue(getattr(event, "start_step", 0))
            self.status_label.setText(
                f"Training on {event.device} · {summary.get('windows', '?'):,} phrases"
                if isinstance(summary.get("windows"), int)
                else f"Training on {event.device}"
            )
        elif kind == "Notice":
            # e.g. --resume fell back past a damaged checkpoint: say so where the run's
            # progress is read, not only in the log.
            self.message.show_note("Note", event.message)
            self._reveal_message()
        elif kind == "Preview":
            self.previews.add_song(event.song, f"step {event.step:,}")
            # The newest preview is the one to hear: keep it in view once it is placed.
            QTimer.singleShot(0, self._show_newest_preview)
        elif kind == "MetricsReport":
            self.plots.add_metrics(event.step, event.generated, event.reference)
        elif kind == "CheckpointSaved":
            self._last_checkpoint = event.path
            self.checkpointSaved.emit(event.path)
        elif kind == "Finished":
            self._finished_event = event
            if event.checkpoint:
                self._last_checkpoint = event.checkpoint
            verb = "Finished" if event.reason == "completed" else "Stopped"
            where = (
                f" Checkpoint saved: {Path(event.checkpoint).name} — generate from it in the "
                "Generation panel."
                if event.checkpoint
                else ""
            )
            self.status_label.setText(f"{verb} at step {event.step:,}.{where}")
            self.status_label.setToolTip(event.checkpoint or "")

    def _on_error(self, error: BaseException) -> None:
        title, detail = describe_error(error)
        if self._last_checkpoint:
            detail += f"\nLast checkpoint: {self._last_checkpoint}"
        self.message.show_error(title, detail)
        self._reveal_message()
        self.status_label.setText("Training stopped with an error (see the message above).")

    def _on_finished(self) -> None:
        sender = self.sender()
        if self._handle is None or (sender is not None and sender is not self._handle):
            return  # a run already closed (by stop_and_wait), or an older run's relay
        self._handle = None
        self._pause_wanted = False
        self._paused_seen = False
        self.plots.refresh()
        if self._finished_event is not None or self.message.is_error:
            self.speed_label.setText(self.speed_label.text().split(" · about")[0])
        self._update_buttons()
        self.trainingFinished.emit(self._finished_event)

    # -- previews ----------------------------------------------------------------------------
    def _on_preview_play(self, index: int) -> None:
        song = self.previews.song(index)
        if self._play_song is not None:
            self.previews.set_playing(index)
            seconds = float(song.tick_to_seconds(max(song.end_tick, 1)))
            self._playing_timer.start(int(seconds * 1000) + 200)
            self._play_song(song)
        else:
            # Say so rather than pretend to play.
            self.status_label.setText(
                "Listening to previews needs the audio engine; double-click to open the "
                "preview in the editor instead."
            )
        self.previewPlayRequested.emit(song)

    def _on_preview_open(self, index: int) -> None:
        song = self.previews.song(index).copy()
        song.title = f"Training preview ({self.previews.thumbnail(index).caption})"
        if self._open_song is not None:
            self._open_song(song)
        self.previewOpenRequested.emit(song)

    def _reveal_message(self) -> None:
        """Scroll the settings column to the message, wherever the composer left it."""
        QTimer.singleShot(0, lambda: self.controls_scroll.ensureWidgetVisible(self.message))

    def _show_newest_preview(self) -> None:
        bar = self.previews.verticalScrollBar()
        bar.setValue(bar.maximum())

    def set_play_song(self, play_song: Callable[[Song], None] | None) -> None:
        self._play_song = play_song

    def set_open_song(self, open_song: Callable[[Song], None] | None) -> None:
        self._open_song = open_song

    # -- internals ------------------------------------------------------------------------------
    def _show_planned_steps(self) -> None:
        """Before the first run the bar shows the plan, not a made-up "step 0 / 1"."""
        if self._has_run:
            return
        steps = self.settings_form.steps.value()
        self.progress.setRange(0, steps)
        self.progress.setValue(0)
        self.progress.setFormat(f"Not started · {steps:,} steps planned")

    def _idle_status(self) -> str:
        """What to do next, from what is true now (no run has started yet)."""
        box = self.data_box
        if box.scan_result is not None:
            return f"Ready to learn from {box.source_label()}: press Start."
        if box.is_scanning:
            return f"Reading {box.source_label()}… Start is ready when it is done."
        return (
            "Choose what to learn from — the Bach chorales or a folder of your MIDI files — "
            "then press Start."
        )

    def _update_buttons(self, *_: Any) -> None:
        running = self.is_training
        stopping = running and self._control is not None and self._control.stopping
        ready = self.data_box.scan_result is not None
        self.start_button.setEnabled(not running and ready)
        self.resume_button.setEnabled(not running)
        self.pause_button.setEnabled(running and not stopping)
        self.pause_button.setText("Resume" if running and self._pause_wanted else "Pause")
        self.stop_button.setEnabled(running and not stopping)
        self.settings_form.setEnabled(not running)
        self.data_box.setEnabled(not running)
        if not self._has_run:
            self.status_label.setText(self._idle_status())

    def _choose_run_to_resume(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Resume which training run?", self.settings_form.runs_folder.text()
        )
        if folder:
            self.resume_run(folder)
