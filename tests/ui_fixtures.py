"""Launch the Studio in-process on a free 127.0.0.1 port (simulator backend) for UI and API tests.

    with launched_app(sim_seconds=0.5) as app:   # app.url, app.studio, app.demo
        Client(app.url)...

Media helpers wrap tests/media_factory.py, which makes every file with Pillow and the bundled ffmpeg.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr

from bench.procs import serving
from kling_ui.core.config import Settings
from kling_ui.runs.service import Studio
from tests import media_factory

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LaunchedApp:
    url: str
    demo: gr.Blocks
    studio: Studio
    settings: Settings

    def sim_options(self) -> Any:
        """The in-process simulator's live SimOptions (started if need be): a test may hold
        its model (`model_seconds`) until only what it checks can end a run."""
        self.studio.simulator_url()
        return self.studio.routes._sim.state.options  # type: ignore[union-attr]


def test_settings(**overrides: Any) -> Settings:
    base = Settings(backend="simulator", sim_seconds=0.5, concurrency=4, queue_size=16,
                    data_dir=tempfile.mkdtemp(prefix="kling-ui-test-"))
    return replace(base, **overrides)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@contextlib.contextmanager
def launched_app(**overrides: Any) -> Iterator[LaunchedApp]:
    """The real app (create_app + launch_options) on a free port, closed afterwards."""
    from app import create_app
    from kling_ui.ui import launch_options

    settings = test_settings(port=free_port(), **overrides)
    studio = Studio(settings)
    demo = create_app(settings, studio)
    opts = launch_options(settings, studio)
    try:
        with serving(demo, opts, settings.port) as url:
            yield LaunchedApp(url, demo, studio, settings)
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(studio.aclose())


# -- media ------------------------------------------------------------------------------------

def make_image(path: Path, size: tuple[int, int] = (800, 600), fmt: str = "PNG") -> Path:
    return Path(media_factory.make_image(path, size=size, fmt=fmt))


def make_video(path: Path, seconds: float = 4, size: tuple[int, int] = (1280, 720),
               fps: int = 30) -> Path:
    return Path(media_factory.make_video(path, seconds=seconds, size=size, fps=fps))


def make_fake_png(path: Path) -> Path:
    """A text file wearing a .png name: the classic bad upload."""
    path.write_text("this is not an image, just text pretending\n", encoding="utf-8")
    return path


def open_details(page: Any, key: str) -> None:
    """Open a tab's closed Details section (next shot and frames, the motion report, the
    summary, the code; issue #23), as a person does before using what is in it."""
    label = page.locator(f"#{key}-details > .label-wrap").first
    label.wait_for()
    if "open" not in (label.get_attribute("class") or "").split():
        label.click()


def run_id_of(job: Any, timeout: float = 30) -> str:
    """The run id a mode endpoint names in its first progress update (gradio_client's job)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for unit in job.status().progress_data or []:
            if unit.desc and "[run_id=" in unit.desc:
                return unit.desc.split("[run_id=", 1)[1].split()[0].rstrip("]")
        time.sleep(0.05)
    raise AssertionError("no run_id in the progress updates")


def processing_prediction(app: LaunchedApp, prompt: str, timeout: float = 30) -> Any:
    """The app's built-in simulator's prediction for `prompt` once it is processing: while the
    run may still hold its create open (`Prefer: wait`), before the library knows its id."""
    app.studio.simulator_url()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pred in list(app.studio._sim.state.predictions.values()):
            if pred.input.get("prompt") == prompt and pred.status == "processing":
                return pred
        time.sleep(0.02)
    raise AssertionError("the run never reached a processing prediction")
