"""The request log: every request the sandbox received, as tests need to see it."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


class HeaderDict(dict):
    """A plain ``dict`` of request headers whose lookups ignore case.

    Keys keep the spelling the server saw (title-cased, e.g. ``"X-Api-Key"``), so
    ``"x-api-key" in headers`` and ``headers["X-API-KEY"]`` both work.
    """

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(items)
        self._lower = {k.lower(): k for k in self}

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lower

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(self._lower.get(key.lower(), key))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received.

    Attributes:
        method: HTTP method.
        path: URL path (no query).
        query: Query parameters (first value of each).
        headers: Request headers as received (case-insensitive lookups).
        route: Route name (``"init"``, ``"upload"``, ``"storage"``, ...) or ``None``.
        status: Response status, or ``None`` when the connection was dropped.
        time: Sandbox-clock time the request arrived.
        body_size: Bytes of request body read.
        request_id: ``Aurous-Request-Id`` of the response (API routes only).
        fault: ``"drop"``, ``"status"`` or ``None`` (an injected fault answered it).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: HeaderDict
    route: str | None
    status: int | None
    time: float
    body_size: int = 0
    request_id: str | None = None
    fault: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RequestLog:
    """Thread-safe, append-only list of :class:`RecordedRequest`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def append(self, item: RecordedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())
