"""The piano keyboard beside the roll: C labels, black keys, click to hear a pitch."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QFont, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from studio.core.scales import pitch_name, scale_mask
from studio.ui.document import SongDocument
from studio.ui.editor import theme
from studio.ui.editor.state import EditorState
from studio.ui.editor.viewport import RollViewport

KEYBOARD_WIDTH = 64


class KeyboardColumn(QWidget):
    """Vertical piano keys aligned with the pitch rows."""

    wheelScrolled = Signal(QWheelEvent)

    def __init__(
        self,
        document: SongDocument,
        view: RollViewport,
        state: EditorState | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.view = view
        self.state = state
        self.pressed: int | None = None
        self.hovered: int | None = None  # the pitch row under the mouse in the roll
        self.setFixedWidth(KEYBOARD_WIDTH)
        self.setToolTip("Click a key to hear its pitch")
        view.changed.connect(self.update)
        if state is not None:
            state.scaleChanged.connect(self.update)

    def set_hovered(self, pitch: int | None) -> None:
        if pitch != self.hovered:
            self.hovered = pitch
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        view = self.view
        w = self.width()
        p.fillRect(self.rect(), theme.KEY_WHITE)
        low, high = view.visible_pitches()
        rh = view.row_height
        black_w = int(w * 0.62)
        font = QFont(p.font())
        font.setPixelSize(int(max(7, min(11, rh - 2))))
        p.setFont(font)
        in_scale = (
            scale_mask(self.state.scale_key, self.state.scale_name)
            if self.state is not None
            else None
        )
        for pitch in range(low, high + 1):
            y = view.y_of(pitch)
            outside = in_scale is not None and not in_scale[pitch]
            if pitch == self.pressed:
                p.fillRect(QRectF(0, y, w, rh), theme.KEY_PRESSED)
            elif pitch == self.hovered:
                p.fillRect(QRectF(0, y, w, rh), theme.KEY_HOVER)
            elif outside and not theme.is_black(pitch):
                p.fillRect(QRectF(0, y, w, rh), theme.KEY_OUT_OF_SCALE)
            if theme.is_black(pitch):
                colour = theme.KEY_BLACK
                if pitch == self.pressed:
                    colour = theme.KEY_PRESSED
                elif pitch == self.hovered:
                    colour = theme.KEY_HOVER.darker(250)
                p.fillRect(QRectF(0, y, black_w, rh), colour)
                p.setPen(QPen(theme.KEY_LABEL, 0))
                p.drawLine(
                    QRectF(black_w, y + rh / 2, w - black_w, 0).topLeft(),
                    QRectF(w, y + rh / 2, 0, 0).topLeft(),
                )
            elif pitch % 12 in (0, 5):  # boundaries between two white keys
                p.setPen(QPen(theme.KEY_LABEL, 0))
                y_line = y + rh - 0.5
                p.drawLine(QRectF(0, y_line, 0, 0).topLeft(), QRectF(w, y_line, 0, 0).topLeft())
            if pitch % 12 == 0 and rh >= 7:
                p.setPen(theme.KEY_LABEL)
                p.drawText(
                    QRectF(0, y, w - 4, rh),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    pitch_name(pitch),
                )
        p.setPen(QPen(theme.PANEL_BG, 1))
        p.drawLine(w - 1, 0, w - 1, self.height())
        p.end()

    def pitch_at(self, y: float) -> int | None:
        pitch = self.view.pitch_at(y)
        return pitch if 0 <= pitch <= 127 else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pitch = self.pitch_at(event.position().y())
        if pitch is None:
            return
        self.pressed = pitch
        velocity = 60 + int(67 * min(1.0, event.position().x() / self.width()))
        self.document.request_preview(pitch, velocity)
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.pressed is None:
            return
        pitch = self.pitch_at(event.position().y())
        if pitch is not None and pitch != self.pressed:  # glissando across the keys
            self.pressed = pitch
            self.document.request_preview(pitch, 100)
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self.pressed = None
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.wheelScrolled.emit(event)
        event.accept()
