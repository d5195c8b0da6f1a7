"""The Studio's MCP server (issue #15): Gradio's own, with list-of-files parameters made to work.

Gradio serves every named endpoint as an MCP tool at /gradio_api/mcp/ (`launch(mcp_server=True)`),
built from the endpoints' docstrings. In Gradio 6.31 a parameter holding several files
(`gr.File(file_count="multiple")`: `reference_images`, `clips`) is broken twice over:

- its schema keeps `items: {"$ref": "#/$defs/FileData"}` while the `$defs` stay inside the
  property, so the reference points nowhere and the MCP SDK's input validation refuses every call
  ("PointerToNowhere: '/$defs/FileData' does not exist");
- the URL strings in such a list are never turned into files: Gradio records the list's file
  position as `[name, "items"]` and looks up `[name, 0]`, `[name, 1]`...

It also tells the app who is calling: a queued tool call reaches the app through Gradio's own
client on 127.0.0.1 with the MCP request's headers copied, so the handler would see the app
itself (and whatever X-Forwarded-For the MCP caller wrote). `StudioMCPServer` adds the MCP
request's real socket peer, signed (kling_ui.hosting.proxies), which `ui.visitor.caller_address` believes.

`StudioMCPServer` fixes these and changes nothing else; `install()` makes Gradio build it (Gradio
looks the class up as `gradio.mcp.GradioMCPServer` when it launches, so there is no other hook).
"""

from __future__ import annotations

import json
from typing import Any

import gradio.mcp
from gradio import processing_utils
from gradio_client import utils as client_utils

from ..core.profile import PROFILES
from ..hosting.proxies import PEER_HEADER, PEER_SIG_HEADER, sign_peer
from ..i18n import t
from .gate import MAX_FILES

_GRADIO_SERVER = gradio.mcp.GradioMCPServer
FILE_FORMAT = "Gradio File Input - a http or https url to a file"  # what Gradio marks files with


FILE_HINT = " Pass an http(s) URL the server can download, or a data: URL (base64)."
DURATION_PARAM = "duration"


def _durations() -> tuple[int, int]:
    """The shortest and longest duration any model takes in any mode (the profiles')."""
    values = [d for profile in PROFILES.values() for ds in profile.durations.values() for d in ds]
    return min(values), max(values)


def _describe_files(schema: dict[str, Any]) -> dict[str, Any]:
    """A file parameter as an agent should send it: a URI string (or a list of them), said so
    in its description; none of Gradio's FileData internals (`title`, `required: [path]`)."""
    for prop in schema.get("properties", {}).values():
        items = prop.get("items")
        single = prop.get("format") == FILE_FORMAT
        many = isinstance(items, dict) and items.get("format") == FILE_FORMAT
        if not (single or many):
            continue
        for key in ("title", "required", "$defs", "additional_description"):
            prop.pop(key, None)
        if single:
            prop["format"] = "uri"
        else:
            prop["items"] = {"type": "string", "format": "uri"}
        if "data: URL" not in prop.get("description", ""):
            prop["description"] = prop.get("description", "").rstrip() + FILE_HINT
    return schema


def _bound_durations(schema: dict[str, Any]) -> dict[str, Any]:
    """A run tool's `duration` with the range the models allow (an integer input in Gradio
    carries no bounds; each model's own set is checked by the rules and said in the text)."""
    prop = schema.get("properties", {}).get(DURATION_PARAM)
    if isinstance(prop, dict) and prop.get("type") == "integer":
        prop["minimum"], prop["maximum"] = _durations()
    return schema


def _flatten_file_lists(schema: dict[str, Any]) -> dict[str, Any]:
    """Each list-of-files property as a plain array of URL strings: no dangling `$ref`."""
    for prop in schema.get("properties", {}).values():
        items = prop.get("items")
        if prop.get("type") == "array" and isinstance(items, dict) and (
                items.get("format") == FILE_FORMAT):
            prop.pop("$defs", None)
            prop.pop("additional_description", None)
            prop["items"] = {"type": "string", "format": FILE_FORMAT}
    return schema


class StudioMCPServer(_GRADIO_SERVER):  # type: ignore[misc, valid-type]
    """Gradio's MCP server, with list-of-files parameters that validate and arrive as files."""

    def simplify_filedata_schema(
            self, schema: dict[str, Any]) -> tuple[dict[str, Any], list[list[str | int]]]:
        simplified, positions = super().simplify_filedata_schema(schema)
        return _bound_durations(_describe_files(_flatten_file_lists(simplified))), positions

    def convert_strings_to_filedata(self, value: Any,
                                    filedata_positions: list[list[str | int]]) -> Any:
        positions = list(filedata_positions)
        if isinstance(value, dict):
            for position in filedata_positions:
                if len(position) == 2 and position[1] == "items":
                    items = value.get(str(position[0]))
                    if isinstance(items, list):
                        if len(items) > MAX_FILES:  # each would be fetched: refuse first
                            raise ValueError(t("gate.too_many_files", "en", limit=MAX_FILES))
                        positions += [[position[0], i] for i in range(len(items))]
        return super().convert_strings_to_filedata(value, positions)

    @property
    def _file_data_tool_description(self) -> str:
        # Gradio appends "use the upload_file_to_gradio tool, if present" to every tool taking
        # a file; no such tool exists here, and each docstring says how to pass a file.
        return ""

    async def _execute_tool_without_progress(self, job: Any) -> list[Any]:
        # gradio_client answers an event with several outputs as one tuple: Gradio would show
        # it as one text block of Python reprs. Each output is its own content block.
        data = await super()._execute_tool_without_progress(job)
        only = data[0] if len(data) == 1 else None
        return list(only) if isinstance(only, tuple) else data

    def postprocess_output_data(self, data: Any, root_url: str) -> list[Any]:
        """Each output as a machine reads it: an image as an image block and its URL, another
        file as its URL, data as JSON text (never a Python repr), nothing for an empty output.
        No server path: a file is named by its /gradio_api/file= URL only."""
        blocks: list[Any] = []
        # The fast path (an event off the queue) hands over Gradio's models (JsonData, FileData).
        plain = [o.model_dump() if hasattr(o, "model_dump") else o for o in data]
        for output in processing_utils.add_root_url(plain, root_url, None):
            if output is None:
                continue
            if client_utils.is_file_obj_with_meta(output):
                path = str(output.get("path") or "")
                url = output.get("url") or (
                    f"{root_url}/gradio_api/file={client_utils.encode_file_path(path)}")
                image = self.get_image(path) if path else None
                if image is not None:
                    fmt = image.format or "PNG"
                    blocks.append(self.types.ImageContent(
                        type="image", data=self.get_base64_data(image, fmt),
                        mimeType=f"image/{fmt.lower()}"))
                blocks.append(self.types.TextContent(type="text", text=str(url)))
            elif isinstance(output, dict | list):
                blocks.append(self.types.TextContent(
                    type="text", text=json.dumps(output, ensure_ascii=False)))
            else:
                blocks.append(self.types.TextContent(type="text", text=str(output)))
        return blocks

    def _prepare_tool_call_args(self, name: str, arguments: dict[str, Any]) -> Any:
        endpoint, args, headers, block_fn = super()._prepare_tool_call_args(name, arguments)
        # Never pass on a peer the MCP caller wrote; add the one its connection came from.
        headers = {k: v for k, v in headers.items()
                   if k.lower() not in (PEER_HEADER, PEER_SIG_HEADER)}
        request = self.mcp_server.request_context.request
        peer = getattr(getattr(request, "client", None), "host", None)
        if peer:
            headers[PEER_HEADER] = peer
            headers[PEER_SIG_HEADER] = sign_peer(peer)
        return endpoint, args, headers, block_fn


def install() -> None:
    """Make Gradio's launch build `StudioMCPServer` (idempotent)."""
    gradio.mcp.GradioMCPServer = StudioMCPServer  # type: ignore[misc]
