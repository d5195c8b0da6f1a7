"""The frames-and-sequences service: files land where asked, and bad input says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from kling_ui.core.errors import InputError
from kling_ui.finishing.sequence import MAX_CLIPS, Sequencer
from kling_ui.media.probe import probe_video
from tests.media_factory import make_image, make_video

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("seq")
    return {
        "a": make_video(d / "a.mp4", seconds=1, size=(320, 240), fps=24),
        "b": make_video(d / "b.mp4", seconds=1, size=(240, 320), fps=30, audio=False),
        "png": make_image(d / "still.png", size=(320, 240)),
        "text": str(_write(d / "notes.mp4", "just some text, not a video\n")),
    }


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


async def test_grab_frame_writes_under_the_data_dir(media: dict[str, str], tmp_path: Path) -> None:
    seq = Sequencer(tmp_path)
    got = await seq.grab_frame(media["a"], -0.0)
    assert Path(got.path).parent == tmp_path / "frames"
    assert got.index == 23 and got.clock.frames == 24
    assert got.time == pytest.approx(23 / 24)
    assert Image.open(got.path).size == (320, 240)


async def test_grab_frame_into_the_callers_folder(media: dict[str, str], tmp_path: Path) -> None:
    got = await Sequencer(tmp_path / "data").grab_frame(media["a"], 0.5, out_dir=tmp_path / "mine")
    assert Path(got.path).parent == tmp_path / "mine" and got.index == 12


async def test_frame_clock_steps(media: dict[str, str], tmp_path: Path) -> None:
    clock = await Sequencer(tmp_path).frame_clock(media["b"])
    assert (clock.frames, clock.fps) == (30, 30)
    assert clock.step(0.5, 1) == pytest.approx(16 / 30)


async def test_join_clips_writes_a_sequence(media: dict[str, str], tmp_path: Path) -> None:
    seen: list[float] = []
    joined = await Sequencer(tmp_path).join_clips([media["a"], media["b"]], crossfade=0.25,
                                                  on_progress=seen.append)
    assert Path(joined.path).parent == tmp_path / "sequences"
    info = probe_video(joined.path)
    assert (info.width, info.height, info.fps) == (320, 240, 24)
    assert info.duration == pytest.approx(1.75, abs=2 / 24) == joined.duration
    assert seen and seen[-1] == 1.0


@pytest.mark.parametrize(("output", "size"), [
    ("first", (320, 240)), ("largest", (320, 240)), ("720p", (960, 720)),
])
async def test_join_clips_at_the_chosen_output_size(media: dict[str, str], tmp_path: Path,
                                                    output: str, size: tuple[int, int]) -> None:
    """The joiner's output size (issue #24): the first clip's (the default), the largest's, or
    the first clip's shape at 720p; a tall clip after a wide one is pillar-boxed, never cropped."""
    joined = await Sequencer(tmp_path).join_clips([media["a"], media["b"]], output=output)
    info = probe_video(joined.path)
    assert (info.width, info.height) == size == (joined.plan.width, joined.plan.height)


@pytest.mark.parametrize(("call", "message"), [
    (lambda s, m: s.grab_frame(m["a"], 1.5), r"t = 1.5 s is outside this clip"),
    (lambda s, m: s.grab_frame(m["a"], -1.2), r"t = -1.2 s is outside this clip"),
    (lambda s, m: s.grab_frame(m["png"], 0), r"The video \(still.png\): .*still image"),
    (lambda s, m: s.grab_frame(m["text"], 0), r"The video \(notes.mp4\): .*not a video"),
    (lambda s, m: s.join_clips([m["a"]]), r"at least 2 clips; got only one clip"),
    (lambda s, m: s.join_clips([m["a"], m["png"]]), r"Clip 2 \(still.png\): .*still image"),
    (lambda s, m: s.join_clips([m["a"], m["b"]], crossfade=0.6),
     r"longer than half the shortest clip"),
    (lambda s, m: s.join_clips([m["a"]] * (MAX_CLIPS + 1)), rf"more than the {MAX_CLIPS}"),
    (lambda s, m: s.join_clips([m["a"], m["text"]], output="4k"),
     r"output size '4k' is not one of first, largest, 1080p, 720p"),
])
async def test_bad_input_is_an_input_error(media: dict[str, str], tmp_path: Path, call: object,
                                           message: str) -> None:
    seq = Sequencer(tmp_path)
    with pytest.raises(InputError, match=message):
        await call(seq, media)  # type: ignore[operator]
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []  # nothing half-made is left behind
