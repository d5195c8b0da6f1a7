"""The simulator speaks Replicate's API: shapes, status codes, lifecycle, validation, faults."""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sim_fixtures import MARK_A, TOKEN_A, make_png, running_simulator

from kling_ui.replicate.simulator import (
    SimOptions,
    create_app,
    parse_cancel_after,
    serve_in_thread,
    start_simulator,
    validate_body,
)

CREATE = "/v1/models/kwaivgi/kling-o1/predictions"
AUTH = {"Authorization": f"Bearer {TOKEN_A.reveal()}"}


def api(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers=AUTH, timeout=30)


@pytest.mark.parametrize(("inp", "field"), [
    ({"mode": "std"}, "input.prompt"),
    ({"prompt": "  "}, "input.prompt"),
    ({"prompt": "x", "aspect_ratio": "4:3"}, "input.aspect_ratio"),
    ({"prompt": "x", "mode": "ultra"}, "input.mode"),
    ({"prompt": "x", "video_reference_type": "edit"}, "input.video_reference_type"),
    ({"prompt": "x", "duration": 2}, "input.duration"),
    ({"prompt": "x", "duration": 11}, "input.duration"),
    ({"prompt": "x", "duration": "5"}, "input.duration"),
    ({"prompt": "x", "end_image": "https://x/e.png"}, "input.end_image"),
    ({"prompt": "x", "reference_images": ["u"] * 8}, "input.reference_images"),
    ({"prompt": "x", "reference_video": "v", "reference_images": ["u"] * 5}, "input.reference_images"),
    ({"prompt": "x", "negative_prompt": "blur"}, "input.negative_prompt"),
    ({"prompt": "x", "keep_original_sound": "yes"}, "input.keep_original_sound"),
])
def test_schema_violations_are_422_with_invalid_fields(inp: dict[str, Any], field: str) -> None:
    assert field in [f["field"] for f in validate_body({"input": inp}, version_route=False)]


def test_valid_inputs_pass_and_unknown_top_level_keys_do_not() -> None:
    ok = {"prompt": "x", "reference_video": "v", "reference_images": ["a"] * 4, "duration": 3,
          "video_reference_type": "feature", "keep_original_sound": False, "mode": "std"}
    assert validate_body({"input": ok}, version_route=False) == []
    assert [f["field"] for f in validate_body({"input": ok, "inputs": {}}, version_route=False)] == ["inputs"]
    assert [f["field"] for f in validate_body({"input": ok}, version_route=True)] == ["version"]


def test_cancel_after_durations() -> None:
    assert parse_cancel_after("30") == 30 and parse_cancel_after("5m") == 300
    assert parse_cancel_after("1h30m45s") == 5445 and parse_cancel_after("0.5s") == 0.5
    assert parse_cancel_after("soon") is None


def test_create_answers_422_problem_details_over_http() -> None:
    with running_simulator() as (base, state), api(base) as c:
        r = c.post(CREATE, json={"input": {"prompt": "x", "duration": 12}, "extra": 1})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["status"] == 422 and body["title"] == "Input validation failed"
        assert {f["field"] for f in body["invalid_fields"]} == {"extra", "input.duration"}
        assert c.post(CREATE, json={"input": {"prompt": "x"}}, headers={"Prefer": "wait=61"}).status_code == 422
        assert c.post(CREATE, json={"input": {"prompt": "x"}}, headers={"Cancel-After": "2s"}).status_code == 422
        assert state.predictions == {}


def test_lifecycle_logs_and_prediction_shape() -> None:
    with running_simulator(model_seconds=0.6, start_seconds=0.2) as (base, state), api(base) as c:
        created = c.post(CREATE, json={"input": {"prompt": "a fox", "mode": "std"}})
        assert created.status_code == 201
        p = created.json()
        assert p["status"] == "starting" and p["output"] is None and p["version"] == "hidden"
        assert set(p) >= {"id", "model", "version", "input", "output", "logs", "error", "status",
                          "created_at", "started_at", "completed_at", "data_removed", "metrics", "urls"}
        assert p["urls"]["get"] == f"{base}/v1/predictions/{p['id']}"
        assert p["urls"]["cancel"] == f"{base}/v1/predictions/{p['id']}/cancel"
        seen: list[str] = []
        logs: list[str] = []
        for _ in range(200):
            cur = c.get(p["urls"]["get"]).json()
            seen.append(cur["status"])
            logs.append(cur["logs"])
            if cur["status"] == "succeeded":
                break
            time.sleep(0.05)
        assert seen[0] == "starting" and "processing" in seen and seen[-1] == "succeeded"
        assert "Generating frames 40%" in cur["logs"] and len(set(logs)) >= 3  # logs grow
        assert cur["metrics"]["predict_time"] >= 0.6 and cur["completed_at"]
        video = httpx.get(cur["output"])
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        assert video.headers["content-type"] == "video/mp4"
        state.expire_output(p["id"])
        assert httpx.get(cur["output"]).status_code == 404


def test_prefer_wait_holds_the_response_until_done() -> None:
    with running_simulator(model_seconds=0.3) as (base, _), api(base) as c:
        t0 = time.monotonic()
        r = c.post(CREATE, json={"input": {"prompt": "x", "mode": "std"}}, headers={"Prefer": "wait=20"})
        assert r.status_code == 201 and r.json()["status"] == "succeeded" and r.json()["output"]
        assert time.monotonic() - t0 < 10
        r = c.post(CREATE, json={"input": {"prompt": "x"}}, headers={"Prefer": "wait=1"})
        # a wait that ran out reads "starting", as Replicate's blocking API answers
        assert r.json()["status"] == "starting" and r.json()["output"] is None


def test_cancel_after_cancels_a_running_prediction_and_cancel_endpoint() -> None:
    with running_simulator(model_seconds=30, min_cancel_after=0.3) as (base, state), api(base) as c:
        p = c.post(CREATE, json={"input": {"prompt": "x"}}, headers={"Cancel-After": "0.4s"}).json()
        time.sleep(0.6)
        assert c.get(f"/v1/predictions/{p['id']}").json()["status"] == "canceled"
        q = c.post(CREATE, json={"input": {"prompt": "y"}}).json()
        r = c.post(q["urls"]["cancel"])
        assert r.status_code == 200 and r.json()["status"] == "canceled" and state.cancels == [q["id"]]
        assert c.post("/v1/predictions/nope/cancel").status_code == 404


def test_version_route_and_unknown_model() -> None:
    with running_simulator() as (base, _), api(base) as c:
        r = c.post("/v1/predictions", json={"version": "kwaivgi/kling-o1:abc123", "input": {"prompt": "x"}})
        assert r.status_code == 201 and r.json()["version"] == "abc123"
        r = c.post("/v1/models/someone/else/predictions", json={"input": {"prompt": "x"}})
        assert r.status_code == 404 and r.json()["status"] == 404


def test_files_api_create_get_delete(tmp_path: Path) -> None:
    png = make_png(tmp_path / "a.png")
    with running_simulator() as (base, state), api(base) as c:
        r = c.post("/v1/files", files={"content": ("a.png", png.open("rb"), "image/png")},
                   data={"metadata": '{"job": 7}'})
        assert r.status_code == 201
        f = r.json()
        assert f["size"] == png.stat().st_size and f["content_type"] == "image/png"
        assert f["checksums"]["sha256"] == hashlib.sha256(png.read_bytes()).hexdigest()
        assert f["metadata"] == {"job": 7} and f["urls"]["get"] == f"{base}/v1/files/{f['id']}"
        assert c.get(f"/v1/files/{f['id']}").json()["id"] == f["id"]
        stored = state.files[f["id"]].path
        assert stored.is_file()
        assert c.delete(f"/v1/files/{f['id']}").status_code == 204
        assert not stored.exists() and c.get(f"/v1/files/{f['id']}").status_code == 404
        assert c.delete(f"/v1/files/{f['id']}").status_code == 404


def test_auth_and_the_token_free_request_log() -> None:
    with running_simulator(valid_tokens=frozenset({TOKEN_A.reveal()})) as (base, state):
        r = httpx.post(base + CREATE, json={"input": {"prompt": "x"}})
        assert r.status_code == 401 and r.json()["title"] == "Unauthenticated"
        r = httpx.post(base + CREATE, json={"input": {"prompt": "x"}}, headers={"Authorization": "Bearer wrong-key-123"})
        assert r.status_code == 401
        with api(base) as c:
            assert c.post(CREATE, json={"input": {"prompt": "x"}}).status_code == 201
        keys = [r.key for r in state.requests]
        assert keys[0] is None and keys[1] not in (None, MARK_A) and keys[2] == MARK_A
        assert all("authorization" not in r.headers for r in state.requests)
        assert TOKEN_A.reveal() not in repr(state.requests)


def test_fault_control_endpoint_and_outcomes() -> None:
    with running_simulator() as (base, state), api(base) as c:
        r = c.post("/_sim/faults", json={"path": "/v1/predictions/", "status": 429,
                                         "retry_after_header": 3, "times": 2})
        assert r.status_code == 201
        assert [c.get("/v1/predictions/x").status_code for _ in range(3)] == [429, 429, 404]
        c.post("/_sim/faults", json={"path": "/v1/files", "status": 413, "html": True})
        r = c.post("/v1/files", files={"content": ("a", b"x")})
        assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
        c.post("/_sim/faults", json={"outcome": "failed"})
        p = c.post(CREATE, json={"input": {"prompt": "x"}}, headers={"Prefer": "wait=10"}).json()
        assert p["status"] == "failed" and "E1234" in p["error"]
        state.add_fault(CREATE, 429, retry_after_body=5)
        r = c.post(CREATE, json={"input": {"prompt": "x"}})
        assert r.json()["retry_after"] == 5 and "5s" in r.json()["detail"]


def test_inputs_as_data_uris_and_unreachable_urls(tmp_path: Path) -> None:
    png = make_png(tmp_path / "s.png", (400, 400))
    uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()
    with running_simulator() as (base, _), api(base) as c:
        p = c.post(CREATE, json={"input": {"prompt": "x", "start_image": uri, "mode": "std"}},
                   headers={"Prefer": "wait=20"}).json()
        assert p["status"] == "succeeded"
        q = c.post(CREATE, json={"input": {"prompt": "x", "start_image": "https://example.com/a.png"}},
                   headers={"Prefer": "wait=20"}).json()
        assert q["status"] == "failed" and "could not download" in q["error"]


def test_serve_in_thread_listens_at_once_and_stop_cleans_up() -> None:
    sim = start_simulator(SimOptions(model_seconds=0.2))
    root = sim.state.root
    try:
        assert httpx.get(sim.base_url + "/v1/predictions/x", headers=AUTH).status_code == 404
        assert root.is_dir()
    finally:
        sim.stop()
    assert not root.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(sim.base_url + "/v1/predictions/x", headers=AUTH, timeout=2)
    app = create_app()
    base, stop = serve_in_thread(app)
    try:
        assert base.startswith("http://127.0.0.1:") and httpx.get(base + "/v1/files/x").status_code == 401
    finally:
        stop()
        app.state.sim.close()


def test_the_simulator_answers_without_waiting_for_delayed_acks() -> None:
    """Connections it accepts have TCP_NODELAY, as on a real server: without it every response on
    a kept-alive connection waited 40 ms for the client's delayed ACK (figure 1 measured that)."""
    import asyncio
    import socket

    from kling_ui.replicate.simulator.server import listening_socket

    async def accepted_nodelay() -> int:
        got: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            got.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listening_socket())
        async with server:
            host, port = server.sockets[0].getsockname()[:2]
            _r, w = await asyncio.open_connection(host, port)
            try:
                return await asyncio.wait_for(got, 5)
            finally:
                w.close()

    assert asyncio.run(accepted_nodelay()) == 1


def test_simulator_server_handle_for_the_app() -> None:
    from kling_ui.replicate.simulator import SimulatorServer

    server = SimulatorServer(model_seconds=0.2)
    base = server.start()
    try:
        assert server.base_url == base and server.start() == base  # starts once
        assert httpx.get(base + "/v1/predictions/x", headers=AUTH).status_code == 404
        root = server.state.root
    finally:
        server.stop()
    assert not root.exists()


def test_account_answers_a_good_key_and_refuses_a_bad_one_like_replicate() -> None:
    with running_simulator() as (base, _state):
        with api(base) as c:
            me = c.get("/v1/account").json()
        assert me["type"] == "user" and me["username"].startswith("sim-")
        r = httpx.get(base + "/v1/account", headers={"Authorization": "Bearer hello"})
        assert r.status_code == 401
        assert r.json() == {"title": "Unauthenticated", "status": 401,
                            "detail": "You did not pass a valid authentication token"}


def test_a_throttled_key_gets_replicates_own_429() -> None:
    with running_simulator(creates_per_minute=6, create_burst=1, low_credit=True) as (base, state):
        with api(base) as c:
            assert c.post(CREATE, json={"input": {"prompt": "x"}}).status_code == 201
            r = c.post(CREATE, json={"input": {"prompt": "x"}})
        other = httpx.post(base + CREATE, json={"input": {"prompt": "x"}},
                           headers={"Authorization": "Bearer another-visitors-key-0123456789"})
    assert r.status_code == 429 and "retry-after" not in r.headers
    body = r.json()
    assert set(body) == {"detail", "status"} and body["status"] == 429
    assert body["detail"].startswith("Your rate limit is reduced to 6 requests per minute with a "
                                     "burst of 1 requests while you have less than $5.0 in credit.")
    assert body["detail"].endswith("Your rate limit resets in ~10s.")
    assert other.status_code == 201  # per key
    assert len(state.predictions) == 2


def test_a_held_create_wakes_when_the_clock_moves_the_prediction_on() -> None:
    """`next_change_at` is when the held create wakes (not the next tick of a 50 ms loop): the
    start, then the model's end, or Cancel-After if that comes first; None once it has ended."""
    from kling_ui.replicate.simulator.state import SimPrediction, SimState

    state = SimState(SimOptions(model_seconds=2.0, start_seconds=0.5))
    try:
        t0 = 1000.0
        pred = SimPrediction("p1", {"prompt": "x"}, "http://sim", t0)
        assert state.next_change_at(pred) == t0 + 0.5
        state.advance(pred, now=t0 + 0.6)
        assert pred.status == "processing" and state.next_change_at(pred) == t0 + 2.5
        short = SimPrediction("p2", {"prompt": "x"}, "http://sim", t0, cancel_after=1.0)
        state.advance(short, now=t0 + 0.6)
        assert state.next_change_at(short) == t0 + 1.0
        state.advance(short, now=t0 + 1.0)
        assert short.status == "canceled" and state.next_change_at(short) is None
    finally:
        state.close()


def test_the_apps_simulator_starts_once_when_two_threads_ask_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler starting the simulator and a test (or a second handler) reading its state at
    the same moment got two simulators; the test then waited for a run that was in the other."""
    import threading

    from kling_ui.replicate.simulator import SimulatorServer
    from kling_ui.replicate.simulator import server as server_mod

    real = server_mod.start_simulator

    def slow_start(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)  # a loaded machine: uvicorn takes a while to listen
        return real(*args, **kwargs)

    monkeypatch.setattr(server_mod, "start_simulator", slow_start)
    server = SimulatorServer(model_seconds=0.2)
    urls: list[str] = []
    threads = [threading.Thread(target=lambda: urls.append(server.start())) for _ in range(2)]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
        assert len(urls) == 2 and urls[0] == urls[1] == server.base_url
    finally:
        server.stop()


def test_a_render_that_outlasts_the_model_time_says_it_is_encoding() -> None:
    """A phone clip's edit stood at "Generating frames 100%" for 22 s while this machine drew
    the video: past the model time the log says it is encoding, and 100% comes with the video."""
    from concurrent.futures import Future
    from pathlib import Path

    from kling_ui.replicate.simulator.state import ENCODING, SimPrediction, SimState

    state = SimState(SimOptions(model_seconds=2.0, start_seconds=0.5))
    try:
        t0 = 1000.0
        pred = SimPrediction("p1", {"prompt": "x"}, "http://sim", t0)
        drawing: Future[Path] = Future()
        pred.render = drawing
        state.advance(pred, now=t0 + 1.5)  # half way: 40%
        assert "Generating frames 40%" in pred.logs and ENCODING not in pred.logs
        state.advance(pred, now=t0 + 9.0)  # model time long up, the render still going
        assert pred.status == "processing" and ENCODING in pred.logs
        assert "Generating frames 100%" not in pred.logs
        assert pred.logs.count(ENCODING) == 1
        state.advance(pred, now=t0 + 9.5)
        assert pred.logs.count(ENCODING) == 1
        drawing.set_result(Path("/nonexistent/output.mp4"))
        state.advance(pred, now=t0 + 10.0)
        assert pred.status == "succeeded"
        assert pred.logs.rstrip().endswith("Generating frames 100%\nVideo ready")
    finally:
        state.close()
