"""The motion report: does the output move the way the original did, frame by frame? (issue #13)

Kling O1 promises to keep "the original motion and timing". We check it the way a person would
look for it, but with numbers:

1. Decode the part of the original that was sent (its trim window) and the output to small grey
   frames at Kling's 24 fps (kling-o1.md), scaled down inside ffmpeg, read from a rawvideo pipe.
2. Dense optical flow (OpenCV's DIS) for every frame pair, averaged over a 4x4 grid: 16
   direction-aware motion vectors per frame pair, in fractions of the frame per second so clips
   of different sizes compare. Frame differences alone cannot tell reversed or mirrored motion
   from the original; flow vectors can (they point the other way).
3. The best time offset (centred cross-correlation of the two vector series within +-2 s), the
   `score` there (cosine similarity of the aligned series, clamped to 0..1: reversed or mirrored
   motion is negative and scores 0), the `drift` spans where a half-second window disagrees, and
   the audio offset from the two sound tracks' loudness envelopes.

Everything here is pure over arrays except `decode_grey`/`audio_envelope` (ffmpeg) and
`plot_report` (matplotlib, Agg backend, imported only when a plot is drawn).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..core.errors import InputError
from ..core.models import VideoInfo
from ..i18n import t
from .ffmpeg import pipe_ffmpeg

FPS = 24  # Kling's output is always 24 fps (kling-o1.md): both clips are compared at this rate
GREY_WIDTH = 192  # px; flow on 192x108 keeps a 10 s 1080p pair well under 0.5x real time
GRID = 4  # motion vectors per frame pair: GRID x GRID cells, each a mean (dx, dy)
MAX_LAG_S = 2.0  # the offset search spans +-2 s ...
MAX_LAG_SHARE = 0.3  # ... but never more than 30% of the shorter clip (keeps an overlap)
# A shifted alignment must be convincing: smooth, unrelated motions (two slow pans) correlate
# at some lag by chance, up to ~0.55 in our tests; a real delay correlates at ~1.
LAG_MIN_CORR = 0.6
WINDOW_S = 0.5  # drift is judged over half-second windows
DRIFT_BELOW = 0.5  # a window whose motion agrees less than this (cosine) is drifting
MIN_DRIFT_S = 0.5  # shorter disagreements are flow noise, not drift
STILL = 0.01  # RMS speed (frames per second) below which a window counts as still
MIN_SECONDS = 1.0  # fewer than this of either clip cannot be compared
ALIGN_SLACK_S = 3.0  # longer length differences than this cannot be aligned
MAX_SECONDS = 120.0  # Kling makes 3-10 s; longer "outputs" are a wrong file (and ~20 MB/min)
AUDIO_RATE = 8000  # Hz, mono: enough for a loudness envelope
ENVELOPE_HZ = 100  # envelope samples per second (10 ms)
DECODE_TIMEOUT = 300.0


@dataclass(frozen=True)
class MotionReport:
    """What the report says; `figures()` is the JSON shown in the summary under `motion`."""

    score: float
    offset_s: float | None  # None: no offset within +-lag_limit_s lines the clips up
    drift: list[tuple[float, float]]
    frames_original: int
    frames_output: int
    duration_original: float
    duration_output: float
    audio_offset_s: float | None
    speed_ratio: float | None  # output's speed over the original's (1.0 = as fast)
    # per frame pair mean (dx, dy) in frame widths/heights per second, for the plot
    curve_original: np.ndarray = field(repr=False, compare=False)
    curve_output: np.ndarray = field(repr=False, compare=False)
    lag_limit_s: float = MAX_LAG_S  # the offset search spanned +-this
    audio_missing: bool = False  # both had sound with loudness changes, but no offset fit
    audio_limit_s: float = MAX_LAG_S
    speed_fitted: bool = False  # the output plays the original's motion at another speed

    def figures(self) -> dict[str, Any]:
        figs: dict[str, Any] = {
            "score": round(self.score, 3),
            "offset_s": None if self.offset_s is None else round(self.offset_s, 3),
            "drift": [[round(a, 2), round(b, 2)] for a, b in self.drift],
            "frames_original": self.frames_original,
            "frames_output": self.frames_output,
            "duration_original": round(self.duration_original, 3),
            "duration_output": round(self.duration_output, 3),
            "audio_offset_s": None if self.audio_offset_s is None else round(self.audio_offset_s, 3),
            "speed_ratio": None if self.speed_ratio is None else round(self.speed_ratio, 3),
            "speed_fitted": self.speed_fitted,
            "lag_limit_s": round(self.lag_limit_s, 2),
        }
        if self.offset_s is None:
            figs["offset_note"] = t("motion.offset_missing", "en", limit=self.lag_limit_s)
        if self.audio_missing:
            figs["audio_limit_s"] = round(self.audio_limit_s, 2)
            figs["audio_note"] = t("motion.audio_missing", "en", limit=self.audio_limit_s)
        figs["verdict"] = verdict(figs)
        return figs


KEPT, PARTLY = 0.8, 0.5  # scores from which the motion reads as kept, or partly kept
SPEED_SHOWN = 0.05  # speed differences below 5% are not worth a word


def is_pace(figures: dict[str, Any]) -> bool:
    """Whether `speed_ratio` is a pace (a fitted speed) rather than how much the output moves
    per frame: an edge-drawn edit of the same clip moves 0.8x as much and read "1.24x slower"
    beside two equal durations. Figures saved before `speed_fitted` read as they did then."""
    return bool(figures.get("speed_fitted", True))


def verdict(figures: dict[str, Any], lang: str = "en") -> str:
    """One line a person reads first: "motion kept, 1.25x faster", "motion not kept, ..."."""
    score = float(figures.get("score") or 0.0)
    key = "motion.kept" if score >= KEPT else "motion.partly" if score >= PARTLY else "motion.not_kept"
    parts = [t(key, lang)]
    speed = figures.get("speed_ratio")
    if speed and is_pace(figures) and score >= PARTLY and abs(speed - 1) >= SPEED_SHOWN:
        parts.append(t("motion.faster", lang, speed=speed) if speed > 1
                     else t("motion.slower", lang, speed=1 / speed))
    offset = figures.get("offset_s")
    if offset is None:
        parts.append(t("motion.no_offset", lang))
    elif abs(offset) >= 0.05:
        parts.append(t("motion.later", lang, offset=offset) if offset > 0
                     else t("motion.earlier", lang, offset=-offset))
    return t("motion.joiner", lang).join(parts)


# ---------------------------------------------------------------------------------------------
# Decoding (ffmpeg does the resampling and scaling: Python only sees 192-px grey frames)
# ---------------------------------------------------------------------------------------------

def grey_size(width: int, height: int) -> tuple[int, int]:
    """The small frame both clips are decoded to, following the output's shape (even sides)."""
    aspect = width / height if height else 16 / 9
    w = GREY_WIDTH if aspect >= 1 else max(GRID * 8, int(round(GREY_WIDTH * aspect / 2)) * 2)
    h = max(GRID * 8, int(round(w / aspect / 2)) * 2)
    return w, h


def _window(start: float, length: float | None) -> list[str]:
    args = ["-ss", f"{start:.3f}"] if start > 0 else []
    return [*args, "-t", f"{length:.3f}"] if length else args


def decode_grey(path: str, size: tuple[int, int], *, start: float = 0.0,
                length: float | None = None) -> np.ndarray:
    """Frames of `path` from `start` for `length` s at 24 fps, grey, `size`: (n, h, w) uint8."""
    w, h = size
    data = pipe_ffmpeg(
        [*_window(start, length), "-i", path, "-an", "-sn", "-dn",
         "-vf", f"fps={FPS},scale={w}:{h}:flags=area,format=gray",
         "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
        timeout=DECODE_TIMEOUT, what="Decoding frames for the motion report", background=True)
    n = len(data) // (w * h)
    return np.frombuffer(data[: n * w * h], dtype=np.uint8).reshape(n, h, w)


def audio_envelope(path: str, *, start: float = 0.0, length: float | None = None) -> np.ndarray:
    """Loudness (RMS) of the first sound track, 100 values per second."""
    data = pipe_ffmpeg(
        [*_window(start, length), "-i", path, "-vn", "-sn", "-dn", "-map", "0:a:0",
         "-ac", "1", "-ar", str(AUDIO_RATE), "-f", "s16le", "pipe:1"],
        timeout=DECODE_TIMEOUT, what="Decoding sound for the motion report", background=True)
    samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32) / 32768
    hop = AUDIO_RATE // ENVELOPE_HZ
    n = len(samples) // hop
    return np.sqrt((samples[: n * hop].reshape(n, hop) ** 2).mean(axis=1))


# ---------------------------------------------------------------------------------------------
# Pure: flow vectors, alignment, score, drift
# ---------------------------------------------------------------------------------------------

def flow_vectors(frames: np.ndarray) -> np.ndarray:
    """Per frame pair, GRID x GRID mean flow vectors: (n-1, GRID*GRID*2), frames per second.

    dx is in frame widths per second and dy in frame heights per second, so a pan across the
    whole frame in one second reads 1.0 at any size.
    """
    n, h, w = frames.shape
    if n < 2:
        return np.zeros((0, GRID * GRID * 2), dtype=np.float32)
    ch, cw = h // GRID, w // GRID
    scale = np.array([FPS / w, FPS / h], dtype=np.float32)
    out = np.empty((n - 1, GRID * GRID * 2), dtype=np.float32)
    # DIS (Kroeger et al. 2016) at its "fast" preset: ~1 ms a pair at this size on one core,
    # ten times quicker than Farneback for the same vectors. One OpenCV thread: at 192 px its
    # thread pool costs more than it gives, and the two clips already run side by side.
    cv2.setNumThreads(1)
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    buf = np.zeros((h, w, 2), np.float32)  # output only: DIS does not read it by default
    for i in range(n - 1):
        flow = np.asarray(dis.calc(frames[i], frames[i + 1], buf))
        # The median per cell: flat areas give wild vectors that a mean would follow.
        grid = flow[: ch * GRID, : cw * GRID].reshape(GRID, ch, GRID, cw, 2)
        cells = np.median(grid.transpose(0, 2, 1, 3, 4).reshape(GRID, GRID, ch * cw, 2), axis=2)
        out[i] = (cells * scale).reshape(-1)
    return out


def mean_curve(vectors: np.ndarray) -> np.ndarray:
    """The whole frame's mean (dx, dy) per frame pair, for the plot: (n, 2)."""
    if len(vectors) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    return vectors.reshape(len(vectors), -1, 2).mean(axis=1)


def _overlap(a: np.ndarray, b: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs a[t] with b[t + lag] (lag > 0: b is late)."""
    a0, b0 = max(0, -lag), max(0, lag)
    n = min(len(a) - a0, len(b) - b0)
    return a[a0: a0 + max(n, 0)], b[b0: b0 + max(n, 0)]


def _cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    """Uncentred cosine of two vector series; None when either has no motion at all."""
    na, nb = float(np.sqrt((a * a).sum())), float(np.sqrt((b * b).sum()))
    if na < 1e-6 or nb < 1e-6:
        return None
    return float((a * b).sum() / (na * nb))


def _centred(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two series (per channel means removed); 0 when flat."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    na, nb = float(np.sqrt((a * a).sum())), float(np.sqrt((b * b).sum()))
    if na < 1e-6 or nb < 1e-6:
        return 0.0
    return float((a * b).sum() / (na * nb))


def max_lag(n_a: int, n_b: int, rate: float) -> int:
    return int(min(MAX_LAG_S * rate, MAX_LAG_SHARE * min(n_a, n_b)))


def best_lag(a: np.ndarray, b: np.ndarray, limit: int) -> int | None:
    """The lag (in samples) where b follows a most closely, by centred correlation; None when
    no lag within +-limit lines them up.

    Ties go to the smaller lag. Lag 0 stays unless another lag matches convincingly: a series
    with no change over time (a steady pan) correlates the same at every lag, and unrelated
    smooth motions correlate a little at some lag by chance. A best match at the very edge of
    the search is not found (None): the true offset may lie beyond it (issue #24: a 2.5 s delay
    was reported as the 2 s edge), and so is a pair that correlates nowhere, lag 0 included.
    """
    best, best_r = 0, -math.inf
    for lag in range(-limit, limit + 1):
        x, y = _overlap(a, b, lag)
        if len(x) < 2:
            continue
        r = _centred(x, y) - 1e-4 * abs(lag)
        if r > best_r + 1e-9:
            best, best_r = lag, r
    zero = _centred(*_overlap(a, b, 0))
    if best_r >= LAG_MIN_CORR and best_r - zero >= 0.05:  # a clear peak away from 0
        return None if limit > 0 and abs(best) >= limit - 1 else best
    if zero >= LAG_MIN_CORR or _flat(a) or _flat(b):
        return 0  # aligned as they are, or nothing changes over time to align
    return None


def _flat(a: np.ndarray) -> bool:
    """No change over time worth aligning: the series' spread is tiny next to its level."""
    spread = float(np.sqrt(((a - a.mean(axis=0)) ** 2).sum(axis=1).mean()))
    return spread < 1e-6 or spread < 0.05 * float(np.sqrt((a * a).sum(axis=1).mean()))


SPEEDS = np.round(np.arange(0.5, 2.0001, 0.01), 2)  # output speed / original speed, tried
SPEED_MIN_SCORE = 0.7  # a speed change must explain the motion this well ...
SPEED_GAIN = 0.1  # ... and better than any plain offset by this much


def warp(orig: np.ndarray, speed: float, n: int) -> tuple[np.ndarray, int]:
    """The original's vectors as an output `speed` times as fast would show them, for the
    output's first pairs: (warped (m, k), m); the motion per frame grows with the speed."""
    src = np.arange(n, dtype=np.float64) * speed
    m = int(np.searchsorted(src, len(orig) - 1, side="right"))
    i0 = np.minimum(src[:m].astype(int), len(orig) - 2)
    frac = (src[:m] - i0)[:, None].astype(np.float32)
    return (orig[i0] * (1 - frac) + orig[i0 + 1] * frac) * speed, m


def speed_fit(orig: np.ndarray, out: np.ndarray) -> tuple[float, float]:
    """(speed, cosine) of the speed at which the output best replays the original's motion,
    both starting together (a sped-up or slowed edit of the same window)."""
    best_s, best_c = 1.0, -1.0
    for speed in SPEEDS:
        warped, m = warp(orig, float(speed), len(out))
        if m < FPS:  # less than a second in common
            continue
        c = _cosine(warped, out[:m])
        if c is not None and c > best_c + 1e-6:
            best_s, best_c = float(speed), c
    return best_s, best_c


def _local_agreement(a: np.ndarray, b: np.ndarray, window: int) -> np.ndarray:
    """Per aligned frame pair, the cosine of the two series over a centred window."""
    n = len(a)
    out = np.ones(n, dtype=np.float32)
    half = max(1, window // 2)
    for i in range(n):
        x, y = a[max(0, i - half): i + half + 1], b[max(0, i - half): i + half + 1]
        still_a = float(np.sqrt((x * x).sum(axis=1).mean())) < STILL
        still_b = float(np.sqrt((y * y).sum(axis=1).mean())) < STILL
        if still_a and still_b:
            continue  # both still: they agree
        cos = None if still_a or still_b else _cosine(x, y)
        out[i] = 0.0 if cos is None else cos
    return out


def drift_spans(agreement: np.ndarray, first_output_pair: int) -> list[tuple[float, float]]:
    """Runs of disagreement (below DRIFT_BELOW for MIN_DRIFT_S or more), in output seconds."""
    spans: list[tuple[float, float]] = []
    low = np.append(agreement < DRIFT_BELOW, False)
    start: int | None = None
    for i, flag in enumerate(low):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if (i - start) / FPS >= MIN_DRIFT_S:
                spans.append(((start + first_output_pair) / FPS, (i + first_output_pair + 1) / FPS))
            start = None
    return spans


@dataclass(frozen=True)
class Comparison:
    """What two vector series say: the score, the lag (None: not found), per aligned pair the
    local agreement, the speed ratio, and whether a speed change (not a lag) explains them."""

    score: float
    lag: int | None
    agreement: np.ndarray
    speed_ratio: float | None
    speed_fitted: bool = False


def _score(x: np.ndarray, y: np.ndarray) -> float:
    speed_o = float(np.sqrt((x * x).sum(axis=1).mean())) if len(x) else 0.0
    speed_p = float(np.sqrt((y * y).sum(axis=1).mean())) if len(y) else 0.0
    if speed_o < STILL and speed_p < STILL:
        return 1.0  # neither moves: the output kept the stillness
    cos = None if speed_o < STILL or speed_p < STILL else _cosine(x, y)
    return 0.0 if cos is None else min(1.0, max(0.0, cos))


def compare_vectors(orig: np.ndarray, out: np.ndarray) -> Comparison:
    """Score, lag, local agreement and speed of the output's vectors against the original's."""
    found = best_lag(orig, out, max_lag(len(orig), len(out), FPS))
    x, y = _overlap(orig, out, found or 0)
    score = _score(x, y)
    if found is None and score >= PARTLY:
        found = 0  # no lag beats "as they are", and as they are the motion agrees
    speed_o = float(np.sqrt((x * x).sum(axis=1).mean())) if len(x) else 0.0
    speed_p = float(np.sqrt((y * y).sum(axis=1).mean())) if len(y) else 0.0
    ratio = speed_p / speed_o if speed_o >= STILL else None
    if ratio is not None and min(len(orig), len(out)) >= 2 * FPS:
        speed, cos = speed_fit(orig, out)
        if (abs(speed - 1) >= SPEED_SHOWN and cos >= SPEED_MIN_SCORE
                and cos >= score + SPEED_GAIN):
            warped, m = warp(orig, speed, len(out))
            return Comparison(min(1.0, cos), 0, _local_agreement(warped, out[:m],
                                                                 int(WINDOW_S * FPS)),
                              speed, speed_fitted=True)
    return Comparison(score, found, _local_agreement(x, y, int(WINDOW_S * FPS)), ratio)


def envelope_offset(a: np.ndarray, b: np.ndarray) -> tuple[float | None, bool]:
    """(seconds by which envelope b lags a, or None; whether a search was made and failed).
    None without a search when either has no loudness changes to align (any offset would be
    a guess); None after a search when no offset within the range lines them up."""
    if len(a) < ENVELOPE_HZ or len(b) < ENVELOPE_HZ:
        return None, False
    if float(a.std()) < 1e-3 or float(b.std()) < 1e-3:
        return None, False  # a steady tone or silence
    lag = best_lag(a[:, None], b[:, None], max_lag(len(a), len(b), ENVELOPE_HZ))
    return (None, True) if lag is None else (lag / ENVELOPE_HZ, False)


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------

def check_window(original: VideoInfo, output: VideoInfo, start: float,
                 length: float | None) -> float:
    """The length of the original's window to compare; InputError when it cannot be compared."""
    if start < 0 or not math.isfinite(start):
        raise InputError(f"The start ({start:g} s) must be 0 or more.")
    if start >= original.duration - MIN_SECONDS:
        raise InputError(f"The start ({start:.1f} s) is outside the original, which is "
                         f"{original.duration:.1f} s long. Give the start of the window that "
                         "was sent to Kling.")
    left = original.duration - start
    window = min(length or output.duration, left)
    if output.duration < MIN_SECONDS:
        raise InputError(f"The output is {output.duration:.2f} s long; at least "
                         f"{MIN_SECONDS:g} s is needed to compare motion.")
    if output.duration > MAX_SECONDS:
        raise InputError(f"The output is {output.duration:.0f} s long; the motion report "
                         f"compares clips of up to {MAX_SECONDS:.0f} s (Kling makes 3-10 s).")
    if abs(window - output.duration) > ALIGN_SLACK_S:
        raise InputError(f"The original's window is {window:.1f} s but the output is "
                         f"{output.duration:.1f} s: lengths this far apart cannot be aligned "
                         f"(at most {ALIGN_SLACK_S:g} s apart). Check the start and the files.")
    return window


def measure_motion(original: VideoInfo, output: VideoInfo, *, start: float = 0.0,
                   length: float | None = None) -> MotionReport:
    """Compare the output with the original's window [start, start + length) (length defaults
    to the output's duration). Raises InputError for windows that cannot be compared."""
    window = check_window(original, output, start, length)
    size = grey_size(output.width, output.height)
    with ThreadPoolExecutor(max_workers=2) as pool:  # two ffmpeg decoders side by side
        f_orig = pool.submit(decode_grey, original.path, size, start=start, length=window)
        f_out = pool.submit(decode_grey, output.path, size)
        frames_o, frames_p = f_orig.result(), f_out.result()
        # Flow of one clip while the other is still decoding or being flowed: cv2 frees the GIL.
        v_orig_f = pool.submit(flow_vectors, frames_o)
        v_out = flow_vectors(frames_p)
        v_orig = v_orig_f.result()
    if len(v_orig) < 2 or len(v_out) < 2:
        raise InputError("One of the clips has fewer than 3 frames to compare; is it a still "
                         "image or a damaged video?")
    cmp = compare_vectors(v_orig, v_out)
    audio: float | None = None
    audio_missing = False
    env_rate_len = 0
    if original.has_audio and output.has_audio:
        env_o = audio_envelope(original.path, start=start, length=window)
        env_p = audio_envelope(output.path)
        audio, audio_missing = envelope_offset(env_o, env_p)
        env_rate_len = min(len(env_o), len(env_p))
    lag = cmp.lag
    return MotionReport(
        score=cmp.score, offset_s=None if lag is None else lag / FPS,
        drift=drift_spans(cmp.agreement, max(0, lag or 0)),
        frames_original=len(frames_o), frames_output=len(frames_p),
        duration_original=window, duration_output=output.duration,
        audio_offset_s=audio, speed_ratio=cmp.speed_ratio,
        curve_original=mean_curve(v_orig), curve_output=mean_curve(v_out),
        lag_limit_s=max_lag(len(v_orig), len(v_out), FPS) / FPS,
        audio_missing=audio_missing,
        audio_limit_s=max_lag(env_rate_len, env_rate_len, ENVELOPE_HZ) / ENVELOPE_HZ,
        speed_fitted=cmp.speed_fitted)
