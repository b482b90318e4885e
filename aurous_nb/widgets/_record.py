"""A widget's record output (plain HTML kept in the notebook) and its liveness companion.

:class:`Record` displays a widget's final results as a plain HTML output with a display id
and updates it from any thread (see :mod:`aurous_nb.display._record` for why). In JupyterLab
and Notebook 7 an update from a worker thread reaches the output even after its cell finished
(``tests/system/test_browser_persistence.py``); nbclient applies it while a later cell runs.

:class:`LiveLink` is a tiny anywidget for widgets with no browser code of their own: it hides
the records while the widget is live and says in one line when the kernel is gone.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ._dropzone import browser_config
from ._esm import bundle

log = logging.getLogger("aurous_nb")

_STATIC = Path(__file__).resolve().parent / "static"


class Record:
    """The plain-HTML output that keeps a widget's results in the saved notebook.

    Args:
        render: returns the record as ``(html, text)``; called on every show and update.
    """

    def __init__(self, render: Callable[[str], tuple[str, str]]) -> None:
        self.id = "rec-" + secrets.token_hex(8)
        """Marks the record's outputs (``data-aurous-record``); also its display id."""
        self._render = render
        self._lock = threading.Lock()
        self._shown = False
        self._sent: dict[str, str] | None = None

    def bundle(self) -> dict[str, str]:
        html, text = self._render(self.id)
        return {"text/html": html, "text/plain": text}

    def show(self) -> None:
        """Display the record (below the widget); later :meth:`update` calls refresh it.

        Only under a kernel: a terminal shows the widget's text and has nothing to save.
        """
        from IPython import get_ipython
        from IPython.display import display

        if getattr(get_ipython(), "kernel", None) is None:
            return
        with self._lock:
            self._sent = self.bundle()
            display(self._sent, raw=True, display_id=self.id)
            self._shown = True

    def show_under(self, widget: Any, **kwargs: Any) -> None:
        """Display ``widget`` (for its ``_ipython_display_``) and this record under it.

        In the widget's place a viewer without widgets shows a line saying its results are in
        the next output (its repr would be stale there).
        """
        from IPython.display import display

        from ..display import PHRASES

        bundle = widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = PHRASES["live_only"].format(type(widget).__name__)
        display(bundle, raw=True)
        self.show()

    def update(self) -> None:
        """Refresh every output of this record (from any thread); nothing if never shown or
        unchanged."""
        from IPython.display import update_display

        with self._lock:
            if not self._shown:
                return
            try:
                fresh = self.bundle()
                if fresh == self._sent:
                    return
                self._sent = fresh
                update_display(fresh, raw=True, display_id=self.id)
            except Exception as exc:  # a record is never worth breaking the widget
                log.debug("updating record %s failed: %s", self.id, exc)


class LiveLink(anywidget.AnyWidget):
    """Hides a widget's records while it is live; one line once its kernel is gone."""

    _esm = bundle("live.js")
    _css = _STATIC / "uploader.css"

    record_id = traitlets.Unicode("", help="The records to hide while live.").tag(sync=True)
    config = traitlets.Dict(help="Words for the browser (see browser_config).").tag(sync=True)

    def __init__(self, record_id: str, **kwargs: Any) -> None:
        super().__init__(record_id=record_id, config=browser_config(0), **kwargs)
