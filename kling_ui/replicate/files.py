"""The wire's files seam: inputs up (the Files API, or inline data URIs for small files), the
output down (streamed to a part file, the key never sent to a delivery host), uploads deleted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import mimetypes
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx

from ..core.config import Secret
from ..core.errors import (
    ApiError,
    InputError,
    KlingConnectionError,
    KlingError,
    NotFoundError,
    PredictionError,
    ServerError,
    StorageError,
)
from ..core.models import Problem
from ..core.rules import UPLOAD_MAX_BYTES
from .protocol import (
    UploadedFile,
    epoch_of,
)
from .wire import CHUNK, INLINE_MAX_BYTES, UploadBook, Wire

log = logging.getLogger(__name__)


class Files(Wire):
    """Uploads, input URLs, deletes; the output's download."""

    # -- files -------------------------------------------------------------------------------
    async def upload_file(
        self, path: str | os.PathLike[str], token: Secret, *, content_type: str | None = None
    ) -> UploadedFile:
        """POST /v1/files with the file streamed from disk (never read whole into memory)."""
        p = Path(path)
        size = p.stat().st_size
        if size >= UPLOAD_MAX_BYTES:
            raise InputError(
                f"{p.name} is {size / 1_000_000:.1f} MB; Replicate accepts files under 100 MB "
                "(100,000,000 bytes with the upload's envelope). Let the input doctor re-encode it "
                "smaller, or pick a shorter clip.",
                [Problem("file", "is too large to upload", fix="shrink")],
            )
        ctype = content_type or mimetypes.guess_type(p.name)[0] or "application/octet-stream"

        handles: list[Any] = []

        def build() -> dict[str, Any]:
            handle = p.open("rb")  # httpx streams file objects in 64 KiB chunks
            handles.append(handle)
            return {"files": {"content": (p.name, handle, ctype)}}

        try:
            async with self._upload_limit:
                data = await self._request("POST", "/v1/files", token, what=f"Uploading {p.name}",
                                           idempotent=False, build=build)
        finally:
            for handle in handles:
                handle.close()
        made = UploadedFile(
            id=str(data["id"]), url=str((data.get("urls") or {}).get("get", "")),
            size=int(data.get("size", size)), name=str(data.get("name", p.name)),
            content_type=str(data.get("content_type", ctype)),
        )
        self._booked(lambda book: book.upload_made(  # until deleted (kling_ui.library.uploads)
            self.base_url, made.id, token, epoch_of(data.get("expires_at"))))
        return made

    async def upload_files(
        self, paths: Iterable[str | os.PathLike[str]], token: Secret
    ) -> list[UploadedFile]:
        """Upload one job's files in parallel (at most `upload_concurrency` at once), in order."""
        return list(await asyncio.gather(*(self.upload_file(p, token) for p in paths)))

    async def as_input_url(self, path: str | os.PathLike[str], token: Secret) -> str:
        """A URL for a prediction input: a data: URI for files <= 256 KB, else an upload's URL."""
        p = Path(path)
        if p.stat().st_size <= INLINE_MAX_BYTES:
            ctype = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
            return f"data:{ctype};base64," + base64.b64encode(p.read_bytes()).decode()
        return (await self.upload_file(p, token)).url

    async def input_urls(
        self, paths: Sequence[str | os.PathLike[str]], token: Secret
    ) -> tuple[dict[str, str], list[UploadedFile]]:
        """URLs for one job's files (small ones inline, the rest uploaded in parallel).

        Returns {path: url} and the uploads, so the caller can delete them after the run.
        """
        urls: dict[str, str] = {}
        to_upload: list[str] = []
        for path in dict.fromkeys(str(p) for p in paths):
            if Path(path).stat().st_size <= INLINE_MAX_BYTES:
                urls[path] = await self.as_input_url(path, token)
            else:
                to_upload.append(path)
        uploaded = await self.upload_files(to_upload, token)
        urls.update({p: u.url for p, u in zip(to_upload, uploaded, strict=True)})
        return urls, uploaded

    async def delete_file(self, file_id: str, token: Secret) -> bool:
        """DELETE /v1/files/{id}; best effort: failures are logged, never raised."""
        try:
            await self._request("DELETE", f"/v1/files/{file_id}", token,
                                what="Deleting an uploaded file", idempotent=True)
        except NotFoundError:
            log.info("uploaded file %s was gone already", file_id)
            self._booked(lambda book: book.upload_gone(self.base_url, file_id))
            return False
        except KlingError as exc:
            log.warning("could not delete uploaded file %s: %s", file_id, exc)
            return False
        self._booked(lambda book: book.upload_gone(self.base_url, file_id))
        return True

    def _booked(self, write: Callable[[UploadBook], None]) -> None:
        """Tell the book (if any) about an upload; a library that cannot be written loses the
        row, never the run (the file then expires on Replicate's own schedule)."""
        if self.book is None:
            return
        try:
            write(self.book)
        except Exception as exc:  # noqa: BLE001 - a bookkeeping write must not fail a run
            log.warning("could not note an upload in the library: %s", exc)

    async def delete_files(self, files: Sequence[UploadedFile], token: Secret) -> int:
        """Delete one job's uploads in parallel (best effort); returns how many went."""
        done = await asyncio.gather(*(self.delete_file(f.id, token) for f in files))
        return sum(done)

    # -- output ------------------------------------------------------------------------------
    async def download_output(
        self, output: Any, dest_path: str | os.PathLike[str], token: Secret | None = None
    ) -> Path:
        """Save a prediction's output (URL, list of URLs, or data: URI) to `dest_path` at once.

        Streams to a `.part` file and renames it when complete. `token` is sent only when the
        URL is on the API host; delivery hosts never see it. Raises StorageError when the file
        cannot be written (the `.part` file is removed).
        """
        url = output[0] if isinstance(output, (list, tuple)) and output else output
        if not isinstance(url, str) or not url:
            raise PredictionError("The prediction finished without an output video.",
                                  prediction_id=None, status="succeeded")
        dest = Path(dest_path)
        part = dest.with_name(dest.name + ".part")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if url.startswith("data:"):
                _write_data_uri(url, part)
            else:
                await self._download_url(url, part, token)
            if part.stat().st_size == 0:
                raise KlingConnectionError("The output video downloaded empty. Try again.")
            part.replace(dest)
        except OSError as exc:
            # Our disk, not the network (httpx raises its own errors): full, over quota, an I/O
            # error, read-only. The caller decides what that means for a paid output.
            raise StorageError(f"The output video could not be written to disk "
                               f"({exc.strerror or type(exc).__name__}).") from exc
        finally:
            with contextlib.suppress(OSError):  # a read-only folder cannot lose it either
                part.unlink(missing_ok=True)
        return dest

    async def _download_url(self, url: str, part: Path, token: Secret | None) -> None:
        async def save(response: httpx.Response) -> None:
            with part.open("wb") as out:  # rewritten from scratch on every attempt
                async for chunk in response.aiter_bytes(CHUNK):
                    out.write(chunk)

        try:
            await self._request("GET", url, token, what="Downloading the output video",
                                idempotent=True, stream_to=save)
        except NotFoundError as exc:
            raise NotFoundError(
                "The output video is already gone: Replicate deletes outputs about an hour "
                "after a prediction ends. Run the job again.",
                status=exc.status, title=exc.title, detail=exc.detail) from exc
        except ApiError as exc:
            if exc.status != 410:
                raise
            raise NotFoundError(
                "The output video is already gone (410). Run the job again.",
                status=exc.status, title=exc.title, detail=exc.detail) from exc



def _write_data_uri(uri: str, dest: Path) -> None:
    head, sep, payload = uri.partition(",")
    if not sep:
        raise ServerError("The output is a malformed data: URI.", status=200)
    try:
        data = base64.b64decode(payload) if head.endswith(";base64") else payload.encode()
    except (ValueError, binascii.Error) as exc:
        raise ServerError("The output data: URI could not be decoded.", status=200) from exc
    dest.write_bytes(data)
