"""The five named endpoints, driven through gradio_client against the app on the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.ui_fixtures import LaunchedApp, launched_app, make_fake_png, make_image, make_video

MORE = ["model", "generate_audio", "shots"]  # issue #25
ENDPOINTS = {
    "/text_to_video": ["prompt", "aspect_ratio", "duration", "mode", "auto_fix", *MORE],
    "/frames_to_video": ["prompt", "start_image", "end_image", "duration", "mode", "auto_fix",
                         *MORE],
    "/references_to_video": ["prompt", "reference_images", "start_image", "aspect_ratio",
                             "duration", "mode", "auto_fix", *MORE],
    "/video_reference": ["prompt", "reference_video", "reference_images", "aspect_ratio",
                         "duration", "mode", "keep_original_sound", "auto_fix", "model"],
    "/edit_video": ["prompt", "reference_video", "reference_images", "mode",
                    "keep_original_sound", "auto_fix", "model"],
}


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3) as launched:
        yield launched


@pytest.fixture(scope="module")
def client(app: LaunchedApp) -> Client:
    return Client(app.url, verbose=False)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    return {
        "img1": make_image(d / "one.png", size=(800, 600)),
        "img2": make_image(d / "two.jpg", size=(640, 640), fmt="JPEG"),
        "small": make_image(d / "small.png", size=(200, 150)),
        "clip": make_video(d / "clip.mp4", seconds=4, size=(1280, 720), fps=30),
        "fake": make_fake_png(d / "fake.png"),
    }


def _video_path(out: Any) -> str:
    return out["video"] if isinstance(out, dict) else out


def _check_result(result: Any) -> dict[str, Any]:
    video, summary = result
    assert Path(_video_path(video)).is_file()
    assert summary["status"] == "succeeded"
    assert summary["prediction_id"]
    assert summary["estimated_cost_usd"] > 0
    assert summary["backend"] in ("simulator", "replicate")
    out = summary["output"]
    for key in ("duration", "width", "height", "fps", "has_audio"):
        assert key in out, key
    assert out["duration"] > 0
    return summary


MEDIA_ENDPOINTS = {"/grab_frame", "/join_clips"}  # issue #14 (tests/test_ui_api_sequence.py)


def test_api_lists_five_endpoints_with_replicate_parameter_names(client: Client) -> None:
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    for endpoint, params in ENDPOINTS.items():
        assert endpoint in named, f"{endpoint} missing: {sorted(named)}"
        assert [p["parameter_name"] for p in named[endpoint]["parameters"]] == params
        assert len(named[endpoint]["returns"]) == 2
    # The UI's own handlers are not part of the API: only the five modes and the media tools
    # (issue #13's finishing endpoints, issue #14's frames and joins).
    finishing = {"/motion_report", "/splice_back", "/compare_export", "/compare_stills"}
    runs = {"/get_run", "/list_runs", "/cancel_run", "/estimate_cost"}  # issue #22
    assert set(named) == set(ENDPOINTS) | MEDIA_ENDPOINTS | finishing | runs


def test_text_to_video_sends_aspect_ratio_and_duration(client: Client) -> None:
    summary = _check_result(client.predict(prompt="A paper boat in the rain", aspect_ratio="9:16",
                                           duration=10, mode="std", api_name="/text_to_video"))
    assert summary["input"] == {"prompt": "A paper boat in the rain", "mode": "std",
                                "aspect_ratio": "9:16", "duration": 10}
    assert summary["estimated_cost_usd"] == pytest.approx(0.84)


def test_frames_to_video_sends_no_aspect_ratio(client: Client, media: dict[str, Path]) -> None:
    summary = _check_result(client.predict(
        prompt="From <<<image_1>>> to <<<image_2>>>", start_image=handle_file(media["img1"]),
        end_image=handle_file(media["img2"]), api_name="/frames_to_video"))
    sent = summary["input"]
    assert "aspect_ratio" not in sent
    assert sent["duration"] == 5 and sent["mode"] == "pro"
    assert sent["start_image"] and sent["end_image"]
    assert summary["original"]["kind"] == "image"


def test_references_to_video_with_at_spelling_rewritten(client: Client,
                                                         media: dict[str, Path]) -> None:
    summary = _check_result(client.predict(
        prompt="Make the person in @Image1 wave at <<<image_2>>>",
        reference_images=[handle_file(media["img1"]), handle_file(media["img2"])],
        api_name="/references_to_video"))
    sent = summary["input"]
    assert sent["prompt"] == "Make the person in <<<image_1>>> wave at <<<image_2>>>"
    assert len(sent["reference_images"]) == 2
    assert sent["aspect_ratio"] == "16:9"
    assert any("@Image1" in w for w in summary["warnings"])


def test_video_reference_sends_feature_type_and_any_duration(client: Client,
                                                             media: dict[str, Path]) -> None:
    summary = _check_result(client.predict(
        prompt="Based on <<<video_1>>>, generate the next shot.",
        reference_video=handle_file(media["clip"]), duration=7, keep_original_sound=False,
        api_name="/video_reference"))
    sent = summary["input"]
    assert sent["video_reference_type"] == "feature"
    assert sent["duration"] == 7
    assert sent["keep_original_sound"] is False
    assert summary["original"]["duration"] == pytest.approx(4, abs=0.2)


def test_edit_video_sends_base_without_duration_or_aspect(client: Client,
                                                          media: dict[str, Path]) -> None:
    summary = _check_result(client.predict(
        prompt="Put the crown from <<<image_1>>> on the girl in <<<video_1>>>.",
        reference_video=handle_file(media["clip"]), reference_images=[handle_file(media["img1"])],
        api_name="/edit_video"))
    sent = summary["input"]
    assert sent["video_reference_type"] == "base"
    assert "duration" not in sent and "aspect_ratio" not in sent
    assert sent["keep_original_sound"] is True
    # A base edit bills the input's length: 4 s at the pro video rate.
    assert summary["estimated_cost_usd"] == pytest.approx(4 * 0.168, abs=0.01)


def test_auto_fix_upscales_a_small_image_and_reports_it(client: Client,
                                                        media: dict[str, Path]) -> None:
    summary = _check_result(client.predict(
        prompt="<<<image_1>>> comes alive", start_image=handle_file(media["small"]),
        api_name="/frames_to_video"))
    assert summary["fixes_applied"], summary
    with pytest.raises(AppError, match="at least 300 px"):
        client.predict(prompt="<<<image_1>>> comes alive", start_image=handle_file(media["small"]),
                       auto_fix=False, api_name="/frames_to_video")


def test_a_text_file_named_png_is_refused_clearly(client: Client, media: dict[str, Path]) -> None:
    with pytest.raises(AppError) as info:
        client.predict(prompt="<<<image_1>>> dances", start_image=handle_file(media["fake"]),
                       api_name="/frames_to_video")
    message = str(info.value)
    assert "not an image" in message
    assert "Something went wrong" not in message


def test_a_token_pointing_at_nothing_is_refused(client: Client, media: dict[str, Path]) -> None:
    with pytest.raises(AppError, match=r"<<<image_2>>> points at no image"):
        client.predict(prompt="Make <<<image_2>>> wave",
                       reference_images=[handle_file(media["img1"])],
                       api_name="/references_to_video")
    with pytest.raises(AppError, match=r"<<<video_1>>> points at no video"):
        client.predict(prompt="Like <<<video_1>>>", api_name="/text_to_video")


def test_a_duration_the_tab_does_not_allow_is_refused(client: Client) -> None:
    with pytest.raises(AppError, match="5 or 10"):
        client.predict(prompt="A calm sea", duration=7, api_name="/text_to_video")


def test_header_key_is_used_and_never_returned(media: dict[str, Path]) -> None:
    """A caller's X-Replicate-Api-Token runs the job on Replicate (here: the simulator standing in
    for it, with no host key) and appears nowhere in what comes back."""
    from sim_fixtures import running_simulator

    from kling_ui.replicate.simulator import key_marker

    token = "r8_" "HeaderKeyForTheTest0123456789abcdef"
    with running_simulator() as (base_url, state), launched_app(
            backend="replicate", backend_forced=True, base_url=base_url) as app:
        with pytest.raises(AppError, match="no key"):
            Client(app.url, verbose=False).predict(prompt="A calm sea",
                                                   api_name="/text_to_video")
        c = Client(app.url, verbose=False, headers={"X-Replicate-Api-Token": token})
        summary = _check_result(c.predict(prompt="A calm sea", api_name="/text_to_video"))
        assert state.creates()[-1].key == key_marker(token)
    assert summary["backend"] == "replicate"
    assert token not in repr(summary)
