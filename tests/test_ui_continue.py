"""Continue (issue #24): what Next shot fills in, without a browser."""

from __future__ import annotations

from kling_ui.core.models import Tab
from kling_ui.ui.continue_ import SLOTS, next_shot_window


def test_next_shot_sends_the_clips_last_ten_seconds() -> None:
    """The next shot follows the end of the clip: a 20 s clip sends 10-20 s, not 0-10 s."""
    assert next_shot_window(20.0) == (10.0, 10.0)
    assert next_shot_window(20.04) == (10.0, 10.0)
    assert next_shot_window(7.0) == (0.0, 10.0)
    assert (Tab.FEATURE, "video_start") in SLOTS and (Tab.FEATURE, "video_length") in SLOTS
