"""The service side of media work on results: what happens after a run.

    results   motion report, splice back, comparison export (issue #13)
    sequence  a frame out of a result, and results joined into one clip (issue #14)

Every call is async and runs its ffmpeg work in the bounded media pool (`hosting.bounds`).
May import: `kling_ui.core`, `kling_ui.i18n`, `kling_ui.media`, `kling_ui.hosting`. Never gradio,
the library, replicate, runs or the UI.
"""
