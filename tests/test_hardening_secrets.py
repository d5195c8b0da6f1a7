"""Secrets and host protection, through the whole app on the simulator.

Secrets: a normal run and an error run with the host's key and a visitor's key, then a search of
everything the app emits (logs at DEBUG and stderr, the page, /config, the API info, results and
error messages, Gradio's temp folder, the app's data folder) for either key: zero hits. Two
visitors with different keys at once each reach the server with their own key only.

Host protection: per-visitor rate limit, daily budget, password, bounded queue, each refusal a
clear message; session files deleted when the session ends or after a set age.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file

from bench.visitors import app_on_simulator, make_big_png
from kling_ui.core.config import Secret
from kling_ui.core.models import Tab
from kling_ui.replicate.simulator import key_marker
from kling_ui.runs.service import JobSpec, Studio
from tests.test_hardening_faults import CREATE, assert_clear, outcome, text_job

HOST = "r8_" "HOSTKEYsecrets0123456789abcdefghijklm"
VISITOR = "r8_" "VISITORsecrets9876543210zyxwvutsrqpo"
PLAIN_VISITOR = "visitor-plain-secret-key-5550123"  # not token-shaped: only exact redaction works


def _files_containing(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                data = f.read()
            hits += [f"{path}: {n[:12]!r}" for n in needles if n in data]
    return hits


@pytest.mark.slow  # out of the inner loop (issue #21): 10-35 s
def test_no_key_appears_in_anything_the_app_emits(caplog: pytest.LogCaptureFixture,
                                                   capfd: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    emitted: list[str] = []
    big = str(make_big_png(tmp_path / "start.png"))
    with app_on_simulator(host_key=HOST) as app:
        state = app.state
        for key in (None, VISITOR, PLAIN_VISITOR):
            headers = {"X-Replicate-Api-Token": key} if key else {}
            client = Client(app.url, verbose=False, headers=headers)
            summary, message = outcome(lambda c=client: c.predict(
                prompt="<<<image_1>>> comes alive", start_image=handle_file(big), duration=5,
                mode="std", api_name="/frames_to_video"))
            assert message is None and summary is not None, message
            emitted.append(repr(summary))
            # An error run where the server echoes the key back in its problem details.
            echoed = key or HOST
            state.add_fault(CREATE, 500, detail=f"upstream rejected token {echoed} (Bearer {echoed})")
            summary, message = outcome(lambda c=client: text_job(c, "error run"))
            assert summary is None and message is not None
            emitted.append(message)
            state.add_fault(CREATE, 401)
            _s, message = outcome(lambda c=client: text_job(c, "auth error run"))
            emitted.append(message or "")
        with httpx.Client(base_url=app.url, timeout=30) as http:
            for path in ("", "config", "gradio_api/info", "gradio_api/info?all_endpoints=true"):
                emitted.append(http.get(path).text)
        # Each key reached the simulator (so the search below is not vacuous).
        markers = {r.key for r in state.requests}
        assert {key_marker(HOST), key_marker(VISITOR), key_marker(PLAIN_VISITOR)} <= markers
        data_dir = Path(app.studio.data_dir)
        needles = [k.encode() for k in (HOST, VISITOR, PLAIN_VISITOR)]
        file_hits = _files_containing(data_dir, needles)
        file_hits += _files_containing(Path(os.environ["GRADIO_TEMP_DIR"]), needles)
    out, err = capfd.readouterr()
    emitted += [out, err, caplog.text]
    emitted += [repr(r.args) + r.getMessage() for r in caplog.records]
    assert caplog.records, "no log captured: the search would be vacuous"
    text = "\n".join(emitted)
    for key in (HOST, VISITOR, PLAIN_VISITOR):
        assert key not in text, f"a key leaked: ...{text[max(0, text.find(key) - 200):][:400]}"
    assert file_hits == []


def test_two_visitors_at_once_each_use_only_their_own_key() -> None:
    keys = {"alpha": "r8_" "ALPHAvisitor0123456789abcdefghijkl", "bravo": "bravo-plain-key-424242"}
    with app_on_simulator(host_key=HOST, sim_options={"model_seconds": 1.5}) as app:
        clients = {n: Client(app.url, verbose=False, headers={"X-Replicate-Api-Token": k})
                   for n, k in keys.items()}

        def go(name: str) -> list[Any]:
            jobs = [clients[name].submit(prompt=f"{name} {i}: a calm sea", aspect_ratio="1:1",
                                         duration=5, mode="std", api_name="/text_to_video")
                    for i in range(2)]
            return [j.result(timeout=120) for j in jobs]

        with ThreadPoolExecutor(2) as pool:
            results = dict(zip(keys, pool.map(go, keys), strict=True))
        state = app.state
        owner = {pid: pred.input["prompt"].split()[0] for pid, pred in state.predictions.items()}
        assert sorted(owner.values()) == ["alpha", "alpha", "bravo", "bravo"]
        checked = 0
        for r in state.requests:
            pid = next((p for p in owner if p in r.path), None)
            if r.method == "POST" and r.path == "/v1/models/kwaivgi/kling-o1/predictions":
                pid = next(p for p, pred in state.predictions.items()
                           if pred.input == (r.body or {}).get("input"))
            if pid is None or r.key is None:
                continue
            assert r.key == key_marker(keys[owner[pid]]), (r.method, r.path)
            checked += 1
        assert checked >= 4
        assert key_marker(HOST) not in {r.key for r in state.requests}
        for name, res in results.items():
            assert all(summary["backend"] == "replicate" for _v, summary in res), name


# ---------------------------------------------------------------------------------------------
# Host protection
# ---------------------------------------------------------------------------------------------

def test_rate_limit_refuses_the_extra_run_and_a_visitor_key_lifts_it() -> None:
    with app_on_simulator(host_key=HOST, runs_per_hour=1) as app:
        client = Client(app.url, verbose=False)
        assert outcome(lambda: text_job(client, "first"))[1] is None
        before = len(app.state.creates())
        summary, message = outcome(lambda: text_job(client, "second"))
        assert summary is None and message is not None
        assert_clear(message, r"1 runs per visitor per hour.*Try again in about \d+ min")
        assert len(app.state.creates()) == before, "the refused run reached Replicate"
        own = Client(app.url, verbose=False, headers={"X-Replicate-Api-Token": VISITOR})
        assert outcome(lambda: text_job(own, "own key"))[1] is None


def test_daily_budget_refuses_what_it_cannot_pay() -> None:
    with app_on_simulator(host_key=HOST, daily_budget_usd=0.5) as app:  # one 5 s std run: $0.42
        client = Client(app.url, verbose=False)
        assert outcome(lambda: text_job(client, "first"))[1] is None
        before = len(app.state.creates())
        summary, message = outcome(lambda: text_job(client, "second"))
        assert summary is None and message is not None
        assert_clear(message, r"budget.*used up.*midnight UTC")
        assert len(app.state.creates()) == before


def test_a_billed_run_whose_download_fails_still_counts_against_the_budget() -> None:
    with app_on_simulator(host_key=HOST, daily_budget_usd=0.5) as app:
        client = Client(app.url, verbose=False)
        app.state.add_fault("/delivery/", 404)  # the output is gone: billed, not received
        summary, message = outcome(lambda: text_job(client, "billed"))
        assert message is not None and len(app.state.predictions) == 1
        summary, message = outcome(lambda: text_job(client, "over budget"))
        assert summary is None and message is not None and "budget" in message


def test_rate_limit_cannot_be_dodged_by_a_forged_forwarded_for() -> None:
    with app_on_simulator(host_key=HOST, runs_per_hour=1) as app:
        # Behind one proxy (a Space), the proxy appends the real address: "forged, real".
        first = Client(app.url, verbose=False, headers={"X-Forwarded-For": "1.1.1.1, 9.9.9.9"})
        second = Client(app.url, verbose=False, headers={"X-Forwarded-For": "2.2.2.2, 9.9.9.9"})
        assert outcome(lambda: text_job(first, "first"))[1] is None
        summary, message = outcome(lambda: text_job(second, "forged"))
        assert summary is None and message is not None and "per hour" in message


def test_password_keeps_strangers_out() -> None:
    with app_on_simulator(host_key=HOST, app_password=Secret("open sesame")) as app:
        with httpx.Client(timeout=30) as http:
            page = http.get(app.url + "config")
            assert page.status_code in (401, 403) or "auth_required" in page.text
        with pytest.raises(Exception, match=r"(?i)login|auth|credential|401|403"):
            Client(app.url, verbose=False, auth=("anyone", "wrong")).predict(
                prompt="x", api_name="/text_to_video")
        client = Client(app.url, verbose=False, auth=("anyone", "open sesame"))
        assert outcome(lambda: text_job(client, "with password"))[1] is None


@pytest.mark.slow  # out of the inner loop (issue #21): 10-35 s
def test_a_full_queue_refuses_with_a_message() -> None:
    with app_on_simulator(host_key=HOST, concurrency=1, queue_size=1,
                          sim_options={"model_seconds": 2.0}) as app:
        client = Client(app.url, verbose=False)
        jobs = [client.submit(prompt=f"queued {i}: a calm sea", aspect_ratio="1:1", duration=5,
                              mode="std", api_name="/text_to_video") for i in range(5)]
        done, refused = 0, []
        for job in jobs:
            try:
                job.result(timeout=120)
                done += 1
            except Exception as exc:  # noqa: BLE001 - the refusal is the subject
                refused.append(str(exc))
        assert done >= 1 and refused, (done, refused)
        for message in refused:
            assert_clear(message, r"queue is full")
        assert len(app.state.predictions) == done  # refused jobs never reached Replicate


def test_runs_stay_their_owners_and_only_temporary_files_go_by_age(tmp_path: Path) -> None:
    """Issue #10 reversed the old rule (a session's files went when it ended): a run's files are
    kept with the run, one folder each, until KLING_KEEP_DAYS; temporary files go by age."""
    from kling_ui.core.config import Settings

    studio = Studio(Settings(backend="simulator", sim_seconds=0.2, keep_days=1),
                    data_dir=str(tmp_path))
    results = []

    async def go() -> None:
        try:
            for who in ("visitor-a", "visitor-b"):
                results.append(await studio.run(
                    JobSpec(tab=Tab.TEXT, prompt=f"{who} sea", quality="std", aspect_ratio="1:1"),
                    visitor_token=None, visitor_id=who, owner=f"lib:{who}"))
        finally:
            await studio.aclose()

    asyncio.run(go())
    a, b = (Path(r.output_path).parent for r in results)
    assert a != b and a.parent == b.parent == studio.data_dir / "runs"
    assert [r.owner for r in studio.library.runs(owner="lib:visitor-a")] == ["lib:visitor-a"]
    temp = studio.files.temp_dir("previews") / "left-over-preview.mp4"
    temp.write_bytes(b"\0" * 100)
    assert studio.sweep(max_age_hours=1) == 0  # young files stay
    old = time.time() - 2 * 3600
    for p in [temp, *a.rglob("*"), *b.rglob("*")]:
        os.utime(p, (old, old))
    assert studio.sweep(max_age_hours=1) == 1 and not temp.exists()
    assert Path(results[0].output_path).is_file() and Path(results[1].output_path).is_file()
    # KLING_KEEP_DAYS is what ends a run: a run older than it goes, with its folder.
    studio.library.update(results[0].run_id, created_at=time.time() - 2 * 86400)
    assert studio.files.prune() == [results[0].run_id]
    assert not a.exists() and Path(results[1].output_path).is_file()


def test_the_app_sweeps_temporary_files_by_itself_and_keeps_runs() -> None:
    with app_on_simulator(host_key=HOST, max_age_hours=1 / 3600) as app:  # 1 s
        client = Client(app.url, verbose=False)
        assert outcome(lambda: text_job(client, "to be kept"))[1] is None
        temp = app.studio.files.temp_dir("previews") / "old-preview.mp4"
        temp.write_bytes(b"\0" * 100)
        deadline = time.monotonic() + 8
        while temp.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not temp.exists()
        runs = app.studio.library.runs(owner=None)
        assert runs and all(Path(r.output).is_file() for r in runs)  # the paid video stays
