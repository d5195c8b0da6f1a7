"""Which backend runs a job, with which key, on which client: the Studio's keys and routes.

A visitor's own key goes to Replicate (settings.base_url) for that visitor's requests only; the
host's key goes where the host set it, or to the simulator started in-process on 127.0.0.1. One
`ReplicateClient` per event loop and base URL (httpx clients are bound to their loop). A pasted
key is checked here too (`check_key`). Part of the `Studio` (runs.service); no gradio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

from ..core.config import Secret, Settings
from ..core.errors import (
    AccessError,
    KlingTimeoutError,
)
from ..library.store import Run
from ..replicate.client import ReplicateClient
from ..replicate.wire import UploadBook
from .runner import Runner

if TYPE_CHECKING:  # handed its transport; it never builds HTTP itself
    import httpx

log = logging.getLogger(__name__)

SIMULATOR_TOKEN = Secret("simulator-token-not-a-secret")
KEY_CHECK_SECONDS = 2.0  # a pasted key is judged within this, or we say we could not check it


class Routes:
    """Backends and keys: which client and key a job, a resumed run or a key check goes to."""

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: httpx.Timeout | None = None, book: UploadBook | None = None) -> None:
        self.settings = settings
        self.book = book  # where every client writes its uploads down (library.uploads)
        self._transport = transport
        self._timeout = timeout
        self._clients: dict[tuple[int, str], ReplicateClient] = {}
        self._sim: Any = None  # the in-process simulator server, started on first use
        self._sim_lock = threading.Lock()

    def backend_for(self, visitor_token: Secret | None) -> str:
        """Which backend runs a job: a visitor's own key goes to Replicate, unless the host
        forced the simulator (KLING_BACKEND=simulator)."""
        if self.settings.backend == "replicate":
            return "replicate"
        if visitor_token and not self.settings.backend_forced:
            return "replicate"
        return "simulator"

    def backend_note(self, visitor_token: Secret | None) -> str:
        """Plain words for the banner: which backend runs this visitor's jobs and who pays."""
        backend = self.backend_for(visitor_token)
        if backend == "simulator":
            return ("Offline simulator: outputs are simulated and nothing is billed. Add your "
                    "own Replicate key to run the real model.")
        if visitor_token:
            return "Running on Replicate with your own key; it stays in this browser session only."
        return "Running on Replicate with the host's key. Limits may apply; your own key lifts them."

    def simulator_url(self) -> str:
        """Start the in-process simulator on 127.0.0.1 (once) and return its base URL."""
        with self._sim_lock:
            if self._sim is None:
                from ..replicate.simulator import SimulatorServer

                server = SimulatorServer(model_seconds=self.settings.sim_seconds)
                server.start()
                self._sim = server  # published once it serves: no reader sees it half-started
            return str(self._sim.base_url)

    def simulator_base(self) -> str | None:
        """The in-process simulator's base URL if this process started one, else None."""
        sim = self._sim
        return str(sim.base_url).rstrip("/") if sim is not None else None

    async def route(self, visitor_token: Secret | None) -> tuple[ReplicateClient, Secret, str]:
        backend = self.backend_for(visitor_token)
        if backend == "simulator":
            # Starting it waits for its socket: keep that off the event loop every visitor shares.
            base, token = await asyncio.to_thread(self.simulator_url), SIMULATOR_TOKEN
        else:
            token_ = visitor_token or self.settings.token
            if token_ is None:
                raise AccessError("KLING_BACKEND=replicate but no key is set: set "
                                  "REPLICATE_API_TOKEN, or enter your own key.")
            base, token = self.settings.base_url, token_
        return await self.client_for(base), token, backend

    async def check_key(self, token: Secret) -> str:
        """The username of the account a pasted key belongs to (GET /v1/account).

        Asks the backend that key's jobs would run on. Raises AuthError for a refused key, and
        KlingTimeoutError when no answer came within KEY_CHECK_SECONDS.
        """
        client, _, _ = await self.route(token)
        try:
            return await asyncio.wait_for(client.account(token), KEY_CHECK_SECONDS)
        except asyncio.TimeoutError as exc:
            raise KlingTimeoutError(f"Replicate did not answer within {KEY_CHECK_SECONDS:g} s "
                                    "while checking the key.") from exc

    async def route_run(self, run: Run, visitor_token: Secret | None
                         ) -> tuple[ReplicateClient, Secret, str] | None:
        """The client and key a journaled run was made with, or None when that key is gone."""
        if run.backend == "simulator":
            return await self.route(None) if self.backend_for(None) == "simulator" else (
                await self.client_for(await asyncio.to_thread(self.simulator_url)),
                SIMULATOR_TOKEN, "simulator")
        token = visitor_token if run.key_kind == "visitor" else self.settings.token
        if token is None:
            return None
        return await self.client_for(self.settings.base_url), token, "replicate"

    async def client_for(self, base: str) -> ReplicateClient:
        """The client for `base` on this event loop (httpx clients are bound to the loop they
        are used in: one per loop and backend)."""
        key = (id(asyncio.get_running_loop()), base)
        client = self._clients.get(key)
        if client is None:
            client = ReplicateClient(base, model=self.settings.model, transport=self._transport,
                                     timeout=self._timeout)
            client.book = self.book
            self._clients[key] = client
        return client

    async def close_clients(self, runner: Runner) -> None:
        """Close every client, each on the loop it belongs to (the runner's, or this one)."""
        runner_loop = runner._loop
        for (loop_id, _base), client in list(self._clients.items()):
            with contextlib.suppress(Exception):
                if runner_loop is not None and loop_id == id(runner_loop):
                    await asyncio.to_thread(runner.call, client.aclose(), 5.0)
                else:
                    await client.aclose()
        self._clients.clear()

    def stop_simulator(self) -> None:
        if self._sim is not None:
            self._sim.stop()
            self._sim = None
