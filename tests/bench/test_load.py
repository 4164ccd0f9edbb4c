"""The bench's HTTP load client against a real (tiny) HTTP/1.1 server: what it counts."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bench import load


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn's threaded workers answer

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"world"):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        status = 500 if self.path == "/broken" else 200
        body = b"x" * 1000
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        assert self.rfile.read(length) == b'{"a": 1}'
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet


@pytest.fixture
def port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _get(path: str) -> load.MakeRequest:
    return lambda client, rng: load.request_bytes("GET", path)


def test_it_counts_each_kind_and_its_errors(port: int) -> None:
    kinds = [
        load.Kind("page", 3, _get("/page")),
        load.Kind("chunked", 1, _get("/chunked")),
        load.Kind("closing", 1, _get("/close")),
        load.Kind("broken", 1, _get("/broken")),
        load.Kind(
            "post",
            1,
            lambda client, rng: load.request_bytes("POST", "/", body=b'{"a": 1}'),
            expect=201,
        ),
    ]

    result = load.run(port=port, kinds=kinds, clients=4, seconds=0.5)

    by_kind = result["kinds"]
    for name in ("page", "chunked", "closing", "post"):
        assert by_kind[name]["requests"] > 0
        assert by_kind[name]["errors"] == 0, by_kind[name]
    assert by_kind["broken"]["requests"] > 0
    assert by_kind["broken"]["errors"] == by_kind["broken"]["requests"]
    assert by_kind["broken"]["error_statuses"] == {"500": by_kind["broken"]["requests"]}
    assert result["errors"] == by_kind["broken"]["errors"]
    assert result["requests"] == sum(k["requests"] for k in by_kind.values())
    assert result["clients"] == 4


def test_it_counts_a_refused_connection_as_an_error() -> None:
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler) as server:
        free = int(server.server_address[1])  # bound, then closed: nobody listens there

    result = load.run(port=free, kinds=[load.Kind("page", 1, _get("/"))], clients=1, seconds=0.1)

    assert result["requests"] == result["errors"] > 0
    assert set(result["kinds"]["page"]["error_statuses"]) == {"ConnectionRefusedError"}


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert load.percentile(samples, 0.5) == 50.0
    assert load.percentile(samples, 0.95) == 95.0
    assert load.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert load.percentile([7.0], 0.95) == 7.0
    assert load.percentile([], 0.5) == 0.0


def test_request_bytes_is_a_keep_alive_request_with_its_body() -> None:
    raw = load.request_bytes("POST", "/api/", headers={"Cookie": "a=b"}, body=b"{}")

    head, body = raw.split(b"\r\n\r\n")
    assert head.splitlines()[0] == b"POST /api/ HTTP/1.1"
    assert b"Connection: keep-alive" in head
    assert b"Cookie: a=b" in head
    assert b"Content-Length: 2" in head
    assert body == b"{}"


def test_what_is_sent_while_warming_up_is_kept_apart(port: int) -> None:
    kinds = [load.Kind("page", 1, _get("/page")), load.Kind("broken", 1, _get("/broken"))]

    result = load.run(port=port, kinds=kinds, clients=2, seconds=0.3, warmup=0.3)

    warmup = result["warmup"]
    assert warmup["requests"] > 0
    assert warmup["errors"] > 0
    assert warmup["error_statuses"] == {"500": warmup["errors"]}
    # The figures are the requests after it, their errors only theirs.
    assert result["kinds"]["broken"]["errors"] == result["kinds"]["broken"]["requests"] > 0
    assert result["errors"] + warmup["errors"] < result["requests"] + warmup["requests"]
