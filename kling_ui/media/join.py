"""Joining clips into one MP4: one size, one constant frame rate, continuous sound.

`plan_join` is the arithmetic and the checks (pure, over `VideoInfo`s and their frame counts);
`join_clips` runs it as ONE ffmpeg `filter_complex`:

- every clip is conformed to the target: frame rate first (so frames that will be dropped are
  never scaled), then scaled to fit and letter/pillar-boxed (black bars), square pixels, yuv420p;
  ffmpeg applies each clip's rotation metadata as it decodes;
- every clip brings exactly its own length of sound: its audio padded or cut to its picture, or
  silence when it has none, so the joined audio runs from the first frame to the last;
- hard cuts (`crossfade` 0): a short fade out/in of the sound at each cut (`AUDIO_FADE`) so the
  cut does not click. A true audio crossfade at a hard cut would need sound from beyond a clip's
  end; overlapping instead would pull each later clip's sound ahead of its picture;
- crossfades (`crossfade` > 0, rounded to whole frames): `xfade` for the picture and
  `acrossfade` over the same span for the sound, so both stay in step; the result lasts the sum
  of the clips less one crossfade per join.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..core.errors import InputError, MediaError
from ..core.models import VideoInfo
from .ffmpeg import run_ffmpeg_progress

# Kling's output is always 24 fps (kling-o1.md), so a sequence of results joins without any
# frame rate conversion; pass fps=None to follow the first clip instead.
DEFAULT_FPS = 24.0
# One ffmpeg run opens every clip at once (one decoder each); 20 clips of up to 10 s is a
# three-minute sequence, well past what people assemble from Kling shots.
MAX_CLIPS = 20
AUDIO_FADE = 0.03  # s of fade out/in at a hard cut: long enough to stop a click, too short to hear
AUDIO_RATE = 48_000
# x264 "ultrafast" at CRF 20: quality stays clean, files are larger (about 12 Mbit/s at 1080p).
# On 2 cores "veryfast" encodes 1080p about 4x slower, which alone misses the 0.5x real-time
# target of issue #14 (bench/ figure 7 measures the join).
PRESET = "ultrafast"
CRF = 20
JOIN_TIMEOUT = 900.0  # seconds; 20 x 10 s of 1080p at the bench's speed takes about 70 s
# The joined clip's size (issue #24): the first clip's (the default), the largest clip's (by
# area), or the first clip's shape at 1080p / 720p (its short side 1080 / 720 px). Every other
# clip is fitted inside with black bars, never cropped.
SIZES = ("first", "largest", "1080p", "720p")


@dataclass(frozen=True)
class JoinPlan:
    """What the joined clip will be: its size and rate, and each clip's length in frames."""

    width: int
    height: int
    fps: float
    frames: tuple[int, ...]  # each clip's length at `fps`
    crossfade_frames: int

    @property
    def crossfade(self) -> float:
        return self.crossfade_frames / self.fps

    @property
    def total_frames(self) -> int:
        return sum(self.frames) - self.crossfade_frames * (len(self.frames) - 1)

    @property
    def duration(self) -> float:
        return self.total_frames / self.fps


def _even(n: float) -> int:
    return max(2, int(round(n / 2)) * 2)


def output_size(infos: Sequence[VideoInfo], choice: str = "first") -> tuple[int, int]:
    """The joined clip's (width, height) for a `SIZES` choice, over the clips' displayed sizes.

    InputError for a choice not in `SIZES`. "1080p"/"720p" keep the first clip's shape: a 16:9
    first clip gives 1920x1080 / 1280x720, a 9:16 one 1080x1920 / 720x1280, a square 1080x1080.
    """
    if choice not in SIZES:
        raise InputError(f"The output size {choice!r} is not one of {', '.join(SIZES)}; pick one "
                         "of those.")
    first = infos[0]
    if choice == "first":
        return first.width, first.height
    if choice == "largest":
        big = max(infos, key=lambda i: i.width * i.height)  # the first of equals
        return big.width, big.height
    short = 1080 if choice == "1080p" else 720
    w, h = first.width, first.height
    if w >= h:
        return _even(w * short / h), short
    return short, _even(h * short / w)


def check_count(count: int) -> None:
    """InputError unless 2..MAX_CLIPS clips are to be joined."""
    if count < 2:
        got = "no clip" if count == 0 else "only one clip"
        raise InputError(f"Joining needs at least 2 clips; got {got}. Add the clips to join, "
                         "in order.")
    if count > MAX_CLIPS:
        raise InputError(f"{count} clips is more than the {MAX_CLIPS} one sequence can join. "
                         f"Join up to {MAX_CLIPS}, then join the results.")


def plan_join(
    infos: Sequence[VideoInfo],
    durations: Sequence[float],
    *,
    crossfade: float = 0.0,
    size: tuple[int, int] | None = None,
    fps: float | None = DEFAULT_FPS,
) -> JoinPlan:
    """Check the join and say what it will make. InputError with a message a person can act on.

    `durations` are the clips' picture lengths (s); `size` defaults to the first clip's displayed
    size, `fps` None to the first clip's rate.
    """
    check_count(len(infos))
    first = infos[0]
    rate = float(fps) if fps else first.fps
    if not 1 <= rate <= 120:
        raise InputError(f"A frame rate of {rate:g} fps cannot be used; pick 1 to 120 (24 is "
                         "Kling's own).")
    width, height = size or (first.width, first.height)
    if not (16 <= width <= 7680 and 16 <= height <= 7680):
        raise InputError(f"A size of {width}x{height} cannot be used; pick 16 to 7680 px a side.")
    frames = tuple(max(1, round(d * rate)) for d in durations)
    if crossfade < 0:
        raise InputError(f"The crossfade must be 0 s or more, not {crossfade:g} s.")
    fade_frames = round(crossfade * rate)
    if crossfade > 0:
        shortest = min(range(len(frames)), key=lambda i: frames[i])
        limit = frames[shortest] // 2
        if fade_frames > limit:
            length = frames[shortest] / rate
            raise InputError(
                f"A crossfade of {crossfade:g} s is longer than half the shortest clip (clip "
                f"{shortest + 1} lasts {length:.2f} s); use at most {limit / rate:.2f} s.")
    return JoinPlan(width=_even(width), height=_even(height), fps=rate, frames=frames,
                    crossfade_frames=fade_frames)


def _graph(infos: Sequence[VideoInfo], plan: JoinPlan) -> str:
    w, h, fps = plan.width, plan.height, plan.fps
    audio_fmt = f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo"
    parts: list[str] = []
    last = len(infos) - 1
    for i, (info, n) in enumerate(zip(infos, plan.frames, strict=True)):
        seconds = n / fps
        parts.append(
            f"[{i}:v:0]setpts=PTS-STARTPTS,fps={fps:g},"
            f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p,"
            # a clip whose last frame ends early is held on that frame to its full length
            f"tpad=stop_mode=clone:stop_duration={2 / fps:.6f},trim=end_frame={n},"
            f"setpts=PTS-STARTPTS[v{i}]")
        if info.has_audio:
            sound = (f"[{i}:a:0]asetpts=PTS-STARTPTS,aresample={AUDIO_RATE},{audio_fmt},"
                     f"apad=whole_dur={seconds:.6f},atrim=end={seconds:.6f}")
        else:
            sound = f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=end={seconds:.6f},{audio_fmt}"
        if plan.crossfade_frames == 0:
            if i > 0:
                sound += f",afade=t=in:d={AUDIO_FADE}"
            if i < last:
                sound += f",afade=t=out:st={seconds - AUDIO_FADE:.6f}:d={AUDIO_FADE}"
        parts.append(sound + f",asetpts=PTS-STARTPTS[a{i}]")
    if plan.crossfade_frames == 0:
        pairs = "".join(f"[v{i}][a{i}]" for i in range(len(infos)))
        parts.append(f"{pairs}concat=n={len(infos)}:v=1:a=1[v][a]")
        return ";".join(parts)
    fade = plan.crossfade
    length = plan.frames[0]
    v, a = "v0", "a0"
    for i in range(1, len(infos)):
        offset = (length - plan.crossfade_frames) / fps
        vout, aout = ("v", "a") if i == last else (f"x{i}", f"y{i}")
        parts.append(f"[{v}][v{i}]xfade=transition=fade:duration={fade:.6f}:offset={offset:.6f}"
                     f"[{vout}]")
        parts.append(f"[{a}][a{i}]acrossfade=d={fade:.6f}:c1=tri:c2=tri[{aout}]")
        length += plan.frames[i] - plan.crossfade_frames
        v, a = vout, aout
    return ";".join(parts)


def join_args(infos: Sequence[VideoInfo], plan: JoinPlan, out_path: str, *,
              preset: str = PRESET) -> list[str]:
    """The ffmpeg arguments (without the binary) of one join."""
    inputs: list[str] = []
    for info in infos:
        inputs += ["-i", info.path]
    return [*inputs, "-filter_complex", _graph(infos, plan), "-map", "[v]", "-map", "[a]",
            "-frames:v", str(plan.total_frames), "-fps_mode", "cfr",
            "-c:v", "libx264", "-preset", preset, "-crf", str(CRF), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-y", out_path]


def join_clips(
    infos: Sequence[VideoInfo],
    durations: Sequence[float],
    out_path: str,
    *,
    crossfade: float = 0.0,
    size: tuple[int, int] | None = None,
    fps: float | None = DEFAULT_FPS,
    preset: str = PRESET,
    on_progress: Callable[[float], None] | None = None,
) -> JoinPlan:
    """Join the clips, in order, into `out_path` (MP4, H.264 + AAC); returns what was made.

    `durations` are the clips' picture lengths in seconds (`FrameClock.duration`). InputError
    for a join that cannot be done (see `plan_join`), MediaError when ffmpeg fails.
    """
    plan = plan_join(infos, durations, crossfade=crossfade, size=size, fps=fps)
    run_ffmpeg_progress(join_args(infos, plan, out_path, preset=preset), duration=plan.duration,
                        on_progress=on_progress, timeout=JOIN_TIMEOUT, what="Joining the clips")
    if not os.path.isfile(out_path) or os.path.getsize(out_path) == 0:
        raise MediaError("Joining the clips produced no file.")
    return plan
