""""Copy as code": the request as Python and cURL, with the key as a placeholder."""

from __future__ import annotations

import ast
import json
import shlex

from kling_ui.core.models import Tab
from kling_ui.core.snippets import snippets
from kling_ui.runs.service import JobSpec


def test_edit_snippets_match_the_request_and_hide_the_key():
    spec = JobSpec(tab=Tab.EDIT, prompt="Put the crown from @image1 on <<<video_1>>>",
                   reference_images=("/x/crown.png",), reference_video="/x/clip.mp4",
                   quality="std", keep_original_sound=False)
    python, curl = snippets(spec, "kwaivgi/kling-o1")
    ast.parse(python)  # it is valid Python
    assert 'open("clip.mp4", "rb")' in python and '"video_reference_type": \'base\'' in python
    assert "duration" not in python and "aspect_ratio" not in python
    assert "$REPLICATE_API_TOKEN" in curl
    body = json.loads(shlex.split(curl.split("-d ", 1)[1])[0])
    assert body["input"] == {
        "prompt": "Put the crown from <<<image_1>>> on <<<video_1>>>", "mode": "std",
        "reference_images": ["https://example.com/crown.png"],
        "reference_video": "https://example.com/clip.mp4",
        "video_reference_type": "base", "keep_original_sound": False,
    }


def test_quotes_in_prompt_survive_the_shell():
    spec = JobSpec(tab=Tab.TEXT, prompt="It's a fox's \"dream\"", duration=10)
    _, curl = snippets(spec, "kwaivgi/kling-o1")
    body = json.loads(shlex.split(curl.split("-d ", 1)[1])[0])
    assert body["input"]["prompt"] == "It's a fox's \"dream\""
    assert body["input"]["duration"] == 10 and body["input"]["aspect_ratio"] == "16:9"
