"""Running jobs: the `Studio` facade the UI calls and the parts it orchestrates.

    service  `Studio`: check inputs, run one job (probe -> validate -> fix -> upload -> create ->
             wait -> download), reattach, keys, derived runs
    runner   runs jobs on one event loop thread, with progress and cancel anywhere
    pool     the Studio's line: a few slots, positions, wait estimates
    resumer  at start-up, finishes the runs the last process left in flight
    files    a run's files on disk: inputs kept, outputs named, zips, pruning

May import: every package below it (`core`, `i18n`, `media`, `hosting`, `replicate`, `library`,
`finishing`). Never gradio or the UI: the UI calls in, never the other way.
"""
