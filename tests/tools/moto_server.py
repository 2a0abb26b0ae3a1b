# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run moto's server on 127.0.0.1 with a clock that tests can move.

    python tests/tools/moto_server.py --port 0 --port-file PATH [--start-time ISO8601] [--exit-with-parent]

The server is moto's own WSGI application (the one ``moto.server.main`` and
``ThreadedMotoServer`` build), served over keep-alive connections by a threaded server of this
file (werkzeug's closes every connection after one response). The process runs under
freezegun in ticking mode: time passes at the normal rate, but from a start point and with
jumps that tests ask for. Everything moto stamps (``CreateDate``, ``LastUsedDate``) and the
HTTP ``Date`` response header follow that clock.

Admin endpoints, answered before moto sees the request (all answer ``{"now": ISO8601}``):

    GET  /_clock                                   the current fake time
    POST /_clock/advance  {"days": n, "hours": n, "minutes": n, "seconds": n}   move forward
    POST /_clock/set      {"time": ISO8601}         jump to a time (naive values are UTC)
    POST /_clock/reset                              back to the unshifted clock

Moto's own ``POST /moto-api/reset`` clears its state as usual.

Once listening, the actual port is written to ``--port-file`` (atomically: temp file then
rename), so a parent process can wait for the file and then connect. SIGTERM or SIGINT stops
the server.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import http.server
import io
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
import urllib.parse

from iam_proxy import read_request_body  # tests/tools: this script's own folder

UTC = datetime.timezone.utc
CLOCK_PATH = "/_clock"
# Backends whose modules must be imported before freezegun starts, so the patching sees them.
PRELOADED_BACKENDS = ("iam", "sts", "moto_api")


def parse_time(value: str) -> datetime.datetime:
    """Parse ISO 8601 into a naive UTC datetime (freezegun's convention); naive input means UTC."""
    parsed = datetime.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def iso(value: datetime.datetime) -> str:
    return value.replace(tzinfo=UTC).isoformat()


class ShiftableClock:
    """Thread-safe controls over freezegun's ticking time factory."""

    def __init__(self, factory, real_now, origin: datetime.datetime):
        self._factory = factory  # freezegun TickingDateTimeFactory: naive UTC fake "now"
        self._real_now = real_now  # the real datetime.now, unpatched
        self._lock = threading.Lock()
        self._origin_fake = origin
        self._origin_real = real_now()

    def now(self) -> datetime.datetime:
        with self._lock:
            return self._factory()

    def advance(self, delta: datetime.timedelta) -> datetime.datetime:
        with self._lock:
            # Not factory.tick(): that adds to the frozen start point and drops the time
            # elapsed since then, so the clock could go backwards.
            target = self._factory() + delta
            self._factory.move_to(target)
            return self._factory()

    def set(self, target: datetime.datetime) -> datetime.datetime:
        with self._lock:
            self._factory.move_to(target)
            return self._factory()

    def reset(self) -> datetime.datetime:
        with self._lock:
            self._factory.move_to(self._origin_fake + (self._real_now() - self._origin_real))
            return self._factory()


class ClockMiddleware:
    """WSGI middleware answering /_clock requests; everything else goes to moto."""

    def __init__(self, app, clock: ShiftableClock):
        self.app = app
        self.clock = clock

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path != CLOCK_PATH and not path.startswith(CLOCK_PATH + "/"):
            return self.app(environ, start_response)
        try:
            status, payload = self._handle(environ["REQUEST_METHOD"], path[len(CLOCK_PATH) :], self._json(environ))
        except (ValueError, TypeError, OverflowError) as exc:
            status, payload = "400 Bad Request", {"error": str(exc)}
        body = json.dumps(payload).encode("utf-8")
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def _json(environ) -> dict:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        if not raw.strip():
            return {}
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    def _handle(self, method: str, action: str, data: dict) -> tuple[str, dict]:
        if method == "GET" and action in ("", "/"):
            now = self.clock.now()
        elif method == "POST" and action == "/advance":
            unknown = set(data) - {"days", "hours", "minutes", "seconds"}
            if unknown:
                raise ValueError(f"unknown fields: {sorted(unknown)}")
            delta = datetime.timedelta(**{key: float(value) for key, value in data.items()})
            if delta < datetime.timedelta(0):
                raise ValueError("advance moves forward only; use /_clock/set to go back")
            now = self.clock.advance(delta)
        elif method == "POST" and action == "/set":
            if not isinstance(data.get("time"), str):
                raise ValueError('expected {"time": "<ISO 8601>"}')
            now = self.clock.set(parse_time(data["time"]))
        elif method == "POST" and action == "/reset":
            now = self.clock.reset()
        else:
            return "404 Not Found", {"error": f"no clock endpoint {method} {CLOCK_PATH}{action}"}
        return "200 OK", {"now": iso(now)}


def speed_up_dispatch(backends) -> None:
    """Take two per-request costs out of moto's server, which runs on the same CPUs as the code under test.

    moto's dispatcher lists its package directory (os.listdir plus an isdir per entry, ~200 of them) on every
    request, under a lock that serializes requests; and it finds the action's method by listing the response
    class's functions with inspect.getmembers (about a fifth of a ListAccessKeys call's time in moto). Neither can
    change while the server runs, so each is computed once.
    """
    from moto.core import responses

    module_names = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: module_names
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)


class KeepAliveWSGIHandler(http.server.BaseHTTPRequestHandler):
    """Serves a WSGI application (moto's) over HTTP/1.1 connections that stay open between requests.

    werkzeug's development server, which moto_server uses, closes the connection after every response (it cannot
    tell where a request body it did not read ends); each call then costs a connection and a new server thread, on
    the CPUs the code under test runs on. Here the body is read whole before the application sees it, so the next
    request starts where this one ended. Every response has a Content-Length; Nagle's algorithm is off, so headers
    and body leave at once. No access log; application errors are logged and answered 500.
    """

    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def __getattr__(self, name: str):
        if name.startswith("do_"):  # every HTTP method goes to the application
            return self._run_application
        raise AttributeError(name)

    def _environ(self, body: bytes) -> dict:
        path, query = self.path.split("?", 1) if "?" in self.path else (self.path, "")
        if "://" in path:  # an absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        environ = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": urllib.parse.unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1],
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"):  # body read whole
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def _run_application(self) -> None:
        body = read_request_body(self.headers, self.rfile)
        started: list = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]
            return lambda data: None  # the legacy write(): moto does not use it

        try:
            chunks = self.server.application(self._environ(body), start_response)
            try:
                payload = b"".join(chunks)
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
        except Exception:  # pylint: disable=broad-exception-caught
            logging.getLogger("moto_server").exception("error answering %s %s", self.command, self.path)
            started[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]]
            payload = b"internal server error"
            self.close_connection = True
        status, headers = started
        code, reason = status.split(" ", 1) if " " in status else (status, "")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()


class KeepAliveWSGIServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's listen backlog is 5: a burst of new connections (forks x threads through the proxy) overflows
    # it, and the connections beyond it are reset or wait for a retransmit.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], application):
        self.application = application
        super().__init__(address, KeepAliveWSGIHandler)


def write_port_file(path: str, port: int) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".port-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{port}\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def watch_parent(parent_pid: int, interval: float = 1.0) -> None:
    """Send ourselves SIGTERM once the parent is gone (we get re-parented), so no server is orphaned."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            threading.Event().wait(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--port-file", required=True, help="where to write the port once listening")
    parser.add_argument("--start-time", type=parse_time, default=None, help="ISO 8601 start of the fake clock")
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the parent process dies (even by SIGKILL)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_arg_parser().parse_args(argv)

    # Import moto, and the backends the tests use, before freezegun starts: freeze_time().start()
    # swaps datetime/time references in every module loaded at that moment.
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    for name in PRELOADED_BACKENDS:
        backends.get_backend(name)
    speed_up_dispatch(backends)

    import freezegun
    from freezegun.api import real_datetime

    def real_utcnow() -> datetime.datetime:
        return real_datetime.now(UTC).replace(tzinfo=None)

    start = args.start_time or real_utcnow()
    freezer = freezegun.freeze_time(start, tick=True)
    factory = freezer.start()
    clock = ShiftableClock(factory, real_utcnow, start)

    app = ClockMiddleware(DomainDispatcherApplication(create_backend_app), clock)
    server = KeepAliveWSGIServer((args.host, args.port), app)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if args.exit_with_parent:
        watch_parent(os.getppid())

    port = server.server_address[1]
    write_port_file(args.port_file, port)
    print(f"moto server on http://{args.host}:{port} clock {iso(clock.now())}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        freezer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
