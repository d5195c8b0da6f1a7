"""Runs outlive the process (issue #10): the real app, killed with SIGKILL mid-run and started
again on the same data folder, polls the same prediction, saves its output and creates no second
one; the host's daily budget is still spent after the restart; an API caller that hangs up still
gets its output saved.

"Replicate" here is the simulator in this test process, so it outlives the app as the real one
would. The app runs as `python app.py`, the README's own command.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from sim_fixtures import running_simulator

from tests.ui_fixtures import free_port, launched_app

ROOT = Path(__file__).resolve().parent.parent
HOST_KEY = "sim-host-key-for-resume-tests"  # not token-shaped: nothing to mistake for a real key

pytestmark = pytest.mark.slow


@contextmanager
def app_process(data_dir: Path, base_url: str, port: int, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    environ = {**os.environ, "REPLICATE_API_TOKEN": HOST_KEY, "REPLICATE_BASE_URL": base_url,
               "KLING_BACKEND": "replicate", "KLING_DATA_DIR": str(data_dir),
               "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1", **env}
    environ.pop("KLING_TESTING", None)
    log = open(data_dir.parent / f"app-{port}-{time.time_ns()}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=environ, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise AssertionError("the app did not start:\n" + Path(log.name).read_text()[-3000:])
            time.sleep(0.3)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def rows(data_dir: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{data_dir / 'library.sqlite3'}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM runs ORDER BY created_at").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def wait_for(what: str, check, timeout: float = 60.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_mid_run_then_restart_finishes_the_same_prediction(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    with running_simulator(model_seconds=8, start_seconds=0.3) as (base_url, state):
        budget = {"KLING_DAILY_BUDGET_USD": "0.60"}  # one 5 s pro text run (est. $0.56)
        with app_process(data, base_url, port, **budget) as first:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            client.submit("A clock tower at midnight, interrupted", "16:9", 5, "pro", True,
                          api_name="/text_to_video")
            run = wait_for("the prediction to be journaled", lambda: next(
                (r for r in rows(data) if r["prediction_id"]), None))
            assert run["status"] in ("starting", "processing")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        assert len(state.creates()) == 1
        prediction_id = run["prediction_id"]
        gets_before = len(state.requests_to(f"/v1/predictions/{prediction_id}", "GET"))
        with app_process(data, base_url, port, **budget):
            done = wait_for("the resumed run to finish", lambda: next(
                (r for r in rows(data) if r["id"] == run["id"] and r["status"] == "succeeded"),
                None), timeout=90)
            # The same prediction was polled again, its output saved; no second prediction.
            assert len(state.requests_to(f"/v1/predictions/{prediction_id}", "GET")) > gets_before
            assert done["prediction_id"] == prediction_id and len(state.creates()) == 1
            output = data / done["output"]
            assert output.is_file() and output.stat().st_size > 1000
            assert not output.with_name("output.mp4.part").exists()
            # The budget spent before the kill still counts: a second run is refused.
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            with pytest.raises(Exception, match="budget"):
                client.predict("Another clock tower", "16:9", 5, "pro", True,
                               api_name="/text_to_video")
            assert len(state.creates()) == 1


def test_an_api_caller_that_hangs_up_still_gets_its_output_saved() -> None:
    with launched_app(sim_seconds=3) as app:
        client = Client(app.url, verbose=False, headers={"X-Kling-Library-Key": "my-script"})
        job = client.submit("A heron lifts off a misty lake", "16:9", 5, "pro", True,
                            api_name="/text_to_video")
        wait_for("the prediction", lambda: app.studio._sim and app.studio._sim.state.predictions)
        # The caller goes away mid-run without asking to cancel (an explicit job.cancel() now
        # cancels the run, issue #22; a SIGKILLed client: tests/test_api_cancel.py).
        client.close()
        del job
        run = wait_for("the run to finish anyway", lambda: next(
            (r for r in app.studio.library.runs(owner=None) if r.status == "succeeded"), None))
        assert Path(run.output).is_file() and run.owner.startswith("lib:")
        assert not any(p.status == "canceled" for p in app.studio._sim.state.predictions.values())


def test_uploads_a_killed_app_left_are_deleted_after_the_restart(tmp_path: Path) -> None:
    """Issue #22: a run's uploads lived only in the killed process's memory, so they stayed on
    Replicate until they expired. The next process deletes them once the resumed run ends."""
    from gradio_client import handle_file
    from PIL import Image

    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    start = tmp_path / "noise.png"  # a PNG well over the 256 KB sent inline: it is uploaded
    Image.frombytes("RGB", (640, 480), os.urandom(640 * 480 * 3)).save(start, "PNG")
    with running_simulator(model_seconds=8, start_seconds=0.3) as (base_url, state):
        with app_process(data, base_url, port) as first:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            client.submit("The lighthouse beam sweeps the fog", handle_file(str(start)), None, 5,
                          "std", True,
                          api_name="/frames_to_video")
            run = wait_for("the prediction to be journaled", lambda: next(
                (r for r in rows(data) if r["prediction_id"]), None))
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        [upload] = list(state.files)  # the one upload, left behind by the kill
        assert len(state.requests_to("/v1/files", "POST")) == 1 and not state.deleted_files
        with app_process(data, base_url, port):
            wait_for("the resumed run to finish", lambda: any(
                r["id"] == run["id"] and r["status"] == "succeeded" for r in rows(data)),
                timeout=90)
            wait_for("its upload to be deleted", lambda: state.deleted_files == [upload])
            conn = sqlite3.connect(data / "library.sqlite3")
            try:
                assert conn.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0
            finally:
                conn.close()
        assert len(state.creates()) == 1
