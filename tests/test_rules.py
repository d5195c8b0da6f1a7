"""The rules core: every Kling O1 limit at its edge, and every structural rule between inputs."""

from __future__ import annotations

import pytest

from kling_ui.core import rules
from kling_ui.core.models import Tab
from tests.factories import image, job, video


def fields(problems, severity="error"):
    return [p.field for p in problems if p.severity == severity]


@pytest.mark.parametrize(
    ("length", "ok"), [(1, True), (2500, True), (2501, False), (5000, False)]
)
def test_prompt_length_edge(length, ok):
    problems = rules.validate(job(Tab.TEXT, prompt="x" * length))
    assert ("prompt" not in fields(problems)) is ok
    if not ok:
        assert "2500" in problems[0].message and "Shorten" in problems[0].message


# 270 "@Image1 " (8 typed, 14 sent) and 270 more characters: 2430 typed, 4050 as sent.
LONG_AT_PROMPT = "@Image1 " * 270 + "x" * 270


def test_prompt_limit_counts_the_prompt_as_sent():
    assert rules.prompt_lengths(LONG_AT_PROMPT) == (2430, 4050)
    j = job(Tab.REFERENCES, prompt=LONG_AT_PROMPT, reference_images=(image(),))
    [p] = [p for p in rules.validate(j) if p.field == "prompt" and p.is_error]
    assert "2430 characters typed but 4050 as sent" in p.message
    assert "Shorten it by 1550" in p.message
    # the same length in canonical tokens, or plain text, is judged by the same count
    assert rules.prompt_lengths("<<<image_1>>> " * 10) == (140, 139)


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_empty_prompt_is_refused(prompt):
    problems = rules.validate(job(Tab.TEXT, prompt=prompt))
    assert fields(problems) == ["prompt"]
    assert "empty" in problems[0].message


@pytest.mark.parametrize(
    ("kw", "fix"),
    [
        ({"width": 300, "height": 300}, None),
        ({"width": 299, "height": 600}, "upscale"),
        ({"width": 600, "height": 299}, "upscale"),
        ({"width": 750, "height": 300}, None),  # exactly 2.5:1
        ({"width": 300, "height": 750}, None),  # exactly 1:2.5
        ({"width": 751, "height": 300}, "pad"),
        ({"width": 300, "height": 751}, "pad"),
        ({"bytes": 10_000_000}, None),
        ({"bytes": 10_000_001}, "recompress"),
        ({"format": "JPEG"}, None),
        ({"format": "WEBP"}, "convert"),
        ({"format": "HEIF"}, "convert"),
        ({"mode": "CMYK", "format": "JPEG"}, "convert"),
        ({"mode": "I;16"}, "convert"),
        ({"mode": "P"}, "convert"),
        ({"mode": "RGBA", "has_alpha": True}, None),
        ({"animated": True, "frames": 12, "format": "GIF"}, "convert"),
    ],
)
def test_image_limits(kw, fix):
    problems = rules.check_image(image(**kw), "start_image")
    errors = [p for p in problems if p.is_error]
    if fix is None:
        assert errors == []
    else:
        assert fix in [p.fix for p in errors]
        assert all(p.field == "start_image" for p in errors)


def test_rotated_image_is_a_warning_with_a_fix():
    problems = rules.check_image(image(orientation=6), "reference_images[1]")
    assert [(p.severity, p.fix) for p in problems] == [("warning", "rotate")]


@pytest.mark.parametrize(
    ("kw", "fix", "is_error"),
    [
        ({"duration": 2.99}, None, True),  # too short: cannot be fixed
        ({"duration": 3.0}, None, False),
        ({"duration": 10.0}, None, False),
        ({"duration": 10.05}, None, False),  # ComfyUI's tolerance
        ({"duration": 10.06}, "trim", True),
        ({"duration": 30.2}, "trim", True),
        ({"width": 720, "height": 720}, None, False),
        ({"width": 1280, "height": 719}, "scale", True),
        ({"width": 2160, "height": 3840}, "scale", True),
        ({"width": 2160, "height": 2160}, None, False),
        ({"width": 1, "height": 1}, None, True),  # not a real video
        ({"fps": 24.0}, None, False),
        ({"fps": 23.976}, "fps", True),
        ({"fps": 60.0}, None, False),
        ({"fps": 120.0}, "fps", True),
        ({"container": "mov"}, None, False),
        ({"container": "webm", "video_codec": "vp9"}, "transcode", True),
        ({"container": "matroska"}, "transcode", True),
        ({"video_codec": "mpeg4"}, "transcode", True),
        ({"video_codec": "hevc"}, None, False),
        ({"bytes": 99_998_975}, None, False),  # the largest file whose upload stays under 100 MB
        ({"bytes": 104_857_600}, "shrink", True),  # Replicate refuses 100 MiB or more
        ({"bytes": 102_000_000}, "shrink", True),  # and, read strictly, 100 MB or more
        ({"bytes": 99_999_000}, "shrink", True),  # with the multipart envelope it reaches 100 MB
        ({"bytes": 200_000_001}, "shrink", True),
    ],
)
def test_video_limits(kw, fix, is_error):
    problems = rules.check_video(video(**kw))
    errors = [p for p in problems if p.is_error]
    assert bool(errors) is is_error
    if fix:
        assert fix in [p.fix for p in errors]
    if is_error and fix is None:
        assert all(not p.fixable for p in errors)


def test_variable_frame_rate_is_a_fixable_warning():
    problems = rules.check_video(video(variable_fps=True))
    assert [(p.severity, p.fix) for p in problems] == [("warning", "fps")]


def test_messages_say_how_to_fix():
    [p] = rules.check_video(video(duration=14.2))
    assert p.message == "is 14.2 s; Kling accepts 3-10 s. Pick a window with the trim slider."


@pytest.mark.parametrize(
    ("n_refs", "with_video", "ok"),
    [(7, False, True), (8, False, False), (4, True, True), (5, True, False)],
)
def test_image_counts(n_refs, with_video, ok):
    refs = tuple(image(f"r{i}.png") for i in range(n_refs))
    tab = Tab.FEATURE if with_video else Tab.REFERENCES
    prompt = " ".join(f"<<<image_{i + 1}>>>" for i in range(n_refs)) + (
        " <<<video_1>>>" if with_video else "")
    kw = {"reference_video": video()} if with_video else {}
    problems = rules.validate(job(tab, prompt=prompt, reference_images=refs, **kw))
    assert ("reference_images" not in fields(problems)) is ok


def test_end_frame_needs_start_frame():
    problems = rules.validate(job(Tab.FRAMES, prompt="x", end_image=image()))
    assert "end_image" in fields(problems)
    assert "start_image" in fields(problems)  # the frames tab needs a start frame


def test_end_frame_with_more_than_two_images():
    j = job(Tab.REFERENCES, prompt="<<<image_1>>> <<<image_2>>> <<<image_3>>>",
            start_image=image("s.png"), end_image=image("e.png"), reference_images=(image(),))
    assert "end_image" in fields(rules.validate(j))


def test_no_frames_with_a_base_edit():
    j = job(Tab.EDIT, prompt="<<<video_1>>> <<<image_1>>>", start_image=image(),
            reference_video=video())
    assert "start_image" in fields(rules.validate(j))


@pytest.mark.parametrize(
    ("tab", "duration", "ok"),
    [
        (Tab.TEXT, 5, True), (Tab.TEXT, 10, True), (Tab.TEXT, 7, False),
        (Tab.FRAMES, 3, False), (Tab.FEATURE, 3, True), (Tab.FEATURE, 10, True),
        (Tab.FEATURE, 11, False), (Tab.FEATURE, 2, False), (Tab.EDIT, 99, True),
        # Kling's O1 doc: 3-10 s except text-to-video and a start frame alone (5 or 10)
        (Tab.REFERENCES, 3, True), (Tab.REFERENCES, 7, True), (Tab.REFERENCES, 11, False),
        ("frames+end", 3, True), ("frames+end", 8, True), ("frames+end", 2, False),
        (Tab.FRAMES, 7, False), (Tab.FRAMES, 10, True),
    ],
)
def test_durations_per_tab(tab, duration, ok):
    kw = {}
    prompt = "x"
    if tab == "frames+end":
        tab = Tab.FRAMES
        kw["end_image"] = image("e.png")
    if tab is Tab.FRAMES:
        kw["start_image"] = image()
        prompt = "<<<image_1>>> dances" + (" to <<<image_2>>>" if "end_image" in kw else "")
    if tab is Tab.REFERENCES:
        kw["reference_images"] = (image(),)
        prompt = "<<<image_1>>> waves"
    if tab in (Tab.FEATURE, Tab.EDIT):
        kw["reference_video"] = video()
        prompt = "<<<video_1>>> at night"
    problems = rules.validate(job(tab, prompt=prompt, duration=duration, **kw))
    assert ("duration" not in fields(problems)) is ok


def test_every_problem_is_reported_at_once():
    j = job(Tab.FEATURE, prompt="y" * 2501 + " <<<image_9>>>",
            reference_images=(image(width=200, height=200),),
            reference_video=video(duration=30, fps=120), duration=12, aspect_ratio="4:3")
    got = fields(rules.validate(j))
    for expected in ("prompt", "duration", "aspect_ratio", "reference_images[1]", "reference_video"):
        assert expected in got


def test_tabs_refuse_inputs_they_do_not_take():
    assert "tab" in fields(rules.validate(job(Tab.TEXT, start_image=image())))
    assert "reference_video" in fields(rules.validate(
        job(Tab.REFERENCES, prompt="<<<image_1>>>", reference_images=(image(),),
            reference_video=video())))
    assert "reference_video" in fields(rules.validate(job(Tab.EDIT, prompt="x")))
    assert "reference_images" in fields(rules.validate(job(Tab.REFERENCES, prompt="x")))


def test_a_clean_job_of_each_tab_has_no_errors():
    cases = [
        job(Tab.TEXT),
        job(Tab.FRAMES, prompt="<<<image_1>>> to <<<image_2>>>", start_image=image("s.png"),
            end_image=image("e.png")),
        job(Tab.REFERENCES, prompt="<<<image_1>>> waves", reference_images=(image(),)),
        job(Tab.FEATURE, prompt="Based on <<<video_1>>>, the next shot", reference_video=video(),
            duration=7),
        job(Tab.EDIT, prompt="Put the crown from <<<image_1>>> on <<<video_1>>>",
            reference_images=(image(),), reference_video=video()),
    ]
    for j in cases:
        assert rules.errors_of(rules.validate(j)) == [], j.tab


def test_rules_core_imports_no_heavy_packages():
    import subprocess
    import sys

    code = (
        "import sys, kling_ui, kling_ui.core.rules, kling_ui.core.prompt, kling_ui.core.payload, kling_ui.core.pricing;"
        "bad = [m for m in ('gradio', 'httpx', 'PIL') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_duration_choices_per_mode_match_the_document():
    assert rules.allowed_durations(Tab.TEXT) == (5, 10)
    assert rules.allowed_durations(Tab.FRAMES) == (5, 10)
    assert rules.allowed_durations(Tab.FRAMES, end_frame=True) == tuple(range(3, 11))
    assert rules.allowed_durations(Tab.REFERENCES) == tuple(range(3, 11))
    assert rules.allowed_durations(Tab.FEATURE) == tuple(range(3, 11))
    assert rules.allowed_durations(Tab.EDIT) == ()
    # removing the end frame keeps the chosen value valid: the nearest of 5 and 10
    assert [rules.keep_duration(d, (5, 10)) for d in (3, 7, 8, 10)] == [5, 5, 10, 10]
    assert rules.keep_duration(4, tuple(range(3, 11))) == 4
