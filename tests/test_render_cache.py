"""The simulator renders each distinct input once per process (kling_ui.media.render_cache):
takes of one prompt, a retry and the suite's repeated prompts cost one render, never a stale one."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sim_fixtures import TOKEN_A, make_png, running_simulator

from kling_ui.media import ffmpeg
from kling_ui.media.render import RenderJob
from kling_ui.media.render_cache import cached_render, job_key

CREATE = "/v1/models/kwaivgi/kling-o1/predictions"
AUTH = {"Authorization": f"Bearer {TOKEN_A.reveal()}"}


def fake_render(out: Path, body: bytes, calls: list[Path]):  # noqa: ANN201 - a render callable
    def go() -> Path:
        calls.append(out)
        out.write_bytes(body)
        return out
    return go


def test_the_same_job_renders_once_and_a_changed_input_renders_again(tmp_path: Path) -> None:
    image = make_png(tmp_path / "start.png", (320, 240))
    job = RenderJob(kind="frames", prompt=f"a fox {time.time_ns()}", images=(str(image),))
    calls: list[Path] = []
    first = cached_render(job, tmp_path / "a.mp4", fake_render(tmp_path / "a.mp4", b"one", calls))
    again = cached_render(job, tmp_path / "b.mp4", fake_render(tmp_path / "b.mp4", b"two", calls))
    assert calls == [first] and again.read_bytes() == b"one"
    # The caller's copy is its own: spoiling it leaves the cache whole.
    again.write_bytes(b"spoilt")
    third = cached_render(job, tmp_path / "c.mp4", fake_render(tmp_path / "c.mp4", b"x", calls))
    assert third.read_bytes() == b"one" and len(calls) == 1
    # Another picture behind the same path, another prompt, another mode: each a new render.
    make_png(image, (320, 240), colour=(10, 200, 30))
    assert job_key(job) != job_key(RenderJob(kind="frames", prompt=job.prompt,
                                             images=(str(make_png(tmp_path / "o.png", (320, 240))),)))
    cached_render(job, tmp_path / "d.mp4", fake_render(tmp_path / "d.mp4", b"new", calls))
    assert len(calls) == 2 and (tmp_path / "d.mp4").read_bytes() == b"new"
    for changed in (RenderJob(kind="frames", prompt=job.prompt + "!", images=job.images),
                    RenderJob(kind="frames", prompt=job.prompt, images=job.images, mode="std")):
        assert job_key(changed) != job_key(job)


def test_two_predictions_of_one_input_start_ffmpeg_once_and_serve_the_same_video() -> None:
    prompt = f"A paper boat on a rain puddle {time.time_ns()}"
    with running_simulator(model_seconds=0.2) as (base_url, _state), \
            httpx.Client(base_url=base_url, headers=AUTH, timeout=60) as client:
        bodies, starts = [], []
        for _ in range(2):
            before = ffmpeg.started()
            pred = client.post(CREATE, json={"input": {"prompt": prompt, "mode": "std"}},
                               headers={"Prefer": "wait=60"}).json()
            while pred["status"] not in ("succeeded", "failed", "canceled"):
                time.sleep(0.1)
                pred = client.get(pred["urls"]["get"]).json()
            assert pred["status"] == "succeeded", pred
            starts.append(ffmpeg.started() - before)
            bodies.append(client.get(pred["output"]).content)
    assert starts[0] >= 1 and starts[1] == 0, starts
    assert bodies[0] == bodies[1] and len(bodies[0]) > 10_000
