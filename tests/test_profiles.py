"""Models as data (issue #25): one profile per model drives the rules, the payload, the prices
and the simulator's schema. Every rule is run for both models from one table."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sim_fixtures import TOKEN_A, running_simulator

from kling_ui.core import payload, pricing, rules
from kling_ui.core.errors import InputError
from kling_ui.core.models import Shot, Tab
from kling_ui.core.profile import PROFILE_IDS, PROFILES, get_profile, model_choice
from kling_ui.replicate.simulator.schema import validate_body
from tests.factories import image, job, video

O1, V3 = "kling-o1", "kling-v3-omni"
URLS = {f"/tmp/{n}": f"https://api.replicate.com/v1/files/{n}" for n in
        ("a.png", "s.png", "e.png", "r1.png", "r2.png", "r3.png", "r4.png", "r5.png", "v.mp4")}
SHOTS = (Shot("The fox wakes", 2), Shot("It runs past <<<image_1>>>", 3), Shot("It sleeps", 1))


def fields_of(j: Any) -> set[str]:
    return {p.field for p in rules.validate(j) if p.is_error}


def test_every_profile_is_loaded_with_o1_first_and_the_default() -> None:
    assert PROFILE_IDS == (O1, V3)
    assert get_profile(None).id == O1 and get_profile("").id == O1
    assert get_profile(V3).replicate == "kwaivgi/kling-v3-omni-video"
    for p in PROFILES.values():
        assert p.sources["prices"] and p.sources["schema"]  # every figure says where it is from


# (model, tab, extra job fields, duration) -> allowed?
DURATIONS = [
    (O1, Tab.TEXT, {}, 5, True), (O1, Tab.TEXT, {}, 7, False), (O1, Tab.TEXT, {}, 15, False),
    (V3, Tab.TEXT, {}, 7, True), (V3, Tab.TEXT, {}, 15, True), (V3, Tab.TEXT, {}, 16, False),
    (V3, Tab.TEXT, {}, 2, False),
    (O1, Tab.FRAMES, {"start_image": image("s.png")}, 7, False),
    (O1, Tab.FRAMES, {"start_image": image("s.png"), "end_image": image("e.png")}, 7, True),
    (V3, Tab.FRAMES, {"start_image": image("s.png")}, 12, True),
    (O1, Tab.REFERENCES, {"reference_images": (image(),)}, 11, False),
    (V3, Tab.REFERENCES, {"reference_images": (image(),)}, 11, True),
    (O1, Tab.FEATURE, {"reference_video": video()}, 10, True),
    (V3, Tab.FEATURE, {"reference_video": video()}, 14, True),
]


@pytest.mark.parametrize(("model", "tab", "extra", "duration", "ok"), DURATIONS)
def test_durations_follow_the_models_profile(model: str, tab: Tab, extra: dict[str, Any],
                                             duration: int, ok: bool) -> None:
    j = job(tab, model=model, duration=duration, **extra)
    assert ("duration" not in fields_of(j)) is ok


@pytest.mark.parametrize("model", [O1, V3])
def test_image_limits_are_the_profiles_four_with_a_video_seven_without(model: str) -> None:
    five = tuple(image(f"r{i}.png") for i in range(1, 6))
    with_video = job(Tab.FEATURE, model=model, reference_video=video(), reference_images=five)
    assert "reference_images" in fields_of(with_video)
    assert "reference_images" not in fields_of(
        job(Tab.FEATURE, model=model, reference_video=video(), reference_images=five[:4]))
    assert "reference_images" not in fields_of(job(Tab.REFERENCES, model=model,
                                                   reference_images=five))


# (model, tab, extra, field with an error or None)
ABILITIES = [
    (O1, Tab.TEXT, {"generate_audio": True}, "generate_audio"),  # O1 has no native sound
    (V3, Tab.TEXT, {"generate_audio": True}, None),
    (V3, Tab.FEATURE, {"generate_audio": True, "reference_video": video()}, "generate_audio"),
    (V3, Tab.EDIT, {"generate_audio": True, "reference_video": video()}, "generate_audio"),
    (O1, Tab.TEXT, {"shots": SHOTS[:1], "duration": 5}, "shots"),  # O1 has no storyboard
    (V3, Tab.TEXT, {"shots": SHOTS, "duration": 6}, None),
    (V3, Tab.TEXT, {"shots": SHOTS, "duration": 7}, "shots"),  # 2 + 3 + 1 is not 7
    (V3, Tab.TEXT, {"shots": (Shot("a", 1),) * 7, "duration": 7}, "shots"),  # at most 6
    (V3, Tab.TEXT, {"shots": (Shot("a", 0), Shot("b", 5)), "duration": 5}, "shots[1]"),
    (V3, Tab.TEXT, {"shots": (Shot(" ", 2), Shot("b", 3)), "duration": 5}, "shots[1]"),
    (V3, Tab.TEXT, {"shots": (Shot("x" * 513, 5),), "duration": 5}, "shots[1]"),
    (V3, Tab.FEATURE, {"shots": SHOTS, "duration": 6, "reference_video": video()}, "shots"),
]


@pytest.mark.parametrize(("model", "tab", "extra", "field"), ABILITIES)
def test_audio_and_storyboard_are_checked_against_the_model(model: str, tab: Tab,
                                                           extra: dict[str, Any],
                                                           field: str | None) -> None:
    bad = fields_of(job(tab, model=model, **extra))
    assert (field in bad) if field else not (bad & {"generate_audio", "shots"} or any(
        f.startswith("shots") for f in bad)), bad


def test_a_shots_token_must_point_at_an_image() -> None:
    board = (Shot("The fox meets <<<image_1>>>", 5),)
    assert rules.errors_of(rules.validate(job(Tab.TEXT, model=V3, shots=board, duration=5)))
    assert rules.errors_of(rules.validate(job(Tab.REFERENCES, model=V3, shots=board, duration=5,
                                              reference_images=(image(),)))) == []


def test_a_storyboard_reaches_the_input_as_the_exact_multi_prompt_json() -> None:
    j = job(Tab.TEXT, model=V3, prompt="A fox", duration=6, quality="std", shots=SHOTS,
            generate_audio=True)
    body = payload.build_input(j, URLS)
    assert body["mode"] == "standard"  # 3.0 Omni's name for 720p
    assert body["generate_audio"] is True
    assert body["multi_prompt"] == (
        '[{"prompt": "The fox wakes", "duration": 2}, '
        '{"prompt": "It runs past <<<image_1>>>", "duration": 3}, '
        '{"prompt": "It sleeps", "duration": 1}]')
    chinese = payload.build_input(job(Tab.TEXT, model=V3, duration=3,
                                      shots=(Shot("狐狸醒来 @image1", 3),)), URLS)
    assert json.loads(chinese["multi_prompt"]) == [{"prompt": "狐狸醒来 <<<image_1>>>",
                                                    "duration": 3}]
    assert "狐狸" in chinese["multi_prompt"]  # not \\u-escaped


def test_a_reference_video_turns_3_0_audio_off_in_the_input() -> None:
    j = job(Tab.FEATURE, model=V3, reference_video=video(), duration=5)
    assert "generate_audio" not in payload.build_input(j, URLS)
    assert payload.build_input(job(Tab.TEXT, model=V3), URLS)["generate_audio"] is False


O1_CASES = [
    job(Tab.TEXT, prompt=" A fox ", aspect_ratio="9:16", duration=10, quality="std"),
    job(Tab.FRAMES, start_image=image("s.png"), end_image=image("e.png"), duration=7),
    job(Tab.REFERENCES, reference_images=(image("r1.png"), image("r2.png")), duration=3),
    job(Tab.FEATURE, reference_video=video(), keep_original_sound=False, duration=8),
    job(Tab.EDIT, reference_video=video(), reference_images=(image("r1.png"),)),
]


@pytest.mark.parametrize("j", O1_CASES)
def test_o1_requests_are_byte_for_byte_as_before_and_carry_no_unknown_field(j: Any) -> None:
    body = payload.build_input(j, URLS)
    # The body as the Studio built it before profiles (issue #25), key order included.
    before: dict[str, Any] = {"prompt": rules.sent_prompt(j.prompt), "mode": j.quality}
    for k in ("start_image", "end_image"):
        if getattr(j, k) is not None:
            before[k] = URLS[getattr(j, k).path]
    if j.reference_images:
        before["reference_images"] = [URLS[i.path] for i in j.reference_images]
    if j.reference_video is not None:
        before["reference_video"] = URLS[j.reference_video.path]
        before["video_reference_type"] = "base" if j.tab is Tab.EDIT else "feature"
        before["keep_original_sound"] = j.keep_original_sound
    if j.tab is not Tab.EDIT and j.start_image is None:
        before["aspect_ratio"] = j.aspect_ratio
    if j.tab is not Tab.EDIT:
        before["duration"] = j.duration
    assert json.dumps(body) == json.dumps(before)
    assert set(body) <= get_profile(O1).inputs
    # Even asked for 3.0 features, an O1 body never carries them (the checks refuse the run).
    asked = payload.build_input(replace(j, generate_audio=True, shots=SHOTS), URLS)
    assert not set(asked) - get_profile(O1).inputs


@pytest.mark.parametrize(("model", "quality", "video", "audio", "rate"), [
    (O1, "pro", False, False, 0.112), (O1, "std", True, False, 0.126),
    (V3, "pro", False, False, 0.112), (V3, "pro", False, True, 0.14),
    (V3, "pro", True, False, 0.168), (V3, "std", False, False, 0.084),
])
def test_prices_come_from_the_profiles_table(model: str, quality: str, video: bool,
                                             audio: bool, rate: float) -> None:
    assert get_profile(model).rate(quality, video=video, audio=audio) == rate


def test_cost_counts_audio_only_where_it_is_sent() -> None:
    assert pricing.estimate_cost(job(Tab.TEXT, model=V3, duration=10, generate_audio=True)) == 1.4
    assert pricing.estimate_cost(job(Tab.FEATURE, model=V3, reference_video=video(),
                                     duration=10, generate_audio=True)) == 1.68


def test_kling_model_pins_its_profile_or_keeps_o1_for_another_name() -> None:
    assert model_choice("").default == O1
    pinned = model_choice("kwaivgi/kling-v3-omni-video:1d449e25")
    assert pinned.default == V3 and pinned.ref(V3) == "kwaivgi/kling-v3-omni-video:1d449e25"
    assert pinned.ref(O1) == "kwaivgi/kling-o1"
    other = model_choice("me/my-kling-fork:abc")
    assert other.default == O1 and other.ref(O1) == "me/my-kling-fork:abc"


def test_a_storyboard_sent_as_json_text_is_parsed_or_refused_plainly() -> None:
    assert rules.parse_shots('[{"prompt": "a", "duration": 2}]') == (Shot("a", 2),)
    assert rules.parse_shots("") == ()
    for bad in ("not json", '{"prompt": "a"}', '[{"prompt": 1, "duration": 2}]',
                '[{"prompt": "a", "duration": 1.5}]', '[{"prompt": "a", "duration": true}]'):
        with pytest.raises(InputError, match="storyboard"):
            rules.parse_shots(bad)


# -- the simulator serves both models with their own schema -------------------------------------
@pytest.mark.parametrize(("model", "inp", "field"), [
    ("kwaivgi/kling-o1", {"prompt": "x", "generate_audio": True}, "input.generate_audio"),
    ("kwaivgi/kling-o1", {"prompt": "x", "multi_prompt": "[]"}, "input.multi_prompt"),
    ("kwaivgi/kling-o1", {"prompt": "x", "duration": 12}, "input.duration"),
    ("kwaivgi/kling-o1", {"prompt": "x", "mode": "standard"}, "input.mode"),
    ("kwaivgi/kling-v3-omni-video", {"prompt": "x", "mode": "std"}, "input.mode"),
    ("kwaivgi/kling-v3-omni-video", {"prompt": "x", "duration": 16}, "input.duration"),
    ("kwaivgi/kling-v3-omni-video", {"prompt": "x", "generate_audio": True,
                                     "reference_video": "https://x/v.mp4"}, "input.generate_audio"),
    ("kwaivgi/kling-v3-omni-video", {"prompt": "x", "duration": 5,
                                     "multi_prompt": '[{"prompt": "a", "duration": 2}]'},
     "input.multi_prompt"),  # 2 is not 5
    ("kwaivgi/kling-v3-omni-video", {"prompt": "x", "duration": 7, "multi_prompt": json.dumps(
        [{"prompt": "a", "duration": 1}] * 7)}, "input.multi_prompt"),  # 7 shots
    ("kwaivgi/kling-v3-omni-video", {"prompt": "x", "multi_prompt": "shots"},
     "input.multi_prompt"),
])
def test_the_simulator_answers_422_for_what_the_model_lacks_or_a_broken_storyboard(
        model: str, inp: dict[str, Any], field: str) -> None:
    with running_simulator(model_seconds=0.2) as (base, _state):
        r = httpx.post(f"{base}/v1/models/{model}/predictions", json={"input": inp},
                       headers={"Authorization": f"Bearer {TOKEN_A.reveal()}"}, timeout=30)
    assert r.status_code == 422, r.text
    assert field in [f["field"] for f in r.json()["invalid_fields"]]


def test_the_simulator_accepts_a_3_0_storyboard_with_audio() -> None:
    inp = {"prompt": "x", "duration": 6, "generate_audio": True, "mode": "standard",
           "multi_prompt": json.dumps([{"prompt": s.prompt, "duration": s.duration}
                                       for s in SHOTS])}
    assert validate_body({"input": inp}, version_route=False,
                         profile=get_profile(V3)) == []
    with running_simulator(model_seconds=0.2) as (base, _state):
        r = httpx.post(f"{base}/v1/models/kwaivgi/kling-v3-omni-video/predictions",
                       json={"input": inp}, timeout=30,
                       headers={"Authorization": f"Bearer {TOKEN_A.reveal()}"})
        assert r.status_code in (201, 202), r.text
        assert r.json()["model"] == "kwaivgi/kling-v3-omni-video"
        pinned = httpx.post(f"{base}/v1/predictions", timeout=30, json={
            "version": get_profile(V3).versions[0], "input": inp},
            headers={"Authorization": f"Bearer {TOKEN_A.reveal()}"})
        assert pinned.status_code in (201, 202), pinned.text  # the version names 3.0 Omni
