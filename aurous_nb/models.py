"""Frozen dataclasses for what the API returns, each with a tolerant but honest ``from_dict``.

Unknown keys are ignored (the vendor adds fields) and missing optional fields take their
defaults, but a body that is not an object, or a known field of the wrong type, raises
:class:`ShapeError`; statuses are kept as sent. Timestamps become UTC-aware datetimes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from .limits import TICKET_TTL, URL_TTL

__all__ = [
    "POSES",
    "SETTLED",
    "STATUSES",
    "Pose",
    "Status",
    "UploadTicket",
    "Classification",
    "Ref",
    "Character",
    "Team",
    "Balance",
    "Page",
    "DeletedCharacter",
    "ShapeError",
    "parse_timestamp",
]

Pose = Literal["portrait", "front", "side", "back", "other"]
Status = Literal["synthesizing", "reviewing", "ready", "failed", "deleted"]

POSES: tuple[Pose, ...] = ("portrait", "front", "side", "back", "other")
STATUSES: tuple[Status, ...] = ("synthesizing", "reviewing", "ready", "failed", "deleted")
SETTLED: tuple[Status, ...] = ("ready", "reviewing", "failed", "deleted")
"""Statuses a character stays in until someone acts; every other status -- ``synthesizing``,
one this client does not know, or none at all -- is still changing."""


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_timestamp(value: object) -> datetime | None:
    """Parse an API timestamp (ISO 8601, any fraction length, ``Z``, or epoch seconds).

    Naive values are taken as UTC; the result is always UTC-aware, or None when the
    value is missing or unreadable.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return _EPOCH + timedelta(seconds=float(value))
    elif isinstance(value, str):
        m = _ISO.match(value.strip())
        if m is None:
            return None
        year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
        second = int(m.group(6) or 0)
        micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
        tz: timezone = timezone.utc
        offset = m.group(8)
        if offset and offset not in ("Z", "z"):
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        try:
            dt = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
        except ValueError:
            return None
    else:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class ShapeError(ValueError):
    """A response body that is not what its endpoint returns (raised by every ``from_dict``).

    The client turns it into :class:`~aurous_nb.errors.APIResponseValidationError`, with the
    status and request id of the response.

    Attributes:
        field: where, as a path (``"status"``, ``"refs[1].pose"``), or None for the whole body.
        problem: what is wrong with it (``"is a number (42), expected a string"``).
    """

    def __init__(self, field: str | None, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field or 'the body'} {problem}")

    def under(self, prefix: str) -> ShapeError:
        """The same error for a value found at ``prefix`` (``"data[3]"``) of a larger body."""
        if self.field is None:
            return ShapeError(prefix, self.problem)
        sep = "" if self.field.startswith("[") else "."
        return ShapeError(f"{prefix}{sep}{self.field}", self.problem)


def _describe(value: object) -> str:
    """A JSON value's type for a message, with a short, one-line preview of scalars."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = " ".join(value.split())
        return f"a string ({(shown[:40] + '…') if len(shown) > 40 else shown!r})"
    if isinstance(value, (list, tuple)):
        return f"an array of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _wrong(key: str, value: object, expected: str) -> ShapeError:
    return ShapeError(key, f"is {_describe(value)}, expected {expected}")


def _body(value: object, what: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, or a ShapeError saying what it is instead."""
    if isinstance(value, Mapping):
        return value
    raise ShapeError(None, f"is {_describe(value)}, expected a JSON object ({what})")


def _kind(d: Mapping[str, Any], expected: str) -> None:
    """The ``object`` discriminator, when present, must name the expected kind."""
    value = d.get("object")
    if value is not None and value != expected:
        raise _wrong("object", value, repr(expected))


def _req_str(d: Mapping[str, Any], key: str) -> str:
    value = d.get(key)
    if value is None:
        raise ShapeError(key, "is missing" if key not in d else "is null, expected a string")
    if not isinstance(value, str):
        raise _wrong(key, value, "a string")
    return value


def _opt_str(d: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = d.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _wrong(key, value, "a string or null")
    return value


def _str(d: Mapping[str, Any], key: str, default: str = "") -> str:
    value = _opt_str(d, key)
    return default if value is None else value


def _float(d: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    value = d.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong(key, value, "a number")
    if not math.isfinite(value):
        raise _wrong(key, value, "a finite number")
    return float(value)


def _bool(d: Mapping[str, Any], key: str, default: bool) -> bool:
    value = d.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _wrong(key, value, "true or false")
    return value


def _time(d: Mapping[str, Any], key: str) -> datetime | None:
    value = d.get(key)
    if value is None:
        return None
    parsed = None if isinstance(value, bool) else parse_timestamp(value)
    if parsed is None:
        raise _wrong(key, value, "an ISO 8601 timestamp")
    return parsed


def _array(d: Mapping[str, Any], key: str, *, required: bool = False) -> list[Any]:
    value = d.get(key)
    if value is None:
        if required:
            raise ShapeError(key, "is missing" if key not in d else "is null, expected an array")
        return []
    if not isinstance(value, list):
        raise _wrong(key, value, "an array")
    return value


def _items(d: Mapping[str, Any], key: str, item: Callable[[Any], T], **kw: bool) -> tuple[T, ...]:
    """Each element of the array ``d[key]`` through ``item``; an element's error says which."""
    out = []
    for i, value in enumerate(_array(d, key, **kw)):
        try:
            out.append(item(value))
        except ShapeError as exc:
            raise exc.under(f"{key}[{i}]") from None
    return tuple(out)


def _short_url(url: str) -> str:
    """A signed URL without its query (the signature), for reprs and logs."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "…", ""))


def _pose(d: Mapping[str, Any], key: str = "pose") -> Pose:
    """A pose label; a missing or unknown (newer) label reads as ``other``."""
    value = _opt_str(d, key)
    for pose in POSES:
        if value == pose:
            return pose
    return "other"


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """One minted upload: a 15-minute signed PUT URL and a 24-hour ticket (``upload_id``).

    Attributes:
        upload_id: ``upl_...``; what classify and create take.
        upload_url: signed PUT URL (the signature is in the query; never printed in full).
        upload_headers: headers the PUT must send, exactly.
        expires_at: when the URL stops working (UTC; minted + 15 min if the server omits it).
        minted_at: when the ticket was minted (UTC, client clock unless the server says).
    """

    upload_id: str
    upload_url: str = field(repr=False)
    upload_headers: dict[str, str] = field(default_factory=dict, hash=False)
    expires_at: datetime = _EPOCH
    minted_at: datetime = field(default_factory=_now)

    @classmethod
    def from_dict(cls, d: Any, *, minted_at: datetime | None = None) -> UploadTicket:
        """Build from an init response; ``minted_at`` defaults to the dict's or now.

        Raises:
            ShapeError: not an object, no ``upload_id``/``upload_url``, or a field of the
                wrong type.
        """
        d = _body(d, "an upload ticket")
        headers = d.get("upload_headers")
        if headers is not None and not isinstance(headers, Mapping):
            raise _wrong("upload_headers", headers, "an object")
        for name, value in (headers or {}).items():
            if not isinstance(value, str):
                raise _wrong(f"upload_headers.{name}", value, "a string")
        minted = _time(d, "minted_at") or _time(d, "created_at") or minted_at or _now()
        return cls(
            upload_id=_req_str(d, "upload_id"),
            upload_url=_req_str(d, "upload_url"),
            upload_headers={str(k): v for k, v in (headers or {}).items()},
            expires_at=_time(d, "expires_at") or minted + URL_TTL,
            minted_at=minted,
        )

    @property
    def ticket_deadline(self) -> datetime:
        """When the ticket itself expires (minted + 24 h); create rejects it afterwards."""
        return self.minted_at + TICKET_TTL

    @property
    def url_expired(self) -> bool:
        """Whether the signed URL is past ``expires_at`` by this machine's clock."""
        return self.url_seconds_left() <= 0

    @property
    def ticket_expired(self) -> bool:
        """Whether the ticket is past its 24-hour deadline by this machine's clock."""
        return self.ticket_seconds_left() <= 0

    def url_seconds_left(self, now: datetime | None = None) -> float:
        """Seconds until the URL expires (negative once expired)."""
        return (self.expires_at - (now or _now())).total_seconds()

    def ticket_seconds_left(self, now: datetime | None = None) -> float:
        """Seconds until the ticket expires (negative once expired)."""
        return (self.ticket_deadline - (now or _now())).total_seconds()

    def __repr__(self) -> str:
        url = _short_url(self.upload_url)
        return (
            f"UploadTicket(upload_id={self.upload_id!r}, upload_url={url!r}, "
            f"expires_at={self.expires_at.isoformat()!r})"
        )


@dataclass(frozen=True, slots=True)
class Classification:
    """The pose the API detected for one uploaded image."""

    upload_id: str
    pose: Pose
    confidence: float

    @classmethod
    def from_dict(cls, d: Any, *, upload_id: str = "") -> Classification:
        """Build from a classify response (``upload_id``: the id asked about, if not echoed).

        A missing or unknown pose label reads as ``other``, a missing confidence as 0.
        """
        d = _body(d, "a classification")
        return cls(
            upload_id=_str(d, "upload_id", upload_id),
            pose=_pose(d),
            confidence=_float(d, "confidence"),
        )


@dataclass(frozen=True, slots=True)
class Ref:
    """One reference image of a character: its pose and an opaque ~24 h URL."""

    pose: Pose
    url: str

    @classmethod
    def from_dict(cls, d: Any) -> Ref:
        """Build from one item of a character's ``refs``."""
        d = _body(d, "a ref")
        return cls(pose=_pose(d), url=_str(d, "url"))

    def __repr__(self) -> str:
        return f"Ref(pose={self.pose!r}, url={_short_url(self.url)!r})"


@dataclass(frozen=True, slots=True)
class Character:
    """A character as the API returns it.

    Attributes:
        status: as the server sent it: one of :data:`STATUSES`, a status this client does
            not know yet, or None when the server sent none. Never filled in: a character
            without a status is not taken to be ``ready`` (see :attr:`settled`).
    """

    id: str
    name: str
    status: str | None
    refs: tuple[Ref, ...] = ()
    created_at: datetime = _EPOCH
    updated_at: datetime = _EPOCH
    attributes: dict[str, Any] | None = field(default=None, hash=False)
    error_message: str | None = None
    aurous_version: str | None = None
    client_reference_id: str | None = None

    @classmethod
    def from_dict(cls, d: Any) -> Character:
        """Build from a character object (unknown keys and unknown statuses are kept out of
        the way, not refused).

        Raises:
            ShapeError: not an object, no ``id``, ``object`` not ``"character"``, or a known
                field of the wrong type (``refs[1].pose`` is a number, ...).
        """
        d = _body(d, "a character")
        _kind(d, "character")
        attributes = d.get("attributes")
        if attributes is not None and not isinstance(attributes, Mapping):
            raise _wrong("attributes", attributes, "an object or null")
        created = _time(d, "created_at") or _EPOCH
        return cls(
            id=_req_str(d, "id"),
            name=_str(d, "name"),
            status=_opt_str(d, "status"),
            refs=_items(d, "refs", Ref.from_dict),
            created_at=created,
            updated_at=_time(d, "updated_at") or created,
            attributes=None if attributes is None else dict(attributes),
            error_message=_opt_str(d, "error_message"),
            aurous_version=_opt_str(d, "aurous_version"),
            client_reference_id=_opt_str(d, "client_reference_id"),
        )

    @property
    def settled(self) -> bool:
        """Whether the status is one a character stays in until someone acts (:data:`SETTLED`);
        an unknown or missing status is taken to be still changing."""
        return self.status in SETTLED

    @property
    def poses(self) -> tuple[Pose, ...]:
        """The pose of each ref, in order."""
        return tuple(r.pose for r in self.refs)

    def __repr__(self) -> str:
        return (
            f"Character(id={self.id!r}, name={self.name!r}, status={self.status!r}, "
            f"refs={list(self.poses)!r})"
        )

    def _repr_html_(self) -> str:
        from .display import character_html

        return character_html(self)


@dataclass(frozen=True, slots=True)
class Team:
    """The team the API key belongs to (``GET /v1/team``)."""

    id: str
    name: str
    credits: float
    created_at: datetime | None = None
    billing_email: str | None = None

    @classmethod
    def from_dict(cls, d: Any) -> Team:
        """Build from a team object."""
        d = _body(d, "a team")
        return cls(
            id=_req_str(d, "id"),
            name=_str(d, "name"),
            credits=_float(d, "credits"),
            created_at=_time(d, "created_at"),
            billing_email=_opt_str(d, "billing_email"),
        )


@dataclass(frozen=True, slots=True)
class Balance:
    """The team's credits (``GET /v1/balance``).

    Attributes:
        billing_mode: an open enum -- ``"metered"`` or ``"exempt"`` today; any other string
            is kept as sent, and None means the server did not say.
    """

    credits: float
    held_credits: float
    available_credits: float
    currency: str = "credit"
    billing_mode: str | None = None

    @classmethod
    def from_dict(cls, d: Any) -> Balance:
        """Build from a balance object (``credits`` required; the rest may be missing)."""
        d = _body(d, "a balance")
        if d.get("credits") is None:
            raise ShapeError("credits", "is missing" if "credits" not in d else "is null")
        credits = _float(d, "credits")
        held = _float(d, "held_credits")
        return cls(
            credits=credits,
            held_credits=held,
            available_credits=_float(d, "available_credits", credits - held),
            currency=_str(d, "currency", "credit"),
            billing_mode=_opt_str(d, "billing_mode"),
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a cursor-paginated list; iterate it for its items."""

    data: tuple[T, ...]
    has_more: bool = False
    next_cursor: str | None = None

    @classmethod
    def from_dict(cls, d: Any, item: Callable[[Any], T]) -> Page[T]:
        """Build from a list response, converting each item with ``item``.

        Raises:
            ShapeError: no ``data`` array, an item that ``item`` refuses (``data[3].status``),
                or ``has_more``/``next_cursor`` of the wrong type.
        """
        d = _body(d, "a list")
        _kind(d, "list")
        items = _items(d, "data", item, required=True)
        has_more = _bool(d, "has_more", False)
        cursor = _opt_str(d, "next_cursor")
        return cls(data=items, has_more=has_more and cursor is not None, next_cursor=cursor)

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class DeletedCharacter:
    """What ``DELETE /v1/characters/{id}`` returns."""

    id: str
    deleted: bool

    @classmethod
    def from_dict(cls, d: Any, *, character_id: str = "") -> DeletedCharacter:
        """Build from a delete response (``character_id``: the id asked about, if not echoed)."""
        d = _body(d, "a deleted character")
        _kind(d, "character")
        return cls(id=_str(d, "id", character_id), deleted=_bool(d, "deleted", True))
