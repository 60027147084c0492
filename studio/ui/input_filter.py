"""Keys and the mouse wheel go where a composer expects, everywhere in the app.

Commands have window-wide shortcuts (F zooms to fit even after clicking a panel button),
so a field that needs a key must claim it: text fields already claim typing (Qt), and
this filter lets spin boxes, combo boxes, sliders and lists keep their arrow keys.
The wheel never changes a value under the pointer unless that field has focus (scrolling
the Generation panel once changed the tempo from 120 to 116): it scrolls the panel instead.
Fields in tool bars (snap, scale) take no focus on click, like the tool buttons beside them.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTabBar,
    QTextEdit,
    QToolBar,
    QWidget,
)

K = Qt.Key
NAVIGATION_KEYS = frozenset(
    (K.Key_Up, K.Key_Down, K.Key_Left, K.Key_Right, K.Key_PageUp, K.Key_PageDown, K.Key_Home,
     K.Key_End)
)  # fmt: skip
# Widgets whose arrow keys change what they show; a window shortcut must not take them.
KEY_NAVIGATED = (
    QAbstractSpinBox, QComboBox, QAbstractSlider, QAbstractItemView, QLineEdit, QTextEdit,
    QPlainTextEdit, QTabBar,
)  # fmt: skip
COMMAND_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)


def value_widget(widget: QObject | None) -> QWidget | None:
    """The spin box, combo box or slider `widget` is (or is the editor part of), else None."""
    if not isinstance(widget, QWidget):
        return None
    parent = widget.parentWidget()
    if isinstance(widget, QLineEdit) and isinstance(parent, QAbstractSpinBox | QComboBox):
        widget = parent
    if isinstance(widget, QScrollBar):
        return None
    if isinstance(widget, QAbstractSpinBox | QComboBox | QAbstractSlider):
        return widget
    return None


class InputFilter(QObject):
    """Installed once on the QApplication (see `install_input_filter`)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if self._field_keeps_key(watched, event):
                event.accept()  # the field gets this key as a key press, not the shortcut
                return True
        elif kind == QEvent.Type.Wheel and isinstance(event, QWheelEvent):
            return self._wheel(watched, event)
        elif kind == QEvent.Type.Polish:
            field = value_widget(watched)
            if field is not None and field is watched:
                self._calm_focus(field)
        return False

    @staticmethod
    def _calm_focus(field: QWidget) -> None:
        if _in_tool_bar(field):
            # Like tool buttons: choosing a snap value must leave the keys with the notes
            # (the arrows would otherwise step the combo instead of transposing).
            field.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        elif field.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel must not focus it

    @staticmethod
    def _field_keeps_key(watched: QObject, event: QKeyEvent) -> bool:
        if event.modifiers() & COMMAND_MODIFIERS:
            return False
        return isinstance(watched, KEY_NAVIGATED) and Qt.Key(event.key()) in NAVIGATION_KEYS

    @staticmethod
    def _wheel(watched: QObject, event: QWheelEvent) -> bool:
        field = value_widget(watched)
        if field is None or field.hasFocus():
            return False
        area = _scroll_area_above(field)
        if area is not None:
            viewport = area.viewport()
            position = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
            forwarded = QWheelEvent(
                position,
                event.globalPosition(),
                event.pixelDelta(),
                event.angleDelta(),
                event.buttons(),
                event.modifiers(),
                event.phase(),
                event.inverted(),
            )
            QApplication.sendEvent(viewport, forwarded)
            return True
        event.ignore()  # nothing to scroll: Qt offers it to the parents
        return True


def _in_tool_bar(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QToolBar):
            return True
        parent = parent.parentWidget()
    return False


def _scroll_area_above(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and not isinstance(parent, QAbstractItemView):
            return parent
        parent = parent.parentWidget()
    return None


_installed: InputFilter | None = None


def install_input_filter() -> InputFilter | None:
    """Install the filter on the running QApplication (once; later calls return it)."""
    global _installed
    app = QApplication.instance()
    if app is None:
        return None
    if _installed is None or _installed.parent() is not app:
        _installed = InputFilter(app)
        app.installEventFilter(_installed)
    return _installed
