"""The docs' way: the documented upload sequence, one call after another, with plain requests.

For 6 refs that is 19 round trips — per ref ``uploads/init``, the ``PUT`` to the signed URL
and ``uploads/classify`` (18), then ``POST /v1/characters`` (1) — with no local checks, no
parallelism and no retries, as a user following the API reference would write it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import requests

VERSION = "2026-05-15"


def docs_way(base_url: str, api_key: str, paths: Sequence[Path], name: str) -> tuple[str, int]:
    """Create one character from ``paths`` the documented way.

    Returns:
        (character id, number of round trips made).
    """
    headers = {"X-Api-Key": api_key, "Aurous-Version": VERSION}
    trips = 0
    upload_ids = []
    with requests.Session() as session:  # keep-alive: the baseline is not made slow on purpose
        for path in paths:
            r = session.post(
                f"{base_url}/v1/characters/uploads/init",
                json={"filename": path.name, "extension": "jpg", "content_type": "image/jpeg"},
                headers=headers,
                timeout=60,
            )
            trips += 1
            r.raise_for_status()
            ticket = r.json()
            # the upload host takes no API key: send only the ticket's headers
            r = session.put(
                ticket["upload_url"],
                data=path.read_bytes(),
                headers=ticket["upload_headers"],
                timeout=60,
            )
            trips += 1
            r.raise_for_status()
            r = session.post(
                f"{base_url}/v1/characters/uploads/classify",
                json={"upload_id": ticket["upload_id"]},
                headers=headers,
                timeout=60,
            )
            trips += 1
            r.raise_for_status()
            upload_ids.append(ticket["upload_id"])
        r = session.post(
            f"{base_url}/v1/characters",
            json={"name": name, "generate": False, "upload_ids": upload_ids},
            headers=headers,
            timeout=60,
        )
        trips += 1
        r.raise_for_status()
        return str(r.json()["id"]), trips


def mint(session: requests.Session, base_url: str, api_key: str, filename: str) -> dict:
    """One ``uploads/init`` with plain requests; returns the ticket JSON."""
    r = session.post(
        f"{base_url}/v1/characters/uploads/init",
        json={"filename": filename, "extension": "jpg", "content_type": "image/jpeg"},
        headers={"X-Api-Key": api_key, "Aurous-Version": VERSION},
        timeout=60,
    )
    r.raise_for_status()
    return dict(r.json())


def put(session: requests.Session, ticket: dict, data: bytes) -> None:
    """One ``PUT`` of ``data`` to the ticket's signed URL with plain requests."""
    r = session.put(ticket["upload_url"], data=data, headers=ticket["upload_headers"], timeout=60)
    r.raise_for_status()
