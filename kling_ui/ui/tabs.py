"""One tab per Kling O1 mode: its controls, upload cards, token chips, live checks, run and result.

`tab_layout.build_tab()` lays out a tab and returns its `TabUI`; `TabHandlers` holds the
event handlers (`tab_checks`: live checks, fixes, presets; `tab_run`: run, watch, reattach,
cancel), which only call the `Studio` and render what it answers; `wire_tab` connects them. Which controls a tab shows follows the
rules core (`rules.allowed_durations`, `rules.sends_aspect_ratio`) so the UI never offers a value
Kling would ignore or refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import gradio as gr

from ..i18n import t
from .common import guarded, progress_html
from .finish import wire_finish
from .quota import gate_handler
from .tab_layout import RUN_POOL, TabUI, live_status, model_changed, model_outputs
from .tab_run import TabRun
from .takes import (
    wire_takes,
)
from .visitor import Session


class TabHandlers(TabRun):
    """Event handlers for one tab; every one is `guarded` (errors become one clear message).
    The checks live in `tab_checks.TabChecks`, the run in `tab_run.TabRun`."""


def wire_tab(ui: TabUI, handlers: TabHandlers, session: gr.State, *, concurrency: int,
             on_result: Callable[..., Any], result_outputs: list[Any],
             result_inputs: list[Any] | None = None, page_load: Any = None,
             timer: Any = None) -> Any:
    """Connect one tab's events (returns the run event). UI-internal events are private.

    `timer` (the Library's) starts ticking when Run is pressed, so the Library follows the run.

    `page_load` (the page's `demo.load`, or the tab's `select` for a tab not shown first) also
    triggers the checks, through the same listener
    as every input's change: one listener with trigger_mode="always_last" never overlaps
    itself, so the last answer shown is always for the latest values.

    Events reading uploads skip Gradio's preprocessing (`preprocess=False`): gr.Image would open
    the file with Pillow first and fail with a generic error on a bad file; we want the Studio's
    own clear message. Gradio checks only the file values that carry its `meta` marker, so the
    edge checks every one: `StudioBlocks` before Gradio reads the payload, `spec_from` (through
    `edge.own_upload`) before a handler opens a file (issue #20).
    """
    inputs = handlers.input_components()
    refresh = guarded(handlers.refresh)
    # Every field's change, the clip's too, goes through this one listener: with two (the clip
    # had its own), checks another field started with the old clip in hand could answer after
    # the new clip's, and put the old clip's card back (CI's loaded box; issue #23).
    triggers = [comp.change for name, comp in ui.controls.items() if not name.startswith("_")]
    # "always_last" everywhere a step reads the fields: Gradio's default for a `.then` ("once")
    # drops a trigger while the same step is still pending, so a second clip dropped while the
    # first's checks were queued (a loaded CI box, a slow phone) kept the first's card for good.
    quiet = {"api_visibility": "private", "show_progress": "hidden", "trigger_mode": "always_last"}
    private = {**quiet, "preprocess": False}
    checks_on = [page_load, *triggers] if page_load is not None else triggers
    refreshed = gr.on(checks_on, refresh, inputs=inputs, outputs=handlers.outputs_refresh(),
                      **private)
    # Run off, with why, for a visitor the host would refuse (issue #24; ui/quota.py).
    gate = {"fn": gate_handler(handlers.studio), "inputs": [session, ui.checks],
            "outputs": [ui.run, ui.checks], **quiet}
    refreshed.then(**gate)
    # Then what Run would send goes up in the background (issue #22; runs.speculative).
    speculate = {"fn": guarded(handlers.speculate), "inputs": [session, *inputs],
                 "outputs": None, **private}
    refreshed.then(**speculate)
    if ui.player is not None:
        # A new clip: Run is disabled at once (no queue), the card follows within a second
        # (the checks above), then the preview is made in the background (issue #12).
        preview = guarded(handlers.preview)
        refreshed.then(preview, inputs=inputs, outputs=[ui.player], **private)
        carded = ui.controls["reference_video"].change(
            handlers.checking, inputs=[ui.controls["reference_video"]],
            outputs=[ui.run, ui.checks], queue=False, preprocess=False,
            api_visibility="private", show_progress="hidden")
        if "_trimmer" in ui.controls:
            # The filmstrip is made beside the card, its own one listener (the only one that
            # draws the strip); the window the user picks goes into the start/length controls,
            # whose change runs the checks again.
            trimmer = ui.controls["_trimmer"]
            carded.then(guarded(handlers.filmstrip), inputs=inputs, outputs=[trimmer], **private)
            fine = [ui.controls["video_start"].input, ui.controls["video_length"].input]
            gr.on(fine, guarded(handlers.window), inputs=inputs, outputs=[trimmer], **private)
            trimmer.trim(handlers.trim, inputs=None,
                         outputs=[ui.controls["video_start"], ui.controls["video_length"]],
                         api_visibility="private", show_progress="hidden", queue=False)
    # Another model: only what differs changes, at once (no queue; pure), then the checks above.
    model_in = [ui.controls["model"]] + ([ui.controls["duration"]] if "duration" in ui.controls
                                         else [])
    ui.controls["model"].change(partial(model_changed, ui), inputs=model_in,
                                outputs=model_outputs(ui), queue=False, show_progress="hidden",
                                api_visibility="private")
    for slot, btn in ui.fix_buttons.items():
        btn.click(handlers.fix_handler(slot), inputs=inputs, outputs=ui.controls[slot],
                  api_visibility="private", preprocess=False)
    for btn, preset in ui.presets:
        # Fills the tab at once: Gradio's tracker only flashed over every field (issue #23).
        btn.click(handlers.preset_handler(preset), inputs=None, outputs=inputs,
                  api_visibility="private", show_progress="hidden")
    # Cancel is live only while a run is: set around the run, outside its handler, and in
    # order (a run that fails at once must not be followed by a late "enable").
    # The validator refuses a click that beat the checks (Run is disabled while one fails).
    assert ui.takes is not None  # noqa: S101 - build_tab makes one for every tab
    # The click answers at once (no queue): Cancel goes live and the status leaves the last
    # run's "Done" for "Checking your inputs" (on a phone the run's first update came ~4 s later).
    ticks = timer is not None

    def clicked(s: Session, *_: Any) -> list[Any]:
        # A second click while this tab's run goes on starts nothing (Gradio skips an event
        # still running): the live status stays, and says so until it next changes.
        live = handlers.running(s)
        if live is not None:
            status = live_status(live, note=t("status.still_running"))
            return [gr.skip(), status, *([gr.skip()] if ticks else [])]
        return [gr.Button(interactive=True),
                progress_html(None, 0.0, message=t("status.checking_inputs")),
                *([gr.Timer(active=True)] if ticks else [])]

    started = ui.run.click(clicked, inputs=[session, *inputs],
                           outputs=[ui.cancel, ui.progress, *([timer] if timer else [])],
                           validator=guarded(handlers.validate),
                           queue=False, api_visibility="private", show_progress="hidden",
                           preprocess=False)
    run_event = started.then(
        guarded(handlers.run), inputs=[session, *inputs],
        outputs=[*handlers.outputs_run(), *ui.takes.outputs, ui.run],
        api_visibility="private", concurrency_id=RUN_POOL, concurrency_limit=None,
        # The status box is the run's own progress (stage, detail, place in line, elapsed):
        # Gradio's tracker on it only flashed "queue: 1/1 | 0.1/10.4s" at Run (issue #23).
        preprocess=False, show_progress="hidden")
    run_event.then(lambda: gr.Button(interactive=False), inputs=None, outputs=[ui.cancel],
                   queue=False, api_visibility="private", show_progress="hidden")
    run_event.then(**gate)  # that run may have been the last one left
    wire_takes(ui.takes, handlers.takes, session,
               after=(on_result, [session, *(result_inputs or [])], result_outputs))
    handlers._after_result = wire_finish(ui.finish, handlers.studio, run_event,
                                         compare=ui.compare, concurrency=concurrency)
    # `.then` runs after a failure too (as `.success` would not): the library shows either.
    run_event.then(on_result, inputs=[session, *(result_inputs or [])], outputs=result_outputs,
                   api_visibility="private", show_progress="hidden")
    # Cancel asks the runner to cancel the run this tab watches; the service cancels the
    # prediction and the watcher reports it (a confirmed "Canceled"). Nothing else cancels a
    # run: not a reload, not a closed tab (issue #10), so there is no `cancels=[run_event]`.
    ui.cancel.click(guarded(handlers.cancel), inputs=[session], outputs=[ui.progress, ui.cancel],
                    api_visibility="private", queue=False, show_progress="hidden")
    return run_event
