"""The suite's own media cache (media_factory.ffmpeg) hands back what ffmpeg would make: the same
command on the same input bytes, never a clip made from other arguments or an edited input."""

from __future__ import annotations

import os
from pathlib import Path

from media_factory import MEDIA_CACHE_ENV, ffmpeg, make_video

from kling_ui.media.probe import probe_video


def test_a_repeated_command_is_copied_and_a_changed_one_is_made(tmp_path: Path) -> None:
    assert os.path.isdir(os.environ[MEDIA_CACHE_ENV])  # conftest made it for this run
    first = make_video(tmp_path / "a.mp4", seconds=1, size=(64, 48), audio=False)
    again = make_video(tmp_path / "b.mp4", seconds=1, size=(64, 48), audio=False)
    assert Path(first).read_bytes() == Path(again).read_bytes()
    other = probe_video(make_video(tmp_path / "c.mp4", seconds=1, size=(96, 48), audio=False))
    assert (other.width, other.height) == (96, 48)
    # An input edited in place is a new input: the copy made from it follows the edit.
    src = tmp_path / "src.mp4"
    make_video(src, seconds=1, size=(64, 48), audio=False)
    ffmpeg("-i", str(src), "-c", "copy", str(tmp_path / "d.mp4"))
    make_video(src, seconds=2, size=(64, 48), audio=False)
    ffmpeg("-i", str(src), "-c", "copy", str(tmp_path / "e.mp4"))
    assert probe_video(str(tmp_path / "e.mp4")).duration > 1.5
