"""The Generation panel: choose a model, ask for music, audition it, put it in the song.

Modes: New (from scratch), Continue (the selection, the loop or the song's last bars),
Harmonize (keep the active track, write the others) and Regenerate (rewrite the loop
region or the selected time range). The engine runs in a worker thread, so the window
never freezes; the variations appear as thumbnails. "Insert as new tracks", "Replace
selection" and "Open in new song" each make ONE undoable step.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.song import Song, Track
from studio.ui.panels import generation_jobs as jobs
from studio.ui.panels.common import (
    MessageBox,
    control_column,
    describe_error,
    heading,
    hint,
)
from studio.ui.panels.roll_thumbnail import ThumbnailStrip
from studio.ui.workers import WorkerHandle, start_generator

GROUP = "generation"
DEFAULT_MODEL = "default"
MAX_RECENT = 8

MODE_TEXT = {
    jobs.NEW: ("New", "Write new music from scratch, starting at the playhead's bar."),
    jobs.CONTINUE: (
        "Continue",
        "Carry on from the selected bars, the loop region, or the song's last bars.",
    ),
    jobs.HARMONIZE: (
        "Harmonize",
        "Keep the selected track (e.g. your melody) and write the other voices around it.",
    ),
    jobs.REGENERATE: (
        "Regenerate selection",
        "Rewrite the loop region (or the bars of the selected notes) in the ticked tracks; "
        "everything around it stays as it is.",
    ),
}

DEFAULT_TEMPERATURE = 0.0
DEFAULT_REFINE = 2  # the bundled model's targets are measured with 2 (models/bach-default.md)


def load_model_job(source: str) -> Any:
    from studio.ml.sample import load_generator

    return load_generator(source)


def generate_job(model: Any, request: jobs.GenerationRequest) -> Iterator[list[jobs.Result]]:
    """Yields the first draft (one pass: on screen in well under a second on a CPU), then
    returns the refined variations, made from the same seeds: within the model's window
    (4 bars for the bundled model) the refinement starts from exactly that draft; later
    windows follow the refined bars before them, so they can differ more."""
    import torch

    if request.refine_rounds > 0:
        with torch.inference_mode():
            draft = jobs.run_request(model, replace(request, refine_rounds=0))
        yield [replace(r, caption=f"{r.caption} · draft") for r in draft]
    with torch.inference_mode():
        return jobs.run_request(model, request)


def interpolate_job(
    model: Any, request: jobs.GenerationRequest, seed_a: int, seed_b: int, steps: int
) -> list[jobs.Result]:
    return jobs.interpolation_results(model, request.song, seed_a, seed_b, steps, request)


def model_description(model: Any) -> str:
    """What a composer wants to know about a model: what it learnt from, how long."""
    meta = getattr(model, "meta", {}) or {}
    data = meta.get("data", {}) if isinstance(meta.get("data"), dict) else {}
    summary = data.get("summary", {}) if isinstance(data.get("summary"), dict) else {}
    train = meta.get("train_config", {}) if isinstance(meta.get("train_config"), dict) else {}
    source = str(summary.get("source") or train.get("data") or "unknown data")
    source = "Bach chorales" if source == "bach-chorales" else Path(source).name or source
    tracks = ", ".join(t.get("name", "?") for t in getattr(model, "templates", []))
    parts = [f"Learnt from <b>{source}</b>"]
    if summary.get("files_used") is not None:
        parts[-1] += f" ({summary['files_used']} files, {summary.get('windows', '?')} phrases)"
    parts.append(f"{int(meta.get('step', 0)):,} training steps")
    if train.get("preset"):
        parts.append(f"model size {train['preset']}")
    parts.append(f"tracks: {tracks}")
    quality = _last_quality(getattr(model, "path", ""))
    if quality:
        parts.append(quality)
    return " · ".join(parts)


def _last_quality(checkpoint: str) -> str:
    """The last quality report of the checkpoint's run, if the run folder has one."""
    if not checkpoint:
        return ""
    path = Path(checkpoint)
    log = next(
        (
            p / "metrics.jsonl"
            for p in (path.parent, path.parent.parent)
            if (p / "metrics.jsonl").is_file()
        ),
        None,
    )
    if log is None:
        return ""
    last: dict[str, Any] | None = None
    try:
        with log.open(encoding="utf-8") as handle:
            for line in handle:
                if '"metrics"' in line:
                    last = json.loads(line)
    except (OSError, ValueError):
        return ""
    if not last:
        return ""
    from studio.ui.panels.loss_plots import metric_label

    shown = [
        f"{metric_label(k)} {float(v):.2g}"
        for k, v in last.items()
        if k not in ("type", "step") and isinstance(v, (int, float))
    ][:3]
    return f"quality at step {last.get('step', '?')}: " + ", ".join(shown)


class GenerationPanel(QWidget):
    """Model, mode, controls, results and the actions that put results into the song."""

    generated = Signal(int)  # number of results
    modelLoaded = Signal(str)

    def __init__(
        self,
        document: Any,
        play_song: Callable[[Song], None] | None = None,
        open_song: Callable[[Song], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("generationPanel")
        self.document = document
        self._play_song = play_song
        self._open_song = open_song
        self._model: Any = None
        self._model_source: str | None = None
        self._handle: WorkerHandle | None = None
        self._after_load: Callable[[], None] | None = None
        self._results: list[jobs.Result] = []
        self._last_request: jobs.GenerationRequest | None = None
        self._on_result: Callable[[Any], None] = lambda _: None
        self._on_draft: Callable[[Any], None] | None = None
        self._pending: Callable[[], None] | None = None
        self._job_kind = ""
        self._playing_timer = QTimer(self)
        self._playing_timer.setSingleShot(True)
        self._playing_timer.timeout.connect(lambda: self.results.set_playing(None))

        self._build_model_box()
        self._build_controls()
        self._build_results()
        self._build_layout()
        self._load_settings()
        self._connect_document()
        self._refresh_tracks()
        self._update_context()
        self._update_buttons()

    # -- construction ---------------------------------------------------------------------
    def _build_model_box(self) -> None:
        self.model_combo = QComboBox()
        self.model_combo.setToolTip(
            "The model that writes the music: the one bundled with Pianola, or one you\n"
            "trained (a checkpoint file, or a run folder — its latest checkpoint is used)."
        )
        self.model_combo.addItem("Bundled model", DEFAULT_MODEL)
        # Long checkpoint paths must not widen the whole column.
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_combo.setMinimumContentsLength(14)
        open_file = QPushButton("Checkpoint…")
        open_file.setToolTip("Use a checkpoint file (.pt) saved by training")
        open_file.clicked.connect(self._choose_checkpoint)
        open_run = QPushButton("Run folder…")
        open_run.setToolTip("Use the latest checkpoint of a training run")
        open_run.clicked.connect(self._choose_run)
        self.model_info = hint("")
        self.model_info.setTextFormat(Qt.TextFormat.RichText)
        self._model_row = QHBoxLayout()
        self._model_row.addWidget(self.model_combo, 1)
        self._model_row.addWidget(open_file)
        self._model_row.addWidget(open_run)
        self.model_combo.currentIndexChanged.connect(self._on_model_chosen)

    def _build_controls(self) -> None:
        self.mode_buttons: dict[str, QRadioButton] = {}
        self._mode_group = QButtonGroup(self)
        for mode in jobs.MODES:
            label, tip = MODE_TEXT[mode]
            button = QRadioButton(label)
            button.setToolTip(tip)
            self._mode_group.addButton(button)
            self.mode_buttons[mode] = button
        self.mode_buttons[jobs.NEW].setChecked(True)
        self._mode_group.buttonToggled.connect(self._on_mode_changed)
        self.context_label = hint("")

        self.bars = QSpinBox()
        self.bars.setRange(1, 64)
        self.bars.setValue(8)
        self.bars.setSuffix(" bars")
        self.bars.setToolTip("How many bars of new music to write")
        self.variations = QSpinBox()
        self.variations.setRange(1, 16)
        self.variations.setValue(8)
        self.variations.setToolTip("How many different versions to write at once (1–16)")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setDecimals(2)
        # 0 by default: the bundled model's measured quality (models/bach-default.md) is best
        # when decoded by threshold; sampling at 1.0 fragments its notes.
        self.temperature.setValue(DEFAULT_TEMPERATURE)
        self.temperature_slider = QSlider(Qt.Orientation.Horizontal)
        self.temperature_slider.setRange(0, 200)
        self.temperature_slider.setValue(round(DEFAULT_TEMPERATURE * 100))
        tip = (
            "How adventurous the music is. 0: the model's safest choice every time;\n"
            "1: as varied as the music it learnt from; 2: wild and surprising."
        )
        self.temperature.setToolTip(tip)
        self.temperature_slider.setToolTip(tip)
        self.temperature_slider.valueChanged.connect(lambda v: self.temperature.setValue(v / 100.0))
        self.temperature.valueChanged.connect(
            lambda v: self.temperature_slider.setValue(round(v * 100))
        )
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip(
            "The starting point of the random choices: the same seed and settings give the\n"
            "same music again. Each variation uses the next seed (seed, seed+1, …)."
        )
        self.seed_lock = QToolButton()
        self.seed_lock.setCheckable(True)
        self.seed_lock.setText("Lock")
        self.seed_lock.setToolTip(
            "Lock the seed: Generate gives the same music again (to compare settings).\n"
            "Unlocked, every Generate starts from a fresh seed."
        )
        self.seed_dice = QToolButton()
        self.seed_dice.setText("New")
        self.seed_dice.setToolTip("Pick a new random seed")
        self.seed_dice.clicked.connect(self.randomize_seed)
        self.refine = QSpinBox()
        self.refine.setRange(0, 6)
        self.refine.setValue(DEFAULT_REFINE)
        self.refine.setSpecialValueText("off")
        self.refine.setSuffix(" rounds")
        self.refine.setToolTip(
            "After the first draft, each voice is rewritten in turn while the model listens\n"
            "to all the others. More rounds: voices that fit together better and stay in\n"
            "key; each round takes as long as the first draft per track."
        )
        self.voice_rules = QCheckBox("No parallel fifths/octaves or crossings")
        self.voice_rules.setChecked(True)
        self.voice_rules.setToolTip(
            "Single-line tracks (like the Bach voices) follow the first rules of part\n"
            "writing: no parallel fifths or octaves and no voice crossing its neighbour.\n"
            "Your own notes are never changed."
        )
        self.tempo = QSpinBox()
        self.tempo.setRange(20, 300)
        self.tempo.setSuffix(" bpm")
        self.tempo.setToolTip("Tempo of new music (New mode)")
        self.targets = QListWidget()
        self.targets.setToolTip(
            "Tracks of your song the model may write into (Replace), continue from\n"
            "(Continue) or rewrite (Regenerate). Harmonize keeps the selected track."
        )
        self.targets.setMaximumHeight(96)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.generate_button.setToolTip("Write the variations (the window stays usable)")
        self.generate_button.clicked.connect(self.generate)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(6)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.message = MessageBox()

    def _build_results(self) -> None:
        self.results = ThumbnailStrip(
            empty_text="Your variations appear here. Click one to listen, double-click to "
            "open it; Ctrl-click a second one to morph between them.",
            thumb_size=QSize(232, 128),
            wrap=True,
        )
        self.results.playRequested.connect(self._on_result_play)
        self.results.openRequested.connect(self._on_result_open)
        self.results.selectionChanged.connect(self._update_buttons)
        self.insert_button = QPushButton("Insert as new tracks")
        self.insert_button.setToolTip("Add the chosen variation to your song as new tracks")
        self.insert_button.clicked.connect(self.insert_selected)
        self.replace_button = QPushButton("Replace selection")
        self.replace_button.setToolTip(
            "Write the chosen variation into your tracks, replacing what is there in its bars"
        )
        self.replace_button.clicked.connect(self.replace_selected)
        self.open_button = QPushButton("Open in new song")
        self.open_button.setToolTip("Open the chosen variation on its own, as a new song")
        self.open_button.clicked.connect(self.open_selected)
        self.interp_steps = QSpinBox()
        self.interp_steps.setRange(2, 16)
        self.interp_steps.setValue(5)
        self.interp_steps.setSuffix(" steps")
        self.interp_button = QPushButton("Morph between the two")
        self.interp_button.setToolTip(
            "Select two 'New' variations (click, then Ctrl-click) to hear the music morph\n"
            "from one into the other in the given number of steps."
        )
        self.interp_button.clicked.connect(self.interpolate_selected)

    def _build_layout(self) -> None:
        controls = QWidget()
        form = QVBoxLayout(controls)
        form.setContentsMargins(8, 4, 8, 8)
        form.setSpacing(8)
        form.addWidget(heading("Model"))
        form.addLayout(self._model_row)
        form.addWidget(self.model_info)
        form.addWidget(heading("What to write"))
        modes = QGridLayout()
        for k, mode in enumerate(jobs.MODES):
            modes.addWidget(self.mode_buttons[mode], k // 2, k % 2)
        form.addLayout(modes)
        form.addWidget(self.context_label)
        grid = QFormLayout()
        grid.addRow("Length", self.bars)
        grid.addRow("Variations", self.variations)
        temp_row = QHBoxLayout()
        temp_row.addWidget(self.temperature_slider, 1)
        temp_row.addWidget(self.temperature)
        grid.addRow("Temperature", temp_row)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.seed_lock)
        seed_row.addWidget(self.seed_dice)
        grid.addRow("Seed", seed_row)
        grid.addRow("Refine", self.refine)
        grid.addRow("Voicing", self.voice_rules)
        grid.addRow("Tempo", self.tempo)
        grid.addRow("Tracks", self.targets)
        form.addLayout(grid)
        form.addWidget(self.generate_button)
        form.addWidget(self.busy)
        form.addWidget(self.message)
        form.addStretch(1)
        scroll = control_column(controls)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 4, 4)
        right_layout.addWidget(heading("Variations"))
        right_layout.addWidget(self.results, 1)
        actions = QHBoxLayout()
        for button in (self.insert_button, self.replace_button, self.open_button):
            actions.addWidget(button)
        actions.addStretch(1)
        right_layout.addLayout(actions)
        morph = QHBoxLayout()
        morph.addWidget(self.interp_button)
        morph.addWidget(QLabel("in"))
        morph.addWidget(self.interp_steps)
        morph.addStretch(1)
        right_layout.addLayout(morph)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # -- settings -----------------------------------------------------------------------------
    def _load_settings(self) -> None:
        s = QSettings()
        s.beginGroup(GROUP)
        self.bars.setValue(int(s.value("bars", self.bars.value(), int)))
        self.variations.setValue(int(s.value("variations", self.variations.value(), int)))
        self.temperature.setValue(float(s.value("temperature", DEFAULT_TEMPERATURE, float)))
        self.seed_lock.setChecked(bool(s.value("seed_locked", False, bool)))
        self.refine.setValue(int(s.value("refine_rounds", DEFAULT_REFINE, int)))
        self.voice_rules.setChecked(bool(s.value("voice_rules", True, bool)))
        self.seed.setValue(int(s.value("seed", random.randrange(1_000_000), int)))
        recent = s.value("recent_models", [], list) or []
        s.endGroup()
        self.tempo.setValue(round(self.document.song.initial_bpm))
        for path in recent if isinstance(recent, list) else [recent]:
            if path and Path(str(path)).exists():
                self._add_model_item(str(path), select=False)

    def _save_settings(self) -> None:
        s = QSettings()
        s.beginGroup(GROUP)
        s.setValue("bars", self.bars.value())
        s.setValue("variations", self.variations.value())
        s.setValue("temperature", self.temperature.value())
        s.setValue("seed", self.seed.value())
        s.setValue("seed_locked", self.seed_lock.isChecked())
        s.setValue("refine_rounds", self.refine.value())
        s.setValue("voice_rules", self.voice_rules.isChecked())
        recent = [
            self.model_combo.itemData(k)
            for k in range(self.model_combo.count())
            if self.model_combo.itemData(k) != DEFAULT_MODEL
        ]
        s.setValue("recent_models", recent[:MAX_RECENT])
        s.endGroup()

    # -- model -----------------------------------------------------------------------
    def set_model_source(self, source: str) -> None:
        """Use a checkpoint file or run folder (e.g. the run the Training panel just saved)."""
        self._add_model_item(str(source), select=True)

    def _add_model_item(self, source: str, select: bool) -> None:
        index = self.model_combo.findData(source)
        if index < 0:
            path = Path(source)
            label = f"{path.parent.parent.name}/{path.name}" if path.is_file() else path.name
            self.model_combo.insertItem(1, label, source)
            self.model_combo.setItemData(1, source, Qt.ItemDataRole.ToolTipRole)
            index = 1
            while self.model_combo.count() > MAX_RECENT + 1:
                self.model_combo.removeItem(self.model_combo.count() - 1)
        if select:
            if self.model_combo.currentIndex() == index:
                self._on_model_chosen(index)
            else:
                self.model_combo.setCurrentIndex(index)
            self._save_settings()

    @property
    def model(self) -> Any:
        return self._model

    @property
    def is_busy(self) -> bool:
        """From a job's start until the panel has taken note of its end."""
        return self._handle is not None

    def _on_model_chosen(self, index: int) -> None:
        source = self.model_combo.itemData(index)
        if source is None or source == self._model_source:
            return
        self._model = None
        self._model_source = None
        self.model_info.setText("Loading the model…")
        self._run(
            load_model_job,
            str(source),
            on_result=lambda model: self._on_model_loaded(str(source), model),
            kind="load",
        )

    def ensure_model(self, then: Callable[[], None]) -> None:
        if self._model is not None:
            then()
            return
        self._after_load = then
        if not self.is_busy:
            self._model_source = None
            self._on_model_chosen(self.model_combo.currentIndex())

    def _on_model_loaded(self, source: str, model: Any) -> None:
        self._model = model
        self._model_source = source
        self.model_info.setText(model_description(model))
        self.model_info.setToolTip(getattr(model, "path", ""))
        self.modelLoaded.emit(source)
        follow = self._after_load
        self._after_load = None
        if follow is not None:
            # Runs as soon as the loading job has ended (see _on_finished): no gap in
            # which the panel looks idle between loading and generating.
            self._pending = follow

    def _choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a checkpoint", "", "Pianola checkpoints (*.pt);;All files (*)"
        )
        if path:
            self.set_model_source(path)

    def _choose_run(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a training run folder")
        if folder:
            self.set_model_source(folder)

    # -- generating ------------------------------------------------------------------
    def mode(self) -> str:
        for mode, button in self.mode_buttons.items():
            if button.isChecked():
                return mode
        return jobs.NEW

    def set_mode(self, mode: str) -> None:
        self.mode_buttons[mode].setChecked(True)

    def randomize_seed(self) -> None:
        self.seed.setValue(random.randrange(1_000_000))

    def request(self) -> jobs.GenerationRequest:
        """A snapshot of the controls and of the song's editing context."""
        doc = self.document
        selection_range = None
        track = doc.active()
        if track is not None and len(doc.selection):
            rows = track.notes.indices_of_ids(doc.selection)
            if len(rows):
                starts = track.notes.start[rows]
                ends = starts + track.notes.duration[rows]
                selection_range = (int(starts.min()), int(ends.max()))
        return jobs.GenerationRequest(
            mode=self.mode(),
            song=doc.song.copy(),
            bars=self.bars.value(),
            variations=self.variations.value(),
            temperature=self.temperature.value(),
            seed=self.seed.value(),
            tempo=float(self.tempo.value()),
            targets=tuple(self.checked_tracks()),
            active_track=doc.active_track,
            playhead=doc.playhead,
            loop=doc.loop,
            selection_range=selection_range,
            refine_rounds=self.refine.value(),
            voice_rules=self.voice_rules.isChecked(),
        )

    def generate(self) -> None:
        if self.is_busy:
            # A job is finishing (e.g. the model just loaded): generate right after it.
            self._pending = self.generate
            return
        self.message.hide()
        self._save_settings()
        self.ensure_model(self._generate_now)

    def _generate_now(self) -> None:
        request = self.request()
        self._last_request = request
        self._run(
            generate_job,
            self._model,
            request,
            on_result=self._show_results,
            on_draft=self._show_results,
        )
        if not self.seed_lock.isChecked():
            # Next time, new music: move past the seeds this batch used.
            self.seed.setValue((request.seed + request.variations) % (2**31 - 1))

    def interpolate_selected(self) -> None:
        picked = [self._results[k] for k in self.results.selected_indices()]
        if len(picked) != 2 or any(r.seed is None for r in picked) or self._model is None:
            self.message.show_note(
                "Pick two variations made with New.",
                "Click one, then Ctrl-click another; then press Morph.",
            )
            return
        request = self._last_request or self.request()
        seeds = (picked[0].seed, picked[1].seed)
        self._run(
            interpolate_job,
            self._model,
            request,
            seeds[0],
            seeds[1],
            self.interp_steps.value(),
            on_result=self._show_results,
        )

    def _show_results(self, results: list[jobs.Result]) -> None:
        # A refined batch replaces its draft in place: the variation being looked at
        # stays selected.
        keep = self.results.selected_indices() if len(self._results) == len(results) else []
        self._results = list(results)
        self.results.clear()
        for result in self._results:
            self.results.add_song(result.song, result.caption)
        if self._results:
            self.results.select(keep[0] if keep else 0)
        self._update_buttons()
        self.generated.emit(len(self._results))

    def _run(
        self,
        func: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None],
        kind: str = "generate",
        on_draft: Callable[[Any], None] | None = None,
    ) -> None:
        self.busy.show()
        self._on_result = on_result
        self._on_draft = on_draft
        self._job_kind = kind
        self._handle = start_generator(
            func,
            *args,
            name="pianola-generation",
            connect={
                "yielded": self._on_yielded,
                "returned": self._on_returned,
                "errored": self._on_error,
                "finished": self._on_finished,
            },
        )
        self._update_buttons()

    def _on_yielded(self, value: Any) -> None:
        if self._on_draft is not None:
            self._on_draft(value)

    def _on_returned(self, value: Any) -> None:
        self._on_result(value)

    def _on_error(self, error: BaseException) -> None:
        from studio.ml.errors import NoBundledModelError

        if isinstance(error, NoBundledModelError):
            self.model_info.setText("No bundled model yet.")
            self.message.show_error(
                "No bundled model yet.",
                "Train one in the Training panel (it appears here when you stop), or open "
                "a checkpoint or run folder.",
            )
            self._after_load = None
            return
        if isinstance(error, jobs.GenerationRequestError):
            self.message.show_error("Nothing to work on.", str(error))
            return
        title, detail = describe_error(error)
        if self._model is None:
            self.model_info.setText("The model could not be loaded.")
            self._after_load = None
        self.message.show_error(title, detail)

    def _on_finished(self) -> None:
        if self.sender() is not None and self.sender() is not self._handle:
            return
        self._handle = None
        self.busy.hide()
        self._update_buttons()
        pending, self._pending = self._pending, None
        if pending is not None:
            pending()

    def shutdown(self, timeout_ms: int = 30000) -> None:
        if self._handle is not None:
            self._handle.shutdown(timeout_ms)

    def closeEvent(self, event: Any) -> None:
        if self.isWindow():
            self.shutdown()
        super().closeEvent(event)

    # -- results into the song -------------------------------------------------------
    def selected_result(self) -> jobs.Result | None:
        picked = self.results.selected_indices()
        return self._results[picked[0]] if picked else None

    def insert_selected(self) -> bool:
        result = self.selected_result()
        if result is None:
            return False
        tracks = [
            Track(f"{p.name} · new", p.program, p.is_drum, p.colour, notes=p.notes)
            for p in result.parts
            if len(p.notes)
        ]
        if not tracks:
            self.message.show_note("That variation is silent.", "Pick another one.")
            return False
        self.document.insert_tracks(tracks, f"Insert generated tracks ({result.caption})")
        return True

    def replace_selected(self) -> bool:
        result = self.selected_result()
        if result is None:
            return False
        parts = [p for p in result.parts if p.target is not None]
        if not parts:
            self.message.show_note(
                "None of your tracks matches this variation's tracks.",
                "Tick the tracks to write into, or use 'Insert as new tracks'.",
            )
            return False
        stack = self.document.undo_stack
        # One undo step for all tracks: a macro around the per-track replacements.
        stack.beginMacro(f"Replace with generated music ({result.caption})")
        try:
            for part in parts:
                self.document.replace_notes_in_range(
                    part.target, result.start, result.end, part.notes, "Replace notes"
                )
        finally:
            stack.endMacro()
        return True

    def open_selected(self) -> bool:
        result = self.selected_result()
        if result is None:
            return False
        self._open(result.song)
        return True

    def _open(self, song: Song) -> None:
        song = song.copy()
        if self._open_song is not None:
            self._open_song(song)
        else:
            self.document.set_song(song)

    def _on_result_play(self, index: int) -> None:
        song = self.results.song(index)
        if self._play_song is None:
            return  # no audition without the audio engine; the click still selects
        self.results.set_playing(index)
        seconds = float(song.tick_to_seconds(max(song.end_tick, 1)))
        self._playing_timer.start(int(seconds * 1000) + 200)
        self._play_song(song)

    def _on_result_open(self, index: int) -> None:
        self._open(self._results[index].song)

    def set_play_song(self, play_song: Callable[[Song], None] | None) -> None:
        self._play_song = play_song

    def set_open_song(self, open_song: Callable[[Song], None] | None) -> None:
        self._open_song = open_song

    # -- tracks and context ----------------------------------------------------------
    def _connect_document(self) -> None:
        doc = self.document
        doc.tracksChanged.connect(self._refresh_tracks)
        for signal in (
            doc.selectionChanged,
            doc.loopChanged,
            doc.activeTrackChanged,
            doc.playheadChanged,
        ):
            signal.connect(self._update_context)
        doc.changed.connect(self._update_context)

    def checked_tracks(self) -> list[int]:
        return [
            k
            for k in range(self.targets.count())
            if self.targets.item(k).checkState() == Qt.CheckState.Checked
        ]

    def set_checked_tracks(self, indices: list[int]) -> None:
        for k in range(self.targets.count()):
            state = Qt.CheckState.Checked if k in indices else Qt.CheckState.Unchecked
            self.targets.item(k).setCheckState(state)

    def _refresh_tracks(self) -> None:
        before = {
            self.targets.item(k).text(): self.targets.item(k).checkState()
            for k in range(self.targets.count())
        }
        self.targets.clear()
        for track in self.document.song.tracks:
            item = QListWidgetItem(track.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(before.get(track.name, Qt.CheckState.Checked))
            item.setForeground(_colour(track.colour))
            self.targets.addItem(item)
        self._update_context()

    def _update_context(self, *_: Any) -> None:
        doc = self.document
        mode = self.mode()
        song = doc.song
        if mode == jobs.NEW:
            bar = len(song.bar_starts(max(doc.playhead, 0)))
            text = f"New music starts at bar {bar} (the playhead's bar)."
        elif mode == jobs.CONTINUE:
            if len(doc.selection):
                text = "Continues after the selected notes' bars."
            elif doc.loop is not None:
                text = "Continues after the loop region."
            elif song.note_count:
                text = "Continues after the song's last bars."
            else:
                text = "The song is empty: write or open some music to continue."
        elif mode == jobs.HARMONIZE:
            active = doc.active()
            name = active.name if active is not None else "—"
            text = f"Keeps “{name}” and writes the other voices."
        else:
            if doc.loop is not None:
                text = f"Rewrites the loop region ({_bars_text(song, *doc.loop)})."
            elif len(doc.selection):
                text = "Rewrites the bars of the selected notes."
            else:
                text = "Set a loop region or select notes to mark what to rewrite."
        self.context_label.setText(text)

    def _on_mode_changed(self, *_: Any) -> None:
        self.tempo.setEnabled(self.mode() == jobs.NEW)
        self.bars.setEnabled(self.mode() in (jobs.NEW, jobs.CONTINUE))
        self._update_context()

    def _update_buttons(self, *_: Any) -> None:
        busy = self.is_busy
        picked = self.results.selected_indices()
        has = bool(picked) and not busy
        # While a model loads, Generate stays available: it runs once the model is ready.
        self.generate_button.setEnabled(not busy or self._job_kind == "load")
        self.insert_button.setEnabled(has)
        self.replace_button.setEnabled(
            has and any(p.target is not None for p in self._results[picked[0]].parts)
        )
        self.open_button.setEnabled(has)
        seeds_ok = len(picked) == 2 and all(self._results[k].seed is not None for k in picked)
        self.interp_button.setEnabled(seeds_ok and not busy)


def _colour(hex_colour: str) -> Any:
    from PySide6.QtGui import QColor

    return QColor(hex_colour)


def _bars_text(song: Song, start: int, end: int) -> str:
    first = len(song.bar_starts(start))
    last = len(song.bar_starts(max(start, end - 1)))
    return f"bar {first}" if first == last else f"bars {first}–{last}"
