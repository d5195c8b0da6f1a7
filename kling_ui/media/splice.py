"""Splice back: the edited 3-10 s window put back into the whole clip it was cut from (issue #13).

One ffmpeg run, one filter graph. The original plays as the base layer, untouched, at its own
frame rate and size; the edited clip is brought to that rate and size (scaled to fit, letter- or
pillar-boxed in black), shifted to the window's timecode and laid over it only inside the window.
Frames outside the window are therefore the original's own frames, re-encoded once, and the
result is exactly as long as the original. The encode keeps the original's quality at about its
size (issue #24: ultrafast CRF 16 wrote 36 MB of Constrained Baseline for an 8.2 MB original):
x264 High profile at CRF 18, capped by a VBV rate at the original's own bitrate (x1.15), so a
well-compressed original is not inflated and a rich one is not starved.

Audio: "original" keeps the original's sound across the whole clip; "output" uses the edited
clip's sound inside the window and the original's outside it. An optional crossfade (seconds)
fades the edit in and out at both seams, for picture and sound alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..core.errors import InputError
from ..core.models import VideoInfo
from .ffmpeg import run_ffmpeg_progress

AUDIO_CHOICES = ("original", "output")
MAX_CROSSFADE = 2.0  # s; longer fades eat most of a 3 s window
CRF = "18"  # x264's "visually lossless" point; the VBV cap below keeps the size near the source's
PRESET = "veryfast"  # High profile (CABAC, B-frames): ultrafast is Constrained Baseline, ~3x the bytes
PROFILE = "high"
RATE_CAP = 1.15  # the video's peak rate: this times the original's average bitrate
MIN_KBPS = 400  # a floor for tiny or mostly-audio originals
AUDIO_KBPS = 192
END_SLACK = 0.25  # s; Kling's edit may run a few frames past the window it was made from
SPLICE_TIMEOUT = 900.0
MIN_WINDOW = 0.2  # s; an edit shorter than this is not worth a splice


def _fps_text(fps: float) -> str:
    """ffmpeg's rate for the original: NTSC rates as fractions so no frame drifts."""
    for num, den in ((24000, 1001), (30000, 1001), (60000, 1001)):
        if abs(fps - num / den) < 0.005:
            return f"{num}/{den}"
    return f"{fps:.6g}"


def check_splice(original: VideoInfo, edited: VideoInfo, start: float, length: float | None,
                 audio: str, crossfade: float) -> float:
    """The window's length; InputError for a window outside the original or bad options."""
    if audio not in AUDIO_CHOICES:
        raise InputError(f"audio must be one of {', '.join(AUDIO_CHOICES)} (got {audio!r}).")
    if not math.isfinite(start) or start < 0:
        raise InputError(f"The start ({start:g} s) must be 0 or more.")
    if start >= original.duration - MIN_WINDOW:
        raise InputError(f"The start ({start:.1f} s) is outside the original, which is "
                         f"{original.duration:.1f} s long. Give the start of the window the "
                         "edit was made from.")
    wanted = length if length else edited.duration
    left = original.duration - start
    if wanted > left + END_SLACK:
        # Never cut the edit short in silence (issue #24: start 18 with a 5 s edit gave 2 s).
        raise InputError(f"The edit is {wanted:.1f} s long but only {left:.1f} s of the "
                         f"original remain after {start:.1f} s: it would run past the end "
                         f"({original.duration:.1f} s). Start it at "
                         f"{max(0.0, original.duration - wanted):.1f} s or earlier.")
    window = min(wanted, left)
    if length and length > edited.duration + 1.0:
        raise InputError(f"The window is {length:.1f} s but the edited clip is only "
                         f"{edited.duration:.1f} s long.")
    if window < MIN_WINDOW:
        raise InputError("The window to replace is too short to splice.")
    if not math.isfinite(crossfade) or not 0 <= crossfade <= min(MAX_CROSSFADE, window / 2):
        raise InputError(f"crossfade must be between 0 and {min(MAX_CROSSFADE, window / 2):.1f} s "
                         f"(got {crossfade:g}).")
    if audio == "output" and not edited.has_audio:
        raise InputError("The edited clip has no sound; choose audio='original' to keep the "
                         "original's sound.")
    return window


def video_kbps(original: VideoInfo) -> int:
    """The original's video bitrate, from its size and length (its sound's share taken off)."""
    total = original.bytes * 8 / 1000 / max(original.duration, 0.1)
    video = total - (AUDIO_KBPS * 0.7 if original.has_audio else 0)
    return max(MIN_KBPS, int(video))


def encoder_args(original: VideoInfo) -> list[str]:
    """x264 High at CRF 18 under a VBV cap at the original's own rate."""
    cap = int(video_kbps(original) * RATE_CAP)
    return ["-c:v", "libx264", "-preset", PRESET, "-profile:v", PROFILE, "-crf", CRF,
            "-maxrate", f"{cap}k", "-bufsize", f"{2 * cap}k", "-pix_fmt", "yuv420p"]


def splice_args(original: VideoInfo, edited: VideoInfo, out: str, *, start: float, window: float,
                audio: str, crossfade: float) -> list[str]:
    """The ffmpeg arguments (pure: no file is touched)."""
    # x264 with 4:2:0 needs even sides: an odd-sized original loses its last row or column.
    w, h, rate = original.width // 2 * 2, original.height // 2 * 2, _fps_text(original.fps)
    end = start + window
    fit = (f"scale={w}:{h}:force_original_aspect_ratio=decrease,"
           f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1")
    # Too short an edit is held on its last frame to fill the window; too long is cut.
    mid = (f"[1:v]fps={rate},{fit},tpad=stop_mode=clone:stop_duration={window:.3f},"
           f"trim=duration={window:.3f}")
    if crossfade > 0:
        mid += (f",format=yuva420p,fade=t=in:st=0:d={crossfade:.3f}:alpha=1,"
                f"fade=t=out:st={window - crossfade:.3f}:d={crossfade:.3f}:alpha=1")
    mid += f",setpts=PTS-STARTPTS+{start:.6f}/TB[mid]"
    even = f"crop={w}:{h}:0:0," if (w, h) != (original.width, original.height) else ""
    base = f"[0:v]fps={rate},{even}setsar=1,format=yuv420p[base]"
    over = (f"[base][mid]overlay=eof_action=pass:repeatlast=0:format=auto:"
            f"enable='between(t,{start:.6f},{end - 0.5 / max(original.fps, 1):.6f})',"
            "format=yuv420p[v]")
    graph = [base, mid, over]
    maps = ["-map", "[v]"]
    if audio == "output":
        if crossfade > 0:
            gain = (f"1-min(1,max(0,(t-{start:.6f})/{crossfade:.3f}))"
                    f"*min(1,max(0,({end:.6f}-t)/{crossfade:.3f}))")
        else:
            gain = f"1-between(t,{start:.6f},{end:.6f})"
        src = "[0:a]" if original.has_audio else "[2:a]"
        graph.append(f"{src}aresample=48000,aformat=channel_layouts=stereo,"
                     f"volume=eval=frame:volume='{gain}'[abase]")
        ins = f"[1:a]aresample=48000,aformat=channel_layouts=stereo,atrim=duration={window:.3f}"
        if crossfade > 0:
            ins += (f",afade=t=in:d={crossfade:.3f},"
                    f"afade=t=out:st={window - crossfade:.3f}:d={crossfade:.3f}")
        ins += f",asetpts=PTS-STARTPTS,adelay={int(round(start * 1000))}:all=1[ains]"
        graph += [ins, "[abase][ains]amix=inputs=2:normalize=0:duration=first[a]"]
        maps += ["-map", "[a]"]
    elif original.has_audio:
        maps += ["-map", "0:a:0"]
    inputs = ["-i", original.path, "-i", edited.path]
    if audio == "output" and not original.has_audio:  # silence under the edit's sound
        inputs += ["-f", "lavfi", "-t", f"{original.duration:.3f}",
                   "-i", "anullsrc=r=48000:cl=stereo"]
    has_audio = audio == "output" or original.has_audio
    return [*inputs, "-filter_complex", ";".join(graph), *maps,
            *encoder_args(original),
            *(["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k"] if has_audio else ["-an"]),
            "-t", f"{original.duration:.3f}", "-movflags", "+faststart", "-y", out]


def splice_back(original: VideoInfo, edited: VideoInfo, out: str, *, start: float,
                length: float | None = None, audio: str = "original", crossfade: float = 0.0,
                on_progress: Callable[[float], None] | None = None) -> str:
    """Write the original with [start, start + length) replaced by `edited` to `out`.

    `length` defaults to the edited clip's duration (cut at the original's end). Raises
    InputError for a window outside the original or bad options, MediaError if ffmpeg fails.
    """
    window = check_splice(original, edited, start, length, audio, crossfade)
    args = splice_args(original, edited, out, start=start, window=window, audio=audio,
                       crossfade=crossfade)
    run_ffmpeg_progress(args, duration=original.duration, timeout=SPLICE_TIMEOUT,
                        on_progress=on_progress,
                        what="Splicing the edit back into the clip")
    return out
