"""The team's characters as a gallery sees them: pages of the list with local filters, each
ref's thumbnail fetched once per session, and characters in ``synthesizing`` polled.

``GET /v1/characters`` has no filters (API.md §9.6), so status and name are filtered here,
fetching further pages until a gallery page is full or the list ends. Ref URLs are signed
storage links that expire in about 24 h; thumbnails are cached by the URL's path, which stays
the same when the token changes, and only ever kept as small data URIs.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..images import data_uri, thumbnail_of
from ..models import SETTLED, Character

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient

log = logging.getLogger("aurous_nb")

STATUS_FILTERS = ("all", "ready", "reviewing", "synthesizing", "failed")
"""What the status filter offers ("all" shows every status but deleted)."""
LIST_LIMIT = 100
"""Characters asked for per list request (the API's maximum)."""


@dataclass
class Filters:
    """What a gallery shows: a status (None for all) and a part of the name (any case)."""

    status: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.status in ("all", ""):
            self.status = None
        if self.status is not None and self.status not in STATUS_FILTERS:
            raise ValueError(f"status={self.status!r} is not one of {', '.join(STATUS_FILTERS)}")

    def match(self, character: Character) -> bool:
        if self.status is not None and character.status != self.status:
            return False
        return self.name.strip().casefold() in character.name.casefold()


@dataclass
class Catalog:
    """Pages through the team's characters, newest first, keeping those that match.

    Not thread-safe by itself: the gallery calls it from one worker at a time.
    """

    client: AurousClient
    filters: Filters = field(default_factory=Filters)
    page_size: int = 24
    items: list[Character] = field(default_factory=list)
    """What is shown, in order."""
    _cursor: str | None = None
    _ended: bool = False
    _waiting: list[Character] = field(default_factory=list)  # matched, not shown yet

    @property
    def has_more(self) -> bool:
        """Whether "Load more" can show more."""
        return bool(self._waiting) or not self._ended

    def load_more(self) -> list[Character]:
        """Show up to ``page_size`` more matching characters; returns those added."""
        while len(self._waiting) < self.page_size and not self._ended:
            page = self.client.list_characters(limit=LIST_LIMIT, starting_after=self._cursor)
            self._waiting.extend(c for c in page.data if self.filters.match(c))
            self._ended = not page.has_more or page.next_cursor in (None, self._cursor)
            self._cursor = page.next_cursor
        added, self._waiting = self._waiting[: self.page_size], self._waiting[self.page_size :]
        self.items.extend(added)
        return added

    def restart(self, filters: Filters | None = None) -> list[Character]:
        """Start over from the newest (with new filters); returns the first page."""
        if filters is not None:
            self.filters = filters
        self.items, self._waiting, self._cursor, self._ended = [], [], None, False
        return self.load_more()

    def replace(self, character: Character) -> None:
        """Put a fresh copy of a shown character in its place (or drop it: deleted, or no
        longer matching the filters)."""
        for i, shown in enumerate(self.items):
            if shown.id == character.id:
                if character.status == "deleted" or not self.filters.match(character):
                    del self.items[i]
                else:
                    self.items[i] = character
                return

    def remove(self, character_id: str) -> None:
        """Drop a shown character (after a delete)."""
        self.items = [c for c in self.items if c.id != character_id]

    def unsettled(self) -> list[Character]:
        """Shown characters whose status is still changing (``synthesizing``)."""
        return [c for c in self.items if c.status not in SETTLED]


class Thumbnails:
    """Each ref's thumbnail, fetched once per session and kept by its URL's path.

    Requests are worked off in the order they were made (the order of the page), a few at a
    time; ``ready(url, data_uri)`` is called from a worker thread for each one done.
    """

    _cache: OrderedDict[str, str] = OrderedDict()  # the session's: path -> data URI
    _cache_lock = threading.Lock()
    CACHE_SIZE = 600
    """Thumbnails kept (each 5–20 KB)."""

    def __init__(
        self,
        client: AurousClient,
        ready: Callable[[str, str], None],
        *,
        workers: int = 4,
    ) -> None:
        self._client = client
        self._ready = ready
        self._pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="aurous-thumbs")
        self._asked: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def key(url: str) -> str:
        """What identifies a ref across freshly signed URLs: its path."""
        return urlsplit(url).path

    def get(self, url: str) -> str | None:
        """The thumbnail if it is cached, else None."""
        with self._cache_lock:
            uri = self._cache.get(self.key(url))
            if uri is not None:
                self._cache.move_to_end(self.key(url))
            return uri

    def want(self, urls: Iterable[str]) -> None:
        """Fetch the thumbnails not cached or asked for yet, in this order."""
        for url in urls:
            key = self.key(url)
            with self._lock:
                if key in self._asked or self.get(url) is not None:
                    continue
                self._asked.add(key)
            try:
                self._pool.submit(self._fetch, url)
            except RuntimeError:  # closed
                return

    def _fetch(self, url: str) -> None:
        try:
            uri = data_uri(thumbnail_of(self._client.download_ref(url)))
        except Exception as exc:  # a missing thumbnail shows as a placeholder, not an error
            log.debug("thumbnail of %s failed: %s", self.key(url), exc)
            with self._lock:
                self._asked.discard(self.key(url))
            return
        with self._cache_lock:
            self._cache[self.key(url)] = uri
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        self._ready(url, uri)

    def close(self) -> None:
        """Stop fetching (what is in flight finishes)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
