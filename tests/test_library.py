"""The library on its own: schema and migrations, rows, owners, leases, retention, the ledger, and
what happens when its folder cannot be used."""

from __future__ import annotations

import multiprocessing
import os
import socket
import sqlite3
from pathlib import Path

import pytest

from kling_ui.core.errors import AccessError, LibraryError
from kling_ui.hosting.access import Guard
from kling_ui.library import store as lib
from kling_ui.library.store import Library, Run, new_run_id


def make_run(library: Library, *, owner: str = "alice", tab: str = "text", status: str = "succeeded",
             prompt: str = "a fox", cost: float = 0.56, created_at: float = 0.0,
             prediction_id: str | None = "p1", size: int = 0, backend: str = "replicate") -> Run:
    run_id = new_run_id()
    output = None
    if size:
        output = library.run_dir(run_id) / "output.mp4"
        output.write_bytes(b"\0" * size)
    return library.create(Run(id=run_id, owner=owner, tab=tab, status=status, prompt=prompt,
                              estimated_cost=cost, created_at=created_at,
                              prediction_id=prediction_id, output=str(output) if output else None,
                              backend=backend))


def test_a_new_folder_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    library = Library(tmp_path / "data")
    conn = sqlite3.connect(library.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(lib.MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Opening it again applies nothing twice.
    Library(tmp_path / "data")


def test_rows_round_trip_with_json_fields_and_paths_relative_to_the_folder(tmp_path: Path) -> None:
    library = Library(tmp_path / "data")
    run = make_run(library, size=10)
    library.update(run.id, settings={"tab": "text", "duration": 5}, warnings=["w"],
                   fixes=[{"field": "f", "action": "trim", "detail": "d"}],
                   inputs={"reference_images": [str(library.run_dir(run.id) / "a.png")]})
    got = library.get(run.id)
    assert got is not None and got.settings["duration"] == 5 and got.warnings == ["w"]
    assert got.output == run.output and Path(got.inputs["reference_images"][0]).parent == library.run_dir(run.id)
    stored = sqlite3.connect(library.path).execute("SELECT output FROM runs").fetchone()[0]
    assert not os.path.isabs(stored)  # the folder can be moved
    with pytest.raises(ValueError, match="unknown run fields"):
        library.update(run.id, not_a_field=1)


def test_listing_filters_by_owner_mode_status_and_a_literal_search(tmp_path: Path) -> None:
    library = Library(tmp_path / "data")
    make_run(library, owner="alice", tab="text", prompt="a fox in 100% snow", created_at=1)
    make_run(library, owner="alice", tab="edit", prompt="crown_on_girl", created_at=2)
    make_run(library, owner="bob", tab="text", status="failed", prompt="a fox", created_at=3)
    assert [r.prompt for r in library.runs(owner="alice")] == ["crown_on_girl", "a fox in 100% snow"]
    assert [r.owner for r in library.runs(owner=None)] == ["bob", "alice", "alice"]
    assert [r.prompt for r in library.runs(owner=None, tab="text", status="failed")] == ["a fox"]
    assert [r.prompt for r in library.runs(owner=None, search="100%")] == ["a fox in 100% snow"]
    assert library.runs(owner=None, search="crown%girl") == []  # % is literal, not a wildcard
    assert library.runs(owner=None, search="_on_")[0].prompt == "crown_on_girl"


def test_totals_count_spend_only_where_a_prediction_was_made(tmp_path: Path) -> None:
    now = 10 * 86400 + 3600.0
    library = Library(tmp_path / "data", clock=lambda: now)
    make_run(library, cost=0.56, created_at=now - 60)
    make_run(library, cost=1.12, created_at=now - 86400)  # yesterday
    make_run(library, cost=9.99, created_at=now, prediction_id=None, status="failed")  # no bill
    make_run(library, cost=0.84, created_at=now, status="processing")
    make_run(library, cost=5.00, created_at=now, backend="simulator")  # never billed
    t = library.totals(owner="alice")
    assert (t.runs, t.in_flight, t.spent_today, t.spent_all, t.simulated) == (5, 1, 1.40, 2.52, 1)


def test_a_lease_keeps_a_second_process_off_a_run_until_its_holder_is_gone(tmp_path: Path) -> None:
    now = [1000.0]
    one = Library(tmp_path / "data", clock=lambda: now[0])
    two = Library(tmp_path / "data", clock=lambda: now[0])
    two.worker = "otherhost:1"
    run = make_run(one, status="processing")
    assert one.claim(run.id)  # its own
    assert not two.claim(run.id)  # held, and alive
    now[0] += lib.LEASE_SECONDS + 1
    assert two.claim(run.id)  # the lease lapsed
    assert one.get(run.id).worker == "otherhost:1"
    # A holder on this host whose process is gone lets go at once.
    one.update(run.id, worker=f"{socket.gethostname()}:{_dead_pid()}",
               lease_until=now[0] + 999)
    assert one.claim(run.id)
    done = make_run(one, status="succeeded")
    assert not one.claim(done.id)  # finished runs are nobody's to resume


def _dead_pid() -> int:
    proc = multiprocessing.get_context("spawn").Process(target=int)
    proc.start()
    proc.join()
    return int(proc.pid or 0)


def test_unfinished_lists_runs_in_flight_oldest_first(tmp_path: Path) -> None:
    library = Library(tmp_path / "data")
    a = make_run(library, status="processing", created_at=2)
    b = make_run(library, status="preparing", created_at=1)
    make_run(library, status="succeeded", created_at=3)
    assert [r.id for r in library.unfinished()] == [b.id, a.id]


def test_retention_keeps_days_then_caps_size_oldest_first_never_in_flight(tmp_path: Path) -> None:
    now = 100 * 86400.0
    library = Library(tmp_path / "data", clock=lambda: now)
    old = make_run(library, created_at=now - 40 * 86400, size=1000)
    flying = make_run(library, created_at=now - 50 * 86400, status="processing", size=1000)
    mid = make_run(library, created_at=now - 2 * 86400, size=3000)
    new = make_run(library, created_at=now - 86400, size=3000)
    assert library.prune(keep_days=30, max_bytes=0) == [old.id]
    assert library.run_dir(flying.id).joinpath("output.mp4").exists()  # in flight: kept
    # 7000 bytes on disk; a 5000-byte cap deletes the oldest finished run only.
    assert library.prune(keep_days=0, max_bytes=5000) == [mid.id]
    assert {r.id for r in library.runs(owner=None)} == {flying.id, new.id}
    with pytest.raises(LibraryError, match="still in flight"):
        library.delete(flying.id)


def test_a_database_from_a_newer_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    Library(folder)
    conn = sqlite3.connect(folder / lib.DB_NAME)
    conn.execute(f"PRAGMA user_version = {len(lib.MIGRATIONS) + 5}")
    conn.commit()
    conn.close()
    before = (folder / lib.DB_NAME).read_bytes()
    with pytest.raises(LibraryError, match="newer version of Kling O1 Studio"):
        Library(folder)
    assert (folder / lib.DB_NAME).read_bytes() == before


def test_a_file_that_is_not_a_library_gets_a_clear_message(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / lib.DB_NAME).write_text("this is not a database at all, just text " * 50)
    with pytest.raises(LibraryError, match="not a Kling O1 Studio library"):
        Library(folder)


def test_a_folder_that_cannot_be_made_is_refused_and_the_studio_falls_back(tmp_path: Path) -> None:
    from kling_ui.runs.service import open_library

    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(LibraryError, match="cannot be written"):
        Library(blocker / "data")
    library, problem = open_library(str(blocker / "data"))
    assert problem and "temporary folder" in problem and library.root.is_dir()


def test_the_host_ledger_survives_a_restart_and_is_shared_by_two_processes(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    clock = lambda: 5 * 86400 + 100.0  # noqa: E731
    first = Guard(daily_budget_usd=1.0, runs_per_hour=2, clock=clock, ledger=Library(folder))
    first.admit("v", 0.56)
    # "Restart": a new Guard on a new Library over the same folder still sees the spend.
    second = Guard(daily_budget_usd=1.0, runs_per_hour=2, clock=clock, ledger=Library(folder))
    assert second.spent_today() == 0.56
    with pytest.raises(AccessError, match="budget"):
        second.admit("w", 0.56)
    second.admit("v", 0.40)
    with pytest.raises(AccessError, match="2 runs per visitor per hour"):
        first.admit("v", 0.01)


def _admit_many(folder: str, visitor: str, n: int) -> None:
    guard = Guard(ledger=Library(folder))
    for _ in range(n):
        guard.admit(visitor, 0.01)


def test_two_processes_writing_at_once_leave_a_whole_database(tmp_path: Path) -> None:
    folder = str(tmp_path / "data")
    Library(folder)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_admit_many, args=(folder, f"v{i}", 100)) for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    conn = sqlite3.connect(Path(folder) / lib.DB_NAME)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*) FROM admissions").fetchone()[0] == 200


def test_the_database_and_the_browser_secret_are_never_served(tmp_path: Path) -> None:
    library = Library(tmp_path / "data")
    # A new folder has no browser secret (the library key is a cookie now: issue #20)...
    assert library.legacy_browser_secret() is None
    assert not (library.root / lib.SECRET_NAME).exists()
    # ...an old one keeps its secret, to adopt old pages' keys, and never serves it.
    (library.root / lib.SECRET_NAME).write_text("old-secret\n", encoding="utf-8")
    assert Library(tmp_path / "data").legacy_browser_secret() == "old-secret"
    assert str(library.root / lib.SECRET_NAME) in library.private_paths()
    assert str(library.path) in library.private_paths()


def test_an_adopted_key_takes_its_runs_along(tmp_path: Path) -> None:
    library = Library(tmp_path / "data")
    ids = [make_run(library, owner=owner).id for owner in ("lib:old", "lib:old", "lib:other")]
    assert library.reassign("lib:old", "lib:new") == 2
    assert sorted(r.id for r in library.runs(owner="lib:new")) == sorted(ids[:2])
    assert library.runs(owner="lib:old") == []
    assert [r.id for r in library.runs(owner="lib:other")] == ids[2:]
    assert library.reassign("", "lib:new") == library.reassign("lib:new", "lib:new") == 0
