"""Models as data: one profile per model, read from `core/profiles/<id>.json` (issue #25).

A profile holds what differs between the Kling models the Studio serves: its Replicate name, the
input fields it accepts, its limits (prompt, images, video), the durations each input mode
allows, what its `mode` values are called, what it can do beyond O1 (native audio, a multi-shot
storyboard) and its price table with sources. The rules, the payload, the pricing, the
simulator's validation and the page's choices all read it; adding a model is a new JSON file plus
its table tests, with no `if model == ...` anywhere.

The Studio's own names stay the same for every model: a run's `quality` is "std" or "pro" (720p or
1080p) and `profile.modes` says what the model calls them on the wire ("std", or "standard").
Pure: reads its own JSON files once, at import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .models import QUALITY_MODES

PROFILES_DIR = Path(__file__).with_name("profiles")
DEFAULT_PROFILE = "kling-o1"
# The Studio's quality names, 720p and 1080p, whatever a model calls them (one definition).
QUALITIES = QUALITY_MODES
# What each mode's durations are looked up under (a Frames run with an end frame has its own).
DURATION_KEYS = ("text", "frames", "frames_with_end", "references", "feature", "edit")


@dataclass(frozen=True)
class Storyboard:
    """A model's multi-shot storyboard (`multi_prompt`): how many shots, how short, how long."""

    max_shots: int
    min_shot_seconds: int
    shot_prompt_max_chars: int


@dataclass(frozen=True)
class Audio:
    """A model's native sound (`generate_audio`)."""

    default: bool = False
    excludes_video: bool = True  # off (and not sent) when a reference video is set


@dataclass(frozen=True)
class ModelProfile:
    """One model, as data. Build with `ModelProfile.from_json` (checked as it is read)."""

    id: str
    name: str
    replicate: str  # owner/name on Replicate
    order: int
    inputs: frozenset[str]
    prompt_max_chars: int
    modes: Mapping[str, str]  # Studio quality -> the model's `mode` value
    aspect_ratios: tuple[str, ...]
    durations: Mapping[str, tuple[int, ...]]
    api_durations: tuple[int, int]  # what the model's schema accepts at all (min, max)
    default_duration: int
    max_images_without_video: int
    max_images_with_video: int
    max_images_with_end_frame: int
    video: Mapping[str, float]
    audio: Audio | None
    storyboard: Storyboard | None
    prices: tuple[tuple[str, bool, bool, float], ...]  # (quality, video input, audio, USD/s)
    sources: Mapping[str, str] = field(default_factory=dict)
    versions: tuple[str, ...] = ()  # version ids seen on Replicate (the simulator serves them)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelProfile:
        durations = {k: tuple(int(v) for v in data["durations"][k]) for k in DURATION_KEYS}
        modes = dict(data["modes"])
        if set(modes) != set(QUALITIES):
            raise ValueError(f"profile {data.get('id')}: modes must name {QUALITIES}")
        prices = tuple((str(p["mode"]), bool(p["video"]), bool(p["audio"]), float(p["usd"]))
                       for p in data["prices"]["usd_per_second"])
        audio = data.get("generate_audio")
        story = data.get("multi_prompt")
        images = data["images"]
        lo, hi = data["api_durations"]
        return cls(
            id=str(data["id"]), name=str(data["name"]), replicate=str(data["replicate"]),
            order=int(data.get("order", 99)), inputs=frozenset(data["inputs"]),
            prompt_max_chars=int(data["prompt_max_chars"]), modes=modes,
            aspect_ratios=tuple(data["aspect_ratios"]), durations=durations,
            api_durations=(int(lo), int(hi)), default_duration=int(data["default_duration"]),
            max_images_without_video=int(images["max_without_video"]),
            max_images_with_video=int(images["max_with_video"]),
            max_images_with_end_frame=int(images["max_with_end_frame"]),
            video={k: float(v) for k, v in data["video"].items()},
            audio=Audio(bool(audio.get("default", False)), bool(audio.get("excludes_video", True)))
            if audio else None,
            storyboard=Storyboard(int(story["max_shots"]), int(story["min_shot_seconds"]),
                                  int(story["shot_prompt_max_chars"])) if story else None,
            prices=prices, sources=dict(data.get("sources", {})),
            versions=tuple(data.get("versions", ())),
        )

    # -- what the rules ask -----------------------------------------------------------------
    def durations_for(self, tab: str, *, end_frame: bool = False) -> tuple[int, ...]:
        """Durations a tab offers ("text", "frames", ...; empty: the output follows the input)."""
        if tab == "frames" and end_frame:
            return self.durations["frames_with_end"]
        return self.durations[tab]

    def wire_mode(self, quality: str) -> str:
        """What the model calls the Studio's quality ("std" -> "standard" for 3.0 Omni)."""
        return self.modes.get(quality, quality)

    def quality_of(self, value: str) -> str | None:
        """The Studio's quality for a value a caller sent: "std", "pro" or a wire name."""
        if value in QUALITIES:
            return value
        return next((q for q, wire in self.modes.items() if wire == value), None)

    def rate(self, quality: str, *, video: bool, audio: bool) -> float:
        """USD per output second (an estimate: see `sources["prices"]`)."""
        quality = quality if quality in QUALITIES else "pro"
        for q, v, a, usd in self.prices:
            if (q, v, a) == (quality, video, audio):
                return usd
        # A combination the model cannot run (audio with a video input): the dearest listed.
        return max(usd for q, v, _a, usd in self.prices if q == quality and v == video)

    @property
    def has_audio(self) -> bool:
        return self.audio is not None

    @property
    def has_storyboard(self) -> bool:
        return self.storyboard is not None


def _load() -> dict[str, ModelProfile]:
    found = {}
    for path in sorted(PROFILES_DIR.glob("*.json")):
        profile = ModelProfile.from_json(json.loads(path.read_text(encoding="utf-8")))
        if profile.id != path.stem:
            raise ValueError(f"{path.name}: its id is {profile.id!r}, not its file name")
        found[profile.id] = profile
    return dict(sorted(found.items(), key=lambda kv: kv[1].order))


PROFILES: dict[str, ModelProfile] = _load()
PROFILE_IDS: tuple[str, ...] = tuple(PROFILES)


def get_profile(model: str | None) -> ModelProfile:
    """The profile for a profile id (None or "" is the default). KeyError when unknown."""
    return PROFILES[model or DEFAULT_PROFILE]


def profile_for_replicate(name: str) -> ModelProfile | None:
    """The profile whose Replicate name is `name` ("owner/name", any ":version" ignored)."""
    bare = name.partition(":")[0]
    return next((p for p in PROFILES.values() if p.replicate == bare), None)


def profile_for_version(version: str) -> ModelProfile | None:
    """The profile one of whose known Replicate version ids is `version`."""
    return next((p for p in PROFILES.values() if version in p.versions), None)


@dataclass(frozen=True)
class ModelChoice:
    """The host's model setting (`KLING_MODEL`) read against the profiles.

    `default` is the profile a new page starts on; `refs` is what each profile is called on the
    wire: its Replicate name, or the pinned `owner/name:version` the host set for it. A
    `KLING_MODEL` that names no profile's model keeps the old meaning: the O1 profile's request,
    sent to that model.
    """

    default: str
    refs: Mapping[str, str]

    def ref(self, model: str | None) -> str:
        return self.refs[get_profile(model).id]


def model_choice(setting: str) -> ModelChoice:
    refs = {p.id: p.replicate for p in PROFILES.values()}
    setting = setting.strip()
    if not setting:
        return ModelChoice(DEFAULT_PROFILE, refs)
    named = profile_for_replicate(setting)
    profile = named or get_profile(DEFAULT_PROFILE)
    refs[profile.id] = setting
    return ModelChoice(profile.id, refs)
