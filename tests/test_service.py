"""The service end to end on the simulator: each mode runs, fixes are applied, keys are routed."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sim_fixtures import MARK_A, MARK_B, TOKEN_A, TOKEN_B, make_clip, make_png

from kling_ui.core.config import Secret, Settings
from kling_ui.core.errors import AccessError, AuthError, InputError, PredictionError
from kling_ui.core.models import Tab
from kling_ui.runs.service import JobSpec, Studio

pytestmark = pytest.mark.anyio


@pytest.fixture
def studio(sim, tmp_path):
    base_url, _ = sim
    settings = Settings(token=Secret("r8_" "HostKeyForTests00000000000000"), base_url=base_url,
                        backend="replicate", backend_forced=True, sim_seconds=0.3)
    s = Studio(settings, data_dir=str(tmp_path / "data"))
    return s


@pytest.fixture
def media(tmp_path):
    return {
        "a": str(make_png(tmp_path / "a.png", (640, 480))),
        "b": str(make_png(tmp_path / "b.png", (640, 480), (20, 90, 200))),
        "clip": str(make_clip(tmp_path / "clip.mp4", seconds=3.5, size=(1280, 720))),
    }


@pytest.mark.slow  # out of the inner loop (issue #21): 10-35 s
async def test_each_mode_runs_and_sends_the_documented_input(studio, sim, media):
    _, state = sim
    specs = [
        JobSpec(Tab.TEXT, "A red fox in snow", aspect_ratio="9:16", duration=5),
        JobSpec(Tab.FRAMES, "<<<image_1>>> turns into <<<image_2>>>", start_image=media["a"],
                end_image=media["b"]),
        JobSpec(Tab.REFERENCES, "Make the person in @Image1 wave", reference_images=(media["a"],),
                aspect_ratio="1:1"),
        JobSpec(Tab.FEATURE, "Based on <<<video_1>>>, generate the next shot",
                reference_video=media["clip"], duration=3),
        JobSpec(Tab.EDIT, "Put the crown from <<<image_1>>> on <<<video_1>>>",
                reference_images=(media["a"],), reference_video=media["clip"]),
    ]
    seen: list[str] = []
    labels: list[str] = []
    for spec in specs:
        result = await studio.run(spec, visitor_token=None, visitor_id="v1",
                                  on_progress=lambda p: seen.append(p.stage))
        labels.append(result.original_label)
        assert Path(result.output_path).stat().st_size > 1000
        assert result.status == "succeeded" and result.backend == "replicate"
        assert result.output_facts["kind"] == "video" and result.output_facts["duration"] > 2
    assert labels == ["No original (text to video)", "Start frame", "Reference image 1",
                      "Original clip", "Original clip"]
    sent = [c.body["input"] for c in state.creates()]
    assert [set(i) for i in sent] == [
        {"prompt", "mode", "aspect_ratio", "duration"},
        {"prompt", "mode", "start_image", "end_image", "duration"},
        {"prompt", "mode", "reference_images", "aspect_ratio", "duration"},
        {"prompt", "mode", "reference_video", "video_reference_type", "keep_original_sound",
         "aspect_ratio", "duration"},
        {"prompt", "mode", "reference_images", "reference_video", "video_reference_type",
         "keep_original_sound"},
    ]
    assert sent[2]["prompt"] == "Make the person in <<<image_1>>> wave"
    assert sent[4]["video_reference_type"] == "base"
    assert {"checking", "uploading", "starting", "done"} <= set(seen)
    # every uploaded file was deleted once its prediction was over
    assert len(state.deleted_files) == len(state.files) or not state.files


async def test_bad_input_never_reaches_replicate(studio, sim, media, tmp_path):
    _, state = sim
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    with pytest.raises(InputError, match="not an image"):
        await studio.run(JobSpec(Tab.FRAMES, "x", start_image=str(bad)), visitor_token=None,
                         visitor_id="v")
    with pytest.raises(InputError) as err:
        await studio.run(JobSpec(Tab.REFERENCES, "<<<image_3>>>", reference_images=(media["a"],)),
                         visitor_token=None, visitor_id="v")
    assert "<<<image_3>>> points at no image" in str(err.value)
    assert state.creates() == []


async def test_a_file_gone_from_the_server_is_a_clear_message_not_a_crash(studio, sim, tmp_path):
    # Gradio's cache can lose an upload between the checks and Run (a restart, its sweep, or
    # another app on the same temp folder): the run says so and nothing reaches Replicate.
    _, state = sim
    gone = tmp_path / "clip-from-a-cleared-cache.mp4"
    with pytest.raises(InputError, match="no longer on the server") as err:
        await studio.run(JobSpec(Tab.EDIT, "<<<video_1>>> in snow", reference_video=str(gone)),
                         visitor_token=None, visitor_id="v")
    assert "reference_video" in str(err.value) and "Upload it again" in str(err.value)
    pf = await studio.preflight(JobSpec(Tab.EDIT, "<<<video_1>>> in snow",
                                        reference_video=str(gone)))
    assert not pf.ok and "no longer on the server" in pf.errors[0].message
    assert state.creates() == []


async def test_a_prompt_too_long_as_sent_is_refused_before_any_request(studio, sim, media):
    _, state = sim
    prompt = "@Image1 " * 270 + "x" * 270  # 2430 characters typed, 4050 as sent
    spec = JobSpec(Tab.REFERENCES, prompt, reference_images=(media["a"],))
    pf = await studio.preflight(spec)
    assert (pf.chars_typed, pf.chars_sent) == (2430, 4050)
    assert not pf.ok and "2430 characters typed but 4050 as sent" in pf.errors[0].message
    with pytest.raises(InputError, match="4050 as sent"):
        await studio.run(spec, visitor_token=None, visitor_id="v")
    assert state.requests == []  # not even an upload


def _pad_mp4(path: Path, total: int) -> Path:
    """Grow a valid mp4 to exactly `total` bytes with a trailing `free` atom (sparse, so cheap)."""
    size = path.stat().st_size
    pad = total - size
    with path.open("r+b") as f:
        f.seek(size)
        f.write(pad.to_bytes(4, "big") + b"free")
        f.truncate(total)
    return path


async def test_a_102_mb_clip_is_shrunk_before_upload(studio, sim, tmp_path):
    _, state = sim
    clip = _pad_mp4(make_clip(tmp_path / "big.mp4", seconds=3.0, size=(720, 720)), 102_000_000)
    assert clip.stat().st_size == 102_000_000
    check = await studio.check_video(str(clip))
    assert [p.fix for p in check.errors] == ["shrink"]  # 100 MB or more, read strictly
    result = await studio.run(JobSpec(Tab.FEATURE, "<<<video_1>>> at night",
                                      reference_video=str(clip), duration=3),
                              visitor_token=None, visitor_id="v")
    assert "shrink" in [f.action for f in result.fixes], result.fixes
    # what was sent is the doctor's re-encode (small enough here to go inline), never 102 MB
    assert result.original_facts["bytes"] < 1_000_000
    assert all(int(r.headers["content-length"]) < 100_000_000
               for r in state.requests_to("/v1/files", "POST"))
    assert state.creates()[0].body["input"]["duration"] == 3


async def test_preflight_reports_without_raising(studio, media, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"GIF89a<script>alert(1)</script>")
    pf = await studio.preflight(JobSpec(Tab.FRAMES, "x", start_image=str(bad)))
    assert not pf.ok and pf.cost_usd == 0.0
    pf = await studio.preflight(JobSpec(Tab.EDIT, "@video1 at night", reference_video=media["clip"],
                                        quality="std"))
    assert pf.ok and pf.prompt == "<<<video_1>>> at night"
    assert pf.tokens == (("<<<video_1>>>", "video"),)
    assert pf.cost_usd == pytest.approx(0.50)  # 3.5 s rounds to 4 s x 0.126
    # A clip no fix can use (1.5 s: Kling needs 3 s) gets no price; an empty prompt keeps one.
    short = str(make_clip(tmp_path / "short.mp4", seconds=1.5, size=(640, 360)))
    pf = await studio.preflight(JobSpec(Tab.EDIT, "<<<video_1>>> at night",
                                        reference_video=short, quality="std"))
    assert not pf.ok and pf.cost_usd == 0.0 and "fix the files first" in pf.cost_text
    pf = await studio.preflight(JobSpec(Tab.TEXT, ""))
    assert not pf.ok and pf.cost_usd > 0


@pytest.mark.slow  # out of the inner loop (issue #21): 10-35 s
async def test_auto_fix_trims_and_upscales_before_upload(studio, sim, tmp_path):
    _, state = sim
    long_clip = str(make_clip(tmp_path / "long.mp4", seconds=12, size=(1280, 720)))
    small = str(make_png(tmp_path / "small.png", (200, 200)))
    spec = JobSpec(Tab.EDIT, "<<<image_1>>> on <<<video_1>>>", reference_images=(small,),
                   reference_video=long_clip)
    result = await studio.run(spec, visitor_token=None, visitor_id="v")
    actions = {(f.field, f.action) for f in result.fixes}
    assert ("reference_video", "trim") in actions
    assert any(f == "reference_images[1]" for f, _ in actions)
    assert len(state.creates()) == 1
    with pytest.raises(InputError, match="Kling accepts 3-10 s"):
        await studio.run(replace(spec, auto_fix=False), visitor_token=None, visitor_id="v")


async def test_visitor_keys_reach_the_server_for_their_own_requests_only(studio, sim, media):
    _, state = sim
    spec = JobSpec(Tab.REFERENCES, "<<<image_1>>> waves", reference_images=(media["a"],))
    await asyncio.gather(
        studio.run(spec, visitor_token=TOKEN_A, visitor_id="a"),
        studio.run(spec, visitor_token=TOKEN_B, visitor_id="b"),
    )
    markers = {r.key for r in state.requests if r.path.startswith("/v1/")}
    assert {MARK_A, MARK_B} <= markers
    creates = state.creates()
    assert sorted(c.key for c in creates) == sorted([MARK_A, MARK_B])


async def test_cancel_stops_the_prediction(sim, tmp_path):
    base_url, state = sim
    settings = Settings(token=Secret("r8_" "HostKeyForTests00000000000000"), base_url=base_url,
                        backend="replicate", backend_forced=True)
    studio = Studio(settings, data_dir=str(tmp_path))
    state.options.model_seconds = 30.0
    cancel = asyncio.Event()

    def on_progress(p):
        if p.stage == "processing" or p.status in ("starting", "processing"):
            cancel.set()

    with pytest.raises(PredictionError) as err:
        await asyncio.wait_for(
            studio.run(JobSpec(Tab.TEXT, "slow"), visitor_token=None, visitor_id="v",
                       on_progress=on_progress, cancel_event=cancel), 20)
    assert err.value.status == "canceled"
    assert len(state.cancels) == 1


@pytest.mark.slow  # out of the inner loop (issue #21): 10-35 s
async def test_host_limits_apply_to_the_host_key_only(sim, media, tmp_path):
    base_url, _ = sim
    settings = Settings(token=Secret("r8_" "HostKeyForTests00000000000000"), base_url=base_url,
                        backend="replicate", backend_forced=True, runs_per_hour=1)
    studio = Studio(settings, data_dir=str(tmp_path))
    spec = JobSpec(Tab.TEXT, "a fox")
    await studio.run(spec, visitor_token=None, visitor_id="v")
    with pytest.raises(AccessError, match="1 runs per visitor per hour"):
        await studio.run(spec, visitor_token=None, visitor_id="v")
    await studio.run(spec, visitor_token=TOKEN_A, visitor_id="v")  # own key: no host limit


@pytest.mark.slow  # out of the inner loop (issue #21): 10-35 s
async def test_with_sign_in_the_host_key_refuses_anyone_not_signed_in_before_any_work(sim, media,
                                                                                       tmp_path):
    base_url, state = sim
    settings = Settings(token=Secret("r8_" "HostKeyForTests00000000000000"), base_url=base_url,
                        backend="replicate", backend_forced=True, runs_per_hour=1, sign_in=True)
    studio = Studio(settings, data_dir=str(tmp_path))
    spec = JobSpec(Tab.TEXT, "a fox")
    with pytest.raises(AccessError, match="Sign in with Hugging Face"):
        await studio.run(spec, visitor_token=None, visitor_id="ip:10.0.0.1")
    assert studio.library.runs() == [] and not state.predictions  # nothing journaled or sent
    await studio.run(spec, visitor_token=None, visitor_id="hf:alice")
    with pytest.raises(AccessError, match="1 runs per signed-in user per hour"):
        await studio.run(spec, visitor_token=None, visitor_id="hf:alice")
    await studio.run(spec, visitor_token=None, visitor_id="hf:bob")  # Bob's hour is his own
    await studio.run(spec, visitor_token=TOKEN_A, visitor_id="ip:10.0.0.1")  # own key: no sign-in


async def test_a_run_is_journaled_and_kept_with_its_inputs_output_and_settings(studio, sim, media):
    _, state = sim
    seen: list[str] = []
    spec = JobSpec(Tab.EDIT, "Put the crown from @Image1 on <<<video_1>>>",
                   reference_images=(media["a"],), reference_video=media["clip"])
    result = await studio.run(spec, visitor_token=None, visitor_id="v", owner="alice",
                              on_progress=lambda p: seen.append(p.stage))
    run = studio.library.get(result.run_id)
    assert run is not None and run.status == "succeeded" and run.owner == "alice"
    assert run.prediction_id == result.prediction_id and len(state.creates()) == 1
    assert run.prompt == spec.prompt and run.prompt_sent.startswith("Put the crown from <<<image_1>>>")
    assert run.request is not None and run.request["prompt"] == run.prompt_sent
    # The files live in the run's folder, not in a session's: nothing goes when a tab closes.
    folder = studio.library.run_dir(run.id)
    # Named for the person downloading it: tab, the prompt's first words, the day (issue #12).
    day = date.fromtimestamp(run.created_at).isoformat()
    assert Path(result.output_path) == folder / f"edit-crown-{day}.mp4"
    assert Path(result.output_path).stat().st_size > 0 and run.output == result.output_path
    assert Path(run.poster).is_file() and Path(run.inputs["reference_video"]).is_relative_to(folder)
    assert [Path(p).is_file() for p in run.inputs["reference_images"]] == [True]
    # The settings ride in the MP4 (no re-encode) and restore the same spec.
    from kling_ui.media.tags import read_settings_tag

    tag = read_settings_tag(result.output_path)
    assert tag is not None and tag["prompt"] == spec.prompt and tag["settings"]["tab"] == "edit"
    assert result.spec is not None and result.spec.prompt == spec.prompt
    assert "uploading" in seen and seen[-1] == "done"


async def test_two_runs_of_one_prompt_on_one_day_download_under_two_names(studio, sim):
    import zipfile

    spec = JobSpec(Tab.TEXT, "A fox in snow at dawn, slow pan", duration=5, quality="std")
    first = await studio.run(spec, visitor_token=None, visitor_id="v")
    second = await studio.run(spec, visitor_token=None, visitor_id="v")
    day = date.fromtimestamp(studio.library.get(first.run_id).created_at).isoformat()
    assert Path(first.output_path).name == f"text-fox-in-snow-{day}.mp4"
    assert Path(second.output_path).name == f"text-fox-in-snow-{day}-2.mp4"
    assert Path(first.output_path).is_file() and Path(second.output_path).is_file()
    # The export zip carries the same names.
    zipped = studio.files.export_zip(studio.library.get(second.run_id))
    assert zipped.name == f"text-fox-in-snow-{day}-2.zip"
    with zipfile.ZipFile(zipped) as z:
        assert f"text-fox-in-snow-{day}-2.mp4" in z.namelist()


async def test_preflight_names_every_bad_file_and_prices_the_trim_window(studio, tmp_path):
    a = tmp_path / "a.png"
    a.write_text("text, not a picture")
    b = tmp_path / "b.png"
    b.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    pf = await studio.preflight(JobSpec(Tab.FRAMES, "x", start_image=str(a), end_image=str(b)))
    assert [p.field for p in pf.errors] == ["start_image", "end_image"]
    clip = str(make_clip(tmp_path / "long.mp4", seconds=12, size=(1280, 720)))
    pf = await studio.preflight(JobSpec(Tab.EDIT, "<<<video_1>>>", reference_video=clip,
                                        quality="std"))
    assert pf.cost_usd == pytest.approx(1.26)  # 10 s window, not 12 s
    pf = await studio.preflight(JobSpec(Tab.EDIT, "<<<video_1>>>", reference_video=clip,
                                        quality="std", video_start=4, video_length=5))
    assert pf.cost_usd == pytest.approx(0.63)


async def test_only_clips_the_browser_cannot_play_get_a_preview_and_poster(studio, media, tmp_path):
    from media_factory import make_video

    plain = await studio.check_video(media["clip"])
    assert plain.preview_path == media["clip"] and plain.poster_path is None
    hevc = make_video(tmp_path / "phone.mov", seconds=3, size=(1280, 720), vcodec="libx265")
    check = await studio.check_video(hevc)
    # The card comes first, from the header alone (issue #23); its still and the playable
    # preview are made after it.
    assert check.preview_pending and check.preview_path is None and check.poster_path is None
    poster = await studio.video_poster(hevc)
    assert poster is not None and Path(poster).stat().st_size > 0
    preview = await studio.video_preview(hevc)
    assert preview != hevc and preview.endswith(".mp4") and Path(preview).stat().st_size > 0


async def test_a_pasted_key_is_checked_at_once(studio, sim):
    _, state = sim
    assert (await studio.check_key(TOKEN_A)).startswith("sim-")
    with pytest.raises(AuthError):
        await studio.check_key(Secret("hello"))
    # one request per check: a refused key is never retried
    assert len(state.requests_to("/v1/account")) == 2


@pytest.mark.slow  # out of the inner loop (issue #21): 10-35 s
async def test_the_usual_model_time_is_learned_per_tab(studio, sim, media):
    assert studio.expected_predict_time(Tab.TEXT) is None
    for _ in range(2):
        result = await studio.run(JobSpec(Tab.TEXT, "A calm sea"), visitor_token=None,
                                  visitor_id="v")
        assert result.predict_time is not None
    assert studio.expected_predict_time(Tab.TEXT) == pytest.approx(0.3, abs=0.05)
    assert studio.expected_predict_time(Tab.FRAMES) is None


async def test_a_visitor_key_run_waits_for_that_key_after_a_restart_then_finishes(sim, tmp_path):
    """The visitor's key is never stored, so a restart leaves their run waiting; entering the
    same key again fetches it (another key does not)."""
    from kling_ui.runs.resumer import resume_unfinished, resume_with_key

    base_url, state = sim
    settings = Settings(base_url=base_url, backend="replicate", backend_forced=True)
    first = Studio(settings, data_dir=str(tmp_path / "data"))
    handle = first.start(JobSpec(Tab.TEXT, "A visitor's own heron"), visitor_token=TOKEN_A,
                         visitor_id="v", owner="lib:alice")
    for _ in range(100):  # until the prediction is journaled, then "the app stops"
        run = first.library.get(handle.run_id)
        if run is not None and run.prediction_id:
            break
        await asyncio.sleep(0.05)
    first.runner.stop()  # the process is gone: nobody follows the prediction any more
    first.library.update(run.id, worker="gone-host:1", lease_until=0.0)
    second = Studio(settings, data_dir=str(tmp_path / "data"))
    assert resume_unfinished(second) == []
    assert second.library.get(run.id).status == "waiting_for_key"
    assert await resume_with_key(second, "lib:alice", TOKEN_B) == []  # not the key it was made with
    assert await resume_with_key(second, "lib:alice", TOKEN_A) == [run.id]
    result = await second.runner.get(run.id).wait()
    assert result is not None and Path(result.output_path).is_file()
    assert second.library.get(run.id).status == "succeeded" and len(state.creates()) == 1
    await first.aclose()
    await second.aclose()


async def test_a_studio_video_carries_its_settings_back(studio, media):
    result = await studio.run(JobSpec(Tab.TEXT, "A lantern festival", aspect_ratio="9:16",
                                      duration=10, quality="std"),
                              visitor_token=None, visitor_id="v")
    spec, run_id = await studio.spec_from_video(result.output_path)
    assert (spec.tab, spec.prompt, spec.aspect_ratio, spec.duration, spec.quality) == (
        Tab.TEXT, "A lantern festival", "9:16", 10, "std")
    assert run_id == result.run_id
    with pytest.raises(InputError, match="carries no Studio settings"):
        await studio.spec_from_video(media["clip"])


async def test_a_half_written_output_is_downloaded_again_after_a_restart(studio, sim, tmp_path):
    """Killed mid-download: the row says 'downloading', only a .part file is on disk. The
    restarted Studio polls the same prediction and downloads the output again, whole."""
    from kling_ui.runs.resumer import resume_unfinished

    _, state = sim
    result = await studio.run(JobSpec(Tab.TEXT, "A kite over the dunes"), visitor_token=None,
                              visitor_id="v")
    output = Path(result.output_path)
    whole = output.stat().st_size
    output.unlink()
    output.with_name("output.mp4.part").write_bytes(b"\0" * 1000)  # what the kill left
    studio.library.update(result.run_id, status="downloading", output=None,
                          worker="gone-host:1", lease_until=0.0)
    again = Studio(studio.settings, data_dir=str(studio.data_dir))
    assert resume_unfinished(again) == [result.run_id]
    redone = await again.runner.get(result.run_id).wait()
    assert Path(redone.output_path).stat().st_size >= whole * 0.9  # the settings tag may differ
    assert not output.with_name("output.mp4.part").exists()
    assert again.library.get(result.run_id).status == "succeeded" and len(state.creates()) == 1
    await again.aclose()


@pytest.mark.slow  # two simulated runs, one with a storyboard's second render pass
async def test_a_3_0_run_is_sent_to_its_model_recorded_and_restored_with_its_storyboard(
        studio, sim, tmp_path):
    """Issue #25: the run's model goes to its own Replicate route, the library records it, and
    the spec restored from the row (restore, takes, next shot) carries the model and shots."""
    from kling_ui.core.models import Shot
    from kling_ui.library.results import spec_from_run

    _, state = sim
    shots = (Shot("A fox wakes", 2), Shot("It runs", 3))
    spec = JobSpec(Tab.TEXT, "A fox in snow", duration=5, quality="std", model="kling-v3-omni",
                   generate_audio=True, shots=shots)
    result = await studio.run(spec, visitor_token=None, visitor_id="v1")
    create = state.creates()[-1]
    assert create.path == "/v1/models/kwaivgi/kling-v3-omni-video/predictions"
    assert create.body["input"]["mode"] == "standard"
    assert result.summary()["model"] == "kling-v3-omni"
    assert result.output_facts["has_audio"] is True  # the simulator made the model's sound
    row = studio.library.get(result.run_id)
    assert row is not None and row.model == "kwaivgi/kling-v3-omni-video"
    back = spec_from_run(row)
    assert (back.model, back.shots, back.generate_audio) == ("kling-v3-omni", shots, True)
    o1 = await studio.run(JobSpec(Tab.TEXT, "A fox in snow", duration=5), visitor_token=None,
                          visitor_id="v1")
    assert studio.library.get(o1.run_id).model == "kwaivgi/kling-o1"
    assert state.creates()[-1].path == "/v1/models/kwaivgi/kling-o1/predictions"
    assert set(state.creates()[-1].body["input"]) == {"prompt", "mode", "aspect_ratio", "duration"}


async def test_a_run_held_by_a_process_still_stopping_is_taken_once_it_has_ended(sim, tmp_path):
    """A quick restart: the old process is alive (deleting its uploads) when the new one's
    start-up pass looks, so that pass leaves its run. The new Studio's sweep takes it once the
    old process has ended, and finishes the same prediction; while it lives, it never does."""
    import socket
    import subprocess
    import sys

    from kling_ui.runs.resumer import adopt_orphans, resume_unfinished

    base_url, state = sim
    settings = Settings(token=Secret("r8_" "HostKeyForTests00000000000000"), base_url=base_url,
                        backend="replicate", backend_forced=True)
    first = Studio(settings, data_dir=str(tmp_path / "data"))
    handle = first.start(JobSpec(Tab.TEXT, "A lighthouse in fog"), visitor_token=None,
                         visitor_id="v")
    for _ in range(200):  # until the prediction is journaled
        run = first.library.get(handle.run_id)
        if run is not None and run.prediction_id:
            break
        await asyncio.sleep(0.05)
    assert run is not None and run.prediction_id and run.status in ("starting", "processing")
    first.runner.stop()
    stopping = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:  # the row's holder: a live process of this host, with a fresh lease
        first.library.update(run.id, worker=f"{socket.gethostname()}:{stopping.pid}")
        second = Studio(settings, data_dir=str(tmp_path / "data"), orphan_sweep_seconds=0.2)
        assert resume_unfinished(second) == []
        first.library.update(run.id, lease_until=0.0)  # a slow prediction: no write for a while
        assert adopt_orphans(second) == []  # its holder is alive: never taken, whatever its lease
        second.start_sweeper()
    finally:
        stopping.kill()
        stopping.wait(10)
    for _ in range(600):  # the sweep (every 0.2 s here) takes it and follows it to its end
        done = second.library.get(run.id)
        if done is not None and not done.in_flight:
            break
        await asyncio.sleep(0.1)
    assert done is not None and done.status == "succeeded", done
    assert done.worker == second.library.worker and done.prediction_id == run.prediction_id
    assert done.output and (tmp_path / "data" / done.output).is_file()
    assert len(state.creates()) == 1
    assert adopt_orphans(second) == []  # finished, and ours: nothing left to take
    await first.aclose()
    await second.aclose()


def test_the_first_sweep_for_runs_a_stopped_process_left_comes_soon_after_start(monkeypatch):
    """A page reloaded right after a quick restart showed its run "processing" for 30 s (the
    sweep's interval) before the sweep took it; the first sweep now comes FIRST_SWEEP_SECONDS
    after start, then one each interval."""
    import threading
    import time

    from kling_ui.runs import resumer

    swept: list[float] = []
    twice = threading.Event()

    def sweep(studio):  # noqa: ANN001, ANN202 - adopt_orphans' place
        swept.append(time.monotonic())
        if len(swept) == 2:
            twice.set()
        return []

    monkeypatch.setattr(resumer, "FIRST_SWEEP_SECONDS", 0.05, raising=False)
    monkeypatch.setattr(resumer, "adopt_orphans", sweep)
    watch = resumer.ResumeWatch(object(), interval=0.5)  # type: ignore[arg-type]
    started = time.monotonic()
    watch.start()
    try:
        assert twice.wait(20), swept
    finally:
        watch.stop()
    # The first well before an interval had passed; the second an interval after the first.
    assert swept[0] - started < swept[1] - swept[0], swept
    assert swept[1] - swept[0] >= 0.5, swept


async def test_callers_at_the_same_moment_share_one_probe(studio, media, monkeypatch):
    """A new clip's card and its filmstrip ask for its probe together: one ffprobe, not two."""
    from kling_ui.media import probe

    calls = []
    real = probe.probe_video

    def counted(path):  # noqa: ANN001, ANN202
        calls.append(path)
        return real(path)

    monkeypatch.setattr(probe, "probe_video", counted)
    first, second = await asyncio.gather(studio.check_video(media["clip"]),
                                         studio.filmstrip(media["clip"]))
    assert len(calls) == 1, calls
    assert first.info.duration == pytest.approx(3.5, abs=0.1) and second.frames
    await studio.check_video(media["clip"])  # and after: the cache, no probe at all
    assert len(calls) == 1
