"""An HTTP load in plain Python: N clients, each one keep-alive connection, for S seconds.

wrk is not on every machine (and not on ours); this needs nothing but asyncio. Each client sends
a request, waits for the whole answer, then sends the next, as a person's browser does: the
figures are per request kind (its share of the requests, p50/p95 and errors). A client's CPU is
a few tens of microseconds a request, small beside what the server spends on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# (client number, the client's random source) -> the request's bytes.
MakeRequest = Callable[[int, random.Random], bytes]


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix: its share, how to make one, the status that is success."""

    name: str
    weight: float
    make: MakeRequest
    expect: int = 200


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def failed(self, why: str) -> None:
        self.errors += 1
        self.statuses[why] = self.statuses.get(why, 0) + 1


def request_bytes(
    method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """An HTTP/1.1 request on a kept-alive connection to the bench's server."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def percentile(samples: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (0 < share <= 1) of the samples; 0.0 for none."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = math.ceil(round(len(ordered) * share, 9)) - 1
    return ordered[min(max(rank, 0), len(ordered) - 1)]


def summarise(tallies: dict[str, Tally], seconds: float) -> dict[str, Any]:
    """Throughput, and per kind: requests, per second, p50/p95 in ms, errors and their codes."""
    kinds: dict[str, Any] = {}
    for name, tally in tallies.items():
        done = len(tally.latencies) + tally.errors
        kinds[name] = {
            "requests": done,
            "per_second": round(done / seconds, 1) if seconds else 0.0,
            "p50_ms": round(percentile(tally.latencies, 0.5) * 1000, 1),
            "p95_ms": round(percentile(tally.latencies, 0.95) * 1000, 1),
            "errors": tally.errors,
            **({"error_statuses": tally.statuses} if tally.statuses else {}),
        }
    total = sum(k["requests"] for k in kinds.values())
    return {
        "seconds": round(seconds, 1),
        "requests": total,
        "per_second": round(total / seconds, 1) if seconds else 0.0,
        "errors": sum(k["errors"] for k in kinds.values()),
        "kinds": kinds,
    }


class _Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):  # the server had already dropped it
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, raw: bytes) -> int:
        """Send one request and read its whole response; its status. A kept-alive connection
        the server has since closed is opened again and the request sent once more."""
        for attempt in (1, 2):
            fresh = self.writer is None
            if fresh:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            assert self.writer is not None
            try:
                self.writer.write(raw)
                await self.writer.drain()
                status_line = await self.reader.readline()
            except (ConnectionError, asyncio.IncompleteReadError):
                status_line = b""
            if status_line:
                return await self._rest(status_line)
            await self.close()
            if fresh or attempt == 2:
                raise ConnectionError("the server closed the connection without answering")
        raise AssertionError("unreachable")

    async def _rest(self, status_line: bytes) -> int:
        assert self.reader is not None
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            while (await self.reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
        elif length is not None:
            await self.reader.readexactly(length)
        else:
            await self.reader.read()
            close = True
        if close:
            await self.close()
        return status


@dataclass(frozen=True)
class _Window:
    """Requests sent before `measured_from` warm the server up (its workers' first requests
    load and build what they keep); those sent from then until `until` are the figures."""

    measured_from: float
    until: float
    warming: dict[str, Tally]
    measured: dict[str, Tally]


async def _client(number: int, port: int, kinds: Sequence[Kind], window: _Window) -> None:
    rng = random.Random(number)
    weights = [kind.weight for kind in kinds]
    connection = _Connection(port)
    try:
        while (now := time.monotonic()) < window.until:
            kind = rng.choices(kinds, weights)[0]
            raw = kind.make(number, rng)
            tallies = window.warming if now < window.measured_from else window.measured
            tally = tallies[kind.name]
            started = time.perf_counter()
            try:
                status = await connection.send(raw)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as error:
                tally.failed(type(error).__name__)
                await connection.close()
                continue
            if status == kind.expect:
                tally.latencies.append(time.perf_counter() - started)
            else:
                tally.failed(str(status))
    finally:
        await connection.close()


async def _run(
    port: int, kinds: Sequence[Kind], clients: int, seconds: float, warmup: float
) -> dict[str, Any]:
    started = time.monotonic()
    window = _Window(
        measured_from=started + warmup,
        until=started + warmup + seconds,
        warming={kind.name: Tally() for kind in kinds},
        measured={kind.name: Tally() for kind in kinds},
    )
    await asyncio.gather(*(_client(n, port, kinds, window) for n in range(clients)))
    # Requests still in flight when the warm-up ended count in it: the figures' window is
    # from its end to the last answer.
    measured = summarise(window.measured, time.monotonic() - window.measured_from)
    warming = summarise(window.warming, warmup)
    statuses: dict[str, int] = {}
    for tally in window.warming.values():
        for why, count in tally.statuses.items():
            statuses[why] = statuses.get(why, 0) + count
    return {
        **measured,
        "warmup": {
            "seconds": warming["seconds"],
            "requests": warming["requests"],
            "errors": warming["errors"],
            **({"error_statuses": statuses} if statuses else {}),
        },
    }


def run(
    *, port: int, kinds: Sequence[Kind], clients: int, seconds: float, warmup: float = 0.0
) -> dict[str, Any]:
    """Drive `clients` concurrent clients at the server on `port` for `warmup` seconds, not
    counted, then for `seconds` counted. Also says how much CPU the clients took themselves
    (they share the machine with the server)."""
    cpu = time.process_time()
    # A loop of its own in a thread of its own: the caller's thread may already run an event
    # loop (Playwright's synchronous API leaves one in a test process), and asyncio.run refuses
    # to start inside a running loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(asyncio.run, _run(port, kinds, clients, seconds, warmup)).result()
    return {
        "clients": clients,
        **result,
        "client_cpu_seconds": round(time.process_time() - cpu, 1),
    }
