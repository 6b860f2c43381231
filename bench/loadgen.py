"""A small HTTP/1.1 load generator that runs in its own process, so the server it measures
keeps a core to itself instead of sharing the interpreter with its clients.

Each client is one keep-alive connection written to with raw asyncio streams (a few
microseconds of client work per request, where an ``httpx`` client spends about a
millisecond). Two shapes of load:

- **closed loop** (``pace_s=None``): every client sends its next request as soon as the last
  one answered; throughput is the server's saturation rate and latency is mostly queueing.
- **paced** (``pace_s`` seconds): every client sends one request per ``pace_s`` on a fixed
  schedule (an open-loop arrival rate of ``clients / pace_s`` per second); latency is counted
  from the scheduled send time, so a stalled server cannot hide its backlog.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class LoadResult:
    latencies_ms: list[float]
    seconds: float
    statuses: list[int]


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(status_line.split(" ", 2)[1])


async def _run(
    host: str,
    port: int,
    requests: Sequence[Request],
    clients: int,
    total: int,
    pace_s: float | None,
) -> LoadResult:
    encoded = [r.encode(f"{host}:{port}") for r in requests]
    latencies: list[float] = []
    statuses: list[int] = []
    counter = iter(range(total))
    started = time.perf_counter()

    async def client(slot: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        due = started + (pace_s * slot / clients if pace_s else 0.0)
        try:
            for index in counter:
                if pace_s is not None:
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                sent = due if pace_s is not None else time.perf_counter()
                status = await _exchange(reader, writer, encoded[index % len(encoded)])
                latencies.append((time.perf_counter() - sent) * 1000)
                statuses.append(status)
                if pace_s is not None:
                    due += pace_s
        finally:
            writer.close()

    await asyncio.gather(*(client(slot) for slot in range(clients)))
    return LoadResult(latencies, time.perf_counter() - started, statuses)


def _child(
    connection: multiprocessing.connection.Connection,
    host: str,
    port: int,
    requests: Sequence[Request],
    clients: int,
    total: int,
    pace_s: float | None,
) -> None:
    try:
        outcome: LoadResult | str = asyncio.run(_run(host, port, requests, clients, total, pace_s))
    except Exception as error:  # reported to the parent, which raises it
        outcome = f"{type(error).__name__}: {error}"
    connection.send(outcome)
    connection.close()


def load(
    host: str,
    port: int,
    requests: Sequence[Request],
    *,
    clients: int,
    total: int,
    pace_s: float | None = None,
) -> LoadResult:
    """Send ``total`` requests (cycling through ``requests``) from ``clients`` connections in
    a separate process; returns every latency, the wall time and every status."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(
        target=_child, args=(sending, host, port, list(requests), clients, total, pace_s)
    )
    process.start()
    sending.close()  # so a child that dies without answering ends recv() with EOFError
    outcome: LoadResult | str = receiving.recv()
    process.join()
    if isinstance(outcome, str):
        raise RuntimeError(f"the load generator failed: {outcome}")
    return outcome
