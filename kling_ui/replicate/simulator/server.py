"""Serving the simulator on 127.0.0.1 (a free port) in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from .routes import create_app
from .state import SimOptions, SimState


# -- running it ----------------------------------------------------------------------------------
def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound TCP socket for uvicorn to serve on (port 0: a free one, known before it serves).

    Its proto is IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets whose
    proto says TCP, and Python gives an accepted connection the listener's proto. Without it, a response
    whose headers and body go out in two writes (every Starlette response) waits for the
    client's delayed ACK: 40 ms on every request of a kept-alive connection, which Replicate
    does not add (it made sequential clients look 40 ms slower per request in bench figure 1).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _serve(app: Any, host: str, port: int, timeout: float) -> tuple[str, Callable[[], None]]:
    sock = listening_socket(host, port)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"kling-sim-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("The simulator did not start listening in time.")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout)
        sock.close()

    return f"http://{host}:{bound_port}", stop


def serve_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 10.0
) -> tuple[str, Callable[[], None]]:
    """Serve an ASGI `app` with uvicorn in a daemon thread; returns (base_url, stop).

    The socket is bound here, so port 0 gives a free port known before the server starts, and
    the call returns only once the server accepts connections.
    """
    return _serve(app, host, port, timeout)


@dataclass
class RunningSimulator:
    """A simulator serving in a daemon thread. `stop()` shuts it down and deletes its files."""

    base_url: str
    state: SimState
    _stop: Callable[[], None]

    def stop(self) -> None:
        self._stop()
        self.state.close()


def start_simulator(
    options: SimOptions | None = None, *, host: str = "127.0.0.1", port: int = 0, **kwargs: Any
) -> RunningSimulator:
    """Start a simulator on `host`, a free port, in a thread: one call for the app and tests.

    `kwargs` are `SimOptions` fields (e.g. `model_seconds=0.5`). Call `.stop()` when done.
    """
    state = SimState(options or SimOptions(**kwargs))
    try:
        base_url, stop = _serve(create_app(state), host, port, 10.0)
    except BaseException:
        state.close()
        raise
    return RunningSimulator(base_url, state, stop)


class SimulatorServer:
    """Start/stop handle for the app: `SimulatorServer(model_seconds=6).start()` -> base URL."""

    def __init__(self, **options: Any) -> None:
        self.options = SimOptions(**options)
        self._running: RunningSimulator | None = None
        # start() is reached from several threads (the app's handlers, `state` in tests): two
        # callers seeing None at once started two simulators, and one of them saw no runs.
        self._lock = threading.Lock()

    def start(self) -> str:
        with self._lock:
            if self._running is None:
                self._running = start_simulator(self.options)
            return self._running.base_url

    @property
    def base_url(self) -> str:
        return self.start()

    @property
    def state(self) -> SimState:
        self.start()
        assert self._running is not None
        return self._running.state

    def stop(self) -> None:
        with self._lock:
            if self._running is not None:
                self._running.stop()
                self._running = None


@contextlib.contextmanager
def running_simulator(**options: Any) -> Iterator[RunningSimulator]:
    """`with running_simulator(model_seconds=0.3) as sim:` -> sim.base_url, sim.state."""
    sim = start_simulator(**options)
    try:
        yield sim
    finally:
        sim.stop()

