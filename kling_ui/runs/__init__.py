"""Running jobs: the `Studio` facade the UI calls and the parts it orchestrates.

    service   `Studio`: the small facade the UI calls; it builds the parts below and names
              their methods (probe -> validate -> fix -> upload -> create -> wait -> download)
    checks    checking inputs: probe (cached), check, preview, filmstrip, fix; a spec's preflight
    running   running: admit (cheap checks, quota), the line, the job itself, cancel
    journal   the run's row before each side effect; a disk too full; quota given back
    outputs   a run's output named, tagged, measured; derived runs; settings read back; snippets
    routes    backends and keys: which client and key a job goes to; a pasted key checked
    speculative  the page's inputs uploaded before Run, claimed by the run that sends them
    reattach  finishing a run a restart interrupted (never a second prediction)
    runner    runs jobs on one event loop thread, with progress and cancel anywhere
    pool      the Studio's line: a few slots, positions, wait estimates
    resumer   at start-up, finishes the runs the last process left in flight
    files     a run's files on disk: inputs kept, outputs named, zips, pruning

May import: every package below it (`core`, `i18n`, `media`, `hosting`, `replicate`, `library`,
`finishing`). Never gradio or the UI: the UI calls in, never the other way.
"""
