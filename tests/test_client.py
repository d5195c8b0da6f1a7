"""The Replicate client: unit cases on httpx.MockTransport, end-to-end against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import tempfile
import tracemalloc
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sim_fixtures import (
    MARK_A,
    MARK_B,
    TOKEN_A,
    TOKEN_B,
    make_clip,
    make_png,
    media_duration,
    media_size,
    running_simulator,
)

from kling_ui.core import errors
from kling_ui.core.config import Secret
from kling_ui.core.models import ImageInfo, JobRequest, Progress, Tab, VideoInfo
from kling_ui.core.payload import build_input
from kling_ui.core.rules import UPLOAD_MAX_BYTES
from kling_ui.replicate.client import (
    INLINE_MAX_BYTES,
    USER_AGENT,
    ReplicateClient,
    make_http_client,
)
from kling_ui.replicate.protocol import (
    Prediction,
    UploadedFile,
    backoff_delay,
    parse_retry_after,
    poll_delays,
    raise_for_status,
)

pytestmark = pytest.mark.anyio
BASE = "https://api.test"


class Sleeps:
    """An injected sleep that records delays and returns at once (or after `real` seconds)."""

    def __init__(self, real: float = 0.0) -> None:
        self.delays: list[float] = []
        self.real = real

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(min(delay, self.real))


def pred_json(status: str = "starting", output: Any = None, error: str | None = None,
              logs: str = "", pid: str = "p1") -> dict[str, Any]:
    return {
        "id": pid, "model": "kwaivgi/kling-o1", "version": "hidden", "input": {"prompt": "x"},
        "output": output, "error": error, "logs": logs, "status": status,
        "created_at": "2025-01-01T00:00:00Z", "data_removed": False,
        "metrics": {"predict_time": 1.5} if status == "succeeded" else {},
        "urls": {"get": f"{BASE}/v1/predictions/{pid}", "cancel": f"{BASE}/v1/predictions/{pid}/cancel",
                 "web": f"https://replicate.com/p/{pid}"},
    }


def mock_client(handler: Any, **kwargs: Any) -> tuple[ReplicateClient, Sleeps]:
    sleeps = Sleeps()
    client = ReplicateClient(BASE, transport=httpx.MockTransport(handler), sleep=sleeps,
                             rng=random.Random(1), **kwargs)
    return client, sleeps


# -- pure pieces -------------------------------------------------------------------------------
def test_backoff_schedule_starts_quick_and_caps_at_two_seconds() -> None:
    rng = random.Random(0)
    delays = [backoff_delay(i, rng) for i in range(20)]
    assert 0.4 <= delays[0] <= 0.6
    assert all(d <= 2.0 for d in delays)
    assert delays[-1] >= 1.6  # settled near the cap, jitter keeps it a little below
    assert backoff_delay(3, None, jitter=0) == pytest.approx(0.5 * 1.3**3)
    schedule = poll_delays(random.Random(0))
    assert [round(next(schedule), 6) for _ in range(20)] == [round(d, 6) for d in delays]


def test_backoff_jitter_spreads_visitors() -> None:
    values = {round(backoff_delay(2, random.Random(seed)), 4) for seed in range(10)}
    assert len(values) > 5


def test_a_held_creates_starting_answer_with_frames_logged_reads_as_processing() -> None:
    """Replicate answers a held create whose wait ran out "in a starting state" even while the
    model logs frames: the page must not go back from "Generating 20%" to "Starting 20%"."""
    from kling_ui.replicate.predictions import prediction_progress

    logged = prediction_progress(Prediction.from_json(pred_json(
        "starting", logs="Generating frames 20%\n")), 3.0)
    assert (logged.stage, logged.status, logged.fraction) == ("processing", "processing", 0.2)
    quiet = prediction_progress(Prediction.from_json(pred_json("starting", logs="")), 3.0)
    assert (quiet.stage, quiet.status) == ("starting", "starting")  # truly not started yet
    later = prediction_progress(Prediction.from_json(pred_json(
        "processing", logs="Generating frames 40%\n")), 5.0)
    assert (later.stage, later.status, later.fraction) == ("processing", "processing", 0.4)


def test_prediction_from_json_reads_every_field() -> None:
    p = Prediction.from_json(pred_json("succeeded", output="https://d/out.mp4",
                                       logs="a\nGenerating 40%\n"))
    assert (p.id, p.status, p.output, p.predict_time) == ("p1", "succeeded", "https://d/out.mp4", 1.5)
    assert p.get_url.endswith("/v1/predictions/p1") and p.cancel_url.endswith("/cancel")
    assert p.last_log_line == "Generating 40%" and p.is_done and p.is_terminal
    early = Prediction.from_json(pred_json("processing", output="https://d/out.mp4"))
    assert early.is_done and not early.is_terminal  # 201 with output, status still processing
    assert not Prediction.from_json(pred_json("processing")).is_done


async def test_http_client_factory_sets_timeouts_and_user_agent() -> None:
    async with make_http_client(BASE) as http:
        assert http.timeout.connect == 10.0 and http.timeout.read >= 61 and http.timeout.write >= 300
        assert http.headers["user-agent"] == USER_AGENT and USER_AGENT.startswith("kling-o1-studio/")
        assert "authorization" not in http.headers


def _response(status: int, body: Any = None, *, text: str | None = None,
              headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", f"{BASE}/v1/files")
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(("status", "cls", "needle"), [
    (401, errors.AuthError, "Replicate did not accept the API key. Check REPLICATE_API_TOKEN"),
    (402, errors.BillingError, "billing"),
    (404, errors.NotFoundError, "Not found"),
    (413, errors.PayloadTooLargeError, "under 100 MB"),
    (500, errors.ServerError, "server error (500)"),
    (502, errors.ServerError, "(502)"),
    (503, errors.ServerError, "(503)"),
    (504, errors.ServerError, "(504)"),
    (418, errors.ApiError, "418"),
])
def test_raise_for_status_maps_problem_details(status: int, cls: type, needle: str) -> None:
    body = {"title": "T", "detail": "Something specific", "status": status}
    with pytest.raises(cls) as info:
        raise_for_status(_response(status, body))
    assert needle in str(info.value)
    assert info.value.status == status and info.value.detail == "Something specific"


def test_raise_for_status_handles_a_proxys_html_413() -> None:
    html = "<html><body><h1>413 Request Entity Too Large</h1>nginx</body></html>"
    with pytest.raises(errors.PayloadTooLargeError) as info:
        raise_for_status(_response(413, text=html, headers={"content-type": "text/html"}))
    assert "100 MB" in str(info.value) and "<html>" not in str(info.value)


def test_raise_for_status_lists_invalid_fields() -> None:
    body = {"title": "Input validation failed", "status": 422, "detail": "-", "invalid_fields": [
        {"type": "enum", "field": "input.mode", "description": "mode must be one of std, pro"},
        {"type": "required", "field": "input.prompt", "description": "prompt is required"}]}
    with pytest.raises(errors.ValidationError) as info:
        raise_for_status(_response(422, body))
    assert "input.mode: mode must be one of std, pro" in str(info.value)
    assert "input.prompt: prompt is required" in str(info.value)
    assert [f["field"] for f in info.value.invalid_fields] == ["input.mode", "input.prompt"]


def test_retry_after_from_header_or_body() -> None:
    assert parse_retry_after(_response(429, {}, headers={"Retry-After": "7"})) == 7
    body = {"detail": "Request was throttled ... resets in ~5s.", "status": 429, "retry_after": 5}
    with pytest.raises(errors.RateLimitError) as info:
        raise_for_status(_response(429, body))
    assert info.value.retry_after == 5 and "5 s" in str(info.value)


def test_secrets_are_scrubbed_from_error_text() -> None:
    body = {"title": "Bad", "detail": f"token {TOKEN_B.reveal()} rejected", "status": 400}
    with pytest.raises(errors.ApiError) as info:
        raise_for_status(_response(400, body), secrets=[TOKEN_B.reveal()])
    assert TOKEN_B.reveal() not in str(info.value) and TOKEN_B.reveal() not in info.value.detail


# -- retries: a paid create is never repeated blindly ------------------------------------------
async def test_create_retried_on_429_honouring_retry_after() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, json={"status": 429, "detail": "throttled", "retry_after": 3})
        return httpx.Response(201, json=pred_json())

    client, sleeps = mock_client(handler)
    async with client:
        p = await client.create_prediction({"prompt": "x"}, TOKEN_A)
    assert p.id == "p1" and len(calls) == 2 and sleeps.delays == [pytest.approx(3, abs=0.1)]


async def test_retry_after_is_capped() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, headers={"Retry-After": "3600"}, json={"status": 429})
        return httpx.Response(200, json=pred_json())

    client, sleeps = mock_client(handler)
    async with client:
        await client.get_prediction("p1", TOKEN_A)
    assert sleeps.delays == [30.0]


async def test_create_retried_when_connection_refused_before_sending() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("Connection refused", request=request)
        return httpx.Response(201, json=pred_json())

    client, _ = mock_client(handler)
    async with client:
        assert (await client.create_prediction({"prompt": "x"}, TOKEN_A)).id == "p1"
    assert calls == 2


@pytest.mark.parametrize(("failure", "expected"), [
    ("500", errors.ServerError),
    ("503", errors.ServerError),
    ("read_timeout", errors.KlingTimeoutError),
    ("dropped", errors.KlingConnectionError),
])
async def test_create_is_never_retried_when_the_server_may_have_created_it(
    failure: str, expected: type
) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        if request.method == "GET":  # the look-up for a prediction it may have made: none
            return httpx.Response(200, json={"next": None, "previous": None, "results": []})
        calls += 1
        if failure == "read_timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if failure == "dropped":
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return httpx.Response(int(failure), json={"status": int(failure), "detail": "boom"})

    client, sleeps = mock_client(handler)
    async with client:
        with pytest.raises(expected):
            await client.create_prediction({"prompt": "x"}, TOKEN_A)
    assert calls == 1 and sleeps.delays == []


@pytest.mark.parametrize("failure", ["500", "502", "503", "504", "429", "connect", "dropped", "timeout"])
async def test_get_is_retried_on_transient_failures(failure: str) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            if failure == "connect":
                raise httpx.ConnectError("refused", request=request)
            if failure == "dropped":
                raise httpx.RemoteProtocolError("peer closed connection", request=request)
            if failure == "timeout":
                raise httpx.ReadTimeout("slow", request=request)
            return httpx.Response(int(failure), json={"status": int(failure)})
        return httpx.Response(200, json=pred_json("processing"))

    client, sleeps = mock_client(handler)
    async with client:
        assert (await client.get_prediction("p1", TOKEN_A)).status == "processing"
    assert calls == 2 and len(sleeps.delays) == 1


async def test_get_gives_up_after_a_few_attempts() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, json={"status": 503})

    client, sleeps = mock_client(handler, retry_attempts=3)
    async with client:
        with pytest.raises(errors.ServerError):
            await client.get_prediction("p1", TOKEN_A)
    assert calls == 4 and len(sleeps.delays) == 3


# -- requests: routes, headers, versions -------------------------------------------------------
async def test_create_sends_model_route_prefer_and_cancel_after() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json=pred_json())

    client, _ = mock_client(handler)
    async with client:
        await client.create_prediction({"prompt": "x"}, TOKEN_A, wait=5, cancel_after="30m")
    req = seen[0]
    assert req.url.path == "/v1/models/kwaivgi/kling-o1/predictions"
    assert req.headers["prefer"] == "wait=5" and req.headers["cancel-after"] == "30m"
    assert req.headers["authorization"] == f"Bearer {TOKEN_A.reveal()}"
    assert json.loads(req.content) == {"input": {"prompt": "x"}}


async def test_pinned_version_uses_the_versions_route() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=pred_json())

    client, _ = mock_client(handler, model="kwaivgi/kling-o1:6d5f2d4becc7")
    async with client:
        await client.create_prediction({"prompt": "x"}, TOKEN_A, wait=0, cancel_after=None)
    assert seen[0].url.path == "/v1/predictions"
    assert json.loads(seen[0].content) == {"version": "6d5f2d4becc7", "input": {"prompt": "x"}}
    assert "prefer" not in seen[0].headers and "cancel-after" not in seen[0].headers


async def test_download_never_sends_the_key_to_another_host(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"\x00\x00\x00\x18ftypmp42" + b"x" * 100)

    client, _ = mock_client(handler)
    async with client:
        await client.download_output(["https://replicate.delivery/xyz/out.mp4"], tmp_path / "a.mp4", TOKEN_A)
        await client.download_output(f"{BASE}/v1/files/f1/download", tmp_path / "b.mp4", TOKEN_A)
    assert "authorization" not in seen[0].headers
    assert seen[1].headers["authorization"].endswith(TOKEN_A.reveal())
    assert (tmp_path / "a.mp4").read_bytes()[4:8] == b"ftyp"


async def test_download_of_an_expired_output_says_it_is_gone(tmp_path: Path) -> None:
    for status in (404, 410):
        client, _ = mock_client(lambda r, s=status: httpx.Response(s, json={"status": s}))
        async with client:
            with pytest.raises(errors.NotFoundError, match="already gone"):
                await client.download_output("https://replicate.delivery/x.mp4", tmp_path / "o.mp4")
        assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "o.mp4.part").exists()


async def test_download_refuses_an_empty_file(tmp_path: Path) -> None:
    client, _ = mock_client(lambda r: httpx.Response(200, content=b""))
    async with client:
        with pytest.raises(errors.KlingError, match="empty"):
            await client.download_output("https://replicate.delivery/x.mp4", tmp_path / "o.mp4")


async def test_upload_of_100_mib_is_refused_before_sending(tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as f:
        f.truncate(UPLOAD_MAX_BYTES)  # sparse: no disk or memory spent
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500)

    client, _ = mock_client(handler)
    async with client:
        with pytest.raises(errors.InputError, match="under 100 MB"):
            await client.upload_file(big, TOKEN_A)
    assert calls == 0


async def test_small_files_go_inline_as_data_uris(tmp_path: Path) -> None:
    small = make_png(tmp_path / "s.png", (300, 300))
    assert small.stat().st_size <= INLINE_MAX_BYTES
    client, _ = mock_client(lambda r: httpx.Response(500))
    async with client:
        url = await client.as_input_url(small, TOKEN_A)
    assert url.startswith("data:image/png;base64,")


async def test_input_urls_inline_small_files_and_upload_the_rest(tmp_path: Path) -> None:
    small = make_png(tmp_path / "s.png", (300, 300))
    large = tmp_path / "clip.mp4"
    large.write_bytes(b"\x00" * (INLINE_MAX_BYTES + 1))
    with running_simulator() as (base, state):
        async with ReplicateClient(base) as client:
            urls, uploaded = await client.input_urls([small, large, small], TOKEN_A)
        assert urls[str(small)].startswith("data:image/png;base64,")
        assert [u.url for u in uploaded] == [urls[str(large)]] and list(state.files) == [uploaded[0].id]


async def test_delete_file_is_best_effort(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kling_ui.replicate.files")
    client, _ = mock_client(lambda r: httpx.Response(404, json={"status": 404, "detail": "File not found"}))
    async with client:
        assert await client.delete_file("gone", TOKEN_A) is False
    assert "uploaded file gone was gone already" in caplog.text
    client, _ = mock_client(lambda r: httpx.Response(403, json={"status": 403, "detail": "Forbidden"}))
    async with client:
        assert await client.delete_file("kept", TOKEN_A) is False
    assert "could not delete uploaded file kept" in caplog.text


# -- waiting -----------------------------------------------------------------------------------
def _sequence_handler(states: list[dict[str, Any]], log: list[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        if request.url.path.endswith("/cancel"):
            return httpx.Response(200, json=pred_json("canceled"))
        return httpx.Response(200, json=states.pop(0) if len(states) > 1 else states[0])
    return handler


async def test_wait_reports_every_poll_sync_and_async() -> None:
    states = [pred_json("processing", logs="Generating frames 20%\n"),
              pred_json("processing", logs="Generating frames 20%\nGenerating frames 80%\n"),
              pred_json("succeeded", output="https://d/o.mp4", logs="done\n")]
    seen: list[Progress] = []
    seen_async: list[Progress] = []

    async def record_async(p: Progress) -> None:
        seen_async.append(p)

    for callback, store in ((seen.append, seen), (record_async, seen_async)):
        client, sleeps = mock_client(_sequence_handler(list(states), []))
        async with client:
            done = await client.wait(Prediction.from_json(pred_json()), TOKEN_A, on_update=callback)
        assert done.status == "succeeded"
        assert [p.status for p in store] == ["starting", "processing", "processing", "succeeded"]
        assert store[2].log_line == "Generating frames 80%" and store[2].fraction == 0.8
        assert sleeps.delays[0] == pytest.approx(0.5, abs=0.11)


@pytest.mark.parametrize(("status", "error", "needle"), [
    ("failed", "NSFW content detected", "NSFW content detected"),
    ("aborted", None, "deadline"),
    ("canceled", None, "canceled"),
])
async def test_wait_raises_for_bad_endings(status: str, error: str | None, needle: str) -> None:
    client, _ = mock_client(_sequence_handler([pred_json(status, error=error)], []))
    async with client:
        with pytest.raises(errors.PredictionError, match=needle) as info:
            await client.wait(Prediction.from_json(pred_json()), TOKEN_A)
    assert info.value.status == status and info.value.prediction_id == "p1"


async def test_wait_past_its_deadline_cancels_on_the_server() -> None:
    now = [0.0]
    requests: list[httpx.Request] = []

    async def sleep(delay: float) -> None:
        now[0] += delay

    client = ReplicateClient(BASE, transport=httpx.MockTransport(
        _sequence_handler([pred_json("processing")], requests)), sleep=sleep, clock=lambda: now[0])
    async with client:
        with pytest.raises(errors.PredictionError, match="Timed out") as info:
            await client.wait(Prediction.from_json(pred_json()), TOKEN_A, deadline=20)
    assert info.value.status == "timed out"
    assert requests[-1].method == "POST" and requests[-1].url.path == "/v1/predictions/p1/cancel"
    assert 20 <= now[0] < 26


# -- the token stays secret --------------------------------------------------------------------
async def test_token_never_appears_in_reprs_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = TOKEN_B.reveal()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1/predictions/"):
            return httpx.Response(503, json={"status": 503, "detail": f"echo {request.headers['authorization']}"})
        return httpx.Response(401, json={"title": "Unauthenticated", "status": 401,
                                         "detail": f"Invalid token {secret}"})

    client, _ = mock_client(handler, retry_attempts=1)
    async with client:
        with pytest.raises(errors.AuthError) as auth:
            await client.create_prediction({"prompt": "x"}, TOKEN_B)
        with pytest.raises(errors.ServerError) as server:
            await client.get_prediction("p9", TOKEN_B)
        texts = [str(auth.value), auth.value.detail, str(server.value), server.value.detail,
                 repr(client), repr(TOKEN_B), f"{TOKEN_B}", caplog.text]
    assert "Replicate did not accept the API key" in str(auth.value)
    assert "retrying" in caplog.text
    for text in texts:
        assert secret not in text


# -- end to end against the simulator ----------------------------------------------------------
@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    return {
        "start": make_png(d / "start.png", (480, 320), (200, 40, 40)),
        "end": make_png(d / "end.png", (480, 320), (40, 40, 200)),
        "ref1": make_png(d / "ref1.png", (400, 400), (40, 160, 40)),
        "ref2": make_png(d / "ref2.jpg", (400, 600), (160, 160, 40)),
        "clip": make_clip(d / "clip.mp4", 3.0, (720, 720)),
    }


def _img(path: Path) -> ImageInfo:
    return ImageInfo(path=str(path), format="PNG", bytes=path.stat().st_size, width=400, height=400)


def _vid(path: Path) -> VideoInfo:
    return VideoInfo(path=str(path), container="mp4", video_codec="h264", duration=3.0,
                     width=720, height=720, fps=24.0, bytes=path.stat().st_size, audio_codec="aac")


def _jobs(m: dict[str, Path]) -> dict[str, tuple[JobRequest, dict[str, Any], float, tuple[int, int]]]:
    """Each mode: the job, the exact input Replicate must receive (URLs aside), duration, size
    (Kling's std 720p; a start frame and a base clip decide the shape)."""
    return {
        "text": (JobRequest(Tab.TEXT, "A fox in snow", aspect_ratio="9:16", duration=5, quality="std"),
                 {"prompt": "A fox in snow", "mode": "std", "aspect_ratio": "9:16", "duration": 5},
                 5.0, (720, 1280)),
        "frames": (JobRequest(Tab.FRAMES, "The person in @Image1 dances", start_image=_img(m["start"]),
                              end_image=_img(m["end"]), duration=5, quality="std"),
                   {"prompt": "The person in <<<image_1>>> dances", "mode": "std", "duration": 5,
                    "start_image": "start", "end_image": "end"}, 5.0, (1280, 720)),
        "references": (JobRequest(Tab.REFERENCES, "Make <<<image_1>>> wave",
                                  reference_images=(_img(m["ref1"]), _img(m["ref2"])),
                                  aspect_ratio="1:1", duration=5, quality="std"),
                       {"prompt": "Make <<<image_1>>> wave", "mode": "std", "aspect_ratio": "1:1",
                        "duration": 5, "reference_images": ["ref1", "ref2"]}, 5.0, (720, 720)),
        "feature": (JobRequest(Tab.FEATURE, "Based on <<<video_1>>>, generate the next shot.",
                               reference_video=_vid(m["clip"]), duration=4, quality="std",
                               keep_original_sound=False),
                    {"prompt": "Based on <<<video_1>>>, generate the next shot.", "mode": "std",
                     "reference_video": "clip", "video_reference_type": "feature",
                     "keep_original_sound": False, "aspect_ratio": "16:9", "duration": 4},
                    4.0, (1280, 720)),
        "edit": (JobRequest(Tab.EDIT, "Put the crown from <<<image_1>>> on <<<video_1>>>",
                            reference_images=(_img(m["ref1"]),), reference_video=_vid(m["clip"]),
                            quality="std"),
                 {"prompt": "Put the crown from <<<image_1>>> on <<<video_1>>>", "mode": "std",
                  "reference_images": ["ref1"], "reference_video": "clip",
                  "video_reference_type": "base", "keep_original_sound": True},
                 3.0, (720, 720)),
    }


@pytest.mark.parametrize("mode", ["text", "frames", "references", "feature", "edit"])
async def test_each_mode_end_to_end(mode: str, media: dict[str, Path], tmp_path: Path) -> None:
    job, expected, seconds, size = _jobs(media)[mode]
    with running_simulator(model_seconds=1.0) as (base, state):
        async with ReplicateClient(base) as client:
            paths = sorted({i.path for i in job.images} | (
                {job.reference_video.path} if job.reference_video else set()))
            uploads = await client.upload_files(paths, TOKEN_A)
            urls = {p: u.url for p, u in zip(paths, uploads, strict=True)}
            updates: list[Progress] = []
            prediction, out = await client.run(build_input(job, urls), TOKEN_A, on_update=updates.append,
                                               dest_dir=tmp_path, deadline=60, wait=0)
            for u in uploads:
                assert await client.delete_file(u.id, TOKEN_A)
        sent = state.creates()[0].body["input"]
        by_url = {u.url: Path(p).stem for p, u in zip(paths, uploads, strict=True)}
        named = {k: ([by_url[x] for x in v] if isinstance(v, list) else by_url.get(v, v))
                 if k in ("start_image", "end_image", "reference_images", "reference_video") else v
                 for k, v in sent.items()}
        assert named == expected  # every field, nothing more
        assert state.files == {} and sorted(state.deleted_files) == sorted(u.id for u in uploads)
    assert prediction.status == "succeeded" and out.read_bytes()[4:8] == b"ftyp"
    assert media_duration(out) == pytest.approx(seconds, abs=0.15)
    assert media_size(out) == size
    assert updates[-1].stage == "done" and any(u.status == "processing" for u in updates)


async def test_two_visitors_reach_the_server_with_their_own_keys() -> None:
    with running_simulator(valid_tokens=frozenset({TOKEN_A.reveal(), TOKEN_B.reveal()})) as (base, state):
        async with ReplicateClient(base) as client:
            a, b = await asyncio.gather(
                client.create_prediction({"prompt": "visitor A", "mode": "std"}, TOKEN_A, wait=0),
                client.create_prediction({"prompt": "visitor B", "mode": "std"}, TOKEN_B, wait=0))
            await client.get_prediction(a, TOKEN_A)
            await client.get_prediction(b, TOKEN_B)
            with pytest.raises(errors.AuthError):
                await client.get_prediction(a, Secret("r8_" "someoneElsesKey00000000000"))
        keys = {(r.body or {}).get("input", {}).get("prompt"): r.key for r in state.creates()}
        assert keys == {"visitor A": MARK_A, "visitor B": MARK_B}
        polls = {r.path.rsplit("/", 1)[-1]: r.key for r in state.requests_to("/v1/predictions/", "GET")
                 if r.key in (MARK_A, MARK_B)}
        assert polls == {a.id: MARK_A, b.id: MARK_B}
        assert all("authorization" not in r.headers for r in state.requests)


@pytest.mark.parametrize(("fault", "cls", "needle"), [
    ({"status": 402}, errors.BillingError, "billing"),
    ({"status": 404}, errors.NotFoundError, "Not found"),
    ({"status": 422, "detail": "duration must be 5 or 10"}, errors.ValidationError, "duration must be 5 or 10"),
    ({"status": 500}, errors.ServerError, "(500)"),
    ({"status": 502}, errors.ServerError, "(502)"),
    ({"drop": True}, errors.KlingConnectionError, "dropped"),
])
async def test_create_errors_from_the_server_are_mapped_and_not_retried(
    fault: dict[str, Any], cls: type, needle: str
) -> None:
    with running_simulator() as (base, state):
        state.add_fault("/v1/models/", method="POST", times=5, **fault)
        async with ReplicateClient(base, sleep=Sleeps()) as client:
            with pytest.raises(cls, match=needle.replace("(", r"\(").replace(")", r"\)")):
                await client.create_prediction({"prompt": "x"}, TOKEN_A)
        assert len(state.creates()) == 1
        assert state.predictions == {}


async def test_invalid_input_gives_invalid_fields() -> None:
    with running_simulator() as (base, _):
        async with ReplicateClient(base) as client:
            with pytest.raises(errors.ValidationError) as info:
                await client.create_prediction({"prompt": "x", "duration": 12, "end_image": "data:,x",
                                                "colour": "red"}, TOKEN_A)
    fields = {f["field"] for f in info.value.invalid_fields}
    assert fields == {"input.duration", "input.end_image", "input.colour"}
    assert "input.duration" in str(info.value)


async def test_unauthorized_key_gives_a_friendly_401() -> None:
    with running_simulator(valid_tokens=frozenset({TOKEN_A.reveal()})) as (base, _):
        async with ReplicateClient(base) as client:
            with pytest.raises(errors.AuthError, match="Check REPLICATE_API_TOKEN"):
                await client.create_prediction({"prompt": "x"}, TOKEN_B)


@pytest.mark.parametrize("where", ["header", "body"])
async def test_create_throttled_is_retried_after_the_servers_delay(where: str) -> None:
    with running_simulator() as (base, state):
        kwargs = {"retry_after_header": 2} if where == "header" else {"retry_after_body": 4}
        state.add_fault("/v1/models/", 429, method="POST", **kwargs)
        sleeps = Sleeps()
        async with ReplicateClient(base, sleep=sleeps) as client:
            p = await client.create_prediction({"prompt": "x", "mode": "std"}, TOKEN_A, wait=0)
        assert len(state.creates()) == 2 and list(state.predictions) == [p.id]
        assert sleeps.delays == [pytest.approx(2 if where == "header" else 4, abs=0.1)]


@pytest.mark.parametrize("html", [False, True])
async def test_upload_too_large_for_the_server(tmp_path: Path, html: bool) -> None:
    f = tmp_path / "clip.mp4"
    f.write_bytes(b"\x00" * 300_000)
    with running_simulator(upload_limit=200_000, html_413=html) as (base, state):
        async with ReplicateClient(base) as client:
            with pytest.raises(errors.PayloadTooLargeError, match="100 MB"):
                await client.upload_file(f, TOKEN_A)
        assert len(state.requests_to("/v1/files", "POST")) == 1 and state.files == {}


async def test_poll_survives_5xx_and_a_dropped_connection(tmp_path: Path) -> None:
    with running_simulator(model_seconds=0.5, delivery_host="localhost") as (base, state):
        sleeps = Sleeps(real=0.05)
        async with ReplicateClient(base, sleep=sleeps) as client:
            p = await client.create_prediction({"prompt": "x", "mode": "std"}, TOKEN_A, wait=0)
            state.add_fault(f"/v1/predictions/{p.id}", 503, method="GET")
            state.add_fault(f"/v1/predictions/{p.id}", method="GET", drop=True)
            state.add_fault(f"/v1/predictions/{p.id}", 429, method="GET", retry_after_body=0.1)
            done = await client.wait(p, TOKEN_A, deadline=30)
            state.add_fault("/delivery/", method="GET", drop=True)
            state.add_fault("/delivery/", 502, method="GET")
            out = await client.download_output(done.output, tmp_path / "o.mp4", TOKEN_A)
        assert len(state.requests_to("/delivery/")) == 3
        assert done.output.startswith("http://localhost:")  # another host than the API's
        assert all(r.key is None for r in state.requests_to("/delivery/"))  # the key stayed home
        assert all(r.key == MARK_A for r in state.requests_to("/v1/"))
        assert 0.1 in sleeps.delays  # the 429 body's retry_after was honoured
    assert done.status == "succeeded" and out.stat().st_size > 1000


async def test_slow_server_times_out_and_create_is_not_repeated() -> None:
    with running_simulator() as (base, state):
        state.add_fault("/v1/models/", method="POST", delay=1.0)
        timeout = httpx.Timeout(5.0, read=0.3)
        async with ReplicateClient(base, timeout=timeout, sleep=Sleeps()) as client:
            with pytest.raises(errors.KlingTimeoutError, match="did not answer in time"):
                await client.create_prediction({"prompt": "x"}, TOKEN_A, wait=0)
        await asyncio.sleep(1.0)  # let the slow request land
        assert len(state.creates()) == 1


async def test_cancel_event_cancels_on_the_server() -> None:
    with running_simulator(model_seconds=20) as (base, state):
        async with ReplicateClient(base) as client:
            event = asyncio.Event()

            def on_update(progress: Progress) -> None:
                if progress.status == "processing":
                    event.set()

            with pytest.raises(errors.PredictionError, match="Canceled") as info:
                await client.run({"prompt": "x", "mode": "std"}, TOKEN_A, on_update=on_update,
                                 cancel_event=event, wait=0)
        pid = info.value.prediction_id
        assert info.value.status == "canceled" and state.cancels == [pid]
        assert state.predictions[pid].status == "canceled"


async def test_abandoned_run_is_cancelled_on_the_server() -> None:
    with running_simulator(model_seconds=20) as (base, state):
        async with ReplicateClient(base) as client:
            task = asyncio.ensure_future(client.run({"prompt": "x", "mode": "std"}, TOKEN_A, wait=0))
            while not state.predictions:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        (pid,) = state.predictions
        assert state.cancels == [pid] and state.predictions[pid].status == "canceled"


async def test_deadline_cancels_on_the_server() -> None:
    with running_simulator(model_seconds=20) as (base, state):
        async with ReplicateClient(base) as client:
            with pytest.raises(errors.PredictionError, match="Timed out") as info:
                await client.run({"prompt": "x", "mode": "std"}, TOKEN_A, deadline=0.8, wait=0)
        assert info.value.status == "timed out" and state.cancels == [info.value.prediction_id]


async def test_aborted_prediction_explains_the_deadline() -> None:
    with running_simulator(start_seconds=5, min_cancel_after=0.2) as (base, state):
        async with ReplicateClient(base) as client:
            with pytest.raises(errors.PredictionError, match="aborted") as info:
                await client.run({"prompt": "x", "mode": "std"}, TOKEN_A, wait=0, cancel_after="0.5s",
                                 deadline=30)
        assert info.value.status == "aborted" and state.cancels == []


async def test_failed_prediction_carries_the_models_error() -> None:
    with running_simulator() as (base, state):
        state.end_next("failed")
        async with ReplicateClient(base) as client:
            with pytest.raises(errors.PredictionError, match="E1234") as info:
                await client.run({"prompt": "x", "mode": "std"}, TOKEN_A, wait=0)
        assert info.value.status == "failed"


async def test_data_uri_output_is_saved(tmp_path: Path) -> None:
    with running_simulator() as (base, state):
        state.end_next("data_uri")
        async with ReplicateClient(base) as client:
            created: list[Prediction] = []
            p, out = await client.run({"prompt": "x", "mode": "std", "duration": 5}, TOKEN_A,
                                      dest=tmp_path / "mine.mp4", wait=10, on_created=created.append)
    assert out == tmp_path / "mine.mp4" and created[0].id == p.id
    assert p.output.startswith("data:video/mp4;base64,") and out.read_bytes()[4:8] == b"ftyp"


async def test_201_with_output_while_processing_counts_as_done(tmp_path: Path) -> None:
    with running_simulator(model_seconds=30) as (base, state):
        state.output_while_processing = 1
        async with ReplicateClient(base) as client:
            created = await client.create_prediction({"prompt": "x", "mode": "std"}, TOKEN_A, wait=10)
            assert created.status == "processing" and created.output
            done = await client.wait(created, TOKEN_A)
            out = await client.download_output(done.output, tmp_path / "o.mp4")
        assert done is created  # no poll needed
        assert state.requests_to(f"/v1/predictions/{created.id}", "GET") == []
    assert out.stat().st_size > 1000


async def test_95_mb_upload_streams_with_little_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as f:
        f.truncate(95 * 1024 * 1024)
    with running_simulator() as (base, state):
        async with ReplicateClient(base) as client:
            tracemalloc.start()
            try:
                uploaded = await client.upload_file(big, TOKEN_A)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert uploaded.size == 95 * 1024 * 1024
        assert state.files[uploaded.id].size == uploaded.size
    print(f"95 MB upload: peak traced memory {peak / 1e6:.1f} MB (client and simulator together)")
    assert peak < 32 * 1024 * 1024


async def test_delete_files_deletes_every_upload_and_survives_a_failure() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/b"):
            return httpx.Response(500, json={"title": "boom", "status": 500})
        return httpx.Response(204)

    client = ReplicateClient(BASE, transport=httpx.MockTransport(handler), sleep=Sleeps(),
                             retry_attempts=0)
    files = [UploadedFile(id=i, url=f"https://x/{i}", size=1) for i in ("a", "b", "c")]
    async with client:
        assert await client.delete_files(files, Secret("r8_testtesttesttest")) == 2
    assert sorted(seen) == ["/v1/files/a", "/v1/files/b", "/v1/files/c"]


async def test_a_create_that_times_out_after_replicate_made_it_is_found_not_repeated(
        tmp_path: Path) -> None:
    """Replicate made (and bills) the prediction but the reply never came: the client finds it
    through GET /v1/predictions and carries on with it, so the user pays once and gets it."""
    with running_simulator(model_seconds=0.5) as (base, state):
        state.stall_creates.append(3.0)
        short = httpx.Timeout(10.0, read=1.0)
        async with ReplicateClient(base, timeout=short) as client:
            prediction, out = await client.run({"prompt": "a lighthouse", "duration": 5},
                                               TOKEN_A, dest_dir=tmp_path, deadline=60)
        assert len(state.creates()) == 1
        assert prediction.id in state.predictions and prediction.status == "succeeded"
        assert out.stat().st_size > 0


async def test_a_create_with_no_answer_and_no_prediction_says_nothing_started() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("no answer", request=request)
        assert request.url.params.get("created_after")
        return httpx.Response(200, json={"next": None, "previous": None, "results": [
            pred_json("processing", pid="someone-else") | {"input": {"prompt": "other"}}]})

    client, _ = mock_client(handler)
    async with client:
        with pytest.raises(errors.KlingTimeoutError) as err:
            await client.create_prediction({"prompt": "x"}, TOKEN_A)
    assert "billed twice" not in str(err.value)


async def test_when_even_the_check_fails_the_user_is_told_to_look_before_rerunning() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(504, text="<html>Gateway Timeout</html>")
        raise httpx.ConnectError("down", request=request)

    client, _ = mock_client(handler)
    async with client:
        with pytest.raises(errors.ServerError) as err:
            await client.create_prediction({"prompt": "x"}, TOKEN_A)
    assert "so you are not billed twice" in str(err.value)
    assert TOKEN_A.reveal() not in str(err.value)


# -- an ambiguous create never adopts another visitor's prediction (issue #11, point 6) -------
def _lost_create_handler(listed: list[dict[str, Any]], seen: list[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(200, json={"next": None, "previous": None, "results": listed})

    return handler


MINE = {"prompt": "a fox", "start_image": f"{BASE}/v1/files/mine", "duration": 5}
THEIRS = {"prompt": "a fox", "start_image": f"{BASE}/v1/files/theirs", "duration": 5}


async def test_an_ambiguous_create_adopts_only_the_exact_same_input() -> None:
    seen: list[httpx.Request] = []
    listed = [pred_json("processing", pid="theirs") | {"input": THEIRS},
              pred_json("processing", pid="mine") | {"input": MINE}]
    client, _ = mock_client(_lost_create_handler(listed, seen))
    async with client:
        found = await client.create_prediction(MINE, TOKEN_A)
    assert found.id == "mine"
    assert [r.method for r in seen] == ["POST", "GET"]  # never created twice


async def test_another_visitors_same_preset_is_never_adopted() -> None:
    seen: list[httpx.Request] = []
    listed = [pred_json("processing", pid="theirs") | {"input": THEIRS}]  # same prompt and keys
    client, _ = mock_client(_lost_create_handler(listed, seen))
    async with client:
        with pytest.raises(errors.KlingTimeoutError) as err:
            await client.create_prediction(MINE, TOKEN_A)
    assert "theirs" not in str(err.value)


async def test_a_text_only_create_with_two_candidates_names_them_and_picks_none() -> None:
    seen: list[httpx.Request] = []
    text = {"prompt": "a calm sea", "duration": 5, "mode": "pro"}
    listed = [pred_json("processing", pid="p-one") | {"input": text},
              pred_json("processing", pid="p-two") | {"input": text}]
    client, _ = mock_client(_lost_create_handler(listed, seen))
    async with client:
        with pytest.raises(errors.KlingTimeoutError) as err:
            await client.create_prediction(text, TOKEN_A)
    assert "p-one" in str(err.value) and "p-two" in str(err.value)
    assert "did not adopt" in str(err.value)


async def test_a_text_only_candidate_another_job_owns_is_not_adopted() -> None:
    text = {"prompt": "a calm sea", "duration": 5, "mode": "pro"}
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if request.method == "POST" and calls == 1:  # visitor 1: created and answered
            return httpx.Response(201, json=pred_json("starting", pid="first") | {"input": text})
        if request.method == "POST":  # visitor 2, same preset: no answer
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(200, json={"next": None, "previous": None, "results": [
            pred_json("processing", pid="first") | {"input": text}]})

    client, _ = mock_client(handler)
    async with client:
        assert (await client.create_prediction(text, TOKEN_A)).id == "first"
        with pytest.raises(errors.KlingTimeoutError, match="first"):
            await client.create_prediction(text, TOKEN_A)


# -- a pasted key is checked at once (issue #11, point 7) -------------------------------------
async def test_a_bad_key_is_refused_with_one_request_and_no_retry() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"title": "Unauthenticated", "status": 401,
                                         "detail": "You did not pass a valid authentication token"})

    client, sleeps = mock_client(handler)
    async with client:
        with pytest.raises(errors.AuthError, match="did not accept the API key"):
            await client.account(Secret("hello"))
    assert [(r.method, r.url.path) for r in seen] == [("GET", "/v1/account")]
    assert sleeps.delays == []


async def test_a_good_key_gives_its_username() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {TOKEN_A.reveal()}"
        return httpx.Response(200, json={"type": "user", "username": "ada", "name": "Ada"})

    client, _ = mock_client(handler)
    async with client:
        assert await client.account(TOKEN_A) == "ada"


async def test_insufficient_credit_is_explained_with_the_billing_link() -> None:
    with running_simulator() as (base, state):
        state.add_fault("/v1/models", 402, method="POST")
        async with ReplicateClient(base) as client:
            with pytest.raises(errors.BillingError) as err:
                await client.create_prediction({"prompt": "x"}, TOKEN_A)
    text = str(err.value)
    assert "https://replicate.com/account/billing#billing" in text
    assert "insufficient credit to run this model" in text  # Replicate's own words, quoted
    assert len(state.creates()) == 1


# -- throttling as Replicate does it (issue #11, point 1) ---------------------------------------
LOW_CREDIT = ("Your rate limit is reduced to 6 requests per minute with a burst of 1 requests "
              "while you have less than $5.0 in credit. Your rate limit resets in ~10s.")


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ({"detail": "Request was throttled. Your rate limit resets in ~30s.", "status": 429}, {}, 30),
        ({"detail": LOW_CREDIT, "status": 429}, {}, 10),
        ({"detail": "Request was throttled.", "status": 429}, {"ratelimit-reset": "7"}, 7),
        ({"detail": "resets in ~30s.", "retry_after": 5}, {}, 5),  # an explicit field wins
        ({"detail": "resets in ~30s."}, {"Retry-After": "2"}, 2),
    ],
)
def test_the_wait_is_read_from_replicates_429(body: dict[str, Any], headers: dict[str, str],
                                              expected: float) -> None:
    with pytest.raises(errors.RateLimitError) as err:
        raise_for_status(_response(429, body, headers=headers))
    assert err.value.retry_after == expected
    assert f"Try again in {expected} s" in str(err.value)


class FakeClock:
    """A clock the injected sleep moves forward: minutes of pacing in no time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        # Concurrent sleepers share the time line: each wakes at its own target.
        self.sleeps.append(delay)
        target = self.now + delay
        await asyncio.sleep(0)
        self.now = max(self.now, target)


async def test_three_jobs_on_a_low_credit_key_queue_politely_and_all_start() -> None:
    from kling_ui.replicate.simulator import SimOptions, SimState

    clock = FakeClock()
    bucket = SimState(SimOptions(creates_per_minute=6, create_burst=1, low_credit=True))
    answers: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        wait = bucket.take_create("key", now=clock.now)
        if wait is not None:  # exactly Replicate's body: no Retry-After, no retry_after
            answers.append(429)
            return httpx.Response(429, json={"detail": bucket.throttle_detail(wait), "status": 429})
        answers.append(201)
        return httpx.Response(201, json=pred_json(pid=f"p{answers.count(201)}"))

    updates: list[Progress] = []
    client = ReplicateClient(BASE, transport=httpx.MockTransport(handler), sleep=clock.sleep,
                             clock=clock, rng=random.Random(1))
    try:
        async with client:
            made = await asyncio.gather(*(
                client.create_prediction({"prompt": f"job {i}"}, TOKEN_A, pace_budget=900,
                                         on_update=updates.append) for i in range(3)))
    finally:
        bucket.close()
    assert sorted(p.id for p in made) == ["p1", "p2", "p3"]
    assert answers.count(201) == 3 and answers.count(429) <= 3  # one 429 each, then in turn
    assert clock.now - 1000.0 == pytest.approx(20, abs=1.5)  # 6/min, burst 1: 0 s, 10 s, 20 s
    lines = [u.log_line for u in updates]
    assert "Replicate is pacing this key: starting in ~10 s" in lines
    assert "Replicate is pacing this key: starting in ~20 s" in lines
    assert all(u.stage == "starting" for u in updates)


async def test_pacing_gives_up_only_at_the_jobs_deadline() -> None:
    clock = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"detail": "Request was throttled. Your rate limit "
                                                   "resets in ~30s.", "status": 429})

    client = ReplicateClient(BASE, transport=httpx.MockTransport(handler), sleep=clock.sleep,
                             clock=clock)
    async with client:
        with pytest.raises(errors.RateLimitError, match="within its 100 s deadline"):
            await client.create_prediction({"prompt": "x"}, TOKEN_A, pace_budget=100)
    assert clock.sleeps == [30, 30, 30]  # a fourth wait would pass the deadline


async def test_a_reply_with_no_requests_remaining_holds_the_next_create() -> None:
    clock = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json=pred_json(),
                              headers={"ratelimit-remaining": "0", "ratelimit-reset": "4"})

    client = ReplicateClient(BASE, transport=httpx.MockTransport(handler), sleep=clock.sleep,
                             clock=clock)
    async with client:
        await client.create_prediction({"prompt": "x"}, TOKEN_A)
        await client.create_prediction({"prompt": "x"}, TOKEN_A)
    assert clock.sleeps == [4]


@pytest.mark.slow  # out of the inner loop (issue #21): tens of seconds
async def test_a_throttled_key_runs_three_jobs_at_once_on_the_simulator(tmp_path: Path) -> None:
    """6 creates/min with a burst of 1, as Replicate limits a key with less than $5 of credit:
    three jobs at once all finish, with three predictions, instead of one failing."""
    with running_simulator(creates_per_minute=6, create_burst=1, low_credit=True) as (base, state):
        updates: list[Progress] = []
        async with ReplicateClient(base) as client:
            results = await asyncio.gather(*(
                client.run({"prompt": f"job {i}", "duration": 5}, TOKEN_A,
                           dest=tmp_path / f"out{i}.mp4", deadline=120, on_update=updates.append)
                for i in range(3)))
        assert len(state.predictions) == 3
        assert all(p.status == "succeeded" and out.stat().st_size > 0 for p, out in results)
        assert state.throttled, "the simulator never throttled: the test proves nothing"
        assert any(u.log_line.startswith("Replicate is pacing this key: starting in ~")
                   for u in updates)


# -- noticing the end fast, without a blind minute (issue #11, point 8) ------------------------
def test_polls_are_sparse_far_from_the_expected_end_and_dense_around_it() -> None:
    from kling_ui.replicate.protocol import POLL_DENSE, POLL_SPARSE, poll_delay

    assert poll_delay(0.0, 0, None, random.Random(0)) == pytest.approx(0.5, abs=0.11)  # unknown
    assert 2.9 <= poll_delay(0.0, 5, 60.0) <= POLL_SPARSE  # far: progress every few seconds
    assert poll_delay(55.0, 5, 60.0) == pytest.approx(4.9 / 2)  # evenly, to just before the end
    assert poll_delay(58.0, 5, 60.0) == pytest.approx(2.0 - 0.1)
    assert poll_delay(59.9, 5, 60.0) == POLL_DENSE
    assert poll_delay(60.4, 5, 60.0) == POLL_DENSE
    assert poll_delay(70.0, 5, 60.0) == 2.0  # later than usual: back to the plain cap


def test_the_expected_end_uses_replicates_own_start_offset() -> None:
    from kling_ui.replicate.protocol import expected_end

    p = Prediction.from_json(pred_json("processing") | {
        "created_at": "2025-01-01T00:00:00.000000Z", "started_at": "2025-01-01T00:00:01.500000Z"})
    assert expected_end(p, sent_at=100.0, now=103.0, expected_seconds=10) == pytest.approx(111.5)
    waiting = Prediction.from_json(pred_json("starting"))
    assert expected_end(waiting, sent_at=100.0, now=103.0, expected_seconds=10) == 113.0
    assert expected_end(p, sent_at=100.0, now=103.0, expected_seconds=None) is None


@pytest.mark.parametrize("model_seconds", [10.0, 60.0])
async def test_a_known_model_time_is_noticed_fast_with_few_gets(model_seconds: float) -> None:
    clock = FakeClock()
    t0 = clock.now
    gets: list[float] = []
    stamps = {"created_at": "2025-01-01T00:00:00Z", "started_at": "2025-01-01T00:00:00.300000Z"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            clock.now += 5.0  # Prefer: wait=5 held the create
            return httpx.Response(201, json=pred_json("processing") | stamps)
        gets.append(clock.now)
        done = clock.now - t0 >= 0.3 + model_seconds
        return httpx.Response(200, json=pred_json("succeeded" if done else "processing",
                                                  output="https://d/o.mp4" if done else None)
                              | stamps)

    client = ReplicateClient(BASE, transport=httpx.MockTransport(handler), sleep=clock.sleep,
                             clock=clock)
    async with client:
        p = await client.create_prediction({"prompt": "x"}, TOKEN_A)
        await client.wait(p, TOKEN_A, expected_seconds=model_seconds)
    noticed = gets[-1] - t0 - (0.3 + model_seconds)
    assert 0 <= noticed <= 0.06  # within one dense poll of the end
    per_minute = len(gets) / ((gets[-1] - t0) / 60)
    assert per_minute < 40
    assert max(b - a for a, b in zip(gets, gets[1:], strict=False)) <= 3.0  # never blind long


async def test_a_cancel_during_a_sparse_wait_acts_at_once() -> None:
    cancels: list[float] = []
    loop_time = asyncio.get_running_loop().time

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cancel"):
            cancels.append(loop_time())
            return httpx.Response(200, json=pred_json("canceled"))
        return httpx.Response(200, json=pred_json("processing"))

    cancel = asyncio.Event()
    async with ReplicateClient(BASE, transport=httpx.MockTransport(handler)) as client:
        task = asyncio.ensure_future(client.wait(Prediction.from_json(pred_json("processing")),
                                                 TOKEN_A, cancel_event=cancel,
                                                 expected_seconds=600))
        await asyncio.sleep(0.1)  # now in a 3 s sparse sleep
        asked = loop_time()
        cancel.set()
        with pytest.raises(errors.PredictionError, match="Canceled"):
            await task
    assert cancels and cancels[0] - asked < 0.5


async def test_the_create_is_held_across_the_expected_end_when_the_hold_can_reach_it() -> None:
    """Held (Prefer: wait) past the mode's usual end, so the end is heard one trip after it
    (issue #22); 5 s when the time is unknown; not held for a mode that usually runs longer
    than a hold can last (60 s)."""
    prefers: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            prefers.append(request.headers.get("prefer"))
            return httpx.Response(201, json=pred_json("succeeded", output="data:video/mp4;base64,AAAA"))
        return httpx.Response(200, json=pred_json("succeeded", output="data:video/mp4;base64,AAAA"))

    client, _ = mock_client(handler)
    async with client:
        for expected in (None, 3.0, 5.0, 6.0, 240.0):
            await client.run({"prompt": "x"}, TOKEN_A, expected_seconds=expected,
                             dest=str(Path(tempfile.mkdtemp()) / "o.mp4"))
    assert prefers == ["wait=5", "wait=5", "wait=7", "wait=8", None]


async def test_a_cancel_while_the_create_is_held_reaches_replicate_in_one_trip() -> None:
    """A mode's first run holds its create, and with it the prediction's id; a cancel then went
    nowhere until the hold ended (3 s, issue #22). The prediction is looked up from a second
    connection while the create is held, so the cancel goes straight to it."""
    cancels: list[float] = []
    loop_time = asyncio.get_running_loop().time
    canceled = asyncio.Event()
    listed = {"id": "p1", "input": {"prompt": "x"}, "status": "processing",
              "created_at": "2025-01-01T00:00:00Z",
              "urls": {"cancel": f"{BASE}/v1/predictions/p1/cancel"}}

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cancel"):
            cancels.append(loop_time())
            canceled.set()
            return httpx.Response(200, json=pred_json("canceled"))
        if request.method == "GET" and request.url.path == "/v1/predictions":
            return httpx.Response(200, json={"results": [listed], "next": None})
        if request.method == "POST":
            assert request.headers.get("prefer") == "wait=5"
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(canceled.wait(), 5)  # held until it ends
            return httpx.Response(201, json=pred_json("canceled"))
        return httpx.Response(200, json=pred_json("canceled"))

    cancel = asyncio.Event()
    async with ReplicateClient(BASE, transport=httpx.MockTransport(handler)) as client:
        task = asyncio.ensure_future(client.run({"prompt": "x"}, TOKEN_A, cancel_event=cancel,
                                                expected_seconds=None))
        await asyncio.sleep(0.3)
        asked = loop_time()
        cancel.set()
        with pytest.raises(errors.PredictionError, match="cancel"):
            await asyncio.wait_for(task, 5)
    assert cancels and cancels[0] - asked < 0.1


async def test_a_cancel_in_the_first_seconds_of_a_long_mode_reaches_replicate_at_once() -> None:
    """Before, the create was held 5 s whatever the mode, and a cancel clicked then waited for
    it: there was no prediction id to cancel. A mode known to run minutes is not held."""
    cancels: list[float] = []
    loop_time = asyncio.get_running_loop().time

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cancel"):
            cancels.append(loop_time())
            return httpx.Response(200, json=pred_json("canceled"))
        if request.method == "POST" and request.headers.get("prefer"):
            await asyncio.sleep(5)  # a held create: Replicate answers when its wait runs out
        return httpx.Response(201 if request.method == "POST" else 200,
                              json=pred_json("starting"))

    cancel = asyncio.Event()
    seen: list[Progress] = []
    async with ReplicateClient(BASE, transport=httpx.MockTransport(handler)) as client:
        task = asyncio.ensure_future(client.run({"prompt": "x"}, TOKEN_A, cancel_event=cancel,
                                                expected_seconds=180.0, on_update=seen.append))
        await asyncio.sleep(0.2)
        asked = loop_time()
        cancel.set()
        with pytest.raises(errors.PredictionError, match="Canceled"):
            await task
    assert cancels and cancels[0] - asked < 0.5
    # The last status shown is Replicate's answer to the cancel, not the poll before it.
    assert seen[0].status == "starting" and seen[-1].status == "canceled"


async def test_a_cancel_while_paced_ends_the_wait_and_creates_nothing() -> None:
    posts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        posts.append(request)
        return httpx.Response(429, json={"detail": "Request was throttled. Your rate limit "
                                                   "resets in ~30s.", "status": 429})

    cancel = asyncio.Event()
    async with ReplicateClient(BASE, transport=httpx.MockTransport(handler)) as client:
        task = asyncio.ensure_future(client.create_prediction(
            {"prompt": "x"}, TOKEN_A, pace_budget=900, cancel_event=cancel))
        await asyncio.sleep(0.1)  # throttled once, now waiting ~30 s for its turn
        cancel.set()
        with pytest.raises(errors.PredictionError, match="nothing was billed"):
            await asyncio.wait_for(task, 2)
    assert len(posts) == 1


async def test_a_stale_kept_alive_connection_is_retried_at_once_only_when_idempotent() -> None:
    """A server closing an idle kept-alive connection as we reuse it: nothing reached it, so a
    delete (idempotent) goes again at once, not after the 1 s back-off; a create never does."""
    seen: list[str] = []
    stale = httpx.RemoteProtocolError("Server disconnected without sending a response.")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) in (1, 3):
            raise stale
        return httpx.Response(204)

    client, sleeps = mock_client(handler)
    async with client:
        assert await client.delete_file("f1", TOKEN_A)
        assert sleeps.delays == [0.0]  # at once
        with pytest.raises(errors.KlingError):
            await client.create_prediction({"prompt": "x", "mode": "std"}, TOKEN_A, wait=0)
    assert seen[:3] == ["DELETE", "DELETE", "POST"]
    assert seen.count("POST") == 1  # the create was not sent twice (only looked for)


async def test_polls_around_the_expected_end_overlap_so_the_end_is_heard_within_a_gap() -> None:
    """Issue #22: near a mode's expected end the GETs go BURST_GAP apart without waiting for
    each other's answers; one after each answer would reach Replicate a round trip apart
    (here 150 ms: each GET's answer is held that long), and hear the end up to that late."""
    from kling_ui.replicate.waiting import BURST_GAP, BURST_MAX
    with running_simulator(model_seconds=1.5, start_seconds=0.1) as (base, state):
        async with ReplicateClient(base) as client:
            p = await client.create_prediction({"prompt": "x", "mode": "std"}, TOKEN_A, wait=0)
            state.add_fault(f"/v1/predictions/{p.id}", method="GET", delay=0.15, times=500)
            done = await client.wait(p, TOKEN_A, deadline=30, expected_seconds=1.5)
        gets = [r.at for r in state.requests_to(f"/v1/predictions/{p.id}", method="GET")]
    assert done.status == "succeeded"
    end = datetime.fromisoformat(done.completed_at.replace("Z", "+00:00")).timestamp()
    near = [at for at in gets if end - 0.3 <= at <= end + 0.3]
    gaps = sorted(b - a for a, b in zip(near, near[1:], strict=False))
    assert len(near) >= 5 and gaps[len(gaps) // 2] < 0.15 / 2, (near, end)
    assert min(at - end for at in gets if at >= end) < 0.15 / 2  # reached it soon after the end
    assert len(gets) <= BURST_MAX + 10 and BURST_GAP <= 0.02


async def test_a_held_create_reports_its_prediction_while_held(tmp_path: Path) -> None:
    """While a create is held across the model's end, the page hears Replicate's own status,
    progress and the prediction id (looked up from a second connection), not "Creating the
    prediction" for the whole model time; no more GETs than one every couple of seconds."""
    with running_simulator(model_seconds=5.0, start_seconds=0.1) as (base, state):
        async with ReplicateClient(base) as client:
            seen: list[tuple[float, Progress]] = []
            created: list[float] = []
            began = asyncio.get_running_loop().time()

            def on_update(p: Progress) -> None:
                seen.append((asyncio.get_running_loop().time() - began, p))

            prediction, _ = await client.run(
                {"prompt": "x", "mode": "std"}, TOKEN_A, wait=20, on_update=on_update,
                cancel_event=asyncio.Event(), dest=tmp_path / "o.mp4",
                on_created=lambda _p: created.append(asyncio.get_running_loop().time() - began))
        gets = state.requests_to(f"/v1/predictions/{prediction.id}", method="GET")
    held = [(at, p) for at, p in seen if at < created[0]]
    assert created[0] > 4.5  # the create was held to the model's end
    assert held and all(p.prediction_id == prediction.id for _, p in held), seen
    assert held[0][0] < 1.5 and {p.status for _, p in held} <= {"starting", "processing"}
    assert len(gets) <= 5  # one every 2 s or so while held
