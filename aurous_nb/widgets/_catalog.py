"""The team's characters as a gallery sees them: pages of the list with local filters, each
ref's thumbnail fetched once per session, and characters in ``synthesizing`` polled.

``GET /v1/characters`` has no filters (API.md §9.6), so status and name are matched by the
client (:meth:`~aurous_nb.client.AurousClient.iter_characters`), fetching further pages until
a gallery page is full or the list ends. Ref URLs are signed
storage links that expire in about 24 h; thumbnails are cached by the URL's path, which stays
the same when the token changes, and only ever kept as small data URIs.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..images import data_uri, embedded_thumbnail, thumbnail_of
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


class Catalog:
    """Pages through the team's characters, newest first, keeping those that match.

    Not thread-safe by itself: the gallery calls it from one worker at a time.
    """

    def __init__(self, client: AurousClient, filters: Filters | None = None, page_size: int = 24):
        self.client = client
        self.filters = filters or Filters()
        self.page_size = page_size
        self.items: list[Character] = []
        """What is shown, in order."""
        self._source: Iterator[Character] | None = None
        self._ahead: list[Character] = []  # read one ahead, to know if there is more

    @property
    def has_more(self) -> bool:
        """Whether "Load more" can show more."""
        return self._source is None or bool(self._ahead)

    def load_more(self) -> list[Character]:
        """Show up to ``page_size`` more matching characters; returns those added."""
        if self._source is None:
            self._source = self.client.iter_characters(
                limit=LIST_LIMIT, status=self.filters.status, name=self.filters.name
            )
        added, self._ahead = self._ahead, []
        added += islice(self._source, self.page_size + 1 - len(added))
        added, self._ahead = added[: self.page_size], added[self.page_size :]
        self.items.extend(added)
        return added

    def restart(self, filters: Filters | None = None) -> list[Character]:
        """Start over from the newest (with new filters); returns the first page."""
        if filters is not None:
            self.filters = filters
        self.items, self._source, self._ahead = [], None, []
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

    Two sizes: a card's (``full=False``, shown at 128 px) is the small JPEG the camera stored
    in the photo's EXIF when there is one of at least :data:`CARD_SIDE` px with the photo's
    shape — a header parse instead of decoding the whole photo — else the full one; the full
    thumbnail (≤ 256 px, the detail view's) decodes the photo. Requests are worked off in the
    order they were made (the order of the page), a few at a time; ``ready(url, data_uri)``
    is called from a worker thread for each one done.
    """

    CARD_SIDE = 128
    """Smallest longer side of an embedded thumbnail good enough for a card."""
    _cache: OrderedDict[str, tuple[str, bool]] = OrderedDict()  # path -> (data URI, full)
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
        self._asked: set[tuple[str, bool]] = set()
        self._lock = threading.Lock()

    @staticmethod
    def key(url: str) -> str:
        """What identifies a ref across freshly signed URLs: its path."""
        return urlsplit(url).path

    def get(self, url: str, *, full: bool = False) -> str | None:
        """The thumbnail if it is cached (``full``: only the detail view's), else None."""
        with self._cache_lock:
            found = self._cache.get(self.key(url))
            if found is None or (full and not found[1]):
                return None
            self._cache.move_to_end(self.key(url))
            return found[0]

    def want(self, urls: Iterable[str], *, full: bool = False) -> None:
        """Fetch the thumbnails not cached or asked for yet, in this order."""
        for url in urls:
            asked = (self.key(url), full)
            with self._lock:
                if asked in self._asked or self.get(url, full=full) is not None:
                    continue
                self._asked.add(asked)
            try:
                self._pool.submit(self._fetch, url, full)
            except RuntimeError:  # closed
                return

    def _fetch(self, url: str, full: bool) -> None:
        try:
            data = self._client.download_ref(url)
            small = None if full else embedded_thumbnail(data, self.CARD_SIDE)
            uri, is_full = (
                (data_uri(small), False) if small else (data_uri(thumbnail_of(data)), True)
            )
        except Exception as exc:  # a missing thumbnail shows as a placeholder, not an error
            log.debug("thumbnail of %s failed: %s", self.key(url), exc)
            with self._lock:
                self._asked.discard((self.key(url), full))
            return
        with self._cache_lock:
            kept = self._cache.get(self.key(url))
            if kept is None or is_full or not kept[1]:  # a full one is never replaced by a card's
                self._cache[self.key(url)] = (uri, is_full)
                self._cache.move_to_end(self.key(url))
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        self._ready(url, uri)

    def close(self) -> None:
        """Stop fetching (what is in flight finishes)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
