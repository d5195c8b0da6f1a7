"""The library: every run kept, in one SQLite file. The only package with SQL.

    store    `Library`: the runs journal (a row before the paid request, updated at each step),
             leases, search, retention; rows come back as frozen `Run` dataclasses
    ledger   `Ledger`: the host's admissions (quota and budget), atomic across processes
    schema   `Database`: the file, WAL, one connection per thread, numbered migrations
             (`PRAGMA user_version`), short transactions
    shares   `Shares`: share links (issue #26), a row per shared run, deleted with it
    results  a row back as the Studio shows it: the `JobSpec` it was made from, its `JobResult`

May import: `kling_ui.core`, `kling_ui.i18n` and `kling_ui.hosting` (the quota ledger's `Usage`
values). Never gradio, httpx, media, runs or the UI.
"""
