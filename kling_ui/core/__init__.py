"""The pure rules of the Studio: plain values and functions over them. No I/O.

    models    frozen dataclasses every layer speaks (`ImageInfo`, `VideoInfo`, `JobRequest`, ...)
    errors    the one error tree (`KlingError` -> `InputError`, `ApiError`, ...)
    config    settings read once from a mapping (the environment), and the `Secret` key wrapper
    rules     what Kling O1 accepts, as data, and the checks over it
    prompt    `<<<image_1>>>` tokens: insert, label, validate
    pricing   what a run costs, from the price table
    payload   a `JobRequest` as Replicate's input JSON
    naming    output file names
    snippets  the code a run can be repeated with (Python, curl)
    jobs      what a run is as plain values: the upload card, the spec, the checks, the result

May import: the standard library and `kling_ui.i18n` (messages carry their id). Never gradio,
httpx, PIL, sqlite or a subprocess; importing this package is cheap (tests/test_rules.py checks).
"""
