"""The library: every run kept, in one SQLite file. The only package with SQL.

    store  `Library`: the schema, its numbered migrations (`PRAGMA user_version`), the runs
           journal (a row before the paid request, updated at each step), leases, the ledger
    results  a row back as the Studio shows it: the `JobSpec` it was made from, its `JobResult`

May import: `kling_ui.core`, `kling_ui.i18n` and `kling_ui.hosting` (the quota ledger's `Usage`
values). Never gradio, httpx, media, runs or the UI.
"""
