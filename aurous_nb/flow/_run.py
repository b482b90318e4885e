"""How a flow's background work is run and waited for: one cancellable run, waiting for its
requests, and blocking a caller's thread on it while staying interruptible (Ctrl-C)."""

from __future__ import annotations

import concurrent.futures as cf
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import FlowCancelled

T = TypeVar("T")

CANCELLED = "flow cancelled; run it again to resume (finished refs are kept)"


class Run:
    """One background run (prepare or start); cancel() sets ``cancelled`` and wakes it."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.wake = threading.Event()

    def cancel(self) -> None:
        """Stop the run: no new request starts, its waits end at once."""
        self.cancelled.set()
        self.wake.set()


class Stop(Exception):
    """The run was cancelled; stop before the next request (caught by the flow)."""


def stop_if_cancelled(run: Run) -> None:
    """Raise :class:`Stop` if ``run`` was cancelled."""
    if run.cancelled.is_set():
        raise Stop


def wait_all(run: Run, futures: list[cf.Future[Any]]) -> None:
    """Block until every future is done or the run is cancelled (then raise FlowCancelled at
    once: queued work never starts, requests in flight finish on their own threads)."""
    left = [len(futures)]
    lock = threading.Lock()

    def one_done(_: cf.Future[Any]) -> None:
        with lock:
            left[0] -= 1
            if left[0] == 0:
                run.wake.set()

    for f in futures:
        f.add_done_callback(one_done)
    run.wake.wait()
    if run.cancelled.is_set():
        raise FlowCancelled(CANCELLED)
    run.wake.clear()


def block_on(
    future: cf.Future[T],
    cancel: Callable[[], None],
    *,
    tick: Callable[[], None] | None = None,
    interval: float = 0.05,
) -> T:
    """Wait for ``future`` on the calling thread, calling ``tick`` every ``interval`` seconds.

    The wait stays interruptible: on KeyboardInterrupt ``cancel()`` is called, the future is
    given a moment to settle (so the flow records "cancelled"), and the interrupt re-raised.
    """
    try:
        while True:
            try:
                return future.result(timeout=interval)
            except cf.TimeoutError:
                if tick is not None:
                    tick()
    except KeyboardInterrupt:
        cancel()
        try:
            future.exception(timeout=2.0)
        except (cf.TimeoutError, cf.CancelledError):
            pass
        raise
