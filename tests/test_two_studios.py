"""Two Studios on one machine (two data folders, two ports, the README's `python app.py`, no
GRADIO_TEMP_DIR set) keep their files apart: one stopping deletes nothing the other serves.

Gradio's default cache, /tmp/gradio for every app, names files by their content and each app
deletes what it made when it stops, so the other's copy of the same file went with it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import tempfile
from pathlib import Path

import httpx
import pytest
from sim_fixtures import running_simulator

from tests.test_resume import app_process
from tests.ui_fixtures import free_port

pytestmark = pytest.mark.slow


def upload(port: int, name: str, data: bytes) -> str:
    answer = httpx.post(f"http://127.0.0.1:{port}/gradio_api/upload",
                        files={"files": (name, data, "image/png")}, timeout=30)
    answer.raise_for_status()
    [path] = answer.json()
    return path


def test_one_studio_stopping_leaves_the_others_files(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)  # as a person starts them
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    same = b"the same bytes, dropped on both Studios " * 64
    port_a, port_b = free_port(), free_port()
    with running_simulator() as (base_url, _state), app_process(tmp_path / "b", base_url, port_b):
        with app_process(tmp_path / "a", base_url, port_a) as first:
            path_a, path_b = upload(port_a, "still.png", same), upload(port_b, "still.png", same)
            assert path_a != path_b, "both Studios keep their files in one folder"
            first.send_signal(signal.SIGTERM)  # stopped as a container is
            first.wait(20)
        # The second Studio still has its file, and serves it.
        assert Path(path_b).is_file()
        answer = httpx.get(f"http://127.0.0.1:{port_b}/gradio_api/file={path_b}", timeout=30)
        assert answer.status_code == 200 and answer.content == same
    for data in ("a", "b"):  # app.own_gradio_folder's folders of these two data folders
        tag = hashlib.sha256(os.path.realpath(tmp_path / data).encode()).hexdigest()[:12]
        shutil.rmtree(Path(tempfile.gettempdir()) / f"kling-gradio-{tag}", ignore_errors=True)
