"""The URLs a run sends its inputs as (issue #22): the page's speculative uploads where they
cover a slot, the take group's shared uploads for a take (kling_ui.runs.takeshare), the rest
uploaded (or inlined) now; and the speculative uploads a run claimed but never sent, deleted."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from functools import partial
from typing import Any

from ..core.config import Secret
from ..core.errors import KlingError
from ..core.models import JobRequest
from ..replicate.protocol import UploadedFile
from .speculative import FileKey, slot_paths
from .takeshare import Sent, TakeShare

log = logging.getLogger(__name__)


async def input_urls(client: Any, token: Secret, job: JobRequest, paths: list[str],
                      early: dict[str, Any], *, share: TakeShare | None = None,
                      ids: dict[str, FileKey | None] | None = None, key: str = "",
                      ) -> tuple[dict[str, str], list[UploadedFile], list[UploadedFile]]:
    """The inputs' URLs: a speculative upload's (awaited if still in flight) for the slots
    it covers, the rest uploaded now. One that failed is uploaded again here.

    Returns the URLs, this run's own uploads (it deletes them) and those its take group
    shares (`share`: the group's last take deletes them). A take's input goes through the
    share: the first take to need it uploads it (or hands over its speculative upload),
    the others get the same URL."""
    kept = slot_paths(job)
    if share is not None:
        share.client, share.token = client, token
        return await _shared_urls(client, token, kept, paths, early, share, ids or {}, key)
    urls: dict[str, str] = {}
    uploaded: list[UploadedFile] = []
    for slot, future in early.items():
        try:
            made = await asyncio.wrap_future(future)
        except (KlingError, OSError, concurrent.futures.CancelledError) as exc:
            log.info("a speculative upload failed (%s); uploading it now", exc)
            continue
        urls[kept[slot]] = made.url
        uploaded.append(made)
    rest, more = await client.input_urls([p for p in paths if p not in urls], token)
    urls.update(rest)
    return urls, uploaded + more, []


async def _shared_urls(client: Any, token: Secret, kept: dict[str, str], paths: list[str],
                       early: dict[str, Any], share: TakeShare,
                       ids: dict[str, FileKey | None], key: str,
                       ) -> tuple[dict[str, str], list[UploadedFile], list[UploadedFile]]:
    """`input_urls` for one take of a group: each input made once for the group."""
    urls: dict[str, str] = {}
    own: list[UploadedFile] = []
    shared: list[UploadedFile] = []

    async def make(slot: str, path: str) -> Sent:
        future = early.get(slot)
        if future is not None:
            try:
                made = await asyncio.wrap_future(future)
                return Sent(made.url, made)
            except (KlingError, OSError, concurrent.futures.CancelledError) as exc:
                log.info("a speculative upload failed (%s); uploading it now", exc)
        got, files = await client.input_urls([path], token)
        return Sent(got[path], files[0] if files else None)

    for slot, path in kept.items():
        ident = ids.get(slot)
        sent = (await share.once((slot, ident, key), partial(make, slot, path))
                if ident is not None else None)
        if sent is not None:
            shared.extend([sent.file] if sent.file is not None else [])
        else:  # not shareable, or the take making it failed: this run's own
            sent = await make(slot, path)
            own.extend([sent.file] if sent.file is not None else [])
        urls[path] = sent.url
    rest = [p for p in paths if p not in urls]  # (none: every input has a slot)
    if rest:
        more_urls, more = await client.input_urls(rest, token)
        urls.update(more_urls)
        own.extend(more)
    return urls, own, shared


async def drop_unused(client: Any, token: Secret, early: dict[str, Any],
                       uploaded: list[UploadedFile]) -> None:
    """Speculative uploads the run claimed but never sent (it ended before its upload
    step): deleted like its own."""
    sent = {u.id for u in uploaded}
    for future in early.values():
        with contextlib.suppress(KlingError, OSError, concurrent.futures.CancelledError):
            made = await asyncio.wrap_future(future)
            if made.id not in sent:
                await client.delete_file(made.id, token)
