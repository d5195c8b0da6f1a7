"""Shared test setup: no real key, Gradio's temp files in a temp dir, media fixtures made here."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

import pytest

# Test helpers import as `tests.x` or plain `x`, whichever a file prefers.
sys.path.insert(0, os.path.dirname(__file__))

# Before anything imports gradio: keep every test offline and its files in one temp folder.
os.environ.pop("REPLICATE_API_TOKEN", None)
os.environ.pop("REPLICATE_BASE_URL", None)
os.environ.pop("KLING_BACKEND", None)
# One folder per process, never inherited: xdist's workers would otherwise share the
# controller's, and an app closing in one worker deletes the cache files (same hashed paths)
# that the other worker's app is still using.
os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(
    prefix=f"kling-test-gradio-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
# Test media made once per run and shared by the workers (media_factory.ffmpeg): made here on
# the controller, before xdist starts its workers, and removed when the controller exits.
if "PYTEST_XDIST_WORKER" not in os.environ:
    _media = tempfile.mkdtemp(prefix="kling-test-media-")
    os.environ["KLING_TEST_MEDIA_CACHE"] = _media
    atexit.register(shutil.rmtree, _media, True)
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["KLING_TESTING"] = "1"  # unexpected errors are re-raised, not hidden


def _patient_gradio_clients() -> None:
    """gradio_client's plain calls (the config, the API info, a queue join) use httpx's default
    5 s timeout; the app under test runs in the test's own process, and on a loaded CI box its
    ~1 MB config once took longer (ReadTimeout in Client()). Every test's Client gets 120 s
    unless it names its own. Streams are safe with it: Gradio sends a heartbeat every 15 s."""
    from gradio_client import Client

    if getattr(Client.__init__, "_kling_patient", False):
        return
    real = Client.__init__

    def init(self, *args, httpx_kwargs=None, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        real(self, *args, httpx_kwargs={"timeout": 120, **(httpx_kwargs or {})}, **kwargs)

    init._kling_patient = True  # type: ignore[attr-defined]
    Client.__init__ = init  # type: ignore[method-assign]


_patient_gradio_clients()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sim(request: pytest.FixtureRequest):  # noqa: ANN201 - yields (base_url, SimState)
    """A simulator on 127.0.0.1 for one test: (base_url, state). A module may set SIM_OPTIONS
    (SimOptions fields, e.g. {"model_seconds": 0.6}) for timings other than the fast ones."""
    from sim_fixtures import running_simulator  # tests/ is on sys.path

    with running_simulator(**getattr(request.module, "SIM_OPTIONS", {})) as pair:
        yield pair


CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright drives it (no browser download)
# Debian's build of Chromium's own headless shell (the browser Playwright itself runs headless):
# the same Blink and V8 without the desktop browser around them. The same three page loads cost
# it 27% less CPU than `chromium --headless` (16.0 s vs 21.8 s; /tmp A/B in one process), and
# the suite is mostly page loads on two cores. Lighthouse still runs the full `chromium`.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201 - a Playwright Browser; imported lazily for non-browser runs
    """Headless Chromium for the browser tests. A missing Chromium fails; it never skips."""
    from playwright.sync_api import expect, sync_playwright

    # Two test workers share two cores (pyproject: -n 2): a page may take longer than
    # Playwright's 5 s default to answer. Waits stay waits for a state, never timings.
    expect.set_options(timeout=20_000)

    # Debian's headless shell where it is installed (CI installs it: there it must be used), else
    # Debian's Chromium; elsewhere (macOS) Playwright's own (`python -m playwright install`).
    # KLING_TEST_CHROMIUM picks another (an A/B of browsers over the same files).
    executable = os.environ.get("KLING_TEST_CHROMIUM") or next(
        (x for x in (HEADLESS_SHELL, CHROMIUM) if os.path.exists(x)), None)
    if executable != HEADLESS_SHELL and os.environ.get("CI"):
        pytest.fail(f"{HEADLESS_SHELL} is missing: install Debian's chromium-headless-shell")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


# The suite runs on two workers, a file each (pyproject: `-n 2 --dist loadfile
# --no-loadscope-reorder`). xdist hands out files in collection order, so the longest files
# go first and the many short ones fill the gaps at the end: left to xdist's own order (most
# tests first) the one-test browser files came last, and one worker ran a 2.5 min file alone.
# Slowest first, as measured on CI (`--durations`); every other browser file follows them.
SLOW_FIRST = (
    "test_ui_browser.py", "test_ui_library_browser.py", "test_ui_takes_browser.py",
    "test_ui_continue_browser.py", "test_ui_a11y.py", "test_queue_browser.py",
    "test_ui_trimmer_browser.py", "test_ui_signin_browser.py", "test_ui_browser_finish.py",
    "test_ui_layout.py", "test_hardening_files.py", "test_ui_status.py", "test_upload_cards.py",
    "test_hardening_faults.py", "test_hardening_load.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}

    def key(item: pytest.Item) -> int:
        name = os.path.basename(str(item.path))
        if name in rank:
            return rank[name]
        return len(rank) + (0 if item.get_closest_marker("browser") else 1)

    items.sort(key=key)  # stable: each file keeps its own order
