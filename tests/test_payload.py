"""The exact Replicate input per mode, and the cost estimate from the one price table."""

from __future__ import annotations

import pytest

from kling_ui.core import payload, pricing
from kling_ui.core.models import Tab
from tests.factories import image, job, video

URLS = {f"/tmp/{n}": f"https://api.replicate.com/v1/files/{n}" for n in
        ("s.png", "e.png", "r1.png", "r2.png", "v.mp4")}


def test_text_to_video():
    body = payload.build_input(job(Tab.TEXT, prompt=" A fox ", aspect_ratio="9:16", duration=10,
                                   quality="std"), URLS)
    assert body == {"prompt": "A fox", "mode": "std", "aspect_ratio": "9:16", "duration": 10}


def test_frames_send_no_aspect_ratio():
    j = job(Tab.FRAMES, prompt="@image1 to @image2", start_image=image("s.png"),
            end_image=image("e.png"), aspect_ratio="1:1")
    assert payload.build_input(j, URLS) == {
        "prompt": "<<<image_1>>> to <<<image_2>>>", "mode": "pro",
        "start_image": URLS["/tmp/s.png"], "end_image": URLS["/tmp/e.png"], "duration": 5,
    }


def test_references_keep_upload_order_and_aspect():
    j = job(Tab.REFERENCES, prompt="<<<image_1>>> <<<image_2>>>",
            reference_images=(image("r2.png"), image("r1.png")), aspect_ratio="1:1")
    body = payload.build_input(j, URLS)
    assert body["reference_images"] == [URLS["/tmp/r2.png"], URLS["/tmp/r1.png"]]
    assert body["aspect_ratio"] == "1:1" and "start_image" not in body


def test_video_reference_is_feature_with_duration():
    j = job(Tab.FEATURE, prompt="Based on <<<video_1>>>, next shot", reference_video=video(),
            duration=7, keep_original_sound=False)
    assert payload.build_input(j, URLS) == {
        "prompt": "Based on <<<video_1>>>, next shot", "mode": "pro",
        "reference_video": URLS["/tmp/v.mp4"], "video_reference_type": "feature",
        "keep_original_sound": False, "aspect_ratio": "16:9", "duration": 7,
    }


def test_edit_sends_no_duration_or_aspect():
    j = job(Tab.EDIT, prompt="crown from <<<image_1>>> on <<<video_1>>>",
            reference_images=(image("r1.png"),), reference_video=video(), duration=10)
    body = payload.build_input(j, URLS)
    assert body["video_reference_type"] == "base"
    assert "duration" not in body and "aspect_ratio" not in body
    assert body["keep_original_sound"] is True


def test_missing_upload_is_an_error_not_a_local_path():
    with pytest.raises(KeyError):
        payload.build_input(job(Tab.FRAMES, start_image=image("unknown.png")), URLS)


def test_shorten_urls():
    body = {"prompt": "p", "start_image": "https://example.com/" + "a" * 100,
            "reference_images": ["data:image/png;base64,AAAA"]}
    short = payload.shorten_urls(body)
    assert len(short["start_image"]) == 48 and short["start_image"].endswith("…")
    assert short["reference_images"] == ["data:image/png;base64,…"]


@pytest.mark.parametrize(
    ("j", "usd"),
    [
        (job(Tab.TEXT, quality="std", duration=5), 0.42),
        (job(Tab.TEXT, quality="pro", duration=10), 1.12),
        (job(Tab.FEATURE, quality="std", duration=3, reference_video=video()), 0.38),
        (job(Tab.FEATURE, quality="pro", duration=10, reference_video=video()), 1.68),
        (job(Tab.EDIT, quality="pro", reference_video=video(duration=7.4)), 1.18),  # 7 s
        (job(Tab.EDIT, quality="pro", reference_video=video(duration=7.5)), 1.34),  # 8 s
        (job(Tab.EDIT, quality="std", reference_video=video(duration=10.04)), 1.26),
    ],
)
def test_cost_estimate(j, usd):
    assert pricing.estimate_cost(j) == usd


def test_cost_is_labelled_an_estimate():
    text = pricing.describe_cost(job(Tab.TEXT, duration=5))
    assert text.startswith("Estimated cost ≈ $0.56")


@pytest.mark.parametrize(
    ("j", "duration", "usd"),
    [
        # Frames with an end frame and References allow 3-10 s (Kling O1 doc): sent and priced
        (job(Tab.FRAMES, prompt="<<<image_1>>> to <<<image_2>>>", start_image=image("s.png"),
             end_image=image("e.png"), duration=3, quality="std"), 3, 0.25),
        (job(Tab.REFERENCES, prompt="<<<image_1>>>", reference_images=(image("r1.png"),),
             duration=8), 8, 0.90),
    ],
)
def test_short_and_odd_durations_are_sent_and_priced(j, duration, usd):
    assert payload.build_input(j, URLS)["duration"] == duration
    assert pricing.estimate_cost(j) == usd
