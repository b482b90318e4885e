"""Helpers shared by the widgets: default client, worker threads, one-line errors."""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _text

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient

log = logging.getLogger("aurous_nb")

MAX_ERROR_CHARS = 300


def default_client() -> AurousClient:
    """The client ``%aurous_key`` set if the magics are loaded, else ``AurousClient()`` from
    the environment.

    Raises:
        ConfigurationError: no client in the magics and no ``AUROUS_API_KEY``.
    """
    from .._session import current_client

    client = current_client()
    if client is not None:
        return client
    from ..client import AurousClient

    return AurousClient()


def error_line(exc: BaseException) -> str:
    """One line for a person: the exception's own message (with its class for errors that
    are not ours, e.g. ``OSError: ...``), shortened; never a traceback."""
    from ..errors import AurousError

    text = _text.error_line(exc)
    if not isinstance(exc, AurousError) and text != type(exc).__name__:
        text = f"{type(exc).__name__}: {text}"
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return text


def error_html(message: str) -> str:
    """An inline error line, escaped, shown whole (it wraps)."""
    if not message:
        return ""
    from ..display import ERROR

    text = html.escape(message)
    return (
        f'<div class="aurous-inline-error" role="alert" '
        f'style="color:{ERROR};font-size:12px;overflow-wrap:anywhere">{text}</div>'
    )


def spawn(name: str, fn: Callable[..., Any], *args: Any) -> threading.Thread:
    """Run ``fn(*args)`` on a daemon worker thread (never as a task on the kernel's loop).

    ipykernel 7 does not reliably wake tasks scheduled on its loop after a cell
    ends (ipykernel#1510), so widget work runs on plain threads; exceptions that
    escape ``fn`` are logged, the widget shows its own error line.
    """

    def run() -> None:
        try:
            fn(*args)
        except Exception:  # pragma: no cover - fn reports its own errors
            log.exception("aurous_nb widget worker %s failed", name)

    thread = threading.Thread(target=run, name=f"aurous-{name}", daemon=True)
    thread.start()
    return thread


class Coalescer:
    """Call ``fn`` at most once per ``delay`` seconds, however often :meth:`poke` is called.

    Flow events arrive from many worker threads, some per PUT chunk; redrawing
    the cards once per burst keeps comm traffic small.
    """

    def __init__(self, fn: Callable[[], None], delay: float = 0.1) -> None:
        self._fn = fn
        self._delay = delay
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False

    def poke(self) -> None:
        """Schedule a call; a call already scheduled (not yet started) covers this one."""
        with self._lock:
            if self._timer is not None or self._closed:
                return
            timer = threading.Timer(self._delay, self._fire)
            timer.daemon = True
            timer.start()  # if this raises, no timer is recorded and the next poke tries again
            self._timer = timer

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            if self._closed:
                return
        try:
            self._fn()
        except Exception:  # pragma: no cover - a redraw must never kill the timer thread
            log.exception("aurous_nb widget redraw failed")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


class SecondClick:
    """A button whose action needs a second click: the first one only relabels it to ask."""

    def __init__(self, button: Any, ask: str = "Click again to delete") -> None:
        self.button, self.label, self.ask = button, button.description, ask
        self.armed = False

    def confirmed(self) -> bool:
        """Whether this click is the second one (the first asks and returns False)."""
        if not self.armed:
            self.armed = True
            self.button.description = self.ask
            return False
        self.reset()
        return True

    def reset(self) -> None:
        """Forget a first click."""
        self.armed = False
        self.button.description = self.label
