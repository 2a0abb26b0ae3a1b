# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run moto's server on 127.0.0.1 with a clock that tests can move.

    python tests/tools/moto_server.py --port 0 --port-file PATH [--start-time ISO8601] [--exit-with-parent]

The server is moto's own WSGI application (the one ``moto.server.main`` and
``ThreadedMotoServer`` build) served by werkzeug's threaded server. The process runs under
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
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import threading

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
    """Take two per-request costs out of moto's server, which run on the same CPUs as the code under test.

    moto's dispatcher lists its package directory (os.listdir plus an isdir per entry, ~200 of them) on every
    request, under a lock that serializes requests; the listing cannot change while the server runs, so it is
    computed once. werkzeug writes one access-log line per request, also under a lock; errors are still logged.
    """
    module_names = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: module_names
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def no_delay(handler_class):
    """The request handler with Nagle's algorithm off on its connections.

    werkzeug writes a response's headers and body in separate sends; on a keep-alive connection Nagle's
    algorithm holds the body back until the client's (delayed) ACK of the headers, up to 40 ms a call.
    """

    class NoDelayRequestHandler(handler_class):
        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    return NoDelayRequestHandler


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
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

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
    server = make_server(args.host, args.port, app, threaded=True, request_handler=no_delay(MotoRequestHandler))

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
