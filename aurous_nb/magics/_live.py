"""One live output that a magic updates in place: an HTML display id, or text in a terminal.

Renders are throttled and only sent when they changed; every update happens on the caller's
(main) thread, never from the flow's worker threads.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

Mode = Literal["html", "text"]


def frontend_mode(shell: Any, setting: str = "auto") -> Mode:
    """``"html"`` under a kernel or a rich display publisher, ``"text"`` in a terminal.

    Args:
        shell: the IPython shell.
        setting: ``"auto"``, ``"html"`` or ``"text"`` (``AurousMagics.display_mode``).
    """
    if setting in ("html", "text"):
        return setting  # type: ignore[return-value]
    if getattr(shell, "kernel", None) is not None:
        return "html"
    from IPython.core.displaypub import DisplayPublisher

    formatter = getattr(shell, "display_formatter", None)
    active = getattr(formatter, "active_types", ()) or ()
    publisher = getattr(shell, "display_pub", None)
    # The base DisplayPublisher (plain IPython, `python` + IPython) prints text/plain only;
    # terminal IPython narrows active_types to text/plain.
    if "text/html" not in active or type(publisher) is DisplayPublisher:
        return "text"
    return "html"


class LiveView:
    """A single output updated in place.

    In ``"html"`` mode it is one ``display(..., display_id=True)`` followed by updates of that
    display id (a bundle with ``text/html`` and ``text/plain``). In ``"text"`` mode each refresh
    prints only lines not printed before, comparing them without their digits (progress
    percentages and countdowns), so a terminal shows a short log of the state changes rather
    than repeated screens.

    Args:
        mode: ``"html"`` or ``"text"``.
        html: returns the current HTML.
        text: returns the current plain-text rendering.
        interval: the shortest time between two updates, in seconds.
        clock: monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        mode: Mode,
        *,
        html: Callable[[], str],
        text: Callable[[], str],
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mode = mode
        self._html = html
        self._text = text
        self.interval = interval
        self._clock = clock
        self._handle: Any = None
        self._last_sent: object = None
        self._printed: set[tuple[str, int]] = set()
        self._last_time = float("-inf")
        self.updates = 0
        """How many times the output was sent (the first display included)."""

    def render_with(self, *, html: Callable[[], str], text: Callable[[], str]) -> None:
        """Render from now on with these functions (the same output goes on: downloads, then
        the flow)."""
        self._html, self._text = html, text

    def show(self) -> None:
        """Display the first rendering (once)."""
        if self._handle is None and not self._printed:
            self._send(first=True)

    def refresh(self, *, force: bool = False) -> bool:
        """Update the output if it changed and ``interval`` has passed (or ``force``).

        Returns:
            True when an update was sent.
        """
        if not force and self._clock() - self._last_time < self.interval:
            return False
        return self._send(first=self._handle is None and self.mode == "html")

    def _send(self, *, first: bool) -> bool:
        self._last_time = self._clock()
        if self.mode == "text":
            return self._print_changed_lines()
        from IPython.display import display

        bundle = {"text/html": self._html(), "text/plain": self._text()}
        if bundle == self._last_sent:
            return False
        self._last_sent = bundle
        if first:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
        self.updates += 1
        return True

    def _print_changed_lines(self) -> bool:
        fresh = []
        seen: Counter[str] = Counter()
        for line in self._text().splitlines():
            shape = _VOLATILE.sub("", line)
            seen[shape] += 1
            key = (shape, seen[shape])  # the k-th line of this shape, e.g. two "b.png" refs
            if key not in self._printed:
                self._printed.add(key)
                fresh.append(line)
        if not fresh:
            return False
        print("\n".join(fresh), flush=True)
        self.updates += 1
        return True


_VOLATILE = re.compile(r"\[[#.]+\]|[0-9]+")  # progress bars, percentages, countdowns
