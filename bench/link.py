"""A delayed network link for figure 1 (issue #22): the simulator in a network namespace of its
own, reached over a veth pair through a delaying TCP proxy, so both clients meet the same
realistic latency and bandwidth instead of loopback's floor.

These kernels have no `netem` qdisc, so the delay is made in user space: the proxy (a thread of
the bench, in the root namespace) listens on 127.0.0.1 and forwards each connection over the
veth pair to the simulator. Each direction is one link of `mbit` Mbit/s: a chunk leaves when the
link is free and its bytes are serialized, and arrives `one_way` seconds later, in order. A new
connection's first bytes wait one round trip more (its TCP handshake on a real link). Not
modelled: TCP's slow start and loss, TLS. Needs root (`ip netns`, `ip link`); everything made
is removed on exit. `available()` says why not, when it cannot be built.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import procs

SUBNET = "10.231.{n}.{host}"
CHUNK = 64 * 1024


def available() -> str | None:
    """None when the link can be built here, else why not (said in the figure's notes)."""
    if os.geteuid() != 0:
        return "the delayed link needs root (network namespaces and a veth pair)"
    if shutil.which("ip") is None:
        return "the delayed link needs iproute2's `ip`"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass
class Link:
    """One direction's timing: bytes serialized at `rate` bytes/s, then `one_way` s in flight."""

    one_way: float
    rate: float
    free_at: float = 0.0

    def arrival(self, size: int, now: float, not_before: float = 0.0) -> float:
        start = max(now, self.free_at, not_before)
        self.free_at = start + size / self.rate
        return self.free_at + self.one_way


class DelayProxy:
    """The delaying TCP proxy: 127.0.0.1:<port> -> (host, port), in a thread of its own."""

    def __init__(self, host: str, port: int, one_way: float, mbit: float) -> None:
        self.target = (host, port)
        self.one_way = one_way
        self.up = Link(one_way, mbit * 1e6 / 8)  # client -> server
        self.down = Link(one_way, mbit * 1e6 / 8)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="delay-proxy",
                                        daemon=True)

    def start(self) -> str:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, "127.0.0.1", 0), self.loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handshake = time.monotonic() + 2 * self.one_way  # SYN, SYN-ACK: then data may leave
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(self._pump(reader, up_writer, self.up, handshake),
                                 self._pump(up_reader, writer, self.down, 0.0),
                                 return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    link: Link, not_before: float) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                at, data = await queue.get()
                delay = at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not data:
                    with contextlib.suppress(OSError):
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(CHUNK)
                now = time.monotonic()
                queue.put_nowait((link.arrival(len(data), now, not_before), data))
                if not data:
                    break
            await sender
        except (OSError, asyncio.CancelledError):
            sender.cancel()
        finally:
            with contextlib.suppress(Exception):
                writer.close()


@contextlib.contextmanager
def delayed_simulator(model_seconds: float, start_seconds: float, fixed_output: Path,
                      one_way: float, mbit: float) -> Iterator[str]:
    """The simulator in its own namespace behind a `one_way`-second, `mbit` link; yields the
    base URL the clients use (the proxy's). Everything is removed on exit."""
    n = os.getpid() % 200 + 10
    ns, host_if, sim_if = f"kbench{n}", f"kbh{n}", f"kbs{n}"
    host_ip, sim_ip = SUBNET.format(n=n, host=1), SUBNET.format(n=n, host=2)
    made: list[tuple[str, ...]] = []
    proc: subprocess.Popen[str] | None = None
    proxy: DelayProxy | None = None
    try:
        _ip("netns", "add", ns)
        made.append(("netns", "delete", ns))
        _ip("link", "add", host_if, "type", "veth", "peer", "name", sim_if)
        made.append(("link", "delete", host_if))
        _ip("link", "set", sim_if, "netns", ns)
        _ip("addr", "add", f"{host_ip}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("-n", ns, "addr", "add", f"{sim_ip}/30", "dev", sim_if)
        _ip("-n", ns, "link", "set", sim_if, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-m", "bench.sim_server",
             str(model_seconds), str(start_seconds), str(fixed_output)],
            stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True, cwd=procs.ROOT,
            env=procs.child_env({"BENCH_SIM_HOST": sim_ip}))
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("http://"):
            raise RuntimeError(f"the simulator did not start in {ns}: {line!r}")
        port = int(line.rsplit(":", 1)[1].strip("/"))
        proxy = DelayProxy(sim_ip, port, one_way, mbit)
        yield proxy.start()
    finally:
        if proxy is not None:
            proxy.stop()
        if proc is not None:
            if proc.stdin:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                procs.stop(proc)
        for args in reversed(made):
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip(*args)
