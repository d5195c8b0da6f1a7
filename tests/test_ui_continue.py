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


def test_the_library_files_splices_and_sequences_and_shows_motion_and_children() -> None:
    """A splice and a sequence are filed as what they are (a sequence was "Edit video"), and a
    run's detail names its motion verdict and the runs made from it."""
    from kling_ui.library.store import Run
    from kling_ui.ui.library import _label, detail_notes

    def run(**kw: object) -> Run:
        return Run(**{"id": "r", "tab": "edit", "status": "succeeded", "prompt": "p",
                      "created_at": 0.0, "updated_at": 0.0, "owner": "o", **kw})  # type: ignore[arg-type]

    assert _label(run(settings={"derived": "sequence"})) == "Sequence"
    assert _label(run(settings={"derived": "splice"})) == "Splice"
    assert _label(run()) == "Edit video"
    edit = run(metrics={"motion": {"score": 0.93, "offset_s": 0.0, "speed_ratio": 1.25}})
    notes = detail_notes(edit, [run(settings={"derived": "splice"})])
    assert "Motion report: Motion kept, 1.25x faster (score 0.93)" in notes
    assert "Made from this run (1): Splice" in notes
