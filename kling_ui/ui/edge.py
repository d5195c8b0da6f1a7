"""The edge: what a caller sent, turned into what the Studio may touch (issue #20 point 1).

Every Gradio event is public HTTP: anyone can POST /gradio_api/queue/join with any event's index
and any payload, whatever the page would send. So nothing here trusts a value for being shaped
like one the page sends, and two checks stand between a payload and the Studio:

- `check_payload`, run by `StudioBlocks` on every event before Gradio itself reads the payload:
  each value has its component's type (a prompt is a string, a duration a number), and a file
  value is Gradio's `FileData` (with its `meta` marker) of a file inside Gradio's upload folder
  (or an http(s) URL, which Gradio downloads into that folder). Gradio's own refusals of what
  slips past (pydantic errors, "Cannot move /a/server/path ...") are worded plainly here too, so
  a raw caller never reads internals or a server path.
- `own_upload` / `own_uploads`, through which every handler that opens a file gets its path:
  a file inside Gradio's upload folder, or a file inside the run folder of one of the caller's
  own runs (the run found by the id its folder carries, its owner checked). The path is resolved
  first (symlinks, `..`) and the root then required as a prefix, as Starlette's and Django's
  static-file `safe_join` do; anything else is refused before any file is opened.

Events that skip Gradio's preprocessing (`preprocess=False`) get exactly what was posted, so the
second check is the one that counts for them; the first keeps the answers identical whether a
file exists or not (nothing is an oracle).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from ..core.errors import InputError
from ..i18n import EN, t
from ..library.store import RUNS_DIR

log = logging.getLogger("kling_ui.ui")

FILE_META = "gradio.FileData"  # Gradio marks a file value with {"meta": {"_type": FILE_META}}
# Owners several callers share (no library at all, the old shared "anonymous" library, API
# callers without X-Kling-Library-Key): no run folder is "theirs".
SHARED_OWNERS = frozenset({"", "anonymous", "api"})
FILE_COMPONENTS = (gr.Image, gr.Video, gr.File, gr.Gallery, gr.Audio)
URL_PREFIXES = ("http://", "https://")  # Gradio fetches these into its upload folder itself


def not_yours() -> InputError:
    """The one refusal of a file that is not the caller's: the same whatever the file is, or
    whether it exists (the answer must tell nothing about the server's files)."""
    return InputError(t("edge.not_yours"))


def upload_root() -> str:
    """Gradio's upload folder (GRADIO_TEMP_DIR), resolved: every file the page holds is in it,
    uploads and the copies Gradio makes of every file a handler returns."""
    return os.path.realpath(get_upload_folder())


def _inside(path: str, root: str) -> bool:
    """`path` lies strictly inside `root` (both resolved): a prefix check on whole components, so
    /tmp/gradio-evil is not inside /tmp/gradio."""
    root = root.rstrip(os.sep) or os.sep
    return path != root and path.startswith(root if root == os.sep else root + os.sep)


def _raw_path(value: Any) -> Any:
    """The path inside a single file value as a component hands it over (a str after Gradio's
    preprocessing; FileData, or gr.Video's {"video": FileData}, without it). None: no file."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("video", "image"):
            if key in value and isinstance(value[key], Mapping | str | None):
                return _raw_path(value[key])
        return value.get("path")
    if isinstance(value, list | tuple):
        if len(value) > 1:
            raise not_yours()
        return _raw_path(value[0]) if value else None
    if hasattr(value, "path"):  # a FileData object
        return value.path
    raise not_yours()


def _run_file(real: str, library: Any, owner: str | None) -> bool:
    """`real` (resolved) is a file of one of `owner`'s runs: inside that run's folder, the run
    found by the id the folder is named after."""
    if library is None or owner is None or owner in SHARED_OWNERS:
        return False
    runs = os.path.realpath(Path(library.root) / RUNS_DIR)
    if not _inside(real, runs):
        return False
    run_id = os.path.relpath(real, runs).split(os.sep, 1)[0]
    if not run_id.isalnum() or not _inside(real, os.path.join(runs, run_id)):
        return False
    run = library.get(run_id)
    return run is not None and run.owner == owner


def own_upload(value: Any, *, library: Any = None, owner: str | None = None) -> str | None:
    """The path of the one file in `value` that the Studio may open for this caller, resolved;
    None when `value` holds no file. Raises InputError for anything else, before any file is
    opened: a path outside Gradio's upload folder (or escaping it through `..` or a symlink),
    unless it is a file of one of `owner`'s runs in `library`."""
    raw = _raw_path(value)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str | os.PathLike) or "\x00" in str(raw):
        raise not_yours()
    raw = os.fspath(raw)
    if not isinstance(raw, str) or not os.path.isabs(raw):
        raise not_yours()
    real = os.path.realpath(raw)
    if _inside(real, upload_root()) or _run_file(real, library, owner):
        return real
    log.info("refused a file outside the caller's uploads and runs")
    raise not_yours()


def own_uploads(values: Any, *, library: Any = None, owner: str | None = None) -> tuple[str, ...]:
    """`own_upload` for a list of files (gr.File(file_count="multiple")); empty entries are
    skipped, and one file not the caller's refuses them all."""
    if values is None or values == "" or values == [] or values == ():
        return ()
    if isinstance(values, str | Mapping) or hasattr(values, "path"):
        values = [values]
    if not isinstance(values, list | tuple):
        raise not_yours()
    paths = (own_upload(v, library=library, owner=owner) for v in values)
    return tuple(p for p in paths if p)


# -- the payload of an event, before Gradio reads it --------------------------------------------

def _field(block: Any) -> str:
    """What the caller knows a value as: the component's label (an API parameter's name, or the
    page's translated label), else a neutral word."""
    label = getattr(block, "label", None)
    key = getattr(label, "key", None)  # gr.I18n's label: translate it here
    if isinstance(key, str) and key in EN:
        return t(key)
    if isinstance(label, str) and label.strip():
        return label.strip()
    return t("edge.a_field")


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_files(value: Any, upload: str) -> None:
    """Every file in a file component's raw value is Gradio's FileData of an upload (or a URL
    Gradio fetches): a bare path, a path without `meta`, or one outside the folder is refused."""
    if value is None:
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_files(item, upload)
        return
    if not isinstance(value, Mapping):
        raise not_yours()
    if "path" not in value and "meta" not in value and "url" not in value:
        for key in ("video", "image", "subtitles"):  # gr.Video / gr.Gallery wrap their files
            if key in value:
                _check_files(value[key], upload)
        return
    meta = value.get("meta")
    path = value.get("path")
    if not isinstance(meta, Mapping) or meta.get("_type") != FILE_META or not isinstance(path, str):
        raise not_yours()
    if path.startswith(URL_PREFIXES):
        return
    if "\x00" in path or not os.path.isabs(path) or not _inside(os.path.realpath(path), upload):
        raise not_yours()


def check_value(block: Any, value: Any) -> None:
    """One raw input value against its component's type; raises InputError with a plain message.

    Types only (and where files come from): ranges, lengths and choices are the rules' job, which
    answer with the same messages on the page and the API."""
    if isinstance(block, FILE_COMPONENTS):
        _check_files(value, upload_root())
        return
    if value is None:
        return
    if isinstance(block, gr.Textbox | gr.Code):
        if not isinstance(value, str):
            raise InputError(t("edge.not_text", field=_field(block)))
    elif isinstance(block, gr.Number | gr.Slider):
        if not _is_number(value):
            raise InputError(t("edge.not_number", field=_field(block)))
    elif isinstance(block, gr.Checkbox):
        if not isinstance(value, bool):
            raise InputError(t("edge.not_bool", field=_field(block)))
    elif isinstance(block, gr.Radio | gr.Dropdown):
        scalar = isinstance(value, str) or _is_number(value)
        many = getattr(block, "multiselect", False)
        if not (scalar or (many and isinstance(value, list)
                           and all(isinstance(v, str) or _is_number(v) for v in value))):
            raise InputError(t("edge.not_choice", field=_field(block)))


def check_payload(blocks: Sequence[Any], values: Sequence[Any]) -> None:
    """Every raw value of an event against its component (server-side State is never read from
    the payload, so it is not checked)."""
    for block, value in zip(blocks, values, strict=False):
        if getattr(block, "stateful", False):
            continue
        check_value(block, value)


def refusal(exc: InputError) -> gr.Error:
    return gr.Error(exc.message, title=t("error.title.Input"), print_exception=False)


class StudioBlocks(gr.Blocks):
    """gr.Blocks whose every event checks its payload (`check_payload`) before Gradio reads it,
    and words Gradio's own refusals plainly (no pydantic internals, no server path)."""

    async def preprocess_data(self, block_fn: Any, inputs: list[Any], state: Any,
                              explicit_call: bool = False) -> Any:
        if not explicit_call:  # a call from the server's own code is not a caller's payload
            try:
                check_payload(block_fn.inputs, inputs)
            except InputError as exc:
                raise refusal(exc) from exc
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except gr.Error:
            raise
        except Exception as exc:
            # Gradio's own refusal of what was posted: its text names server paths and pydantic
            # internals, so the caller reads ours and the host's log keeps the details.
            log.warning("refused an event's input (%s)", type(exc).__name__, exc_info=True)
            raise refusal(InputError(t("edge.unreadable"))) from exc
