"""Downloading the URL lines of a ``%%aurous_character`` cell: one deadline for the whole of
each download, progress the live output shows, and errors that name the URL (scheme, host and
path, never the query) and say in words what happened.

Downloads run on worker threads (a few at once); the cell's thread only watches and refreshes
the output, so Ctrl-C stops them at once (the sockets are shut, not waited for).
"""

from __future__ import annotations

import concurrent.futures as cf
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from .._text import format_duration, format_size, one_line
from ..display import ERROR, MUTED, escape
from ._cellbody import CellBodyError

__all__ = ["Download", "downloads_html", "downloads_text", "fetch_all", "fetch_url", "shown_url"]

MAX_REDIRECTS = 10
PARALLEL = 4
"""Downloads at the same time."""
_CHUNK = 64 * 1024
_NOT_IMAGES = ("text/", "application/json", "application/xml", "application/xhtml")

State = Literal["waiting", "downloading", "done", "failed"]


def shown_url(url: str) -> str:
    """``scheme://host[:port]/path``: the URL without user info, query or fragment (a signed
    URL's query is its credential)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return one_line(url.split("?", 1)[0].split("#", 1)[0])
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return one_line(f"{parts.scheme}://{host}{port}{parts.path or '/'}")


@dataclass
class Download:
    """One URL line's download, updated from its worker thread (read it, don't write it)."""

    url: str
    name: str
    received: int = 0
    total: int | None = None
    """The size the server declared (Content-Length), or None."""
    state: State = "waiting"
    error: str | None = None
    data: bytes | None = field(default=None, repr=False)
    _response: Any = field(default=None, repr=False)  # while streaming, for an abort


class _Aborted(Exception):
    """The download was stopped from outside (the deadline, or Ctrl-C)."""


def _fail(name: str, url: str, what: str, fix: str) -> CellBodyError:
    return CellBodyError(None, f"{name}: download of {shown_url(url)} failed: {what} — {fix}")


def _seconds(t: float) -> str:
    return f"{t:g} s" if t < 60 else format_duration(t)


def _of(received: int, total: int | None) -> str:
    return f"{format_size(received)} of {format_size(total)}" if total else format_size(received)


def _shut(response: Any) -> None:
    """Shut the socket under a streaming response, so a read blocked on it returns now."""
    try:
        sock = response.raw.connection.sock
        sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # noqa: BLE001 - already closed, or not a plain socket: close() is enough
        pass
    try:
        response.close()
    except Exception:  # noqa: BLE001 - closing a broken connection may raise; it is closed
        pass


def fetch_url(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    name: str | None = None,
    download: Download | None = None,
    abort: threading.Event | None = None,
) -> bytes:
    """Download one reference image over http(s) within ``timeout`` seconds, all told.

    Args:
        url: an ``http://`` or ``https://`` URL.
        max_bytes: the largest body accepted (``Content-Length`` and while reading).
        timeout: seconds for the whole download: connecting, redirects and every byte.
        name: the ref's name, for errors (default: the URL).
        download: updated with the progress while reading.
        abort: set from another thread to stop the download at once.

    Returns:
        The body.

    Raises:
        CellBodyError: one line naming the URL, what happened, and what to do.
    """
    import requests  # already a dependency; imported lazily like the client

    shown = name or shown_url(url)
    state = download or Download(url, shown)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise _fail(shown, url, "only http and https URLs are downloaded", "use an http(s) URL")
    deadline = time.monotonic() + timeout
    stopped = abort or threading.Event()
    session = requests.Session()
    session.max_redirects = MAX_REDIRECTS
    watchdog: threading.Timer | None = None
    late = threading.Event()
    response: Any = None
    try:
        # each socket wait is bounded by the time left; the body by the watchdog below
        response = session.get(url, stream=True, timeout=max(0.01, timeout), allow_redirects=True)
        state._response = response
        if stopped.is_set():
            raise _Aborted

        def stop() -> None:
            late.set()
            _shut(response)

        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), stop)
        watchdog.daemon = True
        watchdog.start()
        _check_response(shown, url, response, max_bytes)
        declared = response.headers.get("Content-Length", "")
        state.total = int(declared) if declared.isdigit() else None
        state.state = "downloading"
        chunks: list[bytes] = []
        read = getattr(response.raw, "read1", None) or response.raw.read
        while True:
            if stopped.is_set():
                raise _Aborted
            try:
                chunk = read(_CHUNK, decode_content=True)
            except Exception as exc:
                if late.is_set() or stopped.is_set():
                    raise _Aborted from exc
                raise _fail(
                    shown,
                    url,
                    f"the server closed the connection after {_of(state.received, state.total)}",
                    "try again, or download it yourself and use its path",
                ) from exc
            if not chunk:
                break
            state.received += len(chunk)
            if state.received > max_bytes:
                raise _fail(
                    shown,
                    url,
                    f"more than the {format_size(max_bytes)} download limit",
                    "save a smaller copy and use its path (or raise "
                    "%config AurousMagics.download_max_bytes)",
                )
            chunks.append(chunk)
        if late.is_set() or stopped.is_set():
            raise _Aborted
        if state.total is not None and state.received < state.total:
            raise _fail(
                shown,
                url,
                f"the server closed the connection after {_of(state.received, state.total)}",
                "try again, or download it yourself and use its path",
            )
        if not state.received:
            raise _fail(shown, url, "the server sent an empty body", "check the URL")
        data = b"".join(chunks)
    except _Aborted:
        if stopped.is_set() and not late.is_set():
            raise _fail(shown, url, "stopped", "run the cell again") from None
        raise _fail(
            shown,
            url,
            f"not finished within {_seconds(timeout)} "
            f"(received {_of(state.received, state.total)})",
            "try again, raise %config AurousMagics.download_timeout, or download it yourself",
        ) from None
    except requests.RequestException as exc:
        if late.is_set():
            raise _fail(
                shown,
                url,
                f"not finished within {_seconds(timeout)}",
                "try again, raise %config AurousMagics.download_timeout, or download it yourself",
            ) from None
        raise _fail(shown, url, _explain(exc, timeout), _fix_for(exc)) from None
    finally:
        state._response = None
        if watchdog is not None:
            watchdog.cancel()
        if response is not None:
            response.close()
        session.close()
    state.state, state.data = "done", data
    return data


def _check_response(shown: str, url: str, response: Any, max_bytes: int) -> None:
    if response.status_code >= 400:
        reason = f" {response.reason}" if response.reason else ""
        raise _fail(shown, url, f"HTTP {response.status_code}{reason}", "check the URL")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type.startswith(_NOT_IMAGES):
        what = "a web page" if "html" in content_type else "a text document"
        raise _fail(
            shown,
            url,
            f"got {what} ({content_type}), not an image",
            "use the image's own address (open the image, then copy its URL)",
        )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _fail(
            shown,
            url,
            f"{format_size(int(declared))} is over the {format_size(max_bytes)} download limit",
            "save a smaller copy and use its path (or raise "
            "%config AurousMagics.download_max_bytes)",
        )


def _explain(exc: BaseException, timeout: float) -> str:
    """What a requests exception means, in words."""
    import requests

    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.InvalidSchema):
        scheme = "file://" if "file:" in text else "non-http"
        return f"redirected to a {scheme} URL, which is not downloaded"
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS connection failed (certificate or protocol)"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection within {_seconds(timeout)}"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"the server sent nothing for {_seconds(timeout)}"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the server closed the connection in the middle of the body"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if "refused" in text:
            return "the connection was refused (nothing listens there)"
        if "name or service not known" in text or "nodename nor servname" in text:
            return "the host name is not known"
        if "getaddrinfo" in text or "resolve" in text:
            return "the host name could not be resolved"
        return "the connection failed"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
        return "the URL is not valid"
    return f"the request failed ({type(exc).__name__})"


def _fix_for(exc: BaseException) -> str:
    import requests

    if isinstance(exc, (requests.exceptions.InvalidSchema, requests.exceptions.TooManyRedirects)):
        return "use the image's final http(s) address, or download it yourself and use its path"
    return "check the URL and the network"


def fetch_all(
    downloads: Sequence[Download],
    *,
    max_bytes: int,
    timeout: float,
    tick: Callable[[], None] | None = None,
    interval: float = 0.1,
) -> list[bytes]:
    """Download every ``Download`` (a few at once), calling ``tick`` on this thread meanwhile.

    Returns the bodies in order. Raises the first failure (in order) once all have ended;
    on KeyboardInterrupt every download is stopped and the interrupt re-raised.
    """
    abort = threading.Event()

    def one(item: Download) -> bytes:
        try:
            return fetch_url(
                item.url,
                max_bytes=max_bytes,
                timeout=timeout,
                name=item.name,
                download=item,
                abort=abort,
            )
        except CellBodyError as exc:
            item.state, item.error = "failed", exc.message
            raise

    pool = cf.ThreadPoolExecutor(min(PARALLEL, max(1, len(downloads))), "aurous-download")
    try:
        futures = [pool.submit(one, item) for item in downloads]
        pending = set(futures)
        while pending:
            _done, pending = cf.wait(pending, timeout=interval)
            if tick is not None:
                tick()
    except KeyboardInterrupt:
        abort.set()
        for item in downloads:  # a read blocked on a socket returns once it is shut
            if item._response is not None:
                _shut(item._response)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]
    return [f.result() for f in futures]


# ---- the live output -------------------------------------------------------------------------


def _line(item: Download) -> str:
    if item.state == "failed":
        return item.error or "failed"
    if item.state == "done":
        return f"downloaded {format_size(item.received)}"
    if item.state == "waiting":
        return "waiting"
    if item.total:
        return (
            f"downloading {_of(item.received, item.total)} ({item.received * 100 // item.total}%)"
        )
    return f"downloading {format_size(item.received)}"


def downloads_text(downloads: Sequence[Download]) -> str:
    """One line per URL: name, address, progress (control characters escaped)."""
    lines = [f"downloading {len(downloads)} image{'s' if len(downloads) != 1 else ''}"]
    for i, item in enumerate(downloads, 1):
        lines.append(
            f"  {i}. {one_line(item.name)}  {shown_url(item.url)}  {one_line(_line(item))}"
        )
    return "\n".join(lines)


def downloads_html(downloads: Sequence[Download]) -> str:
    """The downloads as a small table (every string escaped)."""
    rows = []
    for i, item in enumerate(downloads, 1):
        pct = 100 if item.state == "done" else 0
        if item.total and item.state == "downloading":
            pct = min(100, item.received * 100 // item.total)
        colour = ERROR if item.state == "failed" else MUTED
        rows.append(
            f'<tr class="aurous-download" data-state="{escape(item.state)}">'
            f"<td>{i}</td><td><b>{escape(item.name)}</b><br>"
            f'<span style="color:{MUTED};font-size:11px">{escape(shown_url(item.url))}</span></td>'
            f'<td style="min-width:120px"><div style="height:5px;background:#eef0f3;'
            f'border-radius:3px"><div style="width:{pct}%;height:5px;border-radius:3px;'
            f'background:{colour}"></div></div>'
            f'<span style="color:{colour};font-size:11px">{escape(_line(item))}</span></td></tr>'
        )
    return (
        '<div class="aurous-downloads"><div>downloading the URL lines</div>'
        f'<table style="border-collapse:collapse">{"".join(rows)}</table></div>'
    )
