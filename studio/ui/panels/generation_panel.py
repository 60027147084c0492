"""The Generation panel: choose a model, ask for music, audition it, put it in the song.

A thin view over `GenerationSession` (generation_session.py, no Qt): the widgets edit
the session's settings, Generate asks the session for a request built from them and the
song's editing context, and a worker thread runs it through the generation service
(generation_jobs.py) while a progress bar and Cancel stay live. Variations appear as
thumbnails (a one-pass draft first, then the refined music). "Insert as new tracks",
"Replace selection" and "Open in new song" each make ONE undoable step, through the
document's own methods.
"""

from __future__ import annotations

import random
from collections.abc import Callable
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
    QMessageBox,
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

from studio.core.song import Song
from studio.ml.bundled import bundled_models
from studio.ml.generation import (
    REFINE_RANGE,
    SEED_RANGE,
    TEMPO_RANGE,
    GenerationCancelled,
    GenerationError,
    GenerationResult,
)
from studio.ui.panels import generation_jobs as jobs
from studio.ui.panels.common import MessageBox, control_column, describe_error, heading, hint
from studio.ui.panels.generation_session import (
    ANY_KEY,
    CADENCE_CHOICES,
    CADENCE_GIVEN_TIP,
    CADENCE_TIP,
    CADENCE_UNKNOWN_TIP,
    DEFAULT_MODEL,
    GENERATE,
    HARMONIZE,
    INFILL,
    KEYS,
    MAX_RECENT,
    MAX_VARIATIONS,
    MODE_TEXT,
    MODES,
    NO_CADENCE_TIP,
    PHRASED_MODES,
    SONG_KEY,
    EditingContext,
    GenerationSession,
    GenerationSettings,
    Job,
    ReplacePlan,
    describe_context,
    key_kept_tip,
    key_label,
    model_description,
    notes_text,
    song_key,
    writing_metre,
    writing_tick,
)
from studio.ui.panels.loss_plots import metric_label
from studio.ui.panels.roll_thumbnail import ThumbnailStrip
from studio.ui.recent import last_folder, remember_folder
from studio.ui.workers import WorkerHandle, start_generator

GROUP = "generation"
SETTING_KEYS = (
    "bars",
    "variations",
    "temperature",
    "seed",
    "seed_locked",
    "refine",
    "beat_rounds",
    "sixteenths",
    "voice_rules",
    "key",
    "cadence_every",
    "recent_models",
)
KEY_TIP = (
    "The key New writes in: your song's key (read from its key signature, else\n"
    "estimated from its notes), any key (one drawn from the keys of the music the\n"
    "model learnt, in the mode it writes), or a key you choose."
)
SIXTEENTHS_TIP = (
    "A last pass lets each voice move between two of its eighths, where the model\n"
    "hears a passing or neighbour note (a step away), as Bach's sixteenths do.\n"
    "Off: voices move on the eighths only, and the music comes about 15% sooner."
)
NO_SIXTEENTHS_TIP = (
    "This model has no sixteenths pass: it was not trained to hear where a voice\n"
    "moves between its eighths (pianola train --offgrid-share)."
)
MORPH_TIP = (
    "Select two 'New' variations (click, then Ctrl-click) to hear the music morph\n"
    "from one into the other in the given number of steps."
)
MORPH_KEYED_TIP = (
    "Morphing works on variations written with Key set to 'Any key': music in a chosen\n"
    "key is picked and transposed, so it does not lie on one path between two seeds."
)
RESULTS_MIN_HEIGHT = 56  # the strip scrolls: a short dock still shows Generate


def own_rounds_text(rounds: int | None, none_text: str) -> str:
    """A rounds box's text for "the model's own" (``rounds``: the loaded model's; None
    before one is loaded; ``none_text`` says what 0 rounds means)."""
    if rounds is None:
        return "model's"
    if rounds == 0:
        return f"model's ({none_text})"
    return f"model's ({rounds} round{'s' if rounds > 1 else ''})"


def own_reading_text(rounds: int | None) -> str:
    """The Refine box's text for the model's own whole-voice rounds."""
    return own_rounds_text(rounds, "one pass")


def rounds_box(models_text: str, tip: str) -> QSpinBox:
    """A box of refinement rounds whose lowest value, -1, stands for the model's own."""
    box = QSpinBox()
    box.setRange(-1, REFINE_RANGE[1])
    box.setSpecialValueText(models_text)
    box.setSuffix(" rounds")
    box.setToolTip(tip)
    return box


def own_beats_text(rounds: int | None) -> str:
    """The By beats box's text for the model's own beat rounds."""
    return own_rounds_text(rounds, "none")


def ask_replace(parent: QWidget, plan: ReplacePlan) -> bool:
    """Confirm a Replace whose voices do not match the tracks by name (tests replace this)."""
    answer = QMessageBox.question(
        parent,
        "Replace selection",
        "The generated voices do not match your tracks by name. They will go here:\n\n"
        f"{plan.summary}\n\nReplace?",
        QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Ok,
    )
    return answer == QMessageBox.StandardButton.Ok


class GenerationPanel(QWidget):
    """Model, mode, controls, results and the actions that put results into the song."""

    generated = Signal(int)  # number of variations shown
    modelLoaded = Signal(str)

    def __init__(
        self,
        document: Any,
        play_song: Callable[[Song], Any] | None = None,
        open_song: Callable[[Song], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("generationPanel")
        self.document = document
        self.session = GenerationSession(self._stored_settings())
        self._play_song = play_song
        self._open_song = open_song
        self._handle: WorkerHandle | None = None
        self._handle_job: Job | None = None  # the job the running thread works on
        self._pending: Callable[[], None] | None = None
        self._after_load: Callable[[], None] | None = None
        self._syncing = False
        self._playing_timer = QTimer(self)
        self._playing_timer.setSingleShot(True)
        self._playing_timer.timeout.connect(lambda: self.results.set_playing(None))

        self._build_model_box()
        self._build_controls()
        self._build_results()
        self._build_layout()
        self._show_settings()
        self._connect_document()
        self._refresh_tracks()
        self._follow_song_tempo()
        self._on_mode_changed()
        self._update_buttons()

    # -- construction ---------------------------------------------------------------------
    def _build_model_box(self) -> None:
        self.model_combo = QComboBox()
        self.model_combo.setToolTip(
            "The model that writes the music: one bundled with Pianola, or one you\n"
            "trained (a checkpoint file, or a run folder — its latest checkpoint is used)."
        )
        # Every bundled model by name, then the checkpoints and runs used lately.
        bundled = bundled_models()
        for model in bundled:
            self.model_combo.addItem(model.label, model.name)
            self.model_combo.setItemData(
                self.model_combo.count() - 1,
                f"Bundled with Pianola. {model.description}\n{model.path}",
                Qt.ItemDataRole.ToolTipRole,
            )
        if not bundled:  # choosing it says there is none yet, and how to make one
            self.model_combo.addItem("Bundled model", DEFAULT_MODEL)
        self._fixed_models = self.model_combo.count()
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
        for path in self.session.settings.recent_models:
            if Path(path).exists():
                self._add_model_item(path, select=False)
        self.model_combo.currentIndexChanged.connect(self._on_model_chosen)

    def _build_controls(self) -> None:
        self.mode_buttons: dict[str, QRadioButton] = {}
        self._mode_group = QButtonGroup(self)
        for mode in MODES:
            label, tip = MODE_TEXT[mode]
            button = QRadioButton(label)
            button.setToolTip(tip)
            self._mode_group.addButton(button)
            self.mode_buttons[mode] = button
        self.context_label = hint("")

        self.bars = QSpinBox()
        self.bars.setRange(1, 64)
        self.bars.setSuffix(" bars")
        self.bars.setToolTip("How many bars of new music to write")
        self.metre_label = QLabel("")
        self.metre_label.setToolTip(
            "The time signature the music is written in: your song's, where it is written"
        )
        self.key_combo = QComboBox()
        self.key_combo.setToolTip(KEY_TIP)
        self.key_combo.addItem("Any key", ANY_KEY)
        for key in KEYS:
            self.key_combo.addItem(key_label(key), key.name)
        self._song_key_text = ""
        self._key_syncing = False
        self.phrase_combo = QComboBox()
        for every, text in CADENCE_CHOICES:
            self.phrase_combo.addItem(text, every)
        self.variations = QSpinBox()
        self.variations.setRange(1, MAX_VARIATIONS)
        self.variations.setToolTip(
            f"How many different versions to write at once (1–{MAX_VARIATIONS})"
        )
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setDecimals(2)
        self.temperature_slider = QSlider(Qt.Orientation.Horizontal)
        self.temperature_slider.setRange(0, 200)
        tip = (
            "How adventurous the music is. 0: the model's safest choice every time;\n"
            "1: as varied as the music it learnt from; 2: wild and surprising."
        )
        self.temperature.setToolTip(tip)
        self.temperature_slider.setToolTip(tip)
        self.seed = QSpinBox()
        self.seed.setRange(*SEED_RANGE)
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
        self.refine = rounds_box(
            own_reading_text(None),
            "After the first draft, each voice is rewritten in turn while the model listens\n"
            "to all the others. More rounds: voices that fit together better and stay in\n"
            "key; each round takes as long as the first draft per track. 0: the draft alone.\n"
            "Model's: what the model's file names, as its model card measured it\n"
            "(2 rounds unless it says otherwise).",
        )
        self.beat_rounds = rounds_box(
            own_beats_text(None),
            "Then each voice is rewritten every other beat at a time, so each note hears\n"
            "the voice's own notes on either side: smoother, more singable lines, fewer\n"
            "leaps. Each round takes twice as long as a Refine round. 0: none.\n"
            "Model's: what the model's file names, as its model card measured it.\n"
            "With Refine at 0 and this at model's, the draft alone.",
        )
        self.sixteenths = QCheckBox("Passing notes between the eighths")
        self.voice_rules = QCheckBox("No parallel fifths/octaves or crossings")
        self.voice_rules.setToolTip(
            "Single-line tracks (like the Bach voices) follow the first rules of part\n"
            "writing: no parallel fifths or octaves and no voice crossing its neighbour.\n"
            "Your own notes are never changed."
        )
        self.tempo = QSpinBox()
        self.tempo.setRange(int(TEMPO_RANGE[0]), int(TEMPO_RANGE[1]))
        self.tempo.setSuffix(" bpm")
        self.tempo.setToolTip("Tempo of new music: your song's tempo unless you change it")
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
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop generating (what is already shown stays)")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumHeight(16)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.message = MessageBox()
        # What the engine says about the music it made (e.g. how the key was reached).
        self.notes_label = hint("")
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes_label.hide()

    def _build_results(self) -> None:
        self.results = ThumbnailStrip(
            empty_text="Your variations appear here. Click one to listen, double-click to "
            "open it; Ctrl-click a second one to morph between them.",
            thumb_size=QSize(232, 128),
            wrap=True,
        )
        self.results.setMinimumHeight(RESULTS_MIN_HEIGHT)
        self.results.playRequested.connect(self._on_result_play)
        self.results.openRequested.connect(self._on_result_open)
        self.results.selectionChanged.connect(self._on_selection_changed)
        self.insert_button = QPushButton("Insert as new tracks")
        self.insert_button.setToolTip("Add the chosen variation to your song as new tracks")
        self.insert_button.clicked.connect(self.insert_selected)
        self.replace_button = QPushButton("Replace selection")
        self.replace_button.setToolTip(
            "Write the chosen variation into the ticked tracks, replacing what is there in\n"
            "its bars (voices without a track of their name are shown before anything changes)"
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
        self.interp_button.setToolTip(MORPH_TIP)
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
        for k, mode in enumerate(MODES):
            modes.addWidget(self.mode_buttons[mode], k // 2, k % 2)
        form.addLayout(modes)
        form.addWidget(self.context_label)
        grid = QFormLayout()
        bars_row = QHBoxLayout()
        bars_row.addWidget(self.bars, 1)
        bars_row.addWidget(self.metre_label)
        grid.addRow("Length", bars_row)
        grid.addRow("Key", self.key_combo)
        grid.addRow("Phrases", self.phrase_combo)
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
        grid.addRow("By beats", self.beat_rounds)
        grid.addRow("Sixteenths", self.sixteenths)
        grid.addRow("Voicing", self.voice_rules)
        grid.addRow("Tempo", self.tempo)
        grid.addRow("Tracks", self.targets)
        form.addLayout(grid)
        form.addStretch(1)
        scroll = control_column(controls)
        scroll.setMinimumHeight(0)
        # Wide enough for its rows beside the vertical scroll bar: nothing is cut off.
        needed = controls.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(max(scroll.minimumWidth(), needed + 2))

        # The primary button sits below the scrolling settings: always visible.
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 4)
        left_layout.setSpacing(4)
        left_layout.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(8, 0, 8, 0)
        buttons.addWidget(self.generate_button, 1)
        buttons.addWidget(self.cancel_button)
        left_layout.addLayout(buttons)
        progress_row = QHBoxLayout()
        progress_row.setContentsMargins(8, 0, 8, 0)
        progress_row.addWidget(self.progress)
        left_layout.addLayout(progress_row)
        left_layout.addWidget(self.message)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 4, 4)
        right_layout.setSpacing(4)
        top = QHBoxLayout()
        top.addWidget(heading("Variations"))
        top.addStretch(1)
        top.addWidget(self.interp_button)
        top.addWidget(QLabel("in"))
        top.addWidget(self.interp_steps)
        right_layout.addLayout(top)
        right_layout.addWidget(self.results, 1)
        right_layout.addWidget(self.notes_label)
        actions = QHBoxLayout()
        for button in (self.insert_button, self.replace_button, self.open_button):
            actions.addWidget(button)
        actions.addStretch(1)
        right_layout.addLayout(actions)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # -- settings: widgets <-> session ---------------------------------------------------
    @staticmethod
    def _stored_settings() -> GenerationSettings:
        s = QSettings()
        s.beginGroup(GROUP)
        stored = {key: s.value(key) for key in SETTING_KEYS if s.contains(key)}
        s.endGroup()
        settings = GenerationSettings.from_dict(stored)
        if "seed" not in stored:
            settings.seed = random.randrange(1_000_000)
        return settings

    def _save_settings(self) -> None:
        s = QSettings()
        s.beginGroup(GROUP)
        for key, value in self.session.settings.to_dict().items():
            s.setValue(key, value)
        s.endGroup()

    def _show_settings(self) -> None:
        """Widgets from the session's settings, then widgets edit the settings."""
        st = self.session.settings
        self._syncing = True
        self.mode_buttons[st.mode].setChecked(True)
        self.bars.setValue(st.bars)
        self.variations.setValue(st.variations)
        self.temperature.setValue(st.temperature)
        self.temperature_slider.setValue(round(st.temperature * 100))
        self.seed.setValue(st.seed)
        self.seed_lock.setChecked(st.seed_locked)
        self.refine.setValue(-1 if st.refine_rounds is None else st.refine_rounds)
        self.beat_rounds.setValue(-1 if st.beat_rounds is None else st.beat_rounds)
        self.voice_rules.setChecked(st.strict_voicing)
        self.sixteenths.setChecked(st.sixteenths)
        self._syncing = False
        self._show_sixteenths()
        self._show_key()
        self._show_phrases()
        self.key_combo.currentIndexChanged.connect(self._on_key_chosen)
        self.phrase_combo.currentIndexChanged.connect(self._on_phrases_chosen)
        self._mode_group.buttonToggled.connect(self._on_mode_changed)
        self.bars.valueChanged.connect(lambda v: setattr(st, "bars", v))
        self.variations.valueChanged.connect(lambda v: setattr(st, "variations", v))
        self.temperature.valueChanged.connect(self._on_temperature)
        self.temperature_slider.valueChanged.connect(lambda v: self.temperature.setValue(v / 100))
        self.seed.valueChanged.connect(lambda v: setattr(st, "seed", v))
        self.seed_lock.toggled.connect(lambda v: setattr(st, "seed_locked", bool(v)))
        self.refine.valueChanged.connect(
            lambda v: setattr(st, "refine_rounds", None if v < 0 else v)
        )
        self.beat_rounds.valueChanged.connect(
            lambda v: setattr(st, "beat_rounds", None if v < 0 else v)
        )
        self.voice_rules.toggled.connect(lambda v: setattr(st, "strict_voicing", bool(v)))
        self.sixteenths.toggled.connect(lambda v: setattr(st, "sixteenths", bool(v)))
        self.tempo.valueChanged.connect(self._on_tempo_edited)

    def _on_key_chosen(self, index: int) -> None:
        if not self._key_syncing and index >= 0:
            self.session.settings.key = str(self.key_combo.itemData(index))

    def _show_sixteenths(self) -> None:
        """The Sixteenths box: usable once the loaded model is known to have a sixteenths
        pass (its file names one)."""
        model = self.session.model
        voicing = getattr(model, "voicing", None)
        has_pass = getattr(voicing, "sixteenth_temperature", None) is not None
        self.sixteenths.setEnabled(has_pass)
        if model is None:
            self.sixteenths.setToolTip(SIXTEENTHS_TIP + "\n(Once the model is loaded.)")
        else:
            self.sixteenths.setToolTip(SIXTEENTHS_TIP if has_pass else NO_SIXTEENTHS_TIP)

    def _on_phrases_chosen(self, index: int) -> None:
        if index >= 0:
            self.session.settings.cadence_every = int(self.phrase_combo.itemData(index))

    def _show_phrases(self) -> None:
        """The Phrases control: the session's choice, usable once the loaded model is
        known to have been trained with phrase ends."""
        model = self.session.model
        phrased = bool(getattr(model, "phrase_conditioned", False))
        in_mode = self.mode() in PHRASED_MODES
        self.phrase_combo.setEnabled(phrased and in_mode)
        if model is None:
            self.phrase_combo.setToolTip(CADENCE_UNKNOWN_TIP)
        elif not phrased:
            self.phrase_combo.setToolTip(NO_CADENCE_TIP)
        elif not in_mode:
            self.phrase_combo.setToolTip(CADENCE_GIVEN_TIP.format(mode=MODE_TEXT[self.mode()][0]))
        else:
            self.phrase_combo.setToolTip(CADENCE_TIP)
        index = self.phrase_combo.findData(self.session.settings.cadence_every)
        if index < 0:  # a stored value the control does not offer: its default, shown
            index = 0
            self.session.settings.cadence_every = int(self.phrase_combo.itemData(0))
        self.phrase_combo.blockSignals(True)
        self.phrase_combo.setCurrentIndex(max(index, 0))
        self.phrase_combo.blockSignals(False)

    def _show_key(self) -> None:
        """The Key control: a "Song's key (…)" entry while the song has a key, and the
        session's choice selected ("Any key" while the song's key is chosen but unknown)."""
        doc = self.document
        context = EditingContext(doc.song, playhead=doc.playhead)
        key = song_key(doc.song, writing_tick(GENERATE, context))
        text = f"Song's key ({key_label(key)})" if key is not None else ""
        self._key_syncing = True
        if text != self._song_key_text:
            has = bool(self._song_key_text)
            if has and text:
                self.key_combo.setItemText(1, text)
            elif text:
                self.key_combo.insertItem(1, text, SONG_KEY)
            else:
                self.key_combo.removeItem(1)
            self._song_key_text = text
        index = self.key_combo.findData(self.session.settings.key)
        self.key_combo.setCurrentIndex(max(index, 0))
        self._key_syncing = False

    def _on_temperature(self, value: float) -> None:
        self.session.settings.temperature = float(value)
        self.temperature_slider.blockSignals(True)
        self.temperature_slider.setValue(round(value * 100))
        self.temperature_slider.blockSignals(False)

    def _on_tempo_edited(self, value: int) -> None:
        if not self._syncing:  # the composer chose a tempo: it no longer follows the song
            self.session.settings.tempo = float(value)

    def _follow_song_tempo(self) -> None:
        """New music gets the song's tempo unless the composer set one."""
        if self.session.settings.tempo is not None:
            return
        self._syncing = True
        self.tempo.setValue(round(self.document.song.initial_bpm))
        self._syncing = False

    def _on_song_replaced(self) -> None:
        self.session.settings.tempo = None
        self._follow_song_tempo()

    # -- model -----------------------------------------------------------------------
    def set_model_source(self, source: str) -> None:
        """Use a checkpoint file or run folder (e.g. the run the Training panel just saved)."""
        self._add_model_item(str(source), select=True)

    def _add_model_item(self, source: str, select: bool) -> None:
        index = self.model_combo.findData(source)
        if index < 0:
            path = Path(source)
            label = f"{path.parent.parent.name}/{path.name}" if path.is_file() else path.name
            index = self._fixed_models
            self.model_combo.insertItem(index, label, source)
            self.model_combo.setItemData(index, source, Qt.ItemDataRole.ToolTipRole)
            while self.model_combo.count() > MAX_RECENT + self._fixed_models:
                self.model_combo.removeItem(self.model_combo.count() - 1)
        self.session.settings.recent_models = [
            str(self.model_combo.itemData(k))
            for k in range(self._fixed_models, self.model_combo.count())
        ]
        if select:
            if self.model_combo.currentIndex() == index:
                self._on_model_chosen(index)
            else:
                self.model_combo.setCurrentIndex(index)
            self._save_settings()

    @property
    def model(self) -> Any:
        return self.session.model

    @property
    def is_busy(self) -> bool:
        """A job is in flight, as the composer sees it (a cancelled one no longer is)."""
        return self.session.busy

    @property
    def is_working(self) -> bool:
        """A worker thread is still running (a cancelled job may take a moment to end)."""
        return self._handle is not None

    def _on_model_chosen(self, index: int) -> None:
        source = self.model_combo.itemData(index)
        if source is None:
            return
        self.session.settings.model = str(source)
        if source == self.session.model_source and self.session.model is not None:
            return
        self._load(str(source))

    def _load(self, source: str, then: Callable[[], None] | None = None) -> None:
        if self._handle is not None:
            self._pending = lambda: self._load(source, then)
            return
        self._after_load = then
        job = self.session.begin_load(source)
        self.model_info.setText("Loading the model…")
        self._show_phrases()
        self._start(job, jobs.load_model_job, source, engine=False)

    def _on_model_loaded(self, job: Job, model: Any) -> None:
        if not self.session.model_loaded(job, model):
            return
        self.model_info.setText(model_description(model, metric_label))
        voicing = getattr(model, "voicing", None)
        self.refine.setSpecialValueText(own_reading_text(getattr(voicing, "refine_rounds", None)))
        self.beat_rounds.setSpecialValueText(own_beats_text(getattr(voicing, "beat_rounds", None)))
        self._show_sixteenths()
        self.model_info.setToolTip(getattr(model, "path", ""))
        self._show_phrases()
        self.modelLoaded.emit(job.source)
        follow, self._after_load = self._after_load, None
        if follow is not None:
            self._pending = follow  # runs once the loading thread has ended

    def _choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a checkpoint", last_folder(), "Pianola checkpoints (*.pt);;All files (*)"
        )
        if path:
            remember_folder(path)
            self.set_model_source(path)

    def _choose_run(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a training run folder", last_folder())
        if folder:
            remember_folder(folder)  # next time, start beside this run
            self.set_model_source(folder)

    # -- generating ------------------------------------------------------------------
    def mode(self) -> str:
        return self.session.settings.mode

    def set_mode(self, mode: str) -> None:
        self.mode_buttons[mode].setChecked(True)

    def randomize_seed(self) -> None:
        self.seed.setValue(random.randrange(1_000_000))

    def context(self) -> EditingContext:
        return EditingContext.of(self.document, self.checked_tracks())

    def generate(self) -> None:
        if self._handle is not None:
            # A job is ending (the model just loaded, or a cancelled one winds down).
            self._pending = self.generate
            self._update_buttons()
            return
        self.message.hide()
        self._save_settings()
        source = self.session.settings.model
        if self.session.model is None or self.session.model_source != source:
            self._load(source, then=self.generate)
            self._update_buttons()
            return
        try:
            job = self.session.begin_generate(self.context())
        except GenerationError as error:
            self.message.show_error("Nothing to work on.", str(error))
            return
        self._show_notes()  # the last music's notes no longer apply
        self.seed.blockSignals(True)
        self.seed.setValue(self.session.settings.seed)  # moved on unless locked
        self.seed.blockSignals(False)
        assert job.planned is not None
        self._start(job, jobs.generation_job, job.planned.request, self.session.model)

    def interpolate_selected(self) -> None:
        seeds = self.session.morph_seeds()
        if seeds is None or self.session.model is None or self._handle is not None:
            self.message.show_note(
                "Pick two variations made with New.",
                "Click one, then Ctrl-click another; then press Morph.",
            )
            return
        job = self.session.begin_morph(self.interp_steps.value())
        self._show_notes()
        assert job.planned is not None
        steps = self.interp_steps.value()
        self._start(job, jobs.morph_job, job.planned.request, seeds[1], steps, self.session.model)

    def cancel(self) -> None:
        """Stop at once as far as the composer can tell; the thread ends on its own."""
        if not self.session.cancel():
            return
        self._after_load = None
        self._pending = None
        if self._handle is not None:
            self._handle.abort()
        self.progress.hide()
        if self.session.model is None:
            self.model_info.setText("Loading was cancelled: Generate loads the model again.")
        self.message.show_note("Cancelled.", "Press Generate to start again.")
        self._update_buttons()

    def _start(self, job: Job, func: Callable[..., Any], *args: Any, engine: bool = True) -> None:
        self.progress.setRange(0, 0)  # busy until the engine reports how far it is
        self.progress.setFormat("")
        self.progress.show()
        extra: dict[str, Any] = {}
        if engine:
            extra = {"report_arg": "progress", "cancel": job.cancelled}
        self._handle_job = job
        self._handle = start_generator(
            func,
            *args,
            name="pianola-generation",
            coalesce=lambda value: isinstance(value, tuple),
            connect={
                "yielded": lambda value: self._on_yielded(job, value),
                "yieldedBatch": lambda values: self._on_progress(job, values[-1]),
                "returned": lambda value: self._on_returned(job, value),
                "errored": lambda error: self._on_error(job, error),
                "finished": lambda: self._on_finished(job),
            },
            **extra,
        )
        self._update_buttons()

    def _on_progress(self, job: Job, value: Any) -> None:
        fraction, stage = (*value, "")[:2] if isinstance(value, tuple) else (value, "")
        if not self.session.report_progress(job, float(fraction), str(stage)):
            return
        self.progress.setRange(0, 1000)
        self.progress.setValue(round(job.progress * 1000))
        self.progress.setFormat(f"{job.stage} %p%".strip() if job.stage else "%p%")

    def _on_yielded(self, job: Job, value: Any) -> None:
        if isinstance(value, GenerationResult):
            if self.session.accept(job, value):
                self._show_variations()
        elif isinstance(value, tuple):
            self._on_progress(job, value)

    def _on_returned(self, job: Job, value: Any) -> None:
        if job.kind == "load":
            self._on_model_loaded(job, value)

    def _on_error(self, job: Job, error: BaseException) -> None:
        if not self.session.is_current(job) or isinstance(error, GenerationCancelled):
            return  # cancelled: nothing to report
        from studio.ml.errors import NoBundledModelError

        self._after_load = None
        if isinstance(error, NoBundledModelError):
            self.model_info.setText("No bundled model yet.")
            self.message.show_error(
                "No bundled model yet.",
                "Train one in the Training panel (it appears here when you stop), or open "
                "a checkpoint or run folder.",
            )
            return
        if isinstance(error, GenerationError) and job.kind != "load":
            self.message.show_error("That cannot be generated.", str(error))
            return
        title, detail = describe_error(error)
        if job.kind == "load":
            self.model_info.setText("The model could not be loaded.")
        self.message.show_error(title, detail)

    def _on_finished(self, job: Job) -> None:
        if job is not self._handle_job:
            return
        self._handle_job = None
        self.session.finish(job)
        self._handle = None
        if not self.session.busy:
            self.progress.hide()
        self._update_buttons()
        pending, self._pending = self._pending, None
        if pending is not None:
            pending()

    def _show_notes(self) -> None:
        text = notes_text(self.session.notes)
        self.notes_label.setText(text)
        self.notes_label.setVisible(bool(text))

    def _show_variations(self) -> None:
        self._show_notes()
        selection = list(self.session.selection)  # clearing the strip deselects
        self.results.clear()
        for variation in self.session.variations:
            self.results.add_song(variation.song, variation.caption)
        for n, index in enumerate(selection):
            self.results.select(index, add=n > 0)
        self.session.select(selection)
        self._update_buttons()
        self.generated.emit(len(self.session.variations))

    def shutdown(self, timeout_ms: int = 30000) -> None:
        self.session.cancel()
        if self._handle is not None:
            self._handle.shutdown(timeout_ms)

    def closeEvent(self, event: Any) -> None:
        if self.isWindow():
            self.shutdown()
        super().closeEvent(event)

    # -- results into the song -------------------------------------------------------
    def _on_selection_changed(self) -> None:
        self.session.select(self.results.selected_indices())
        self._update_buttons()

    def insert_selected(self) -> bool:
        variation = self.session.selected
        if variation is None:
            return False
        tracks = self.session.insert_tracks(self.document.song)
        if not tracks:
            self.message.show_note("That variation is silent.", "Pick another one.")
            return False
        self.document.insert_tracks(tracks, f"Insert generated tracks ({variation.caption})")
        return True

    def replace_selected(self) -> bool:
        variation = self.session.selected
        plan = self.session.replace_plan(self.document.song, self.checked_tracks())
        if variation is None or plan is None:
            return False
        if not plan.replacements and not plan.new_tracks:
            self.message.show_note("That variation is silent.", "Pick another one.")
            return False
        if not plan.exact and not ask_replace(self, plan):
            return False
        self.document.replace_ranges(
            plan.replacements,
            f"Replace with generated music ({variation.caption})",
            new_tracks=plan.new_tracks,
        )
        if not plan.exact:  # say afterwards too where each voice went
            self.message.show_note("Replaced: the voices went here.", plan.summary)
        return True

    def open_selected(self) -> bool:
        variation = self.session.selected
        if variation is None:
            return False
        self._open(variation.song)
        return True

    def _open(self, song: Song) -> None:
        song = song.copy()
        if self._open_song is not None:
            self._open_song(song)
        else:
            self.document.set_song(song)

    def _on_result_play(self, index: int) -> None:
        if not 0 <= index < len(self.results):
            return
        song = self.results.song(index)
        if self._play_song is None:
            self.message.show_note(
                "No sound here.", "Pianola runs without its audio engine: nothing can be heard."
            )
            return
        if self._play_song(song) is False:
            self.results.set_playing(None)
            reason = getattr(getattr(self._play_song, "__self__", None), "status", "")
            self.message.show_note(
                "No audio output device: the variation cannot be heard.",
                (f"{reason} " if isinstance(reason, str) and reason else "")
                + "Choose a device in Audio Settings, then click the variation again.",
            )
            return
        self.results.set_playing(index)
        seconds = float(song.tick_to_seconds(max(song.end_tick, 1)))
        self._playing_timer.start(int(seconds * 1000) + 200)

    def _on_result_open(self, index: int) -> None:
        if 0 <= index < len(self.session.variations):
            self._open(self.session.variations[index].song)

    def set_play_song(self, play_song: Callable[[Song], Any] | None) -> None:
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
        doc.changed.connect(self._follow_song_tempo)
        songReplaced = getattr(doc, "songReplaced", None)
        if songReplaced is not None:
            songReplaced.connect(self._on_song_replaced)

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
        context = EditingContext(
            doc.song,
            doc.active_track,
            doc.playhead,
            doc.loop,
            (0, 0) if len(doc.selection) else None,  # only whether there is one matters
        )
        self.context_label.setText(describe_context(self.mode(), context))
        numerator, denominator = writing_metre(self.mode(), context)
        self.metre_label.setText(f"in {numerator}/{denominator}")
        self._show_key()

    def _on_mode_changed(self, *_: Any) -> None:
        for mode, button in self.mode_buttons.items():
            if button.isChecked():
                self.session.settings.mode = mode
        mode = self.mode()
        self.tempo.setEnabled(mode == GENERATE)
        self.bars.setEnabled(mode not in (HARMONIZE, INFILL))
        self._show_phrases()
        self.key_combo.setEnabled(mode == GENERATE)
        self.key_combo.setToolTip(
            KEY_TIP if mode == GENERATE else key_kept_tip(mode, self.document.song)
        )
        self._update_context()

    def _update_buttons(self, *_: Any) -> None:
        busy = self.session.busy
        job = self.session.job
        variation = self.session.selected
        has = variation is not None and not busy
        # While a model loads, Generate stays available: it runs once the model is ready.
        self.generate_button.setEnabled(not busy or (job is not None and job.kind == "load"))
        self.cancel_button.setEnabled(busy)
        self.insert_button.setEnabled(has)
        self.replace_button.setEnabled(has)
        self.open_button.setEnabled(has)
        self.interp_button.setEnabled(self.session.morph_seeds() is not None and not busy)
        self.interp_button.setToolTip(
            MORPH_KEYED_TIP if self.session.morph_needs_any_key else MORPH_TIP
        )


def _colour(hex_colour: str) -> Any:
    from PySide6.QtGui import QColor

    return QColor(hex_colour)
