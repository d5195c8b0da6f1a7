"""Kling O1 Studio: `python app.py` serves the Studio on http://127.0.0.1:7860.

GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose the address; every other setting is in the README's
configuration table (kling_ui/core/config.py reads them). `create_app()` is what tests launch in-process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import tempfile
import threading

from kling_ui.core.config import Settings, load_settings


def own_gradio_folder() -> str:
    """GRADIO_TEMP_DIR, unless it is set: a folder of this Studio's own, one per data folder.

    Gradio's default, one /tmp/gradio for every Gradio app on the machine, names files by their
    content, and each app deletes the files it made when it stops: a second Studio stopping
    deleted the first one's preset examples and uploads under it (they answered 403). Keyed by
    the data folder, a restarted Studio finds its folder again. Set before gradio is imported:
    some of its modules read it at import time.
    """
    if not os.environ.get("GRADIO_TEMP_DIR"):
        data = os.path.realpath(load_settings().data_dir or "")
        tag = hashlib.sha256(data.encode()).hexdigest()[:12]
        os.environ["GRADIO_TEMP_DIR"] = os.path.join(tempfile.gettempdir(), f"kling-gradio-{tag}")
    return os.environ["GRADIO_TEMP_DIR"]


own_gradio_folder()

import gradio as gr  # noqa: E402 - after own_gradio_folder()

from kling_ui.runs.resumer import resume_unfinished  # noqa: E402
from kling_ui.runs.service import Studio  # noqa: E402
from kling_ui.ui import build_ui, launch_options  # noqa: E402


def create_app(settings: Settings, studio: Studio) -> gr.Blocks:
    """The Blocks with its queue: one shared pool of `settings.concurrency` jobs, bounded size.

    Also starts what runs without a visitor: the sweeper (temporary files by age, old runs by
    KLING_KEEP_DAYS / KLING_MAX_GB) and the resumer (runs a previous process left in flight).
    """
    demo = build_ui(settings, studio)
    if getattr(studio, "_sweeper_stop", None) is None:
        studio.start_sweeper()
    threading.Thread(target=resume_unfinished, args=(studio,), name="kling-resumer",
                     daemon=True).start()
    # Runs wait in the Studio's own line (kling_ui.runs.pool), not in Gradio's queue: its limit is
    # for the page's own events (checks, previews), which must not starve behind a 1-slot pool.
    demo.queue(max_size=max(32, settings.queue_size * 4),
               default_concurrency_limit=max(4, settings.concurrency))
    return demo


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll drowns the log
    settings = load_settings()
    studio = Studio(settings)
    logging.getLogger(__name__).info("library: %s (%s)", studio.data_dir,
                                     studio.library_problem or "ok")
    if studio.backend_for(None) == "simulator":
        threading.Thread(target=studio.simulator_url, daemon=True).start()  # warm, off the path
    demo = create_app(settings, studio)
    # A stop (SIGTERM, as a container is stopped) ends the server as Ctrl-C does; then the
    # page's unused speculative uploads are deleted (best effort, 5 s), before the
    # interpreter's shutdown stops the threads that delete them.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo.launch(**launch_options(settings, studio))
    finally:
        studio.speculation.close()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
