"""Benchmarks of the Studio against its peers and the limits (issue 6): `python -m bench`.

Each figure measures ours and its baseline in the same run, several times, and reports medians:

    job       (1) job overhead, our client vs the official `replicate` package   -> bench.job
    probe     (2) probe_video vs a bare `ffmpeg -i` header read                  -> bench.probe_cost
    upload    (3) peak RSS growth while uploading a 95 MB file                   -> bench.upload_mem
    doctor    (4) fixing a 10 s 4K60 clip to 1080p vs the clip's own length      -> bench.doctor
    load      (5) cheap-endpoint latency with 20 jobs in flight vs idle          -> bench.load
    startup   (6) `python app.py` to first HTTP 200 vs a bare gr.Blocks app      -> bench.startup

`bench.stats` holds the pure parts (median, percentiles, ratios, the table); `bench.media` makes
the clips with the bundled ffmpeg; `bench.procs` starts the simulator and apps as child processes,
so the process being measured never shares its interpreter (GIL, heap) with the server it talks to.
"""
