"""Uploads a dead process left on Replicate are deleted by the next (issue #22; the app killed
for real: tests/test_resume.py). Rows of the library's `uploads` table, the stray rules, and
`delete_strays` against the simulator with the key each file was made with."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sim_fixtures import until

from kling_ui.core.config import Secret, Settings
from kling_ui.library import store as lib
from kling_ui.library import uploads
from kling_ui.library.store import Library
from kling_ui.library.uploads import WORKER_GONE_AFTER
from kling_ui.runs.routes import SIMULATOR_TOKEN
from kling_ui.runs.service import Studio

pytestmark = pytest.mark.anyio

HOST = Secret("sim-host-key-for-orphan-tests")
VISITOR = Secret("sim-visitor-key-for-orphan-tests")
OTHER = Secret("sim-someone-elses-key")


def dead_worker() -> str:
    """A process of this host that existed and is gone."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return f"{socket.gethostname()}:{int(proc.stdout)}"


def as_worker(root: Path, worker: str) -> Library:
    """The library as another process would open it."""
    other = Library(root)
    other.worker = worker
    return other


def left_by_the_dead(root: Path) -> None:
    """Every upload row now names a process that is gone (it was killed)."""
    with sqlite3.connect(root / "library.sqlite3") as conn:
        conn.execute("UPDATE uploads SET worker = ?", (dead_worker(),))


@pytest.fixture
async def host(sim, tmp_path: Path):  # noqa: ANN201 - yields (Studio, SimState, a 300 KB file)
    """A Studio with the host's key on the test's simulator, and a file over the inline size."""
    base_url, state = sim
    studio = Studio(Settings(token=HOST, base_url=base_url, backend="replicate",
                             data_dir=str(tmp_path)), data_dir=str(tmp_path))
    clip = tmp_path / "clip.bin"
    clip.write_bytes(b"x" * 300_000)
    try:
        yield studio, state, clip
    finally:
        await studio.aclose()


async def upload(studio: Studio, clip: Path, key: Secret) -> str:
    client = await studio.routes.client_for(studio.settings.base_url)
    return (await client.upload_file(clip, key)).id


def test_in_flight_is_the_stores_own() -> None:
    assert uploads.IN_FLIGHT is lib.IN_FLIGHT


def test_rows_hold_no_key_and_go_when_deleted(tmp_path: Path) -> None:
    books = Library(tmp_path)
    books.upload_made("http://sim", "f1", HOST, None)
    books.upload_made("http://sim", "f2", HOST, None)
    [one, two] = books.uploads_left()
    assert one.made_with(HOST) and not one.made_with(VISITOR)
    assert one.key_hash != two.key_hash  # salted by the file: rows cannot be linked
    raw = (tmp_path / "library.sqlite3").read_bytes()
    assert HOST.reveal().encode() not in raw
    books.upload_gone("http://sim", "f1")
    assert [u.id for u in books.uploads_left()] == ["f2"]


def test_a_stray_is_a_dead_process_upload_no_run_in_flight_sends(tmp_path: Path) -> None:
    mine = Library(tmp_path)
    mine.upload_made("http://sim", "mine", HOST, None)
    dead = as_worker(tmp_path, dead_worker())
    dead.upload_made("http://sim", "left", HOST, None)
    dead.upload_made("http://sim", "sent", HOST, None)
    dead.upload_made("http://sim", "old", HOST, expires_at=1.0)  # Replicate removed it
    alive_elsewhere = as_worker(tmp_path, "another-host:1")
    alive_elsewhere.beat()
    alive_elsewhere.upload_made("http://sim", "theirs", HOST, None)
    # A run the restart resumes still sends "sent": kept until it ends.
    run = mine.create(lib.Run(id=lib.new_run_id(), owner="o", tab="edit", status=lib.PROCESSING,
                              created_at=0.0))
    mine.update(run.id, request={"input": {"video": "http://sim/v1/files/sent"}})
    assert [u.id for u in mine.stray_uploads()] == ["left"]
    assert "old" not in {u.id for u in mine.uploads_left()}  # forgotten, not deleted
    mine.update(run.id, status=lib.SUCCEEDED)
    assert sorted(u.id for u in mine.stray_uploads()) == ["left", "sent"]


def test_a_process_on_another_host_is_gone_once_it_stops_beating(tmp_path: Path) -> None:
    now = [1000.0]
    mine = Library(tmp_path, clock=lambda: now[0])
    other = Library(tmp_path, clock=lambda: now[0])
    other.worker = "a-container-that-was-replaced:7"
    other.beat()
    other.upload_made("http://sim", "f", HOST, None)
    assert mine.stray_uploads() == []
    now[0] += WORKER_GONE_AFTER + 1
    assert [u.id for u in mine.stray_uploads()] == ["f"]


async def test_strays_are_deleted_with_the_key_they_were_made_with(sim, tmp_path: Path) -> None:
    base_url, state = sim
    settings = Settings(token=HOST, base_url=base_url, backend="replicate",
                        data_dir=str(tmp_path))
    before = Studio(settings, data_dir=str(tmp_path))
    clip = tmp_path / "clip.bin"
    clip.write_bytes(b"x" * 300_000)
    try:
        made = {name: await upload(before, clip, key)
                for name, key in (("host", HOST), ("visitor", VISITOR), ("other", OTHER))}
    finally:
        await before.aclose()
    left_by_the_dead(tmp_path)  # that process is gone
    after = Studio(settings, data_dir=str(tmp_path))
    try:
        assert await after.delete_strays() == 1  # the host's key is known
        assert state.deleted_files == [made["host"]]
        assert await after.delete_strays(VISITOR) == 1  # a visitor came back with theirs
        assert state.deleted_files == [made["host"], made["visitor"]]
        left = after.library.uploads_left()
        assert [u.id for u in left] == [made["other"]]  # unknown key: left to expire
        # A file already gone on Replicate (404) is forgotten too.
        state.files.pop(made["other"])
        assert await after.delete_strays(OTHER) == 0
        assert after.library.uploads_left() == []
    finally:
        await after.aclose()


async def test_a_dead_process_simulator_rows_are_forgotten(tmp_path: Path) -> None:
    books = as_worker(tmp_path, dead_worker())
    books.upload_made("http://127.0.0.1:1", "sim-file", SIMULATOR_TOKEN, None)
    studio = Studio(Settings(data_dir=str(tmp_path)), data_dir=str(tmp_path))
    try:
        assert await studio.delete_strays() == 1
        assert studio.library.uploads_left() == []
    finally:
        await studio.aclose()


async def test_the_watch_beats_and_deletes_on_its_own(host, tmp_path: Path) -> None:
    studio, state, clip = host
    file_id = await upload(studio, clip, HOST)
    left_by_the_dead(tmp_path)
    studio.strays.interval = 0.05
    await asyncio.to_thread(studio.strays.start)
    await until(lambda: state.deleted_files == [file_id], timeout=10)
    with sqlite3.connect(tmp_path / "library.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM workers WHERE worker = ?",
                            (studio.library.worker,)).fetchone()[0] == 1


@pytest.mark.parametrize("gone", [True, False])
async def test_a_run_deletes_its_uploads_and_their_rows(host, gone: bool) -> None:
    studio, state, clip = host
    file_id = await upload(studio, clip, HOST)
    assert [u.id for u in studio.library.uploads_left()] == [file_id]
    if gone:
        state.files.pop(file_id)
    client = await studio.routes.client_for(studio.settings.base_url)
    assert await client.delete_file(file_id, HOST) is not gone
    assert studio.library.uploads_left() == []


async def test_a_visitor_who_enters_their_key_again_gets_their_strays_deleted(
        host, tmp_path: Path) -> None:
    from kling_ui.runs.resumer import resume_with_key

    studio, state, clip = host
    file_id = await upload(studio, clip, VISITOR)  # a speculative upload, say
    left_by_the_dead(tmp_path)
    assert await resume_with_key(studio, "lib:someone", OTHER) == []
    assert state.deleted_files == []  # another key: not theirs to delete
    assert await resume_with_key(studio, "lib:visitor", VISITOR) == []
    assert state.deleted_files == [file_id]


def test_a_library_that_cannot_be_written_does_not_stop_the_studio(tmp_path: Path,
                                                                  monkeypatch) -> None:  # noqa: ANN001
    from kling_ui.core.errors import LibraryError

    def full(_self) -> None:  # noqa: ANN001
        raise LibraryError("The disk is full.")

    monkeypatch.setattr(Library, "beat", full)
    studio = Studio(Settings(data_dir=str(tmp_path)), data_dir=str(tmp_path))
    asyncio.run(studio.aclose())
