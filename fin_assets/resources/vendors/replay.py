"""Record vendor answers in the raw layer and replay them offline.

In `record` mode every successful answer is archived, byte for byte, under
`raw/_responses/{vendor}/{request id}/{fetched-at}-{sha256[:16]}.body`, with a `.meta.json`
beside it (vendor, endpoint, params without secrets, status, content type, fetched-at UTC,
sha256). The request id is the SHA-256 of the endpoint and its public parameters, so the same
request always lands in the same folder. In `replay` mode the client makes no HTTP call and
serves the newest recorded answer of the request, or raises VendorRecordingMissing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime

from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.vendors.errors import VendorBadRequest
from fin_assets.resources.vendors.http_client import VendorResponse

ARCHIVE_PREFIX = "raw/_responses"


class VendorRecordingMissing(VendorBadRequest):
    """Replay mode found no recorded answer for the request."""


def request_id(endpoint: str, params: Mapping[str, str]) -> str:
    """Stable id of a request: SHA-256 of its endpoint and sorted public parameters."""
    canonical = json.dumps([endpoint, sorted(params.items())], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class ResponseArchive:
    """Recorded answers of every vendor in one lake."""

    def __init__(self, lake: ParquetLake) -> None:
        self.lake = lake

    def folder(self, vendor: str, endpoint: str, params: Mapping[str, str]) -> str:
        return f"{ARCHIVE_PREFIX}/{vendor}/{request_id(endpoint, params)}"

    def save(self, response: VendorResponse) -> str:
        """Archive `response` (immutable; identical bytes are stored once); returns its key."""
        digest = hashlib.sha256(response.content).hexdigest()
        folder = self.folder(response.vendor, response.endpoint, response.params)
        stamp = response.fetched_at.strftime("%Y%m%dT%H%M%S%fZ")
        stem = f"{folder}/{stamp}-{digest[:16]}"
        meta = {
            "vendor": response.vendor,
            "endpoint": response.endpoint,
            "params": dict(response.params),
            "status": response.status,
            "content_type": response.content_type,
            "fetched_at": response.fetched_at.isoformat(),
            "sha256": digest,
        }
        self.lake.put_object(f"{stem}.body", response.content)
        self.lake.put_object(f"{stem}.meta.json", json.dumps(meta, indent=2).encode())
        return f"{stem}.body"

    def load(self, vendor: str, endpoint: str, params: Mapping[str, str]) -> VendorResponse:
        """The newest recorded answer of the request."""
        folder = self.folder(vendor, endpoint, params)
        bodies = [key for key in self.lake.list_objects(folder) if key.endswith(".body")]
        if not bodies:
            raise VendorRecordingMissing(
                vendor, f"no recorded answer for {endpoint} {dict(params)} under {folder}"
            )
        newest = bodies[-1]
        meta = json.loads(self.lake.get_object(newest.removesuffix(".body") + ".meta.json"))
        return VendorResponse(
            vendor=vendor,
            endpoint=endpoint,
            params=dict(params),
            status=int(meta["status"]),
            content_type=str(meta["content_type"]),
            content=self.lake.get_object(newest),
            fetched_at=datetime.fromisoformat(meta["fetched_at"]),
        )
