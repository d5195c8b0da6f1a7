"""Problem details, injected fault responses, and the kling-o1 input schema (422 invalid_fields)."""

from __future__ import annotations

from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, Response

from ...core.rules import MAX_IMAGES_WITH_VIDEO, MAX_IMAGES_WITHOUT_VIDEO
from .state import BODY_KEYS, ENUMS, INPUT_KEYS, URI_KEYS, Fault


def problem(status: int, title: str, detail: str = "", **extra: Any) -> JSONResponse:
    """An RFC 7807 problem-details response, as Replicate sends."""
    body = {"title": title, "detail": detail or title, "status": status, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


TITLES = {
    400: "Bad request", 401: "Unauthenticated", 402: "Billing required", 404: "Not found",
    413: "Request Entity Too Large", 422: "Input validation failed", 429: "Too many requests",
    500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable",
    504: "Gateway timeout",
}
# Replicate's own texts, as its API sends them (issue #11).
INSUFFICIENT_CREDIT = (
    "You have insufficient credit to run this model. Go to "
    "https://replicate.com/account/billing#billing to purchase credit. Once you purchase credit, "
    "please wait a few minutes before trying again.")
DEFAULT_DETAIL = {402: INSUFFICIENT_CREDIT}
HTML_413 = (
    "<html><head><title>413 Request Entity Too Large</title></head><body>"
    "<center><h1>413 Request Entity Too Large</h1></center><hr><center>nginx</center>"
    "</body></html>"
)


def fault_response(fault: Fault) -> Response:
    status = fault.status or 500
    if fault.html:
        return HTMLResponse(HTML_413 if status == 413 else f"<html><body><h1>{status}</h1></body></html>",
                            status_code=status)
    headers = {}
    extra: dict[str, Any] = {}
    if fault.retry_after_header is not None:
        headers["Retry-After"] = f"{fault.retry_after_header:g}"
    if fault.retry_after_body is not None:
        extra["retry_after"] = fault.retry_after_body
    detail = fault.detail or DEFAULT_DETAIL.get(status, "")
    if status == 429 and not detail:
        secs = fault.retry_after_body or fault.retry_after_header or 1
        detail = f"Request was throttled. Your rate limit resets in ~{secs:g}s."
    if status == 422 and "invalid_fields" not in extra:
        extra["invalid_fields"] = [{"type": "simulated", "field": "input",
                                    "description": detail or "Simulated validation error"}]
    resp = problem(status, TITLES.get(status, "Error"), detail, **extra)
    resp.headers.update(headers)
    return resp


# -- input validation (422) --------------------------------------------------------------------
def validate_body(body: Any, *, version_route: bool) -> list[dict[str, str]]:
    """The `invalid_fields` Replicate would list for a create body against the kling-o1 schema."""
    bad: list[dict[str, str]] = []

    def add(field_name: str, description: str, type_: str = "invalid") -> None:
        bad.append({"type": type_, "field": field_name, "description": description})

    if not isinstance(body, dict):
        add("(root)", "Request body must be a JSON object", "invalid_type")
        return bad
    allowed = BODY_KEYS | ({"version"} if version_route else set())
    for key in sorted(set(body) - allowed):
        add(key, f"Additional property {key} is not allowed", "additional_property_not_allowed")
    if version_route and not isinstance(body.get("version"), str):
        add("version", "version is required", "required")
    inp = body.get("input")
    if not isinstance(inp, dict):
        add("input", "input is required and must be an object", "required")
        return bad
    for key in sorted(set(inp) - INPUT_KEYS):
        add(f"input.{key}", f"Additional property {key} is not allowed",
            "additional_property_not_allowed")
    prompt = inp.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        add("input.prompt", "prompt is required", "required")
    for key, choices in ENUMS.items():
        if key in inp and inp[key] not in choices:
            allowed_values = ", ".join(f'"{c}"' for c in choices)
            add(f"input.{key}", f"{key} must be one of the following: {allowed_values}", "enum")
    if "duration" in inp:
        d = inp["duration"]
        if isinstance(d, bool) or not isinstance(d, int) or not 3 <= d <= 10:
            add("input.duration", "duration must be an integer between 3 and 10", "enum")
    if "keep_original_sound" in inp and not isinstance(inp["keep_original_sound"], bool):
        add("input.keep_original_sound", "Invalid type. Expected: boolean", "invalid_type")
    for key in URI_KEYS:
        if key in inp and not (isinstance(inp[key], str) and inp[key]):
            add(f"input.{key}", "Does not match format 'uri'", "format")
    refs = inp.get("reference_images", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) and r for r in refs):
        add("input.reference_images", "Invalid type. Expected: array of uri", "invalid_type")
        refs = []
    if "end_image" in inp and "start_image" not in inp:
        add("input.end_image", "end_image requires start_image to be set")
    limit = MAX_IMAGES_WITH_VIDEO if "reference_video" in inp else MAX_IMAGES_WITHOUT_VIDEO
    if len(refs) > limit:
        add("input.reference_images", f"Array must have at most {limit} items", "array_max_items")
    return bad


# -- the ASGI app ------------------------------------------------------------------------------
