"""The Starlette app: Replicate's paths, the delivery path, and the fault-control endpoint."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ...core.profile import ModelProfile, get_profile, profile_for_replicate, profile_for_version
from ...media.render import RenderJob, render
from ...media.render_cache import cached_render
from .schema import HTML_413, fault_response, problem, validate_body
from .state import (
    PREFER_RE,
    TERMINAL,
    Receive,
    RecordedRequest,
    Scope,
    Send,
    SimFile,
    SimPrediction,
    SimState,
    _iso,
    _new_id,
    key_marker,
    parse_cancel_after,
    plausible_key,
)


class _Drop(Exception):
    """Raised after half a response so uvicorn cuts the connection (a dropped connection)."""


class SimMiddleware:
    """Records each request, checks auth, and applies injected faults before the routes."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], state: SimState):
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        auth = headers.pop("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        record = RecordedRequest(method, path, headers, key_marker(token) if token else None,
                                 at=time.time())
        with state.lock:
            state.requests.append(record)
            index = len(state.requests) - 1
        scope.setdefault("state", {})["record_index"] = index
        if path.startswith("/_sim/"):
            await self.app(scope, receive, send)
            return
        fault = state.take_fault(method, path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"id": "dropp', "more_body": True})
            raise _Drop("simulated dropped connection")
        if fault is not None and fault.status is not None:
            await fault_response(fault)(scope, receive, send)
            return
        if path.startswith("/v1/"):
            valid = state.options.valid_tokens
            if not token or (token not in valid if valid is not None else not plausible_key(token)):
                detail = "You did not pass a valid authentication token" if token else (
                    "You did not pass an authentication token")
                await problem(401, "Unauthenticated", detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


async def create_file(request: Request) -> Response:
    state = _state(request)
    limit = state.options.upload_limit
    too_large: Response = (HTMLResponse(HTML_413, status_code=413) if state.options.html_413
                           else problem(413, "Request Entity Too Large",
                                        "Files must be less than 100MB in size"))
    length = int(request.headers.get("content-length") or 0)
    if length > limit + 64 * 1024:  # the multipart envelope is small; refuse before reading
        return too_large
    async with request.form(max_files=1, max_part_size=1024 * 1024) as form:
        content = form.get("content")
        if not isinstance(content, UploadFile):
            return problem(422, "Input validation failed", "content is required",
                           invalid_fields=[{"type": "required", "field": "content",
                                            "description": "content is required"}])
        file_id = _new_id()
        dest = state.root / "files" / file_id
        size, digest = await asyncio.to_thread(_save_upload, content, dest)
        if size >= limit:
            dest.unlink(missing_ok=True)
            return too_large
        metadata: dict[str, Any] = {}
        raw_meta = form.get("metadata")
        if isinstance(raw_meta, str) and raw_meta:
            with contextlib.suppress(ValueError):
                metadata = json.loads(raw_meta)
        name = content.filename or (form.get("filename") if isinstance(form.get("filename"), str) else None) or "file"
        sim_file = SimFile(file_id, str(name), content.content_type or "application/octet-stream",
                           size, digest, dest, time.time(), metadata)
    with state.lock:
        state.files[file_id] = sim_file
    return JSONResponse(_file_json(sim_file, _base(request)), status_code=201)


def _save_upload(content: UploadFile, dest: Path) -> tuple[int, str]:
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    content.file.seek(0)
    with dest.open("wb") as out:
        while chunk := content.file.read(1024 * 1024):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _file_json(f: SimFile, base: str) -> dict[str, Any]:
    return {
        "id": f.id, "name": f.name, "content_type": f.content_type, "size": f.size,
        "etag": f.sha256[:32], "checksums": {"sha256": f.sha256}, "metadata": f.metadata,
        "created_at": _iso(f.created), "expires_at": _iso(f.created + 86400),
        "urls": {"get": f"{base}/v1/files/{f.id}"},
    }


async def get_file(request: Request) -> Response:
    state = _state(request)
    f = state.files.get(request.path_params["file_id"])
    if f is None:
        return problem(404, "Not found", "File not found")
    return JSONResponse(_file_json(f, _base(request)))


async def delete_file(request: Request) -> Response:
    state = _state(request)
    file_id = request.path_params["file_id"]
    with state.lock:
        f = state.files.pop(file_id, None)
        if f is not None:
            state.deleted_files.append(file_id)
    if f is None:
        return problem(404, "Not found", "File not found")
    f.path.unlink(missing_ok=True)
    return Response(status_code=204)


async def create_model_prediction(request: Request) -> Response:
    owner, name = request.path_params["owner"], request.path_params["name"]
    model = f"{owner}/{name}"
    options_model = _state(request).options.model
    if model != options_model and profile_for_replicate(model) is None:
        return problem(404, "Not found", f"Model {model} not found")
    return await _create(request, version_route=False, model=model)


async def create_version_prediction(request: Request) -> Response:
    return await _create(request, version_route=True, model="")


def _profile(state: SimState, model: str, body: Any) -> ModelProfile:
    """Which model's schema a create is checked against: the one in its path, the one whose
    version it names, else the simulator's own model (Kling O1 unless told otherwise)."""
    if not model and isinstance(body, dict) and isinstance(body.get("version"), str):
        named = profile_for_version(body["version"].rsplit(":", 1)[-1])
        if named is not None:
            return named
    return (profile_for_replicate(model or state.options.model)
            or get_profile(None))


async def _create(request: Request, *, version_route: bool, model: str) -> Response:
    state = _state(request)
    record = state.requests[request.scope["state"]["record_index"]]
    wait_for_token = state.take_create(record.key or "")
    if wait_for_token is not None:
        with state.lock:
            state.throttled.append(record)
        # Exactly Replicate's body: detail and status, no title, no Retry-After [issue #11].
        return JSONResponse({"detail": state.throttle_detail(wait_for_token), "status": 429},
                            status_code=429)
    try:
        body = await request.json()
    except ValueError:
        return problem(400, "Bad request", "Request body is not valid JSON")
    with state.lock:
        state.requests[request.scope["state"]["record_index"]] = _with_body(
            state.requests[request.scope["state"]["record_index"]], body)
    profile = _profile(state, model, body)
    invalid = validate_body(body, version_route=version_route, profile=profile)
    wait_s = 0.0
    prefer = request.headers.get("prefer")
    if prefer is not None:
        m = PREFER_RE.match(prefer.strip())
        # The OpenAPI pattern lets 61-99 through; its description says 1..60.
        if not m or float(m.group(2) or 60) > 60:
            invalid.append({"type": "invalid", "field": "Prefer",
                            "description": "Prefer must be wait or wait=n with n in 1..60"})
        else:
            wait_s = float(m.group(2) or 60)
    cancel_after = None
    raw_cancel = request.headers.get("cancel-after")
    if raw_cancel is not None:
        cancel_after = parse_cancel_after(raw_cancel)
        if cancel_after is None or cancel_after < state.options.min_cancel_after:
            invalid.append({"type": "invalid", "field": "Cancel-After", "description":
                            f"Cancel-After must be a duration of at least "
                            f"{state.options.min_cancel_after:g}s"})
    if invalid:
        detail = "; ".join(f"{f['field']}: {f['description']}" for f in invalid)
        return problem(422, "Input validation failed", detail, invalid_fields=invalid)
    with state.lock:
        outcome = state.outcomes.pop(0) if state.outcomes else "succeeded"
        early_output = state.output_while_processing > 0
        if early_output:
            state.output_while_processing -= 1
    version = "hidden"
    if version_route:
        version = str(body["version"]).rsplit(":", 1)[-1]
    record = state.requests[request.scope["state"]["record_index"]]
    pred = SimPrediction(_new_id(), body["input"], _base(request), time.time(), version=version,
                         cancel_after=cancel_after, outcome=outcome, key=record.key,
                         model=model or (profile.replicate if profile.versions else ""))
    pred.render = state.executor.submit(_render_prediction, state, pred)
    with state.lock:
        state.predictions[pred.id] = pred
        stall = state.stall_creates.pop(0) if state.stall_creates else 0.0
    if stall:
        await asyncio.sleep(stall)  # created (and billed), but the caller hears nothing in time
    if early_output:
        # Replicate can answer 201 with output while status still reads "processing".
        with contextlib.suppress(Exception):  # a failed render shows up as a failed prediction
            await asyncio.wrap_future(pred.render)
        data = state.prediction_json(pred)
        if data["status"] not in TERMINAL and pred.render.exception() is None:
            data["status"] = "processing"
            data["output"] = state.output_value(pred)
        return JSONResponse(data, status_code=201)
    deadline = time.time() + wait_s
    while time.time() < deadline:
        state.advance(pred)
        if pred.status in TERMINAL:
            break
        # Wake when the clock moves it on (its model ends), at the latest in 50 ms: a cancel or
        # a render finishing late is noticed by then.
        at = state.next_change_at(pred)
        now = time.time()
        await asyncio.sleep(min(0.05, deadline - now, max(0.0, (at or now) - now) + 0.001))
    data = state.prediction_json(pred)
    if prefer is not None and data["status"] not in TERMINAL:
        # A create whose wait ran out reads "starting", even while it is processing: Replicate's
        # blocking API does this, and the official client relies on it (replicate-python
        # run.py: "If request exceeds the wait time ... the prediction will be in a 'starting'
        # state"); "processing" there means done, with the output.
        data["status"] = "starting"
    code = 202 if state.options.accepted_202 and data["status"] not in TERMINAL else 201
    return JSONResponse(data, status_code=code)


def _with_body(rec: RecordedRequest, body: Any) -> RecordedRequest:
    return RecordedRequest(rec.method, rec.path, rec.headers, rec.key, body, rec.at)


def _render_prediction(state: SimState, pred: SimPrediction) -> Path:
    """Resolve the input URLs to local files and render the output (runs in a worker thread)."""
    if state.options.fixed_output:
        return Path(state.options.fixed_output)
    inp = pred.input
    work = state.root / "predictions" / pred.id
    work.mkdir(parents=True, exist_ok=True)
    get = lambda key: _local_input(state, inp[key], work, key)  # noqa: E731
    images = [get("start_image")] if "start_image" in inp else []
    if "end_image" in inp:
        images.append(get("end_image"))
    refs = [_local_input(state, u, work, f"ref{i}") for i, u in enumerate(inp.get("reference_images", []))]
    video = get("reference_video") if "reference_video" in inp else None
    if video is not None:
        kind = "base" if inp.get("video_reference_type") == "base" else "feature"
    elif images:
        kind = "frames"
    elif refs:
        kind = "references"
    else:
        kind = "text"
    job = RenderJob(
        kind=kind, prompt=str(inp.get("prompt", "")), mode=str(inp.get("mode", "pro")),
        aspect_ratio=str(inp.get("aspect_ratio", "16:9")), duration=int(inp.get("duration", 5)),
        images=tuple(images if kind == "frames" else refs), video=video,
        keep_sound=bool(inp.get("keep_original_sound", True)),
        shots=_shots(inp.get("multi_prompt")), audio=inp.get("generate_audio") is True,
    )
    out = work / "output.mp4"
    if not state.options.render_cache:
        return render(job, out)
    return cached_render(job, out, lambda: render(job, out))


def _shots(value: Any) -> tuple[tuple[str, int], ...]:
    """A validated `multi_prompt` as (prompt, seconds) pairs; () when there is none."""
    if not isinstance(value, str):
        return ()
    return tuple((str(s["prompt"]), int(s["duration"])) for s in json.loads(value))


def _local_input(state: SimState, url: str, work: Path, name: str) -> str:
    """A local path for an input URL: our own /v1/files or /delivery URL, or a data: URI."""
    if url.startswith("data:"):
        try:
            head, payload = url.split(",", 1)
            data = base64.b64decode(payload) if head.endswith(";base64") else payload.encode()
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"{name}: malformed data URI") from exc
        path = work / f"{name}.bin"
        path.write_bytes(data)
        return str(path)
    path_part = urlsplit(url).path
    m = re.fullmatch(r"/v1/files/([^/]+)(?:/download)?", path_part)
    if m:
        with state.lock:
            f = state.files.get(m.group(1))
        if f is None:
            raise ValueError(f"{name}: file {m.group(1)} not found (deleted before the run?)")
        return str(f.path)
    m = re.fullmatch(r"/delivery/([^/]+)/output\.mp4", path_part)
    if m and m.group(1) in state.predictions:
        render_future = state.predictions[m.group(1)].render
        if render_future is not None:
            return str(render_future.result())
    raise ValueError(f"{name}: could not download {url[:60]} (the simulator has no internet)")


async def list_predictions(request: Request) -> Response:
    """GET /v1/predictions: this key's predictions, newest first (`created_after` filters)."""
    state = _state(request)
    key = state.requests[request.scope["state"]["record_index"]].key
    after = request.query_params.get("created_after")
    since = 0.0
    if after:
        try:
            since = datetime.fromisoformat(after.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return problem(400, "Bad request", "created_after must be an ISO 8601 date-time")
    with state.lock:
        preds = [p for p in state.predictions.values() if p.key == key and p.created >= since]
    preds.sort(key=lambda p: p.created, reverse=True)
    results = [state.prediction_json(p) for p in preds[:100]]
    return JSONResponse({"next": None, "previous": None, "results": results})


async def account(request: Request) -> Response:
    """GET /v1/account: the account a key belongs to (OpenAPI account.get); 401 was answered
    already by the middleware for a key it refuses."""
    key = _state(request).requests[request.scope["state"]["record_index"]].key or ""
    return JSONResponse({"type": "user", "username": f"sim-{key[:6]}",
                         "name": "Simulator account", "github_url": None})


def _own_prediction(request: Request) -> Any:
    """The prediction, if the caller's key made it: Replicate scopes predictions to the account
    that created them and answers another account's key with the same 404 as a missing one."""
    state = _state(request)
    pred = state.predictions.get(request.path_params["prediction_id"])
    caller = state.requests[request.scope["state"]["record_index"]].key or ""
    if pred is None or (pred.key and caller and pred.key != caller):
        return None
    return pred


async def get_prediction(request: Request) -> Response:
    state = _state(request)
    pred = _own_prediction(request)
    if pred is None:
        return problem(404, "Not found", "Prediction not found")
    return JSONResponse(state.prediction_json(pred))


async def cancel_prediction(request: Request) -> Response:
    state = _state(request)
    pred = _own_prediction(request)
    if pred is None:
        return problem(404, "Not found", "Prediction not found")
    with state.lock:
        state.cancels.append(pred.id)
        state.advance(pred)
        if pred.status not in TERMINAL:
            state._end(pred, "canceled", time.time())
    return JSONResponse(state.prediction_json(pred))


async def delivery(request: Request) -> Response:
    state = _state(request)
    pred = state.predictions.get(request.path_params["prediction_id"])
    if pred is None or pred.data_removed or pred.render is None or not pred.render.done():
        return problem(404, "Not found", "Output not found or expired")
    return FileResponse(pred.render.result(), media_type="video/mp4", filename="output.mp4")


async def add_fault_endpoint(request: Request) -> Response:
    """POST /_sim/faults {"path": ..., "status": ..., ...}: the same as SimState.add_fault."""
    spec = await request.json()
    kind = spec.pop("outcome", None)
    if kind:
        _state(request).end_next(kind, int(spec.pop("times", 1)))
        return JSONResponse({"ok": True}, status_code=201)
    fault = _state(request).add_fault(**spec)
    return JSONResponse({"ok": True, "fault": fault.__dict__}, status_code=201)


def create_app(state: SimState | None = None) -> Starlette:
    """The simulator as an ASGI app; `app.state.sim` is its `SimState`."""
    state = state or SimState()
    routes = [
        Route("/v1/account", account, methods=["GET"]),
        Route("/v1/files", create_file, methods=["POST"]),
        Route("/v1/files/{file_id}", get_file, methods=["GET"]),
        Route("/v1/files/{file_id}", delete_file, methods=["DELETE"]),
        Route("/v1/models/{owner}/{name}/predictions", create_model_prediction, methods=["POST"]),
        Route("/v1/predictions", create_version_prediction, methods=["POST"]),
        Route("/v1/predictions", list_predictions, methods=["GET"]),
        Route("/v1/predictions/{prediction_id}", get_prediction, methods=["GET"]),
        Route("/v1/predictions/{prediction_id}/cancel", cancel_prediction, methods=["POST"]),
        Route("/delivery/{prediction_id}/output.mp4", delivery, methods=["GET"]),
        Route("/_sim/faults", add_fault_endpoint, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.sim = state
    app.add_middleware(SimMiddleware, state=state)
    return app


