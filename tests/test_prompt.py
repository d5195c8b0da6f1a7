"""Prompt tokens: numbering, insertion at the cursor, spellings, and checks."""

from __future__ import annotations

import pytest

from kling_ui.core import prompt as P
from kling_ui.core.models import Tab
from tests.factories import image, job, video


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@Image1 waves", "<<<image_1>>> waves"),
        ("@image1 waves", "<<<image_1>>> waves"),
        ("@image_2 and @IMAGE3", "<<<image_2>>> and <<<image_3>>>"),
        ("Based on @Video1,", "Based on <<<video_1>>>,"),
        ("Based on @video, next", "Based on <<<video_1>>>, next"),
        ("<<Image_1>> and <image_2>", "<<<image_1>>> and <<<image_2>>>"),
        ("<<<image_1>>> stays", "<<<image_1>>> stays"),
        ("mail me@videos.com", "mail me@videos.com"),
        ("no tokens at all", "no tokens at all"),
        # Only where a user meant a reference (issue #11; ComfyUI's Kling Omni rule)
        ("write to contact@image.com today", "write to contact@image.com today"),
        ("ask team@video1.org", "ask team@video1.org"),
        ("@image 5 seconds later", "@image 5 seconds later"),
        ("the @images folder", "the @images folder"),
        ("@Image1x is not one", "@Image1x is not one"),
        ("(@Image1) and @Video", "(<<<image_1>>>) and <<<video_1>>>"),
        ("< < < image_1 > > > stays", "< < < image_1 > > > stays"),
        ("<< image_1 >> joins", "<<<image_1>>> joins"),
    ],
)
def test_normalize_tokens(text, expected):
    assert P.normalize_tokens(text) == expected


def test_email_addresses_survive_into_the_input_sent():
    from kling_ui.core.payload import build_input

    body = build_input(job(Tab.TEXT, prompt="Mail contact@image.com, then @image 5 s"), {})
    assert body["prompt"] == "Mail contact@image.com, then @image 5 s"
    assert P.check_tokens(body["prompt"], n_images=0, has_video=False) == []


def test_warnings_name_what_was_typed():
    [rewritten] = P.check_tokens("@Image1 and <<image_1>>", n_images=1, has_video=False)
    assert "@Image1 as <<<image_1>>>" in rewritten.message
    assert "<<image_1>> as <<<image_1>>>" in rewritten.message
    spaced = P.check_tokens("< < < image_1 > > > waves", n_images=1, has_video=False)
    assert any("< < < image_1 > > >" in p.message and "sent as typed" in p.message for p in spaced)
    # nothing @-style was typed, so no warning talks about @Image1-style references
    assert not any("@" in p.message for p in spaced)
    assert all(not p.is_error for p in spaced)


@pytest.mark.parametrize(
    ("text", "cursor", "expected", "new_cursor"),
    [
        ("", None, "<<<image_1>>>", 13),
        ("hello world", 5, "hello <<<image_1>>> world", 19),
        ("hello ", None, "hello <<<image_1>>>", 19),
        ("hello.", 5, "hello <<<image_1>>>.", 19),
        ("ab", 99, "ab <<<image_1>>>", 16),
        ("ab", -3, "<<<image_1>>> ab", 13),
        # a cursor inside an existing token moves to its end: a click never splits one
        ("x <<<video_1>>> y", 6, "x <<<video_1>>> <<<image_1>>> y", 29),
        # a chip after a word or an address gets its own space, so it stays a token
        ("mail a@b.com", None, "mail a@b.com <<<image_1>>>", 26),
    ],
)
def test_insert_token_at_cursor(text, cursor, expected, new_cursor):
    assert P.insert_token(text, "<<<image_1>>>", cursor) == (expected, new_cursor)


def test_numbering_follows_start_end_then_references():
    j = job(Tab.REFERENCES, start_image=image("s"), end_image=image("e"),
            reference_images=(image("r1"), image("r2")))
    assert P.token_labels(j) == [
        ("<<<image_1>>>", "start frame"), ("<<<image_2>>>", "end frame"),
        ("<<<image_3>>>", "reference image 1"), ("<<<image_4>>>", "reference image 2"),
    ]
    j2 = job(Tab.EDIT, reference_images=(image(),), reference_video=video())
    assert P.token_labels(j2) == [("<<<image_1>>>", "reference image 1"), ("<<<video_1>>>", "video")]
    assert P.token_numbers(True, False, 2) == {
        "start_image": [1], "end_image": [], "reference_images": [2, 3]}


@pytest.mark.parametrize(
    ("text", "n_images", "has_video", "errors", "warnings"),
    [
        ("<<<image_1>>> waves", 1, False, 0, 0),
        ("<<<image_2>>> waves", 1, False, 1, 1),  # points at nothing, and image 1 unmentioned
        ("<<<image_1>>> waves", 0, False, 1, 0),
        ("<<<video_1>>> at night", 0, False, 1, 0),
        ("<<<video_2>>> at night", 0, True, 1, 1),
        ("at night", 0, True, 0, 1),  # video never mentioned
        ("@Image1 and @Video1", 1, True, 0, 1),  # rewritten: a warning that says so
        ("contact@image.com", 0, False, 0, 0),  # an address, not a reference
        ("< < < image_1 > > >", 1, False, 0, 2),  # left as typed: a warning, and image 1 unmentioned
        ("<<<image_0>>>", 3, False, 1, 3),
    ],
)
def test_check_tokens(text, n_images, has_video, errors, warnings):
    problems = P.check_tokens(text, n_images=n_images, has_video=has_video)
    assert sum(p.is_error for p in problems) == errors
    assert sum(not p.is_error for p in problems) == warnings


def test_dangling_token_message_says_what_to_do():
    [p] = [p for p in P.check_tokens("<<<image_3>>>", n_images=2, has_video=False) if p.is_error]
    assert p.message == ("<<<image_3>>> points at no image: there are 2 images. "
                         "Remove the token or upload the image.")
