"""Problem details, injected fault responses, and each model's input schema (422 invalid_fields).

The schema a create is checked against is the model's profile (core/profile.py, issue #25): its
input fields, its `mode` names, its duration range, and for Kling 3.0 Omni `generate_audio`
(never with a reference video) and `multi_prompt` (a JSON array of shots summing to `duration`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, Response

from ...core.profile import ModelProfile, get_profile
from .state import BODY_KEYS, URI_KEYS, Fault


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
def validate_body(body: Any, *, version_route: bool, profile: ModelProfile | None = None
                  ) -> list[dict[str, str]]:
    """The `invalid_fields` Replicate would list for a create body against the model's schema."""
    profile = profile or get_profile(None)
    enums = {"aspect_ratio": profile.aspect_ratios, "mode": tuple(profile.modes.values()),
             "video_reference_type": ("feature", "base")}
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
    for key in sorted(set(inp) - profile.inputs):
        add(f"input.{key}", f"Additional property {key} is not allowed",
            "additional_property_not_allowed")
    prompt = inp.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        add("input.prompt", "prompt is required", "required")
    for key, choices in enums.items():
        if key in inp and inp[key] not in choices:
            allowed_values = ", ".join(f'"{c}"' for c in choices)
            add(f"input.{key}", f"{key} must be one of the following: {allowed_values}", "enum")
    if "duration" in inp:
        d = inp["duration"]
        lo, hi = profile.api_durations
        if isinstance(d, bool) or not isinstance(d, int) or not lo <= d <= hi:
            add("input.duration", f"duration must be an integer between {lo} and {hi}", "enum")
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
    limit = (profile.max_images_with_video if "reference_video" in inp
             else profile.max_images_without_video)
    if len(refs) > limit:
        add("input.reference_images", f"Array must have at most {limit} items", "array_max_items")
    if "generate_audio" in profile.inputs and "generate_audio" in inp:
        if not isinstance(inp["generate_audio"], bool):
            add("input.generate_audio", "Invalid type. Expected: boolean", "invalid_type")
        elif inp["generate_audio"] and "reference_video" in inp:
            add("input.generate_audio", "generate_audio cannot be used with reference_video")
    if "multi_prompt" in profile.inputs and "multi_prompt" in inp:
        for description in _storyboard_problems(inp["multi_prompt"], inp.get("duration", 5),
                                                profile):
            add("input.multi_prompt", description)
    return bad


def _storyboard_problems(value: Any, duration: Any, profile: ModelProfile) -> list[str]:
    """What is wrong with a `multi_prompt` value: a JSON array of 1..max shots
    `{"prompt": str, "duration": int >= min}` whose durations sum to `duration`."""
    board = profile.storyboard
    if board is None:
        return []
    if not isinstance(value, str):
        return ["Invalid type. Expected: string"]
    try:
        shots = json.loads(value)
    except ValueError:
        return ["multi_prompt must be a JSON array"]
    if not isinstance(shots, list) or not shots:
        return ["multi_prompt must be a non-empty JSON array"]
    if len(shots) > board.max_shots:
        return [f"multi_prompt must have at most {board.max_shots} shots"]
    problems = []
    for i, shot in enumerate(shots, 1):
        if not isinstance(shot, dict) or set(shot) != {"prompt", "duration"}:
            problems.append(f"shot {i} must be an object with prompt and duration")
            continue
        if not isinstance(shot["prompt"], str) or not shot["prompt"].strip():
            problems.append(f"shot {i}: prompt is required")
        d = shot["duration"]
        if isinstance(d, bool) or not isinstance(d, int) or d < board.min_shot_seconds:
            problems.append(f"shot {i}: duration must be an integer of at least "
                            f"{board.min_shot_seconds}")
    if not problems:
        total = sum(int(s["duration"]) for s in shots)
        if total != duration:
            problems.append(f"shot durations sum to {total}, not duration {duration}")
    return problems


# -- the ASGI app ------------------------------------------------------------------------------
