"""The rules core: every limit of the chosen model, and validation that reports every problem.

Pure functions over `models` values: no file, clock, environment or network. What differs between
models (durations, image counts, audio, the storyboard) is read from the job's profile
(`profile.py`, issue #25); the constants below are Kling O1's, each citing its source in
shared/reference/kling-o1.md. Where sources disagree we follow the stricter Kling Omni API limits,
so a job we let through is not rejected after the user has paid.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..i18n import msg, problem
from .errors import InputError
from .models import ImageInfo, JobRequest, Problem, Shot, Tab, VideoInfo
from .profile import DEFAULT_PROFILE, QUALITIES, ModelProfile, get_profile
from .prompt import check_tokens, normalize_tokens

# Prompt: 1..2500 characters [Kling API doc; ComfyUI nodes], counted on the prompt as sent: Kling
# sees `<<<image_1>>>` (13 characters) where the user typed `@Image1` (7) (issue #11).
PROMPT_MAX_CHARS = 2500

# Images: jpg/jpeg/png, <= 10 MB, each side >= 300 px, aspect 1:2.5..2.5:1 [Kling Omni API doc].
# "10 MB" read as 10,000,000 bytes, the stricter of the decimal and binary readings.
IMAGE_FORMATS = ("JPEG", "PNG")
IMAGE_MAX_BYTES = 10_000_000
IMAGE_MIN_SIDE = 300
IMAGE_MAX_ASPECT = 2.5
# Counts: start + end + references <= 7 without a video, <= 4 with one [model page; Kling doc].
MAX_IMAGES_WITHOUT_VIDEO = 7
MAX_IMAGES_WITH_VIDEO = 4
# An end frame cannot be combined with more than 2 images in total [Kling Omni API doc].
MAX_IMAGES_WITH_END_FRAME = 2

# Video: mp4/mov, 3..10 s (ComfyUI accepts up to 10.05 s), each side 720..2160 px, 24..60 fps,
# <= 200 MB [Kling Omni API doc; model page].
VIDEO_CONTAINERS = ("mp4", "mov")
# Codecs we send as they are: H.264 plays everywhere; HEVC is accepted by Kling but is re-encoded
# for the browser preview only. Anything else is re-encoded to H.264 before upload.
VIDEO_CODECS = ("h264", "hevc")
VIDEO_MIN_SECONDS = 3.0
VIDEO_MAX_SECONDS = 10.05
VIDEO_MIN_SIDE = 720
VIDEO_MAX_SIDE = 2160
VIDEO_MIN_FPS = 24.0
VIDEO_MAX_FPS = 60.0
VIDEO_MAX_BYTES = 200_000_000
# Replicate's Files API: "Files must be less than 100MB in size" [replicate-openapi.yaml, POST
# /files, 413 example]; a maintainer once said 100 MiB [kling-o1.md, Files API]. We use the stricter
# reading, counted on the whole multipart request: a file is too large when it plus the envelope
# (boundaries, part headers with its name and type; well under 1 KB) reaches 100,000,000 bytes.
UPLOAD_REQUEST_MAX_BYTES = 100_000_000
MULTIPART_OVERHEAD_BYTES = 1024
UPLOAD_MAX_BYTES = UPLOAD_REQUEST_MAX_BYTES - MULTIPART_OVERHEAD_BYTES  # this size or more: shrink
UPLOAD_LIMIT_TEXT = "100 MB"

# Durations [Kling O1 (Omni) API doc, `duration`; kling-o1.md inputs table]: 3..10 s, except
# text-to-video and a start frame alone (image-to-video), which take 5 or 10 only. So Frames with
# an end frame, References and Video reference allow 3..10; a base edit has none (its output
# follows its input). Each model's durations are its profile's (profiles/*.json); O1's "5 or 10"
# set is named here for its message (durations_text).
DURATIONS_PLAIN = (5, 10)
DEFAULT_DURATION = 5


def _mb(n: int) -> float:
    """Megabytes for a message ("{mb:.1f} MB")."""
    return n / 1_000_000


def check_image(info: ImageInfo, field: str) -> list[Problem]:
    """Every problem with one image, each naming the doctor's fix where there is one."""
    problems: list[Problem] = []
    if info.animated:
        problems.append(problem(field, "rules.image.animated", fix="convert", frames=info.frames))
    if info.format not in IMAGE_FORMATS:
        problems.append(problem(field, "rules.image.format", fix="convert", format=info.format))
    elif info.mode not in ("RGB", "RGBA", "L"):
        problems.append(problem(field, "rules.image.mode", fix="convert", mode=info.mode))
    if info.orientation not in (0, 1):
        problems.append(problem(field, "rules.image.rotated", fix="rotate", severity="warning"))
    if info.has_metadata:
        # EXIF/XMP/text chunks can carry GPS, camera serials or arbitrary text (even script);
        # none of it helps Kling, so the doctor rewrites the pixels without it before upload.
        problems.append(problem(field, "rules.image.metadata", fix="convert", severity="warning"))
    if info.bytes > IMAGE_MAX_BYTES:
        problems.append(problem(field, "rules.image.too_big", fix="recompress", mb=_mb(info.bytes)))
    if min(info.width, info.height) < IMAGE_MIN_SIDE:
        problems.append(problem(field, "rules.image.too_small", fix="upscale", width=info.width,
                                height=info.height, min_side=IMAGE_MIN_SIDE))
    if info.height and info.width and not (
        1 / IMAGE_MAX_ASPECT <= info.width / info.height <= IMAGE_MAX_ASPECT
    ):
        problems.append(problem(field, "rules.image.aspect", fix="pad",
                                ratio=info.width / info.height))
    return problems


# The trim window [Kling's limits; media/fix.plan_video_fix cuts exactly this]: 3-10 s, inside
# the clip. `None` for its length means "up to 10 s" (the whole clip when it is short enough).
WINDOW_MIN_SECONDS = VIDEO_MIN_SECONDS
WINDOW_MAX_SECONDS = 10.0


def trim_window(duration: float, start: float = 0.0, length: float | None = None
                ) -> tuple[float, float]:
    """(start, end) in s of the window that is cut from a clip of `duration` s for the asked
    `start`/`length`: the start kept at least 3 s before the end, the length clamped to 3-10 s
    and to what is left of the clip. The one definition the doctor, the checks and the cost
    follow."""
    if duration <= WINDOW_MIN_SECONDS:
        return 0.0, max(0.0, duration)
    start = min(max(0.0, start), duration - WINDOW_MIN_SECONDS)
    if length is None:
        length = duration - start if start == 0 and duration <= VIDEO_MAX_SECONDS else (
            WINDOW_MAX_SECONDS)
    length = min(max(length, WINDOW_MIN_SECONDS), WINDOW_MAX_SECONDS, duration - start)
    return start, start + length


def window_cuts(info: VideoInfo, window: tuple[float, float | None] | None) -> bool:
    """True when the window asked for is less than the whole clip (so Run cuts it)."""
    if window is None or info.duration < WINDOW_MIN_SECONDS:
        return False
    start, end = trim_window(info.duration, *window)
    return start > 0.01 or end < info.duration - 0.01


def window_note(info: VideoInfo, window: tuple[float, float | None] | None) -> str | None:
    """ "will be cut to 1.0-6.0 s (5.0 s of 12.0 s) before upload", or None when nothing is cut."""
    if not window_cuts(info, window):
        return None
    assert window is not None  # noqa: S101 - window_cuts says so
    start, end = trim_window(info.duration, *window)
    return (f"will be cut to {start:.1f}-{end:.1f} s ({end - start:.1f} s of "
            f"{info.duration:.1f} s) before upload.")


def check_video(info: VideoInfo, field: str = "reference_video", *,
                window: tuple[float, float | None] | None = None,
                profile: ModelProfile | None = None) -> list[Problem]:
    """Every problem with the reference video, each naming the doctor's fix where there is one.

    With the trim `window` (start, length) the run will cut, the clip's own length is no
    problem: what is sent is the window (`window_note` says which), always 3-10 s.
    """
    limits = (profile or get_profile(DEFAULT_PROFILE)).video
    min_s, max_s = limits["min_seconds"], limits["max_seconds"]
    min_side, max_side = int(limits["min_side"]), int(limits["max_side"])
    problems: list[Problem] = []
    if info.container not in VIDEO_CONTAINERS or info.video_codec not in VIDEO_CODECS:
        problems.append(problem(field, "rules.video.format", fix="transcode",
                                container=info.container, codec=info.video_codec))
    if info.duration < min_s:
        problems.append(problem(field, "rules.video.too_short", duration=info.duration))
    elif info.duration > max_s and window is None:
        problems.append(problem(field, "rules.video.too_long", fix="trim", duration=info.duration))
    if info.width < 2 or info.height < 2:
        problems.append(problem(field, "rules.video.tiny", width=info.width, height=info.height))
    elif min(info.width, info.height) < min_side or max(info.width, info.height) > max_side:
        problems.append(problem(field, "rules.video.size", fix="scale", width=info.width,
                                height=info.height, min_side=min_side, max_side=max_side))
    if not (VIDEO_MIN_FPS <= info.fps <= VIDEO_MAX_FPS):
        problems.append(problem(field, "rules.video.fps", fix="fps", fps=info.fps))
    elif info.variable_fps:
        problems.append(problem(field, "rules.video.vfr", fix="fps", severity="warning"))
    if info.bytes >= UPLOAD_MAX_BYTES:
        limit = msg("rules.limit.kling") if info.bytes > limits["max_bytes"] else (
            msg("rules.limit.upload", size=UPLOAD_LIMIT_TEXT))
        problems.append(problem(field, "rules.video.too_big", fix="shrink", mb=_mb(info.bytes),
                                limit=limit))
    return problems


def allowed_durations(tab: Tab, *, end_frame: bool = False, model: str = DEFAULT_PROFILE
                      ) -> tuple[int, ...]:
    """Durations the duration control offers in `tab` for `model` (empty: the output follows
    the input). In Frames the choice depends on `end_frame`: for O1 a start frame alone is
    image-to-video (5 or 10)."""
    return get_profile(model).durations_for(tab.value, end_frame=end_frame)


def durations_for(job: JobRequest) -> tuple[int, ...]:
    return allowed_durations(job.tab, end_frame=job.end_image is not None, model=job.model)


def durations_text(choices: tuple[int, ...]) -> object:
    """ "5 or 10", "3 to 10", "3 to 15": the allowed durations as a message part."""
    if choices == DURATIONS_PLAIN:
        return msg("rules.duration.plain")
    if choices == tuple(range(choices[0], choices[-1] + 1)):
        return msg("rules.duration.range", lo=choices[0], hi=choices[-1])
    return ", ".join(str(c) for c in choices)


def keep_duration(value: int, choices: tuple[int, ...]) -> int:
    """`value` when allowed, else the nearest allowed one (ties go to the shorter, cheaper)."""
    if not choices or value in choices:
        return value
    return min(choices, key=lambda c: (abs(c - value), c))


def sends_aspect_ratio(job: JobRequest) -> bool:
    """aspect_ratio is ignored with a start image or a base edit, so we do not send it."""
    return job.tab is not Tab.EDIT and job.start_image is None


def sends_duration(job: JobRequest) -> bool:
    """duration is ignored for a base edit: the output follows the input's length."""
    return job.tab is not Tab.EDIT


def _structure(job: JobRequest, profile: ModelProfile) -> Iterable[Problem]:
    """Which inputs each tab needs and allows, and the count rules between them."""
    tab = job.tab
    video = job.reference_video
    if tab is Tab.TEXT and (job.images or video):
        yield problem("tab", "rules.text.no_media")
    if tab is Tab.FRAMES and job.start_image is None:
        yield problem("start_image", "rules.frames.need_start")
    if tab is Tab.REFERENCES and not job.reference_images:
        yield problem("reference_images", "rules.references.need_image")
    if tab in (Tab.FEATURE, Tab.EDIT) and video is None:
        yield problem("reference_video", "rules.video.needed")
    if tab not in (Tab.FEATURE, Tab.EDIT) and video is not None:
        yield problem("reference_video", "rules.video.not_here")
    if job.end_image is not None and job.start_image is None:
        yield problem("end_image", "rules.end.needs_start")
    if job.end_image is not None and len(job.images) > profile.max_images_with_end_frame:
        yield problem("end_image", "rules.end.too_many", limit=profile.max_images_with_end_frame,
                      n=len(job.images))
    if tab is Tab.EDIT and (job.start_image is not None or job.end_image is not None):
        yield problem("start_image", "rules.edit.no_frames")
    limit = (profile.max_images_with_video if video is not None
             else profile.max_images_without_video)
    if len(job.images) > limit:
        with_ = msg("rules.with_video") if video is not None else msg("rules.without_video")
        yield problem("reference_images", "rules.images.too_many", n=len(job.images), limit=limit,
                      with_=with_, extra=len(job.images) - limit)


def _settings(job: JobRequest, profile: ModelProfile) -> Iterable[Problem]:
    if job.quality not in QUALITIES:
        yield problem("mode", "rules.mode", value=repr(job.quality))
    if sends_aspect_ratio(job) and job.aspect_ratio not in profile.aspect_ratios:
        yield problem("aspect_ratio", "rules.aspect_ratio", ratios=", ".join(profile.aspect_ratios))
    durations = durations_for(job)
    if durations and job.duration not in durations:
        yield problem("duration", "rules.duration", allowed=durations_text(durations),
                      value=job.duration)


def sends_audio(job: JobRequest) -> bool:
    """`generate_audio` goes in the input when the model has native sound and no video is set
    (3.0 Omni: the two are mutually exclusive; kling-v3-omni.md)."""
    audio = get_profile(job.model).audio
    return audio is not None and not (audio.excludes_video and job.reference_video is not None)


def _model(job: JobRequest, profile: ModelProfile) -> Iterable[Problem]:
    """What the chosen model can do: native sound, and a storyboard (issue #25)."""
    if job.generate_audio and profile.audio is None:
        yield problem("generate_audio", "rules.model.no_audio", model=profile.name)
    elif job.generate_audio and not sends_audio(job):
        yield problem("generate_audio", "rules.audio.with_video", model=profile.name)
    if not job.shots:
        return
    board = profile.storyboard
    if board is None:
        yield problem("shots", "rules.model.no_storyboard", model=profile.name)
        return
    if job.tab not in (Tab.TEXT, Tab.FRAMES, Tab.REFERENCES):
        yield problem("shots", "rules.shots.tab")
        return
    if len(job.shots) > board.max_shots:
        yield problem("shots", "rules.shots.too_many", n=len(job.shots), limit=board.max_shots,
                      extra=len(job.shots) - board.max_shots)
    for i, shot in enumerate(job.shots, 1):
        text = sent_prompt(shot.prompt)
        if not text:
            yield problem(f"shots[{i}]", "rules.shots.empty", n=i)
        elif len(text) > board.shot_prompt_max_chars:
            yield problem(f"shots[{i}]", "rules.shots.too_long", n=i, chars=len(text),
                          limit=board.shot_prompt_max_chars)
        if shot.duration < board.min_shot_seconds:
            yield problem(f"shots[{i}]", "rules.shots.too_short", n=i, value=shot.duration,
                          min=board.min_shot_seconds)
        yield from check_tokens(shot.prompt, n_images=len(job.images),
                                has_video=job.reference_video is not None)
    total = sum(s.duration for s in job.shots)
    if total != job.duration:
        yield problem("shots", "rules.shots.total", total=total, duration=job.duration)


def sent_prompt(prompt: str) -> str:
    """The prompt exactly as it goes into the input (payload.build_input sends this)."""
    return normalize_tokens(prompt).strip()


def prompt_lengths(prompt: str) -> tuple[int, int]:
    """(characters typed, characters sent): the limit applies to the second."""
    return len(prompt), len(sent_prompt(prompt))


def _prompt(job: JobRequest, profile: ModelProfile) -> Iterable[Problem]:
    text = job.prompt.strip()
    if not text:
        if not job.shots:  # a storyboard's first shot stands in for an empty prompt
            yield problem("prompt", "rules.prompt.empty")
        return
    typed, sent = prompt_lengths(job.prompt)
    limit = profile.prompt_max_chars
    if sent > limit:
        size = (msg("rules.prompt.size", sent=sent) if sent == typed else
                msg("rules.prompt.size_sent", typed=typed, sent=sent))
        yield problem("prompt", "rules.prompt.too_long", size=size, limit=limit,
                      over=sent - limit)
    yield from check_tokens(job.prompt, n_images=len(job.images), has_video=job.reference_video is not None)


def validate(job: JobRequest, *, window: tuple[float, float | None] | None = None
             ) -> list[Problem]:
    """Every problem with `job`, errors and warnings, in the order a user would fix them.

    `window` (start, length) is the trim window the run cuts from the video (see check_video).
    """
    try:
        profile = get_profile(job.model)
    except KeyError:
        return [problem("model", "rules.model.unknown", value=str(job.model)[:40])]
    problems: list[Problem] = []
    problems.extend(_structure(job, profile))
    problems.extend(_settings(job, profile))
    problems.extend(_model(job, profile))
    problems.extend(_prompt(job, profile))
    named = [("start_image", job.start_image), ("end_image", job.end_image)]
    named += [(f"reference_images[{i + 1}]", img) for i, img in enumerate(job.reference_images)]
    for field, image in named:
        if image is not None:
            problems.extend(check_image(image, field))
    if job.reference_video is not None:
        problems.extend(check_video(job.reference_video, window=window, profile=profile))
    return problems


def parse_shots(value: object) -> tuple[Shot, ...]:
    """A storyboard sent as JSON text (`[{"prompt": "...", "duration": 2}, ...]`) or as a list
    of such dicts; "" or None is none. InputError, saying what is wrong, for anything else."""
    if value in (None, "", []):
        return ()
    try:
        items = json.loads(value) if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ValueError
        shots = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
                raise ValueError
            seconds = item.get("duration")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or (
                    seconds != int(seconds)):
                raise ValueError
            shots.append(Shot(item["prompt"], int(seconds)))
    except (ValueError, TypeError) as exc:
        raise InputError.from_problems([problem("shots", "rules.shots.json")]) from exc
    return tuple(shots)


def errors_of(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]
