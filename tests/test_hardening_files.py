"""Hostile and odd files through the app's API endpoints, on the simulator.

Images go in as the start frame of /frames_to_video, videos as the clip of /video_reference.
Each must be accepted, fixed, or refused with a clear message (tests/hostile_files.py says
which); none may crash a worker or hang (every job has a timeout), a refused one must never
reach Replicate (no upload, no create), and what reaches Replicate must meet the rules core.
The jobs run a few at a time, like visitors would send them.
"""

from __future__ import annotations

import base64
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from bench.visitors import AppOnSim, app_on_simulator
from kling_ui.core import rules
from kling_ui.core.errors import InputError
from kling_ui.media import probe
from tests.hostile_files import ALL_CASES, SCRIPT_MARKERS, FileCase
from tests.test_hardening_faults import assert_clear

pytestmark = pytest.mark.slow  # out of the inner loop (issue #21): 42 hostile files through the app, about 80 s

JOB_TIMEOUT = 240  # s: a worker that hangs fails the test instead of the run


@dataclass
class Outcome:
    case: FileCase
    summary: dict[str, Any] | None = None
    message: str | None = None
    error: str | None = None  # anything that is neither a result nor an AppError
    sent: list[Path] = field(default_factory=list)  # the files the simulator received
    creates: int = 0
    uploads: int = 0


def _prompt(case: FileCase) -> str:
    token = "<<<image_1>>>" if case.kind == "image" else "<<<video_1>>>"
    return f"Case {case.name}: {token} in gentle motion"


def _sent_files(app: AppOnSim, inp: dict[str, Any], work: Path) -> list[Path]:
    """The files a prediction's input points at, as the simulator holds them."""
    urls = [inp[k] for k in ("start_image", "end_image", "reference_video") if k in inp]
    urls += list(inp.get("reference_images", []))
    out = []
    for i, url in enumerate(urls):
        if url.startswith("data:"):
            head, payload = url.split(",", 1)
            path = work / f"inline{i}"
            path.write_bytes(base64.b64decode(payload))
            out.append(path)
            continue
        m = re.search(r"/v1/files/([^/]+)", url)
        assert m, url
        out.append(app.state.files[m.group(1)].path)
    return out


@pytest.fixture(scope="module")
def outcomes() -> Iterator[dict[str, Outcome]]:
    made = Path(tempfile.mkdtemp(prefix="kling-hostile-"))
    paths = {}
    with ThreadPoolExecutor(2) as pool:
        futures = {c.name: pool.submit(c.make, made) for c in ALL_CASES}
        for name, fut in futures.items():
            paths[name] = fut.result(timeout=180)
    with app_on_simulator(concurrency=3) as app:
        # Keep uploaded inputs after the run (delete answers 404) so we can check what was sent.
        app.state.add_fault("/v1/files/", 404, method="DELETE", times=10_000)
        client = Client(app.url, verbose=False, httpx_kwargs={"timeout": 120})
        results: dict[str, Outcome] = {}

        def send(case: FileCase) -> Outcome:
            out = Outcome(case)
            path = handle_file(str(paths[case.name]))
            try:
                if case.kind == "image":
                    job = client.submit(prompt=_prompt(case), start_image=path, duration=5,
                                        mode="std", api_name="/frames_to_video")
                else:
                    job = client.submit(prompt=_prompt(case), reference_video=path, duration=3,
                                        mode="std", keep_original_sound=False,
                                        api_name="/video_reference")
                _video, out.summary = job.result(timeout=JOB_TIMEOUT)
            except AppError as exc:
                out.message = str(exc)
            except Exception as exc:  # noqa: BLE001 - reported by the test, not hidden
                out.error = f"{type(exc).__name__}: {exc}"
            return out

        with ThreadPoolExecutor(3) as pool:
            for out in pool.map(send, ALL_CASES):
                results[out.case.name] = out
        work = made / "sent"
        work.mkdir()
        with app.state.lock:
            creates = [r for r in app.state.creates() if isinstance(r.body, dict)]
            preds = dict(app.state.predictions)
        for out in results.values():
            prompt = _prompt(out.case)
            mine = [r for r in creates if r.body["input"].get("prompt") == prompt]
            out.creates = len(mine)
            for pred in preds.values():
                if pred.input.get("prompt") == prompt:
                    out.sent = _sent_files(app, pred.input, work)
        # Uploads carry the original file name; a refused file must not have been uploaded.
        uploads = app.state.files
        for out in results.values():
            stem = Path(paths[out.case.name]).stem
            out.uploads = sum(1 for f in uploads.values() if f.name.startswith(stem))
        # After every hostile file, a normal job still runs.
        results["_after"] = Outcome(ALL_CASES[0])
        try:
            _v, results["_after"].summary = client.predict(
                prompt="A calm sea", aspect_ratio="1:1", duration=5, mode="std",
                api_name="/text_to_video")
        except Exception as exc:  # noqa: BLE001
            results["_after"].error = str(exc)
        yield results


def _fit(path: Path, kind: str) -> list[str]:
    """Rule errors of a file as sent (empty when it meets Kling's rules)."""
    try:
        info = probe.probe_image(str(path)) if kind == "image" else probe.probe_video(str(path))
    except InputError as exc:
        return [f"unreadable: {exc.message}"]
    problems = (rules.check_image(info, "image") if kind == "image"  # type: ignore[arg-type]
                else rules.check_video(info))  # type: ignore[arg-type]
    return [p.message for p in problems if p.is_error or p.fix == "rotate"]


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_hostile_file(case: FileCase, outcomes: dict[str, Outcome]) -> None:
    out = outcomes[case.name]
    assert out.error is None, f"{case.name}: neither a result nor a clear message: {out.error}"
    if out.message is not None:
        assert_clear(out.message, case.message or r".")
        assert case.expect in ("refuse", "any"), f"{case.name}: refused: {out.message}"
        assert out.creates == 0, f"{case.name}: refused, yet a prediction was created"
        assert out.uploads == 0, f"{case.name}: refused, yet the file was uploaded"
        return
    assert out.summary is not None and out.summary["status"] == "succeeded"
    assert case.expect in ("accept", "fix", "any"), f"{case.name}: was not refused"
    assert out.creates == 1, f"{case.name}: {out.creates} creates for one job"
    fixes = out.summary["fixes_applied"]
    if case.expect == "fix":
        assert fixes, f"{case.name}: sent without a fix"
    if case.expect == "accept":
        assert not fixes, f"{case.name}: changed although it was fine: {fixes}"
    assert len(out.sent) == 1, out.sent
    assert _fit(out.sent[0], case.kind) == [], f"{case.name}: sent unfit"


@pytest.mark.parametrize("case", [c for c in ALL_CASES if "script in" in c.name],
                         ids=lambda c: c.name)
def test_script_in_metadata_never_reaches_replicate(case: FileCase,
                                                    outcomes: dict[str, Outcome]) -> None:
    """models.ImageInfo.has_metadata: 'EXIF/XMP/ICC text that we strip before upload'."""
    out = outcomes[case.name]
    for path in out.sent:
        data = path.read_bytes()
        assert not any(m in data for m in SCRIPT_MARKERS), f"{case.name}: metadata sent as is"


def test_a_normal_job_runs_after_the_hostile_files(outcomes: dict[str, Outcome]) -> None:
    after = outcomes["_after"]
    assert after.error is None, after.error
    assert after.summary is not None and after.summary["status"] == "succeeded"
