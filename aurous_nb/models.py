"""Frozen dataclasses for what the API returns, each with a tolerant ``from_dict``.

Unknown keys are ignored (the vendor adds fields); timestamps become UTC-aware datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, Literal, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

from .limits import TICKET_TTL

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
    "parse_timestamp",
]

Pose = Literal["portrait", "front", "side", "back", "other"]
Status = Literal["synthesizing", "reviewing", "ready", "failed", "deleted"]

POSES: tuple[Pose, ...] = ("portrait", "front", "side", "back", "other")
STATUSES: tuple[Status, ...] = ("synthesizing", "reviewing", "ready", "failed", "deleted")
SETTLED: tuple[Status, ...] = ("ready", "reviewing", "failed", "deleted")
"""Statuses a character stays in until someone acts; every other status is still changing."""


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


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _required_time(value: object) -> datetime:
    return parse_timestamp(value) or _EPOCH


def _str(value: object, default: str = "") -> str:
    return default if value is None else str(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _float(value: object, default: float = 0.0) -> float:
    try:
        return float(cast(Any, value))
    except (TypeError, ValueError):
        return default


def _pose(value: object) -> Pose:
    for pose in POSES:
        if value == pose:
            return pose
    return "other"


def _short_url(url: str) -> str:
    """A signed URL without its query (the signature), for reprs and logs."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "…", ""))


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """One minted upload: a 15-minute signed PUT URL and a 24-hour ticket (``upload_id``).

    Attributes:
        upload_id: ``upl_...``; what classify and create take.
        upload_url: signed PUT URL (the signature is in the query; never printed in full).
        upload_headers: headers the PUT must send, exactly.
        expires_at: when the URL stops working (UTC).
        minted_at: when the ticket was minted (UTC, client clock unless the server says).
    """

    upload_id: str
    upload_url: str = field(repr=False)
    upload_headers: dict[str, str] = field(default_factory=dict, hash=False)
    expires_at: datetime = _EPOCH
    minted_at: datetime = field(default_factory=_now)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, minted_at: datetime | None = None) -> UploadTicket:
        """Build from an init response; ``minted_at`` defaults to the dict's or now."""
        headers = d.get("upload_headers") or {}
        minted = (
            parse_timestamp(d.get("minted_at"))
            or parse_timestamp(d.get("created_at"))
            or minted_at
            or _now()
        )
        return cls(
            upload_id=_str(d.get("upload_id")),
            upload_url=_str(d.get("upload_url")),
            upload_headers={str(k): str(v) for k, v in dict(headers).items()},
            expires_at=_required_time(d.get("expires_at")),
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
    def from_dict(cls, d: Mapping[str, Any]) -> Classification:
        """Build from a classify response."""
        return cls(
            upload_id=_str(d.get("upload_id")),
            pose=_pose(d.get("pose")),
            confidence=_float(d.get("confidence")),
        )


@dataclass(frozen=True, slots=True)
class Ref:
    """One reference image of a character: its pose and an opaque ~24 h URL."""

    pose: Pose
    url: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Ref:
        """Build from one item of a character's ``refs``."""
        return cls(pose=_pose(d.get("pose")), url=_str(d.get("url")))

    def __repr__(self) -> str:
        return f"Ref(pose={self.pose!r}, url={_short_url(self.url)!r})"


@dataclass(frozen=True, slots=True)
class Character:
    """A character as the API returns it."""

    id: str
    name: str
    status: Status
    refs: tuple[Ref, ...] = ()
    created_at: datetime = _EPOCH
    updated_at: datetime = _EPOCH
    attributes: dict[str, Any] | None = field(default=None, hash=False)
    error_message: str | None = None
    aurous_version: str | None = None
    client_reference_id: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Character:
        """Build from a character object (unknown keys and statuses tolerated)."""
        attributes = d.get("attributes")
        created = _required_time(d.get("created_at"))
        return cls(
            id=_str(d.get("id")),
            name=_str(d.get("name")),
            status=cast(Status, _str(d.get("status"), "ready")),
            refs=tuple(Ref.from_dict(r) for r in d.get("refs") or () if isinstance(r, Mapping)),
            created_at=created,
            updated_at=parse_timestamp(d.get("updated_at")) or created,
            attributes=dict(attributes) if isinstance(attributes, Mapping) else None,
            error_message=_opt_str(d.get("error_message")),
            aurous_version=_opt_str(d.get("aurous_version")),
            client_reference_id=_opt_str(d.get("client_reference_id")),
        )

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
    def from_dict(cls, d: Mapping[str, Any]) -> Team:
        """Build from a team object."""
        return cls(
            id=_str(d.get("id")),
            name=_str(d.get("name")),
            credits=_float(d.get("credits")),
            created_at=parse_timestamp(d.get("created_at")),
            billing_email=_opt_str(d.get("billing_email")),
        )


@dataclass(frozen=True, slots=True)
class Balance:
    """The team's credits (``GET /v1/balance``)."""

    credits: float
    held_credits: float
    available_credits: float
    currency: str = "credit"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Balance:
        """Build from a balance object."""
        credits = _float(d.get("credits"))
        held = _float(d.get("held_credits"))
        return cls(
            credits=credits,
            held_credits=held,
            available_credits=_float(d.get("available_credits"), credits - held),
            currency=_str(d.get("currency"), "credit"),
        )


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a cursor-paginated list; iterate it for its items."""

    data: tuple[T, ...]
    has_more: bool = False
    next_cursor: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], item: Callable[[Mapping[str, Any]], T]) -> Page[T]:
        """Build from a list response, converting each item with ``item``."""
        items = tuple(item(x) for x in d.get("data") or () if isinstance(x, Mapping))
        has_more = bool(d.get("has_more"))
        cursor = _opt_str(d.get("next_cursor"))
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
    def from_dict(cls, d: Mapping[str, Any]) -> DeletedCharacter:
        """Build from a delete response."""
        return cls(id=_str(d.get("id")), deleted=bool(d.get("deleted", True)))
