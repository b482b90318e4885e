"""The parallel peer: the upload flow as a competent user writes it with plain requests."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def create_character(base_url: str, api_key: str, name: str, paths: list[Path]) -> dict:
    """Init, PUT and classify every image in parallel, then create the character."""
    api = {"X-Api-Key": api_key}
    with requests.Session() as session:

        def upload(path: Path) -> str:
            ext = path.suffix[1:].lower()
            body = {"filename": path.name, "extension": ext, "content_type": TYPES[ext]}
            r = session.post(f"{base_url}/v1/characters/uploads/init", json=body, headers=api)
            r.raise_for_status()
            ticket = r.json()
            with open(path, "rb") as f:  # streamed from disk
                r = session.put(ticket["upload_url"], data=f, headers=ticket["upload_headers"])
            r.raise_for_status()
            body = {"upload_id": ticket["upload_id"]}
            r = session.post(f"{base_url}/v1/characters/uploads/classify", json=body, headers=api)
            r.raise_for_status()
            return ticket["upload_id"]

        with ThreadPoolExecutor(max_workers=len(paths)) as pool:
            upload_ids = list(pool.map(upload, paths))
        body = {"name": name, "upload_ids": upload_ids}
        r = session.post(f"{base_url}/v1/characters", json=body, headers=api)
        r.raise_for_status()
        return r.json()
