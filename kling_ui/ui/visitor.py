"""Who is asking: the browser session's private state, whose library a request's runs go to,
and who a request counts as for the host's limits (the one rule every limit uses)."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any

import gradio as gr

from ..core.config import Secret
from ..hosting.access import signed_in_id
from ..hosting.identity import cookie_key
from ..hosting.proxies import PEER_HEADER, PEER_SIG_HEADER, client_address, request_peer


class Session:
    """One browser session's private state (a gr.State): never sent to the browser.

    `key` is the visitor's own Replicate key (this session only); `owner` whose library this page
    shows (the hash of the key in the browser's library cookie, set on load; NO_LIBRARY for a
    session that never loaded the page with one: it lists nothing); `watching` the run each tab
    shows, so Cancel reaches it even after a reload reattached the page to it; `parents` the run
    the next run of a tab continues (set by "Next shot" and the like, used once; issue #14);
    `lang` the page's language from its Accept-Language header (set on load; kling_ui.i18n).
    """

    def __init__(self) -> None:
        self.key: Secret | None = None
        self.owner: str = NO_LIBRARY
        self.watching: dict[str, str] = {}
        self.parents: dict[str, str] = {}
        self.lang: str = "en"

    def __deepcopy__(self, memo: dict[int, Any]) -> Session:
        # Gradio deep-copies a State's initial value for each new session: start empty (a Secret
        # refuses to be copied anyway, as it cannot be pickled).
        return Session()

    def claim(self, request: gr.Request | None) -> None:
        """Take the library of the browser behind `request` if this session has none yet. The
        page's load sets it; an event that overtook the load (a tab opened, or Run pressed, on
        a slow phone or a loaded box) found none, and the tab's last run did not come back."""
        if not self.owner:
            self.owner = library_owner(request)

    def run_owner(self) -> str:
        """Whose library a run this session starts goes into: its own, or (no library) an
        owner of its own that no session has, so the run is listed nowhere."""
        return self.owner or UNLISTED + secrets.token_hex(16)

    def __repr__(self) -> str:
        return f"Session(key={'set' if self.key else 'none'}, owner={self.owner[:8]})"


NO_LIBRARY = ""  # a session without a library cookie (a raw caller that never loaded the page)
UNLISTED = "unlisted:"  # runs of such sessions: each its own owner, so nobody lists them
LIBRARY_KEY_HEADER = "x-kling-library-key"


def owner_of(library_key: str | None) -> str:
    """Who a run belongs to: a hash of the browser's (or API caller's) library key, so the
    server never stores the key itself. No key: NO_LIBRARY (no shared "anonymous" library)."""
    key = (library_key or "").strip()
    if not key:
        return NO_LIBRARY
    return "lib:" + hashlib.sha256(("kling-o1-studio:" + key).encode()).hexdigest()[:32]


def library_owner(request: gr.Request | None) -> str:
    """The library of the browser behind `request`: the hash of its HttpOnly library cookie
    (kling_ui.hosting.identity), or NO_LIBRARY when it sent none."""
    cookies = getattr(request, "cookies", None) if request is not None else None
    return owner_of(cookie_key(cookies or {}))


def api_owner(request: gr.Request | None) -> str:
    """An API caller's library: the `X-Kling-Library-Key` header it chooses, else "api"."""
    headers = getattr(request, "headers", None) or {}
    value = headers.get(LIBRARY_KEY_HEADER, "") if hasattr(headers, "get") else ""
    return owner_of(value) if (value or "").strip() else "api"


def new_session() -> Session:
    """A fresh, empty Session (gr.State calls this once per browser session)."""
    return Session()


def signed_in_user(request: gr.Request | None) -> str | None:
    """The Hugging Face username this request's browser signed in as (gr.LoginButton), if any.

    Read from the session Gradio keeps once a LoginButton is on the page (a signed cookie; on a
    Space its secret comes from the Space's OAuth secret): the same `userinfo` Gradio hands a
    handler as `gr.OAuthProfile`. No session (sign-in off) or an expired one: None.
    """
    underlying = getattr(request, "request", None) if request is not None else None
    scope = getattr(underlying, "scope", None)
    session = scope.get("session") if isinstance(scope, dict) else None
    info = session.get("oauth_info") if isinstance(session, Mapping) else None
    if not isinstance(info, Mapping):
        return None
    expires = info.get("expires_at")
    if isinstance(expires, int | float) and expires < time.time():
        return None
    user = info.get("userinfo")
    name = user.get("preferred_username") if isinstance(user, Mapping) else None
    return name if isinstance(name, str) and name.strip() else None


def visitor_id(request: gr.Request | None, trusted_hops: int) -> str:
    """Who is asking, for the host's limits: the Hugging Face user signed in on this browser,
    else the APP_PASSWORD login name, else the client address through `trusted_hops` trusted
    proxies (KLING_TRUSTED_PROXIES; `caller_address`)."""
    if request is None:
        return "local"
    hf_user = signed_in_user(request)
    if hf_user:
        return signed_in_id(hf_user)
    if getattr(request, "username", None):
        return f"user:{request.username}"
    return "ip:" + caller_address(request, trusted_hops)


def _header_values(request: Any, name: str) -> list[str]:
    headers = getattr(request, "headers", None) or {}
    if hasattr(headers, "getlist"):
        return [str(v) for v in headers.getlist(name)]
    value = headers.get(name) if hasattr(headers, "get") else None
    return [str(value)] if value else []


def caller_address(request: gr.Request | None, trusted_hops: int) -> str:
    """The address a request comes from, the one rule every limit uses (kling_ui.hosting.proxies): the
    socket peer with no trusted proxy, else X-Forwarded-For's entry `trusted_hops` from the
    right; never an entry the caller wrote. For a tool call our MCP server runs on loopback,
    the MCP caller's own peer, which the MCP server signs."""
    if request is None:
        return "local"
    client = getattr(request, "client", None)
    signed = _header_values(request, PEER_HEADER)
    signature = _header_values(request, PEER_SIG_HEADER)
    peer = request_peer(getattr(client, "host", None), signed[0] if signed else None,
                        signature[0] if signature else None)
    return client_address(peer, _header_values(request, "x-forwarded-for"), trusted_hops)


def event_visitor(trusted_hops: int = 0) -> str | None:
    """The visitor of the Gradio event being handled, if any: the media pool counts an event's
    probes, previews and fixes as theirs (kling_ui.hosting.bounds), so one visitor slows only themselves."""
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)
    return visitor_id(request, trusted_hops) if request is not None else None


def session_id(request: gr.Request | None) -> str:
    """The browser tab's (or API client's) session: whose files are whose. Not for limits."""
    return str(getattr(request, "session_hash", None) or "anon")


def header_token(request: gr.Request | None) -> Secret | None:
    """An API caller's own key from the `X-Replicate-Api-Token` header, if sent."""
    if request is None:
        return None
    headers = getattr(request, "headers", None) or {}
    value = headers.get("x-replicate-api-token", "") if hasattr(headers, "get") else ""
    value = (value or "").strip()
    return Secret(value) if value else None


def session_owner_filter(studio: Any, session: Session) -> str | None:
    """Whose runs this page lists: the session's own, or everyone's in a single-user Studio
    (KLING_LIBRARY_SCOPE=all). A session without a library lists nothing, whatever the scope:
    UNLISTED itself is no run's owner (each unlisted run has its own suffix)."""
    if not session.owner:
        return UNLISTED
    return None if studio.settings.library_scope == "all" else session.owner
