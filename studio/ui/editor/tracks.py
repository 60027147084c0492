"""Track list beside the roll: name, colour, mute, solo, instrument; add/delete/reorder."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QEvent, QObject, QSize, QStringListModel, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import edits
from studio.core.gm import GM_PROGRAM_NAMES
from studio.core.song import Track, palette_colour
from studio.ui.document import SongDocument

DRUMS_ENTRY = len(GM_PROGRAM_NAMES)  # the combo's last entry means "drum kit"


TOGGLE_COLOURS = {"mute": "#e57373", "solo": "#fff176"}
_INSTRUMENTS: QStringListModel | None = None


@cache
def _toggle_icon(letter: str, colour: str) -> QIcon:
    """A letter that lights up in `colour` when the button is on (no style sheets: fast)."""
    icon = QIcon()
    for state, fill, ink in (
        (QIcon.State.Off, QColor(0, 0, 0, 0), QColor("#c9ced8")),
        (QIcon.State.On, QColor(colour), QColor("#111111")),
    ):
        pixmap = QPixmap(36, 36)
        pixmap.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(0, 0, 36, 36, 6, 6)
        font = QFont(painter.font())
        font.setPixelSize(20)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(ink)
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, letter)
        painter.end()
        icon.addPixmap(pixmap, QIcon.Mode.Normal, state)
    return icon


@cache
def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(10, 18)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    painter.drawRoundedRect(0, 0, 10, 18, 3, 3)
    painter.end()
    return QIcon(pixmap)


def _instrument_model() -> QStringListModel:
    """One read-only list of instrument names shared by every row (fast with many tracks)."""
    global _INSTRUMENTS
    if _INSTRUMENTS is None:
        names = [f"{number + 1:>3}  {name}" for number, name in enumerate(GM_PROGRAM_NAMES)]
        _INSTRUMENTS = QStringListModel([*names, "Drum kit (channel 10)"])
    return _INSTRUMENTS


class TrackRow(QFrame):
    """One track: click anywhere to make it the active (editable) track."""

    activated = Signal(int)

    def __init__(self, document: SongDocument, index: int, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.index = index
        track = document.song.tracks[index]
        self.setObjectName("TrackRow")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.active = False
        self.colour = QColor(track.colour)  # rows are rebuilt whenever tracks change
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 6, 4)
        outer.setSpacing(3)
        top = QHBoxLayout()
        top.setSpacing(4)
        self.colour_button = QToolButton(self)
        self.colour_button.setFixedSize(14, 22)
        self.colour_button.setToolTip("Track colour")
        self.colour_button.setAutoRaise(True)
        self.colour_button.setIcon(_swatch(track.colour))
        self.colour_button.setIconSize(QSize(10, 18))
        self.colour_button.clicked.connect(self._choose_colour)
        self.name_edit = QLineEdit(track.name, self)
        self.name_edit.setToolTip("Track name (double-click to rename)")
        self.name_edit.setFrame(False)
        # A click on the name selects the track (as in DAWs); a double-click renames it.
        # Read-only until then, so the keys typed after a click reach the editor.
        self.name_edit.setReadOnly(True)
        self.name_edit.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.name_edit.setCursor(Qt.CursorShape.ArrowCursor)
        self.name_edit.editingFinished.connect(self._rename)
        self.mute_button = self._toggle("M", "Mute", track.mute, "mute")
        self.solo_button = self._toggle("S", "Solo", track.solo, "solo")
        top.addWidget(self.colour_button)
        top.addWidget(self.name_edit, 1)
        top.addWidget(self.mute_button)
        top.addWidget(self.solo_button)
        outer.addLayout(top)
        self.instrument = QComboBox(self)
        self.instrument.setToolTip("Instrument (General MIDI program)")
        self.instrument.setModel(_instrument_model())
        self.instrument.setCurrentIndex(DRUMS_ENTRY if track.is_drum else track.program)
        self.instrument.currentIndexChanged.connect(self._set_instrument)
        outer.addWidget(self.instrument)
        self.set_active(index == document.active_track)
        # The child widgets take their own mouse presses: watch them, so that a click
        # anywhere on the row (name, instrument, buttons) makes the track active.
        for child in (
            self.colour_button,
            self.name_edit,
            self.mute_button,
            self.solo_button,
            self.instrument,
        ):
            child.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress:
            self.activated.emit(self.index)
        elif kind == QEvent.Type.MouseButtonDblClick and watched is self.name_edit:
            self.activated.emit(self.index)
            self.start_rename()
            return True
        return False

    def start_rename(self) -> None:
        """Make the name editable and put the cursor in it (Enter or a click away ends)."""
        edit = self.name_edit
        edit.setReadOnly(False)
        edit.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        edit.setCursor(Qt.CursorShape.IBeamCursor)
        edit.setFocus(Qt.FocusReason.MouseFocusReason)
        edit.selectAll()

    def _end_rename(self) -> None:
        edit = self.name_edit
        edit.setReadOnly(True)
        edit.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        edit.setCursor(Qt.CursorShape.ArrowCursor)
        edit.deselect()
        edit.clearFocus()

    def _toggle(self, text: str, tip: str, checked: bool, field: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(field)
        button.setText(text)
        button.setIcon(_toggle_icon(text, TOGGLE_COLOURS[field]))
        button.setIconSize(QSize(18, 18))
        button.setAutoRaise(True)
        button.setToolTip(tip)
        button.setCheckable(True)
        button.setChecked(checked)
        button.setFixedSize(22, 22)
        button.toggled.connect(lambda on: self._set(field, bool(on)))
        return button

    def set_active(self, active: bool) -> None:
        if active != self.active:
            self.active = active
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        # Painted, not style-sheeted: per-widget style sheets make hundreds of rows slow.
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#2b2f38" if self.active else "#1f2127"))
        if self.active:
            painter.fillRect(0, 0, 3, self.height(), self.colour)
        painter.end()

    def _track(self) -> Track | None:
        """This row's track, or None while the row is being replaced (stale index)."""
        tracks = self.document.song.tracks
        return tracks[self.index] if self.index < len(tracks) else None

    def _set(self, field: str, value) -> None:
        track = self._track()
        if track is not None and getattr(track, field) != value:
            self.document.push(edits.SetTrackProperty(self.index, field, value))

    def _rename(self) -> None:
        if not self.name_edit.isReadOnly():
            self._end_rename()
        track = self._track()
        if track is None:
            return
        name = self.name_edit.text().strip()
        if name and name != track.name:
            self._set("name", name)
        elif not name:
            self.name_edit.setText(track.name)

    def _choose_colour(self) -> None:
        track = self._track()
        if track is None:
            return
        colour = QColorDialog.getColor(QColor(track.colour), self, "Track colour")
        if colour.isValid():
            self._set("colour", colour.name())

    def _set_instrument(self, entry: int) -> None:
        track = self._track()
        if track is None or entry < 0:
            return
        if (entry == DRUMS_ENTRY and track.is_drum) or (
            entry == track.program and not track.is_drum
        ):
            return
        stack = self.document.undo_stack
        stack.beginMacro("Change instrument")
        if entry == DRUMS_ENTRY:
            self._set("is_drum", True)
        else:
            if track.is_drum:
                self._set("is_drum", False)
            self._set("program", entry)
        stack.endMacro()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.activated.emit(self.index)
        super().mousePressEvent(event)


class TrackList(QWidget):
    """All tracks, with buttons to add, delete and reorder them."""

    def __init__(self, document: SongDocument, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.rows: list[TrackRow] = []
        self.setMinimumWidth(200)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.container = QWidget()
        self.rows_layout = QVBoxLayout(self.container)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setSpacing(1)
        self.rows_layout.addStretch(1)
        self.scroll.setWidget(self.container)
        layout.addWidget(self.scroll, 1)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(4, 4, 4, 4)
        self.add_button = self._button("+", "Add a track", self.add_track)
        self.delete_button = self._button("−", "Delete the active track", self.delete_track)
        self.up_button = self._button("▲", "Move the active track up", lambda: self.move_track(-1))
        self.down_button = self._button(
            "▼", "Move the active track down", lambda: self.move_track(1)
        )
        for button in (self.add_button, self.delete_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        document.tracksChanged.connect(self.rebuild)
        document.activeTrackChanged.connect(self._highlight)
        self.rebuild()

    def _button(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setFixedSize(28, 24)
        button.clicked.connect(slot)
        return button

    def rebuild(self) -> None:
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows = []
        for index in range(len(self.document.song.tracks)):
            row = TrackRow(self.document, index, self.container)
            row.activated.connect(self.document.set_active_track)
            self.rows_layout.insertWidget(index, row)
            self.rows.append(row)
        self._update_buttons()

    def _highlight(self, active: int) -> None:
        for row in self.rows:
            row.set_active(row.index == active)
        self._update_buttons()

    def _update_buttons(self) -> None:
        count = len(self.document.song.tracks)
        active = self.document.active_track
        self.delete_button.setEnabled(count > 0)
        self.up_button.setEnabled(0 < active < count)
        self.down_button.setEnabled(active < count - 1)

    def add_track(self) -> None:
        count = len(self.document.song.tracks)
        track = Track(f"Track {count + 1}", colour=palette_colour(count))
        self.document.insert_tracks([track], "Add track")
        self.document.set_active_track(count)

    def delete_track(self) -> None:
        if self.document.song.tracks:
            self.document.push(edits.RemoveTracks((self.document.active_track,)), "Delete track")

    def move_track(self, step: int) -> None:
        source = self.document.active_track
        destination = source + step
        if 0 <= destination < len(self.document.song.tracks):
            self.document.push(edits.MoveTrack(source, destination), "Move track")
