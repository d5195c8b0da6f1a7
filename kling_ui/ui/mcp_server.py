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
request's real socket peer, signed (kling_ui.hosting.proxies), which `ui.common.caller_address` believes.

`StudioMCPServer` fixes these and changes nothing else; `install()` makes Gradio build it (Gradio
looks the class up as `gradio.mcp.GradioMCPServer` when it launches, so there is no other hook).
"""

from __future__ import annotations

from typing import Any

import gradio.mcp

from ..hosting.proxies import PEER_HEADER, PEER_SIG_HEADER, sign_peer
from ..i18n import t
from .gate import MAX_FILES

_GRADIO_SERVER = gradio.mcp.GradioMCPServer
FILE_FORMAT = "Gradio File Input - a http or https url to a file"  # what Gradio marks files with


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
        return _flatten_file_lists(simplified), positions

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
