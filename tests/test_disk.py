"""A full disk never loses a paid output, and a run the resumer ends unbilled gives its quota back
(issue #20, point 5 and part of point 6).

The full disk is a real one: a small tmpfs mounted for the test (we run as root here and on CI;
where mounting is impossible the test skips, except on CI, where it fails). "Replicate" is the
simulator on 127.0.0.1, serving one fixed ~3 MB output so the disk can be made too small for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_fixtures import make_png, running_simulator

from kling_ui.core.config import Secret, Settings
from kling_ui.core.errors import KlingError
from kling_ui.core.models import Tab
from kling_ui.media.ffmpeg import run_ffmpeg
from kling_ui.runs.service import JobSpec, Studio

pytestmark = pytest.mark.anyio

HOST_KEY = Secret("r8_" "HostKeyForTests00000000000000")
MB = 1_000_000


def host_settings(base_url: str, **values: object) -> Settings:
    return Settings(token=HOST_KEY, base_url=base_url, backend="replicate", backend_forced=True,
                    **values)  # type: ignore[arg-type]


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int) -> Iterator[Path]:
    """A tmpfs of `size_mb` MB mounted at `path` for the block."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        why = f"cannot mount a tmpfs ({done.stderr.strip()}): this test needs root"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(disk: Path, leave: int) -> Path:
    """Fill `disk` but for about `leave` bytes, in steps (the library writes meanwhile)."""
    ballast = disk / "ballast"
    with ballast.open("wb") as f:
        while free(disk) > leave + 128 * 1024:
            f.write(b"\0" * min(free(disk) - leave, 256 * 1024))
            f.flush()
    return ballast


def noise_clip(path: Path) -> Path:
    """A 1 s lossless noise clip (~3 MB): an output bigger than the room left on the disk."""
    run_ffmpeg(["-f", "lavfi", "-i", "nullsrc=s=320x240:r=24:d=1,geq=random(1)*255:128:128",
                "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p",
                "-y", str(path)], what="Making a test clip")
    return path


async def until(what: str, check, timeout: float = 30.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_too_little_free_space_refuses_a_run_before_any_upload_or_create(tmp_path, caplog):
    start = make_png(tmp_path / "start.png", (1600, 1200))  # > 256 KB: it would be uploaded
    with running_simulator() as (base_url, state):
        studio = Studio(host_settings(base_url, runs_per_hour=1, min_free_mb=10.0**9),
                        data_dir=str(tmp_path / "data"))
        spec = JobSpec(Tab.FRAMES, "The kite rises", start_image=str(start))
        with caplog.at_level(logging.WARNING), pytest.raises(KlingError) as refused:
            await studio.run(spec, visitor_token=None, visitor_id="v")
        message = refused.value.message
        assert "disk space" in message and "nothing was billed" in message
        assert str(tmp_path) not in message  # no server path for the visitor
        assert any("KLING_MIN_FREE_MB" in r.getMessage() for r in caplog.records)  # the host's
        with pytest.raises(KlingError, match="disk space"):  # at once, before joining the line
            studio.start(spec, visitor_token=None, visitor_id="v")
        assert state.requests_to("/v1/") == []  # no upload, no create
        assert studio.library.runs() == []
        assert studio.guard.quota("v").runs_hour_left == 1  # the refusal cost no run
        assert start.is_file()
        await studio.aclose()


async def test_a_full_disk_during_download_waits_then_saves_the_same_output(tmp_path, caplog):
    output = noise_clip(tmp_path / "output.mp4")
    with small_disk(tmp_path / "disk", 12) as disk, running_simulator(
            model_seconds=3.0, fixed_output=str(output)) as (base_url, state):
        studio = Studio(host_settings(base_url, min_free_mb=2.0), data_dir=str(disk / "data"),
                        disk_retry_seconds=0.2)
        try:
            handle = studio.start(JobSpec(Tab.TEXT, "Waves on a full disk"), visitor_token=None,
                                  visitor_id="v", owner="lib:a")
            await until("the model to start", lambda: state.predictions)
            # The disk fills while the model runs: 1 MB is left, less than the output needs.
            ballast = fill(disk, leave=MB)
            assert state.requests_to("/delivery/") == []  # filled before the model ended
            with caplog.at_level(logging.WARNING), pytest.raises(KlingError) as waiting:
                await asyncio.wait_for(handle.wait(), 30)
            assert waiting.value.message == ("Waiting for disk space: the output is paid for "
                                             "and will be saved as soon as there is room.")
            run = studio.library.get(handle.run_id)
            assert run is not None and run.status == "waiting_for_disk"
            assert run.prediction_id and run.output_url and run.output_until
            assert run.output_url.endswith(f"/delivery/{run.prediction_id}/output.mp4")
            folder = studio.library.run_dir(run.id)
            assert not list(folder.glob("*.part")) and not list(folder.glob("*.mp4"))
            assert any("waiting for disk space" in r.getMessage().lower() for r in caplog.records)
            # While the disk stays full the output is not fetched again and again.
            fetched = len(state.requests_to("/delivery/"))
            await asyncio.sleep(1.0)
            assert len(state.requests_to("/delivery/")) == fetched
            assert studio.library.get(run.id).status == "waiting_for_disk"

            ballast.unlink()  # the host frees some space: the output is saved, for the same run
            done = await until("the output to be saved", lambda: (
                r if (r := studio.library.get(run.id)) and r.status == "succeeded" else None))
            saved = Path(done.output)
            assert saved.is_file() and saved.stat().st_size >= output.stat().st_size * 0.9
            assert not list(folder.glob("*.part"))
            assert len(state.creates()) == 1 and len(state.predictions) == 1  # never a second
            assert done.prediction_id == run.prediction_id
        finally:
            await studio.aclose()


async def test_a_waiting_output_past_replicates_hour_fails_plainly_without_a_download(tmp_path):
    from kling_ui.runs.resumer import retry_disk_waits

    with running_simulator() as (base_url, state):
        studio = Studio(host_settings(base_url, min_free_mb=0.0), data_dir=str(tmp_path / "data"))
        result = await studio.run(JobSpec(Tab.TEXT, "A lantern"), visitor_token=None,
                                  visitor_id="v")
        run = studio.library.get(result.run_id)
        assert run.output_url and run.output_until > time.time() + 3000  # journaled: ~1 h left
        Path(result.output_path).unlink()
        studio.library.update(run.id, status="waiting_for_disk", output=None,
                              output_until=time.time() - 1)  # its hour is over
        fetched = len(state.requests_to("/delivery/"))
        assert retry_disk_waits(studio) == []
        ended = studio.library.get(run.id)
        assert ended.status == "failed" and "expired" in ended.error
        assert "Run it again" in ended.error and str(tmp_path) not in ended.error
        assert len(state.requests_to("/delivery/")) == fetched and len(state.creates()) == 1
        await studio.aclose()


async def test_a_run_the_resumer_ends_unbilled_gives_its_quota_back(tmp_path):
    """The Studio stops while its create is unanswered; Replicate made nothing. The restarted
    Studio says so ("nothing was billed") and the visitor has their run and budget back."""
    from kling_ui.runs.resumer import resume_unfinished

    with running_simulator() as (base_url, state):
        settings = host_settings(base_url, runs_per_hour=1, daily_budget_usd=0.60)
        first = Studio(settings, data_dir=str(tmp_path / "data"))
        state.add_fault("/v1/models/", method="POST", delay=2.0, status=503)  # answered late
        handle = first.start(JobSpec(Tab.TEXT, "A heron, interrupted"), visitor_token=None,
                             visitor_id="v", owner="lib:a")
        await until("the create to be sent", lambda: state.creates())
        first.runner.stop()  # the process is gone before any answer came
        first.library.update(handle.run_id, worker="gone-host:1", lease_until=0.0)

        second = Studio(settings, data_dir=str(tmp_path / "data"))
        assert second.guard.quota("v").runs_hour_left == 0  # still held by the lost run
        assert resume_unfinished(second) == [handle.run_id]
        assert await second.runner.get(handle.run_id).wait() is None
        run = second.library.get(handle.run_id)
        assert run.status == "failed" and "nothing was billed" in run.error
        quota = second.guard.quota("v")
        assert quota.runs_hour_left == 1 and quota.budget_left == pytest.approx(0.60)
        assert second.guard.spent_today() == 0
        await second.run(JobSpec(Tab.TEXT, "A heron, again"), visitor_token=None, visitor_id="v")
        assert len(state.predictions) == 1
        await first.aclose()
        await second.aclose()


def test_the_page_says_a_run_waits_for_disk_space_not_that_it_failed() -> None:
    from kling_ui import i18n
    from kling_ui.hosting import disk
    from kling_ui.library.store import Run
    from kling_ui.ui.common import RUN_STATE, run_progress_html, status_text

    run = Run(id="r1", owner="o", tab="text", status="waiting_for_disk", created_at=1.0,
              updated_at=9.0, prediction_id="p1", log_line=disk.WAITING)
    assert status_text(run.status) == "Waiting for disk space"
    assert RUN_STATE.get(run.status, "running") == "running"
    assert "the output is paid for and will be saved" in run_progress_html(run)
    for message in (disk.WAITING, disk.EXPIRED, disk.LOW_SPACE.format(free="3", need="200")):
        zh = i18n.from_english(message, "zh-CN")
        assert zh != message and ("磁盘" in zh or "过期" in zh)


async def test_after_a_restart_a_waiting_output_is_fetched_without_the_visitors_key(tmp_path):
    """A visitor's key is never kept, but an output URL needs none: a run made with one that
    waits for disk space is saved after a restart without waiting for the key as well."""
    from sim_fixtures import TOKEN_A

    from kling_ui.runs.resumer import resume_unfinished

    with running_simulator() as (base_url, state):
        settings = Settings(base_url=base_url, backend="replicate", backend_forced=True,
                            min_free_mb=0.0)
        first = Studio(settings, data_dir=str(tmp_path / "data"))
        result = await first.run(JobSpec(Tab.TEXT, "A visitor's own kite"), visitor_token=TOKEN_A,
                                 visitor_id="v", owner="lib:a")
        Path(result.output_path).unlink()  # as if the disk had refused it
        first.library.update(result.run_id, status="waiting_for_disk", output=None,
                             worker="gone-host:1", lease_until=0.0)
        await first.aclose()
        polls = len(state.requests_to("/v1/predictions/"))
        second = Studio(settings, data_dir=str(tmp_path / "data"))
        assert resume_unfinished(second) == [result.run_id]
        saved = await second.runner.get(result.run_id).wait()
        assert saved is not None and Path(saved.output_path).is_file()
        assert second.library.get(result.run_id).status == "succeeded"
        assert len(state.creates()) == 1  # never a second prediction, and not even a poll:
        assert len(state.requests_to("/v1/predictions/")) == polls
        await second.aclose()
