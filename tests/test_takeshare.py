"""The takes of one Run share their fixes and uploads (issue #22): three takes of a clip that needs
a trim make one trimmed file and one upload, all three predictions get the same URL, and the
upload is deleted only after the last take has ended, a cancelled take included.

All on the simulator on 127.0.0.1, counting the requests it saw; no function of ours is faked.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from media_factory import make_video
from sim_fixtures import until, uploads

from kling_ui.core.config import Secret, Settings
from kling_ui.core.models import Tab
from kling_ui.runs.service import JobSpec, Studio
from kling_ui.runs.takeshare import Sent, TakeShares

pytestmark = pytest.mark.anyio

HOST = Secret("r8_" "HostKeyForTests00000000000000")
PROMPT = "Make <<<video_1>>> look like a snowy evening"


def make_studio(base_url: str, root: Path, seconds: float) -> Studio:
    settings = Settings(token=HOST, base_url=base_url, backend="replicate", backend_forced=True,
                        sim_seconds=seconds, concurrency=4)
    return Studio(settings, data_dir=str(root / "data"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 6 s clip over the 256 KB sent inline; a 4 s window of it needs a trim (a fix)."""
    path = tmp_path_factory.mktemp("takes") / "clip.mp4"
    out = make_video(path, seconds=6, extra=["-b:v", "2M"])
    assert Path(out).stat().st_size > 256 * 1024
    return out




def start_takes(studio: Studio, spec: JobSpec, n: int, group: str = "g1") -> list:
    return [studio.start(spec, visitor_token=None, visitor_id="v1",
                         takes={"group": group, "index": i, "of": n}) for i in range(1, n + 1)]


def fixed_files(studio: Studio) -> list[Path]:
    return list((studio.files.temp_dir("work") / "fixed").glob("*"))


@pytest.mark.slow  # runs on the simulator with a trim: 10-30 s on a loaded machine
async def test_three_takes_make_one_fix_and_one_upload_deleted_after_the_last(sim, clip,
                                                                             tmp_path):
    base_url, state = sim
    studio = make_studio(base_url, tmp_path, seconds=0.5)
    try:
        spec = JobSpec(Tab.EDIT, PROMPT, reference_video=clip, video_start=1.0,
                       video_length=4.0)
        handles = start_takes(studio, spec, 3)
        results = [await asyncio.wrap_future(h.future) for h in handles]
        assert [r.status for r in results] == ["succeeded"] * 3
        assert len(uploads(state)) == 1, "takes 2 and 3 uploaded again"
        sent = {c.body["input"]["reference_video"] for c in state.creates()}
        assert len(state.creates()) == 3 and len(sent) == 1, sent
        assert len(fixed_files(studio)) == 1, "each take trimmed the clip again"
        assert all(r.fixes for r in results)  # each run still says what was fixed
        # Each take keeps its own copy of what it sent, in its own folder.
        kept = [studio.library.get(r.run_id).inputs["reference_video"] for r in results]
        assert len(set(kept)) == 3 and all(Path(p).is_file() for p in kept)
        await until(lambda: not state.files)  # the one upload, deleted once all three ended
        assert len(state.deleted_files) == 1
        assert studio.running.shares.open_groups() == 0
    finally:
        await studio.aclose()


@pytest.mark.slow  # runs on the simulator: 5-20 s on a loaded machine
async def test_the_page_upload_serves_every_take(sim, clip, tmp_path):
    base_url, state = sim
    studio = make_studio(base_url, tmp_path, seconds=0.5)
    try:
        spec = JobSpec(Tab.EDIT, PROMPT, reference_video=clip)  # sent as it is: speculated
        assert await studio.speculate(spec, visitor_token=None, visitor_id="v1") == [
            "reference_video"]
        await until(lambda: len(state.files) == 1)
        (file_id,) = state.files
        handles = start_takes(studio, spec, 3)
        for h in handles:
            assert (await asyncio.wrap_future(h.future)).status == "succeeded"
        assert len(uploads(state)) == 1  # the page's; no take uploaded
        assert {c.body["input"]["reference_video"] for c in state.creates()} == {
            f"{base_url}/v1/files/{file_id}"}
        await until(lambda: file_id in state.deleted_files)
        assert not state.files and studio.speculation.held() == {}
    finally:
        await studio.aclose()


@pytest.mark.slow  # runs on the simulator: 5-20 s on a loaded machine
async def test_a_cancelled_take_leaves_the_upload_for_the_others(sim, clip, tmp_path):
    base_url, state = sim
    studio = make_studio(base_url, tmp_path, seconds=8.0)  # room to cancel take 1 mid-run
    try:
        spec = JobSpec(Tab.EDIT, PROMPT, reference_video=clip)
        handles = start_takes(studio, spec, 3)
        await until(lambda: len(state.creates()) == 3)
        studio.cancel_run(handles[0].run_id)
        with pytest.raises(Exception):  # noqa: B017 (a PredictionError: canceled)
            await asyncio.wrap_future(handles[0].future)
        assert len(state.files) == 1, "the cancelled take deleted what the others still use"
        for h in handles[1:]:
            assert (await asyncio.wrap_future(h.future)).status == "succeeded"
        assert len(uploads(state)) == 1
        await until(lambda: not state.files)
    finally:
        await studio.aclose()


async def test_a_failed_maker_lets_the_others_make_their_own() -> None:
    """The take making a shared upload fails (or is cancelled): the others are not failed by
    it; each makes its own, and the group has nothing to delete for that slot."""
    shares = TakeShares()
    a, b = shares.join({"group": "g", "index": 1, "of": 2}), shares.join(
        {"group": "g", "index": 2, "of": 2})
    assert a is b is not None
    gate = asyncio.Event()

    async def failing() -> Sent:
        await gate.wait()
        raise OSError("the network went away")

    async def never() -> Sent:
        raise AssertionError("a waiter does not make it while the maker is at it")

    first = asyncio.ensure_future(a.once("slot", failing))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(b.once("slot", never))
    await asyncio.sleep(0)
    gate.set()
    with pytest.raises(OSError):
        await first
    assert await second is None  # make your own
    assert a.files() == []
    assert shares.join({"group": "solo", "index": 1, "of": 1}) is None  # a single run shares nothing
    await shares.leave(a)
    assert shares.open_groups() == 1
    await shares.leave(b)
    assert shares.open_groups() == 0
