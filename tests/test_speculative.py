"""Speculative uploads (issue #22 part 5): the page's inputs go up once their card is settled, Run
uses them instead of uploading again, and nothing is left on Replicate that no run used.

All on the simulator on 127.0.0.1, counting the requests it saw; no function of ours is faked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from media_factory import make_video
from sim_fixtures import MARK_A, MARK_B, TOKEN_A, TOKEN_B, until, uploads

from kling_ui.core.config import Secret, Settings
from kling_ui.core.models import Tab
from kling_ui.replicate.simulator import key_marker
from kling_ui.runs.service import JobSpec, Studio
from kling_ui.runs.speculative import Speculation

pytestmark = pytest.mark.anyio

HOST = Secret("r8_" "HostKeyForTests00000000000000")
PROMPT = "Make <<<video_1>>> look like a snowy evening"


def make_studio(base_url: str, root: Path, **limits: object) -> Studio:
    settings = Settings(token=HOST, base_url=base_url, backend="replicate", backend_forced=True,
                        sim_seconds=0.3, **limits)  # type: ignore[arg-type]
    return Studio(settings, data_dir=str(root / "data"))


@pytest.fixture
async def studio(sim, tmp_path):
    s = make_studio(sim[0], tmp_path)
    yield s
    await s.aclose()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two clips Kling takes as they are, each well over the 256 KB sent inline."""
    root = tmp_path_factory.mktemp("clips")
    out = [make_video(root / f"clip{i}.mp4", seconds=4, extra=["-b:v", "2M"]) for i in (1, 2)]
    assert all(Path(p).stat().st_size > 256 * 1024 for p in out)
    return out


def edit(clip: str | None, **kw: object) -> JobSpec:
    return JobSpec(Tab.EDIT, PROMPT, reference_video=clip, **kw)  # type: ignore[arg-type]




def file_ids(state) -> list[str]:
    return list(state.files) + list(state.deleted_files)


@pytest.mark.slow  # runs on the simulator: 5-20 s on a loaded machine
@pytest.mark.parametrize("settled", [True, False], ids=["uploaded", "still-in-flight"])
async def test_run_creates_with_the_speculative_upload_and_no_second_upload(
        studio, sim, clips, settled):
    _, state = sim
    spec = edit(clips[0])
    assert await studio.speculate(spec, visitor_token=None, visitor_id="v1") == ["reference_video"]
    if settled:
        await until(lambda: len(state.files) == 1)
    result = await studio.run(spec, visitor_token=None, visitor_id="v1")
    assert len(uploads(state)) == 1  # the speculative one; Run uploaded nothing
    (file_id,) = file_ids(state)
    sent = state.creates()[0].body["input"]["reference_video"]
    assert sent.endswith(f"/v1/files/{file_id}")
    await until(lambda: file_id in state.deleted_files)  # deleted after the run, as its own
    assert studio.speculation.held() == {}
    row = studio.library.get(result.run_id)
    assert row.request["reference_video"] == sent  # the library points at the upload it used


@pytest.mark.slow  # runs on the simulator: 5-20 s on a loaded machine
async def test_a_changed_or_cleared_input_deletes_its_upload(studio, sim, clips):
    _, state = sim
    await studio.speculate(edit(clips[0]), visitor_token=None, visitor_id="v1")
    await until(lambda: len(state.files) == 1)
    (first,) = state.files
    await studio.speculate(edit(clips[1]), visitor_token=None, visitor_id="v1")
    await until(lambda: first in state.deleted_files and len(state.files) == 1)
    (second,) = state.files
    # The same file again (every check re-offers it): kept, not uploaded twice.
    await studio.speculate(edit(clips[1]), visitor_token=None, visitor_id="v1")
    assert len(uploads(state)) == 2
    await studio.speculate(edit(None), visitor_token=None, visitor_id="v1")
    await until(lambda: second in state.deleted_files)
    assert not state.files and studio.speculation.held() == {}
    # Run with nothing speculated: uploads as before.
    await studio.run(edit(clips[0]), visitor_token=None, visitor_id="v1")
    assert len(uploads(state)) == 3


async def test_an_unused_upload_is_deleted_after_the_ttl(studio, sim, clips):
    _, state = sim
    now = [1000.0]
    spec_reg = Speculation(routes=studio.routes, runner=studio.runner, guard=studio.guard,
                           checks=studio.checks, clock=lambda: now[0], ttl=600.0)
    await spec_reg.offer(edit(clips[0]), visitor_token=None, visitor_id="v1")
    await until(lambda: len(state.files) == 1)
    now[0] += 599
    assert spec_reg.sweep() == 0
    await spec_reg.offer(edit(clips[0]), visitor_token=None, visitor_id="v1")  # touched
    now[0] += 599
    assert spec_reg.sweep() == 0
    now[0] += 2
    assert spec_reg.sweep() == 1
    await until(lambda: not state.files and len(state.deleted_files) == 1)
    # And without anyone sweeping by hand: the registry's own sweeper (real clock, short TTL).
    quick = Speculation(routes=studio.routes, runner=studio.runner, guard=studio.guard,
                        checks=studio.checks, ttl=0.3)
    await quick.offer(edit(clips[1]), visitor_token=None, visitor_id="v1")
    await until(lambda: len(state.deleted_files) == 2 and not state.files)
    assert quick.held() == {}


@pytest.mark.slow  # runs on the simulator: 5-20 s on a loaded machine
async def test_another_visitors_or_keys_upload_is_never_reused(studio, sim, clips):
    _, state = sim
    spec = edit(clips[0])
    await studio.speculate(spec, visitor_token=TOKEN_A, visitor_id="v1")
    await until(lambda: len(state.files) == 1)
    (a_file,) = state.files
    # The same browser address with another key, then another visitor with the same key.
    await studio.run(spec, visitor_token=TOKEN_B, visitor_id="v1")
    await studio.run(spec, visitor_token=TOKEN_A, visitor_id="v2")
    assert [r.key for r in uploads(state)] == [MARK_A, MARK_B, MARK_A]
    used = [c.body["input"]["reference_video"] for c in state.creates()]
    assert not any(u.endswith(a_file) for u in used)
    assert [c.key for c in state.creates()] == [MARK_B, MARK_A]
    assert a_file in state.files  # still the first visitor's, for their Run
    await studio.run(spec, visitor_token=TOKEN_A, visitor_id="v1")
    assert len(uploads(state)) == 3
    assert state.creates()[-1].body["input"]["reference_video"].endswith(a_file)


@pytest.mark.slow  # runs on the simulator: 5-20 s on a loaded machine
async def test_the_host_key_is_not_used_for_a_visitor_it_would_refuse(sim, clips, tmp_path):
    base_url, state = sim
    studio = make_studio(base_url, tmp_path, runs_per_hour=1)
    try:
        await studio.run(edit(clips[0]), visitor_token=None, visitor_id="v1")
        assert await studio.speculate(edit(clips[1]), visitor_token=None, visitor_id="v1") == []
        # Their own key lifts the host's limits; another visitor still has their run.
        assert await studio.speculate(edit(clips[1]), visitor_token=TOKEN_A,
                                      visitor_id="v1") == ["reference_video"]
        assert await studio.speculate(edit(clips[1]), visitor_token=None,
                                      visitor_id="v2") == ["reference_video"]
    finally:
        await studio.aclose()
    signed = make_studio(base_url, tmp_path / "signed", sign_in=True)
    try:
        assert await signed.speculate(edit(clips[1]), visitor_token=None,
                                      visitor_id="203.0.113.9") == []
    finally:
        await signed.aclose()
    assert [r.key for r in uploads(state)] == [key_marker(HOST.reveal()), MARK_A,
                                               key_marker(HOST.reveal())]


async def test_one_upload_per_slot_and_a_byte_cap_per_visitor(studio, sim, clips):
    _, state = sim
    studio.speculation.max_bytes = Path(clips[0]).stat().st_size + 1
    assert await studio.speculate(edit(clips[0]), visitor_token=None, visitor_id="v1") == [
        "reference_video"]
    feature = JobSpec(Tab.FEATURE, "After <<<video_1>>>", reference_video=clips[1], duration=5)
    assert await studio.speculate(feature, visitor_token=None, visitor_id="v1") == []
    assert await studio.speculate(feature, visitor_token=None, visitor_id="v2") == [
        "reference_video"]
    await until(lambda: len(state.files) == 2)
    assert len(uploads(state)) == 2
    # And all visitors together: a third address finds the total taken.
    studio.speculation.total_max_bytes = 2 * Path(clips[0]).stat().st_size + 1
    assert await studio.speculate(feature, visitor_token=None, visitor_id="v3") == []
    assert len(uploads(state)) == 2


@pytest.mark.slow  # runs on the simulator: 5-20 s on a loaded machine
async def test_a_file_run_would_fix_first_is_not_speculated(studio, sim, clips):
    _, state = sim
    cut = edit(clips[0], video_start=0.5, video_length=3.0)  # Run cuts this window first
    assert await studio.speculate(cut, visitor_token=None, visitor_id="v1") == []
    await studio.run(cut, visitor_token=None, visitor_id="v1")
    assert len(uploads(state)) == 1 and len(state.creates()) == 1


async def test_shutdown_deletes_what_is_left(sim, clips, tmp_path):
    _, state = sim
    studio = make_studio(sim[0], tmp_path)
    await studio.speculate(edit(clips[0]), visitor_token=None, visitor_id="v1")
    await studio.aclose()
    assert not state.files and len(state.deleted_files) == 1
