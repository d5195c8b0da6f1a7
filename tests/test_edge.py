"""The edge (issue #20 point 1): only the caller's own uploads are ever read, and raw callers get
plain messages, never internals or server paths.

The hostile calls go to every event whose inputs take a file, enumerated from the app's own
/config (not a hand-kept list), as an attacker would send them: raw POSTs to
/gradio_api/queue/join (or /gradio_api/run/predict for the events that skip the queue).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio.utils import get_upload_folder
from gradio_client import Client
from gradio_client.exceptions import AppError

from kling_ui.core.errors import InputError
from kling_ui.i18n import t
from kling_ui.library.store import Library, Run, new_run_id
from kling_ui.ui.edge import own_upload, own_uploads
from tests import media_factory
from tests.ui_fixtures import LaunchedApp, launched_app

FILE_TYPES = ("image", "video", "file", "gallery", "audio")
# Timings and ids differ from call to call; everything else of an answer must not.
VOLATILE = {"event_id", "eta", "rank_eta", "duration", "average_duration", "avg_time",
            "cache_duration", "queue_size", "rank", "used_cache", "success"}
NOT_YOURS = t("edge.not_yours", "en")


# -- own_upload, the one check every file-opening handler goes through --------------------------

@pytest.fixture
def upload_dir() -> Path:
    root = Path(get_upload_folder())
    root.mkdir(parents=True, exist_ok=True)
    return root


def test_an_upload_inside_gradios_folder_is_accepted_in_every_shape(upload_dir: Path) -> None:
    inside = upload_dir / uuid.uuid4().hex / "one.png"
    inside.parent.mkdir()
    media_factory.make_image(inside, size=(320, 320))
    real = os.path.realpath(inside)
    meta = {"_type": "gradio.FileData"}
    for value in (str(inside), {"path": str(inside), "meta": meta},
                  {"video": {"path": str(inside), "meta": meta}, "subtitles": None}, [str(inside)]):
        assert own_upload(value) == real
    assert own_uploads([str(inside), None, {"path": str(inside)}]) == (real, real)
    assert own_upload(None) is None and own_upload("") is None and own_uploads(None) == ()


def test_anything_outside_the_upload_folder_is_refused_before_it_is_opened(
        upload_dir: Path, tmp_path: Path) -> None:
    secret = Path(media_factory.make_image(tmp_path / "secret.png", size=(320, 320)))
    sibling = Path(str(upload_dir.resolve()) + "-evil")  # shares the folder's name as a prefix
    sibling.mkdir(exist_ok=True)
    twin = Path(media_factory.make_image(sibling / "twin.png", size=(320, 320)))
    link = upload_dir / f"link-{uuid.uuid4().hex}.png"
    link.symlink_to(secret)
    escape = upload_dir / os.path.relpath(secret, upload_dir)  # <upload>/../../secret.png
    hostile: list[Any] = [
        str(secret), {"path": str(secret)}, {"path": str(secret), "meta": {"_type": "gradio.FileData"}},
        str(escape), str(link), str(twin), "relative/one.png", str(upload_dir),
        {"path": 42}, 42, [str(secret), str(secret)], str(tmp_path / "missing.png"),
        {"video": {"path": str(secret)}},
    ]
    for value in hostile:
        with pytest.raises(InputError) as caught:
            own_upload(value)
        assert caught.value.message == NOT_YOURS, value
    with pytest.raises(InputError):
        own_uploads([str(upload_dir / "fine.png"), str(secret)])


def test_a_file_of_the_callers_own_run_is_accepted_and_anothers_refused(tmp_path: Path) -> None:
    library = Library(tmp_path / "data")

    def run_file(owner: str) -> Path:
        run = library.create(Run(id=new_run_id(), owner=owner, tab="text", status="succeeded",
                                 created_at=time.time()))
        path = library.run_dir(run.id) / "output.mp4"
        path.write_bytes(b"not really a video")
        return path

    mine, theirs = run_file("lib:mine"), run_file("lib:theirs")
    shared = run_file("anonymous")
    assert own_upload(str(mine), library=library, owner="lib:mine") == os.path.realpath(mine)
    refused = [(theirs, "lib:mine"), (mine, "lib:theirs"), (mine, None), (shared, "anonymous"),
               (mine.parent / ".." / theirs.parent.name / "output.mp4", "lib:mine")]
    for path, owner in refused:
        with pytest.raises(InputError):
            own_upload(str(path), library=library, owner=owner)
    # A folder under runs/ that no run owns (made by hand, or a deleted run's leftovers).
    stray = library.root / "runs" / "feedfacefeedface" / "output.mp4"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    with pytest.raises(InputError):
        own_upload(str(stray), library=library, owner="lib:mine")


# -- raw calls against the running app ----------------------------------------------------------

@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3) as launched:
        yield launched


@pytest.fixture(scope="module")
def config(app: LaunchedApp) -> dict[str, Any]:
    return dict(httpx.get(app.url + "config", timeout=30).json())


def outcome(answer: list[Any]) -> str:
    """What an answer tells the caller, without its timings, ids and place in the queue."""
    told = [m for m in answer if not isinstance(m, dict)
            or m.get("msg") not in ("estimation", "process_starts", "heartbeat")]
    return json.dumps(_strip(told))


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def raw_call(app: LaunchedApp, fn_index: int, data: list[Any], *, queued: bool) -> list[Any]:
    """What a raw caller reads back for one event: the queue's messages, or the direct answer."""
    session = uuid.uuid4().hex[:11]
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None,
            "trigger_id": None}
    if not queued:
        r = httpx.post(app.url + "gradio_api/run/predict", json=body, timeout=60)
        return [r.status_code, r.json()]
    r = httpx.post(app.url + "gradio_api/queue/join", json=body, timeout=60)
    if r.status_code != 200:
        return [r.status_code, r.text]
    messages: list[Any] = []
    with httpx.stream("GET", app.url + "gradio_api/queue/data",
                      params={"session_hash": session}, timeout=120) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            messages.append(message)
            if message.get("msg") in ("process_completed", "close_stream", "unexpected_error"):
                break
    return messages


def file_events(config: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """Every event whose inputs include a component that takes a file (from /config)."""
    types = {c["id"]: c["type"] for c in config["components"]}
    return [(i, dep) for i, dep in enumerate(config["dependencies"])
            if any(types.get(c) in FILE_TYPES for c in dep["inputs"])]


def payload(config: dict[str, Any], dep: dict[str, Any], file_value: Any) -> list[Any]:
    """The event's inputs as the page would fill them, with `file_value` in every file slot and
    a plausible prompt, so a handler that reads files gets as far as reading them."""
    comps = {c["id"]: c for c in config["components"]}
    data: list[Any] = []
    for cid in dep["inputs"]:
        comp = comps[cid]
        props = comp.get("props", {})
        if comp["type"] == "video":
            data.append({"video": file_value, "subtitles": None})
        elif comp["type"] in FILE_TYPES:
            data.append([file_value] if props.get("file_count") == "multiple" else file_value)
        elif comp["type"] == "textbox" and not props.get("value"):
            data.append("A slow pan across the scene, the light warming")
        elif comp["type"] == "state":
            data.append(None)
        else:
            data.append(props.get("value"))
    return data


def files_under(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        for folder, _dirs, names in os.walk(root):
            found += [Path(folder) / n for n in names if not os.path.islink(Path(folder) / n)]
    return found


def sim_counts(app: LaunchedApp) -> tuple[int, int]:
    sim = app.studio._sim
    if sim is None:
        return 0, 0
    return len(sim.state.files), len(sim.state.predictions)


@pytest.mark.slow  # out of the inner loop (issue #21): tens of seconds
def test_a_crafted_path_sent_raw_to_every_file_event_reads_copies_and_uploads_nothing(
        app: LaunchedApp, config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    events = file_events(config)
    # The page's own file events, the library's drop and every named endpoint are among them.
    names = {dep.get("api_name") or "" for _, dep in events}
    assert {"frames_to_video", "grab_frame", "drop", "compare_stills"} <= names
    assert sum(1 for n in names if n.startswith(("fix", "refresh", "run"))) >= 10
    outside = tmp_path_factory.mktemp("outside")
    token = uuid.uuid4().hex[:12]
    png = Path(media_factory.make_image(outside / f"secret-{token}.png", size=(400, 300),
                                        noise=True))
    mp4 = Path(media_factory.make_video(outside / f"secret-{token}.mp4", seconds=3,
                                        size=(1280, 720), fps=24))
    upload = Path(get_upload_folder())
    link = upload / f"link-{token}.png"
    link.symlink_to(png)
    secrets_bytes = {png.read_bytes(), mp4.read_bytes()}
    before = sim_counts(app)
    meta = {"_type": "gradio.FileData"}

    def variants(path: Path) -> dict[str, Any]:
        escape = str(upload) + "/" + os.path.relpath(path, upload)
        return {"bare path": str(path), "path without meta": {"path": str(path)},
                "path with meta": {"path": str(path), "meta": meta, "orig_name": "a.png"},
                "../ out of the upload folder": {"path": escape, "meta": meta},
                "../ without meta": {"path": escape}}

    def probe(index: int, dep: dict[str, Any]) -> list[str]:
        """Every hostile variant against one event; what went wrong, if anything."""
        queued = dep.get("queue") is not False
        types = [next(c["type"] for c in config["components"] if c["id"] == cid)
                 for cid in dep["inputs"]]
        real = mp4 if "video" in types or dep.get("api_name") in (
            "grab_frame", "join_clips", "motion_report", "splice_back", "compare_export",
            "compare_stills", "drop", "video_reference", "edit_video") else png
        missing = real.with_name(f"gone-{token}{real.suffix}")
        cases = {**variants(real), "symlink inside the upload folder": {"path": str(link),
                                                                        "meta": meta}}
        wrong: list[str] = []
        for name, value in cases.items():
            answer = raw_call(app, index, payload(config, dep, value), queued=queued)
            text = json.dumps(answer)
            label = f"{dep.get('api_name')} #{index} ({name})"
            if str(outside) in text or "pydantic" in text:
                wrong.append(f"{label}: the answer names a server path or internals: "
                             f"{text[:300]}")
            if NOT_YOURS not in text:
                wrong.append(f"{label}: not refused as not the caller's: {text[:300]}")
            if name in ("path without meta", "path with meta", "bare path"):
                value_missing = json.loads(json.dumps(value).replace(str(real), str(missing)))
                other = raw_call(app, index, payload(config, dep, value_missing), queued=queued)
                same = outcome(other).replace(str(missing), "<FILE>")
                if same != outcome(answer).replace(str(real), "<FILE>"):
                    wrong.append(f"{label}: answers differ for a file that exists and one "
                                 f"that does not")
        return wrong

    # A few callers at once, as an attacker would (and the test takes a third of the time).
    with ThreadPoolExecutor(4) as pool:
        failures = [f for found in pool.map(lambda e: probe(*e), events) for f in found]
    # Nothing copied anywhere the Studio keeps or serves files, nothing sent to Replicate.
    copies = [p for p in files_under(Path(app.settings.data_dir), upload)
              if token in p.name or (p.stat().st_size < 5_000_000 and p.read_bytes() in secrets_bytes)]
    if copies:
        failures.insert(0, f"copied into the Studio's folders: {[p.name for p in copies]}")
    if sim_counts(app) != before:
        failures.insert(0, f"sent to Replicate (files, predictions): {before} -> {sim_counts(app)}")
    assert not failures, "\n".join(failures[:20]) + f"\n({len(failures)} in all)"


def test_a_real_upload_is_still_checked_and_shown(app: LaunchedApp, config: dict[str, Any],
                                                  tmp_path: Path) -> None:
    image = Path(media_factory.make_image(tmp_path / "mine.png", size=(640, 480)))
    with image.open("rb") as f:
        uploaded = httpx.post(app.url + "gradio_api/upload",
                              files={"files": ("mine.png", f, "image/png")}, timeout=30).json()[0]
    types = {c["id"]: c["type"] for c in config["components"]}
    refresh = next(i for i, dep in file_events(config)  # a tab's checks that read an image
                   if (dep.get("api_name") or "").startswith("refresh")
                   and "image" in {types[cid] for cid in dep["inputs"]}
                   and "video" not in {types[cid] for cid in dep["inputs"]})
    value = {"path": uploaded, "meta": {"_type": "gradio.FileData"}, "orig_name": "mine.png"}
    answer = json.dumps(raw_call(app, refresh, payload(config, config["dependencies"][refresh],
                                                       value), queued=True))
    assert "640x480" in answer and NOT_YOURS not in answer


def test_a_prompt_sent_as_a_list_is_refused_plainly_and_nothing_is_billed(
        app: LaunchedApp) -> None:
    client = Client(app.url, verbose=False)
    runs_before = len(app.studio.library.runs(owner=None, limit=1000))
    before = sim_counts(app)
    with pytest.raises(AppError) as caught:
        client.predict(["a cat", "a dog"], "16:9", 5, "pro", True, api_name="/text_to_video")
    assert str(caught.value).strip() == t("edge.not_text", "en", field="prompt")
    with pytest.raises(AppError) as caught:
        client.predict("a cat walks", "16:9", "five", "pro", True, api_name="/text_to_video")
    assert str(caught.value).strip() == t("edge.not_number", "en", field="duration")
    assert sim_counts(app) == before
    assert len(app.studio.library.runs(owner=None, limit=1000)) == runs_before


def test_a_page_event_with_a_wrong_type_gets_a_plain_message(
        app: LaunchedApp, config: dict[str, Any]) -> None:
    """The page's own events skip Gradio's preprocessing: a list for the prompt or the duration
    used to be stringified (or crash) in the handler; now it is refused by name."""
    comps = {c["id"]: c for c in config["components"]}
    index, dep = next((i, d) for i, d in file_events(config)
                      if (d.get("api_name") or "").startswith("run_"))
    data = payload(config, dep, None)
    prompt = next(n for n, cid in enumerate(dep["inputs"]) if comps[cid]["type"] == "textbox")
    data[prompt] = {"text": "a cat"}
    text = json.dumps(raw_call(app, index, data, queued=True))
    assert "takes text (a string)" in text and "Traceback" not in text


def test_a_malformed_payload_gets_a_plain_message_not_gradios_internals(
        app: LaunchedApp, config: dict[str, Any]) -> None:
    """Too few values, or a number where a file goes: Gradio's own refusal names its internals
    (handler names, pydantic's error pages); the caller reads the Studio's plain words."""
    index, dep = next((i, d) for i, d in file_events(config)
                      if d.get("api_name") == "frames_to_video")
    short = json.dumps(raw_call(app, index, ["a cat"], queued=True))
    assert t("edge.unreadable", "en") in short and "input values" not in short
    data = payload(config, dep, None)
    data[1] = 12345
    wrong = json.dumps(raw_call(app, index, data, queued=True))
    assert NOT_YOURS in wrong and "pydantic" not in wrong
