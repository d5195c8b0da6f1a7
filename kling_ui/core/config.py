"""Settings read once from the environment, and the `Secret` wrapper that keeps the key out of sight.

Every environment variable the app reads is here (the README's configuration table mirrors it).
`load_settings()` takes the mapping to read, so tests pass a dict instead of touching os.environ.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .profile import ModelChoice, model_choice

DEFAULT_BASE_URL = "https://api.replicate.com"  # same default as the official clients
DEFAULT_MODEL = "kwaivgi/kling-o1"
APP_DIR_NAME = "kling-o1-studio"
# A Hugging Face Space is served through the Space proxy, which appends the address it saw to
# X-Forwarded-For (the app's socket peer is an internal address such as 10.16.x.x, the same for
# every visitor). Hugging Face does not document the hop count; one hop is what apps on Spaces
# observe, and what this default assumes. KLING_TRUSTED_PROXIES overrides it (kling_ui.hosting.proxies).
SPACE_TRUSTED_PROXIES = 1


class Secret:
    """An API token that never shows itself in a repr, str, log line or f-string.

    Call `reveal()` at the one place that puts it in an Authorization header.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value.strip()

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def secret_or_none(value: str | None) -> Secret | None:
    value = (value or "").strip()
    return Secret(value) if value else None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(_float(env, name, default))


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _sign_in(env: Mapping[str, str]) -> bool:
    """KLING_SIGN_IN: 1 / 0; unset: on when the Space has `hf_oauth: true` in its README.

    Hugging Face sets OAUTH_CLIENT_ID (with OAUTH_CLIENT_SECRET, OAUTH_SCOPES,
    OPENID_PROVIDER_URL) in a Space's environment exactly when its front matter asks for OAuth;
    Gradio reads the same variables (gradio/oauth.py).
    """
    raw = env.get("KLING_SIGN_IN", "").strip().lower()
    if not raw:
        return bool(env.get("OAUTH_CLIENT_ID", "").strip())
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"KLING_SIGN_IN must be 1 or 0, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Everything configurable. See README "Configuration" for each variable."""

    token: Secret | None = None  # REPLICATE_API_TOKEN: the host's key
    base_url: str = DEFAULT_BASE_URL  # REPLICATE_BASE_URL
    model: str = DEFAULT_MODEL  # KLING_MODEL: owner/name, or owner/name:version to pin
    backend: str = "simulator"  # KLING_BACKEND: simulator | replicate (auto from the token)
    backend_forced: bool = False  # True when KLING_BACKEND was set explicitly
    host: str = "127.0.0.1"  # GRADIO_SERVER_NAME
    port: int = 7860  # GRADIO_SERVER_PORT
    app_password: Secret | None = None  # APP_PASSWORD: require a login to use the app
    runs_per_hour: int = 0  # KLING_RUNS_PER_HOUR: per visitor on the host key, 0 = unlimited
    runs_per_day: int = 0  # KLING_RUNS_PER_DAY: per visitor per UTC day, host key, 0 = unlimited
    sign_in: bool = False  # KLING_SIGN_IN: host-key runs need a Hugging Face sign-in (auto: hf_oauth)
    daily_budget_usd: float = 0.0  # KLING_DAILY_BUDGET_USD: host key, estimated, 0 = unlimited
    sim_seconds: float = 6.0  # KLING_SIM_SECONDS: how long the simulator's "model" runs
    job_timeout: float = 900.0  # KLING_JOB_TIMEOUT: our deadline; the prediction is cancelled
    queue_size: int = 32  # KLING_QUEUE_SIZE: jobs waiting before new ones are refused
    concurrency: int = 4  # KLING_CONCURRENCY: jobs running at once in this app
    max_age_hours: float = 24.0  # KLING_MAX_AGE_HOURS: temporary files (previews, fixes) go after
    data_dir: str = field(default="")  # KLING_DATA_DIR: the library; "" = default_data_dir()
    keep_days: float = 30.0  # KLING_KEEP_DAYS: finished runs are kept this long; 0 = forever
    max_gb: float = 0.0  # KLING_MAX_GB: cap on the runs' files; oldest runs go first; 0 = no cap
    # KLING_MIN_FREE_MB: a run is refused before any upload when the data folder's disk has less
    # free; 200 MB is several times the largest Kling O1 output (10 s of 1080p). 0 = no check
    min_free_mb: float = 200.0
    library_scope: str = "visitor"  # KLING_LIBRARY_SCOPE: visitor (own runs) | all (single user)
    mcp: bool = True  # KLING_MCP: serve the named endpoints as MCP tools at /gradio_api/mcp/
    # KLING_TAKES_CONFIRM_USD: several takes estimated above this (in all) ask to confirm first
    takes_confirm_usd: float = 2.0
    # KLING_TRUSTED_PROXIES: proxies in front whose X-Forwarded-For hop is believed (kling_ui.hosting.proxies);
    # unset: 1 on a Hugging Face Space (SPACE_ID), else 0 (the socket peer is the visitor)
    trusted_proxies: int = 0
    # KLING_DOWNLOAD_MINUTES: one-off downloads (export zips) are deleted after this, at most 60
    download_minutes: float = 30.0
    # Minutes of media work (probes, fixes, previews, finishing) one visitor may use per hour;
    # 0: no cap (kling_ui.hosting.bounds.MediaPool, issue #20). Unset: SPACE_MEDIA_MINUTES on a Space.
    media_minutes_per_hour: float = 0.0
    # Share links (issue #26): KLING_SHARE_DAYS a link works (0: until revoked); KLING_ADMIN_KEY
    # turns the showcase on and is what pins a share to it; KLING_PUBLIC_URL the origin put in
    # a share page's absolute links (unset: the request's own, through trusted proxies).
    share_days: float = 30.0
    admin_key: Secret | None = None
    public_url: str = ""

    @property
    def uses_simulator(self) -> bool:
        return self.backend == "simulator"

    @property
    def models(self) -> ModelChoice:
        """KLING_MODEL read against the model profiles: which one a page starts on, and what
        each is called on the wire (a pinned version where the host set one; issue #25)."""
        return model_choice(self.model)


def default_data_dir(env: Mapping[str, str] | None = None) -> str:
    """Where the library lives when KLING_DATA_DIR is unset.

    On a Hugging Face Space with persistent storage attached, `/data` (the only folder that
    survives a restart there); elsewhere the per-user data folder ($XDG_DATA_HOME or
    ~/.local/share, ~/Library/Application Support on macOS).
    """
    env = os.environ if env is None else env
    if env.get("SPACE_ID") and os.path.isdir("/data") and os.access("/data", os.W_OK):
        return os.path.join("/data", APP_DIR_NAME)
    base = env.get("XDG_DATA_HOME", "").strip()
    if not base:
        home = os.path.expanduser("~")
        mac = os.path.join(home, "Library", "Application Support")
        base = mac if os.uname().sysname == "Darwin" else os.path.join(home, ".local", "share")
    return os.path.join(base, APP_DIR_NAME)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0 (on or off), got {raw!r}")


def _scope(env: Mapping[str, str]) -> str:
    """visitor: each browser sees its own runs; all: one user's local Studio shows every run.

    `visitor` unless KLING_LIBRARY_SCOPE=all is set: an app bound to 127.0.0.1 may still sit
    behind a same-host reverse proxy that serves it to anyone (issue #20), so nothing about the
    address or a missing password may open every library.
    """
    raw = env.get("KLING_LIBRARY_SCOPE", "").strip().lower()
    if raw and raw not in ("visitor", "all"):
        raise ValueError(f"KLING_LIBRARY_SCOPE must be 'visitor' or 'all', got {raw!r}")
    return raw or "visitor"


# A public Space's visitors share two cores: each gets this much media work per rolling hour unless
# the host says otherwise (fixing a 10 s 4K60 clip to 1080p takes about 10 s of it: bench/RESULTS.md).
SPACE_MEDIA_MINUTES = 20.0


def _trusted_proxies(env: Mapping[str, str]) -> int:
    """KLING_TRUSTED_PROXIES, a count of hops; unset: the Space proxy's one hop on a Space."""
    default = SPACE_TRUSTED_PROXIES if env.get("SPACE_ID", "").strip() else 0
    hops = _int(env, "KLING_TRUSTED_PROXIES", default)
    if hops < 0:
        raise ValueError(f"KLING_TRUSTED_PROXIES must be 0 or more, got {hops}")
    return hops


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `env` (default: os.environ). Raises ValueError on a bad value."""
    env = os.environ if env is None else env
    token = secret_or_none(env.get("REPLICATE_API_TOKEN"))
    forced = env.get("KLING_BACKEND", "").strip().lower()
    backend = forced or ("replicate" if token else "simulator")
    if backend not in ("simulator", "replicate"):
        raise ValueError(f"KLING_BACKEND must be 'simulator' or 'replicate', got {backend!r}")
    host = env.get("GRADIO_SERVER_NAME", "").strip() or "127.0.0.1"
    password = secret_or_none(env.get("APP_PASSWORD"))
    return Settings(
        token=token,
        base_url=(env.get("REPLICATE_BASE_URL", "").strip() or DEFAULT_BASE_URL).rstrip("/"),
        model=env.get("KLING_MODEL", "").strip() or DEFAULT_MODEL,
        backend=backend,
        backend_forced=bool(forced),
        host=host,
        port=_int(env, "GRADIO_SERVER_PORT", 7860),
        app_password=password,
        runs_per_hour=_int(env, "KLING_RUNS_PER_HOUR", 0),
        runs_per_day=_int(env, "KLING_RUNS_PER_DAY", 0),
        sign_in=_sign_in(env),
        daily_budget_usd=_float(env, "KLING_DAILY_BUDGET_USD", 0.0),
        sim_seconds=_float(env, "KLING_SIM_SECONDS", 6.0),
        job_timeout=_float(env, "KLING_JOB_TIMEOUT", 900.0),
        queue_size=_int(env, "KLING_QUEUE_SIZE", 32),
        concurrency=_int(env, "KLING_CONCURRENCY", 4),
        max_age_hours=_float(env, "KLING_MAX_AGE_HOURS", 24.0),
        data_dir=env.get("KLING_DATA_DIR", "").strip() or default_data_dir(env),
        keep_days=_float(env, "KLING_KEEP_DAYS", 30.0),
        max_gb=_float(env, "KLING_MAX_GB", 0.0),
        min_free_mb=max(0.0, _float(env, "KLING_MIN_FREE_MB", 200.0)),
        library_scope=_scope(env),
        mcp=_flag(env, "KLING_MCP", True),
        takes_confirm_usd=max(0.0, _float(env, "KLING_TAKES_CONFIRM_USD", 2.0)),
        trusted_proxies=_trusted_proxies(env),
        download_minutes=min(60.0, max(0.0, _float(env, "KLING_DOWNLOAD_MINUTES", 30.0))),
        media_minutes_per_hour=max(0.0, _float(
            env, "KLING_MEDIA_MINUTES_PER_HOUR",
            SPACE_MEDIA_MINUTES if env.get("SPACE_ID", "").strip() else 0.0)),
        share_days=max(0.0, _float(env, "KLING_SHARE_DAYS", 30.0)),
        admin_key=secret_or_none(env.get("KLING_ADMIN_KEY")),
        public_url=env.get("KLING_PUBLIC_URL", "").strip().rstrip("/"),
    )
