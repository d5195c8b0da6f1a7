"""Media: the only package that reads media files with Pillow or starts ffmpeg.

- `ffmpeg`:  locating and running the bundled ffmpeg binary (from the imageio-ffmpeg wheel).
- `probe`:   what an image or video really is (`ImageInfo`, `VideoInfo`), from headers.
- `fix`:     the input doctor: applies the remedies the rules core names.
- `preview`: browser-playable previews, poster frames, badge lines.
- `tags`:    a run's settings in its MP4's comment tag (stream copy, no re-encode).
- `render`:  the simulator's real mp4 outputs, rendered locally from the inputs.
- `frames`:  a frame clock (time <-> frame index) and exact single-frame grabs as PNG.
- `join`:    clips joined into one MP4 of one size and frame rate, sound throughout.
- `motion`:  the motion report: optical flow of output vs original, score, offset, drift, plot.
- `splice`:  the edited window put back into the whole original at its timecode.
- `comparison`: side-by-side / wipe / stacked comparison MP4s and a stills sheet.

May import: `kling_ui.core` (the values it probes into, the rules the doctor applies) and
`kling_ui.i18n`. Never gradio, httpx, the library, runs or the UI.
"""
