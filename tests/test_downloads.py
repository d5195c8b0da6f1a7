"""One-off downloads and what the app serves by path (issue #20, point 2).

An export zip sits in a folder named with 128 random bits, is served from there as it is (no
copy in Gradio's cache that would outlive it), and is gone after KLING_DOWNLOAD_MINUTES. By
path, the app serves the runs and temporary files (each named with 128 random bits), never the
database, the secret, an old guessable export, or anything else in the data folder.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import quote

import gradio as gr
import httpx
import pytest
from gradio import processing_utils
from gradio_client import Client

from kling_ui.library.store import Library, Run, new_run_id
from kling_ui.media.paths import out_path
from kling_ui.runs.files import Files
from tests.ui_fixtures import launched_app

TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,}$")  # secrets.token_urlsafe(16): 128 bits in 22 chars


def _random_part(name: str, prefix: str) -> str:
    assert name.startswith(prefix), name
    return Path(name[len(prefix):]).stem


def test_temporary_files_served_by_path_are_named_with_128_random_bits(tmp_path: Path) -> None:
    names = {Path(out_path(str(tmp_path), "/x/clip.mp4", "preview", ".mp4")).name
             for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert name.endswith(".mp4")
        assert TOKEN.match(_random_part(name, "clip-preview-")), name


def test_an_export_lives_in_its_own_random_folder_and_goes_after_its_lifetime(
        tmp_path: Path) -> None:
    library = Library(tmp_path / "data")
    files = Files(library, max_age_hours=24, keep_days=30, max_gb=0, download_minutes=5)
    run = library.create(Run(id=new_run_id(), owner="o", tab="text", status="succeeded",
                             created_at=0.0, prompt="a fox in snow"))
    first, second = files.export_zip(run), files.export_zip(run)
    for zipped in (first, second):
        assert zipped.is_file() and zipped.parent.parent == files.downloads
        assert TOKEN.match(zipped.parent.name), zipped  # the folder is the secret
        assert "exports" not in zipped.parts
    assert first.parent != second.parent
    old = time.time() - 5 * 60 - 1
    os.utime(first.parent, (old, old))
    assert files.sweep_downloads() == 1
    assert not first.parent.exists() and second.is_file()  # the younger one stays


def _get(app_url: str, path: str | Path) -> httpx.Response:
    return httpx.get(app_url + "gradio_api/file=" + quote(str(path)), timeout=30)


def test_an_export_url_is_unguessable_served_as_is_and_gone_after_its_lifetime() -> None:
    # 0.05 min = 3 s: the sweeper looks every second
    with launched_app(download_minutes=0.05) as app:
        client = Client(app.url, verbose=False)
        client.predict(prompt="export: a calm sea at dawn", aspect_ratio="1:1", duration=5,
                       mode="std", api_name="/text_to_video")
        run = next(iter(app.studio.library.runs(owner=None)))
        zipped = app.studio.files.export_zip(run)
        # What the Library's Export button hands Gradio: Gradio keeps no copy of its own (a copy
        # would outlive the lifetime), so the URL the visitor gets is this file's.
        served = processing_utils.move_files_to_cache(
            gr.File().postprocess(str(zipped)), gr.File(), postprocess=True)
        assert served["path"] == str(zipped)
        assert TOKEN.match(zipped.parent.name) and zipped.parent.name not in run.prompt
        answer = _get(app.url, zipped)
        assert answer.status_code == 200 and answer.content[:2] == b"PK"
        deadline = time.monotonic() + 30
        while zipped.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not zipped.parent.exists()
        assert _get(app.url, zipped).status_code in (403, 404)


def test_by_path_only_runs_and_random_named_temporary_files_are_served() -> None:
    with launched_app() as app:
        library = app.studio.library
        root = Path(library.root)
        # An export as the Studio used to name it (tab, prompt words, date) and other files a
        # visitor could guess: never served, whether or not they exist.
        guessable = library.tmp_dir / "exports" / "text-fox-in-snow-2026-12-06.zip"
        guessable.parent.mkdir(parents=True, exist_ok=True)
        guessable.write_bytes(b"PK\x03\x04 someone else's run")
        notes = root / "notes.png"
        notes.write_bytes(b"\x89PNG host's own file")
        for path in (guessable, notes, library.path, root / "browser-secret"):
            assert _get(app.url, path).status_code in (403, 404), path
        # What the page does link to still loads: a run's file and a temporary file.
        output = library.run_dir("a" * 24) / "output.mp4"
        output.write_bytes(b"\x00\x00\x00\x18ftypmp42")
        preview = Path(out_path(str(app.studio.files.temp_dir("previews")), "c.mp4", "preview",
                                ".mp4"))
        preview.write_bytes(b"\x00\x00\x00\x18ftypmp42")
        for path in (output, preview):
            assert _get(app.url, path).status_code == 200, path


@pytest.mark.parametrize("minutes", ["90", "-3"])
def test_a_download_lifetime_stays_within_an_hour(minutes: str) -> None:
    from kling_ui.core.config import load_settings

    value = load_settings({"KLING_DATA_DIR": "/tmp/x", "KLING_DOWNLOAD_MINUTES": minutes})
    assert 0 <= value.download_minutes <= 60
