# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An HTTP proxy in front of the moto server that records IAM calls and can inject faults.

    proxy = IamProxy("http://127.0.0.1:5000")
    proxy.start()
    client = boto3.client("iam", endpoint_url=proxy.url, ...)
    ...
    proxy.actions()   # ["CreateAccessKey", "ListAccessKeys", ...]
    proxy.stop()

IAM (and STS) speak the query protocol: every call is a POST whose form body carries ``Action=...``. Secrets
Manager and SSM, served by the same moto server, speak JSON: the action is the ``X-Amz-Target`` header's
(``secretsmanager.PutSecretValue``), the params are the body's top-level strings, and canned errors are
answered in JSON (``__type``), as those services answer.
Each request is recorded as an :class:`IamCall` (action, HTTP status, error code, fault applied).

Faults: ``add_fault(action=..., kind=..., times=N | rate=p)`` or any callable passed to
``add_rule(rule)``; a rule gets the :class:`IamRequest` and returns a :class:`Fault` or ``None``.
Rules are asked in the order added; the first fault returned wins. Kinds:

- ``throttle``: HTTP 400 ``Throttling`` error (IAM's XML; ``ThrottlingException`` in JSON); not forwarded.
- ``access_denied``: HTTP 403 ``AccessDenied`` (JSON: 400 ``AccessDeniedException``); not forwarded.
- ``kms_failure``: HTTP 400, the service's KMS error (Secrets Manager ``EncryptionFailure``, SSM ``InvalidKeyId``);
  not forwarded.
- ``service_failure``: HTTP 500 ``ServiceFailure``; not forwarded.
- ``reset``: the connection is reset (TCP RST) without a reply; not forwarded.
- ``slow``: forwarded after ``delay`` seconds (a slow request: moto acts late, or never if the client gave up).
- ``slow_reply``: forwarded at once (moto acts), and the reply is sent ``delay`` seconds later (a slow response).
- ``lost``: forwarded (moto acts on it), then the connection is reset instead of replying.

Real IAM's conditions, settable at start (``IamProxy(url, latency=0.05, rate_limit=(20, 20))``) and at
run time (``set_latency(seconds)``, ``set_rate_limit(calls_per_second, burst)``; 0 and ``None`` clear them):

- latency: every request waits that long in its handler thread before anything else happens, so
  concurrent calls overlap as they do against a real endpoint tens of milliseconds away. With
  ``set_latency(seconds, includes_server_time=True)`` the latency is the whole response time instead:
  the request is forwarded at once and answered no sooner than ``seconds`` after it arrived, so moto's
  own time is inside it, as a real endpoint's server time is inside its latency.
- rate limit: a token bucket shared by all connections, as IAM throttles an account's callers: a
  call takes a token (``burst`` at most, refilled at ``calls_per_second``) or is answered HTTP 400
  ``Throttling`` "Rate exceeded" without being forwarded (recorded with ``fault="rate_limit"``).

``throttled()`` counts the calls answered ``Throttling``; ``logical_calls()`` counts the SDK's calls
(botocore's ``amz-sdk-invocation-id`` header is the same for every attempt of one call), so
``count() - logical_calls()`` is the retries.
"""

from __future__ import annotations

import dataclasses
import http.client
import http.server
import json
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable

FAULT_KINDS = ("throttle", "service_failure", "access_denied", "kms_failure", "reset", "slow", "slow_reply", "lost")
HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
    )
)
IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
_ERROR_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_JSON_ERROR_TYPE = re.compile(rb'"__type"\s*:\s*"(?:[^"#]*#)?([^"]+)"')


@dataclasses.dataclass(frozen=True)
class IamRequest:
    """What a fault rule gets to decide on."""

    action: str | None
    params: dict[str, str]
    method: str
    path: str


@dataclasses.dataclass(frozen=True)
class Fault:
    kind: str
    delay: float = 0.0  # seconds, for "slow" and "slow_reply"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")


@dataclasses.dataclass(frozen=True)
class IamCall:
    """One request seen by the proxy.

    ``status`` is the HTTP status the client received (``None`` when the connection was reset
    instead: faults ``reset`` and ``lost``); ``upstream_status`` is moto's status when the
    request reached moto (``None`` otherwise). ``error_code`` is the ``<Code>`` of an error
    body the client received, if any. ``invocation_id`` and ``attempt`` come from botocore's
    ``amz-sdk-invocation-id`` and ``amz-sdk-request: attempt=N`` headers (``None`` without them).
    """

    seq: int
    action: str | None
    params: dict[str, str]
    method: str
    path: str
    status: int | None
    error_code: str | None
    fault: str | None
    forwarded: bool
    upstream_status: int | None
    duration: float
    invocation_id: str | None = None
    attempt: int | None = None


class FaultRule:
    """``add_fault``'s rule: match an action (or any, when ``action`` is None), fire ``times``
    times or with probability ``rate`` (or always, with neither)."""

    def __init__(
        self,
        kind: str,
        action: str | None = None,
        times: int | None = None,
        rate: float | None = None,
        delay: float = 2.0,
        rng: random.Random | None = None,
    ):
        if times is not None and rate is not None:
            raise ValueError("give times or rate, not both")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        self.fault = Fault(kind, delay)
        self.action = action
        self.remaining = times
        self.rate = rate
        self.fired = 0
        self._rng = rng or random.Random()  # fault injection, not crypto
        self._lock = threading.Lock()

    def __call__(self, request: IamRequest) -> Fault | None:
        if self.action is not None and request.action != self.action:
            return None
        with self._lock:
            if self.remaining is not None:
                if self.remaining <= 0:
                    return None
                self.remaining -= 1
            elif self.rate is not None and self._rng.random() >= self.rate:
                return None
            self.fired += 1
        return self.fault


def error_body(code: str, message: str, error_type: str = "Sender") -> bytes:
    return (
        f'<ErrorResponse xmlns="{IAM_XMLNS}"><Error><Type>{error_type}</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate`` a second; each call takes one, or is refused."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate!r}, burst={burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True


CANNED_ERRORS = {
    "throttle": (400, "Throttling", "Rate exceeded", "Sender"),
    "service_failure": (500, "ServiceFailure", "Request processing has failed due to an internal error.", "Receiver"),
    "access_denied": (403, "AccessDenied", "User is not authorized to perform this action", "Sender"),
    "kms_failure": (400, "KMS.DisabledException", "The KMS key is disabled.", "Sender"),
}
# The same faults as JSON-protocol services answer them: (status, __type by service prefix of X-Amz-Target)
JSON_ERRORS = {
    "throttle": (400, {"secretsmanager": "ThrottlingException", "AmazonSSM": "ThrottlingException"}),
    "service_failure": (500, {"secretsmanager": "InternalServiceError", "AmazonSSM": "InternalServerError"}),
    "access_denied": (400, {"secretsmanager": "AccessDeniedException", "AmazonSSM": "AccessDeniedException"}),
    "kms_failure": (400, {"secretsmanager": "EncryptionFailure", "AmazonSSM": "InvalidKeyId"}),
}


def json_error_reply(kind: str, target: str) -> tuple[int, list[tuple[str, str]], bytes, str]:
    """(status, headers, body, code) of a canned fault for a JSON-protocol service (``target``: X-Amz-Target)."""
    status, codes = JSON_ERRORS["throttle" if kind == RATE_LIMIT_FAULT else kind]
    code = codes.get(target.split(".")[0], codes["secretsmanager"])
    message = CANNED_ERRORS["throttle" if kind == RATE_LIMIT_FAULT else kind][2]
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)], body, code


RATE_LIMIT_FAULT = "rate_limit"  # IamCall.fault of a call the token bucket refused (answered as "throttle" is)
_ATTEMPT = re.compile(r"attempt=(\d+)")


def read_request_body(headers, rfile) -> bytes:
    """A request's whole body from ``rfile``, per its Content-Length or chunked encoding (trailers skipped), so the
    next request on a keep-alive connection starts where this one ended."""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        chunks = []
        while True:
            size = int(rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(rfile.read(size))
            rfile.readline()
    length = int(headers.get("Content-Length") or 0)
    return rfile.read(length) if length > 0 else b""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver listens with a backlog of 5: beyond that, new connections (a client with more threads than its
    # pool opens one a call) lose their SYN and wait a second for the retransmit, which no real endpoint does.
    request_queue_size = 1024

    def __init__(self, proxy: IamProxy):
        self.proxy = proxy
        self.open_sockets: set[socket.socket] = set()
        self.reset_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request_thread(self, request, client_address):
        with self.sockets_lock:
            self.open_sockets.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.sockets_lock:
                self.open_sockets.discard(request)

    def handle_error(self, request, client_address):
        # Clients dropping keep-alive connections are not worth a traceback; bugs are.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def shutdown_request(self, request):
        with self.sockets_lock:
            reset = request in self.reset_sockets
            self.reset_sockets.discard(request)
        if reset:
            # SO_LINGER with a zero timeout makes close() send RST; skip the polite FIN first.
            request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_request(request)
        else:
            super().shutdown_request(request)

    def close_client_sockets(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore reuses connections
    timeout = 120  # idle keep-alive connections
    server: _Server

    def setup(self):
        super().setup()
        self._upstream: http.client.HTTPConnection | None = None
        # Headers and body go out in two writes; without this, Nagle's algorithm and delayed ACKs add ~40 ms a call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _handle(self) -> None:
        started = time.monotonic()
        body = read_request_body(self.headers, self.rfile)
        target = self.headers.get("X-Amz-Target")
        if target:  # a JSON-protocol service (Secrets Manager, SSM)
            params = _json_params(body)
            request = IamRequest(target.split(".")[-1], params, self.command, self.path)
        else:
            params = _parse_params(self.path, self.headers.get("Content-Type", ""), body)
            request = IamRequest(params.get("Action"), params, self.command, self.path)
        proxy = self.server.proxy
        latency, latency_is_total = proxy.latency, proxy.latency_includes_server_time
        if latency > 0 and not latency_is_total:
            time.sleep(latency)  # in this connection's thread: concurrent calls overlap
        bucket = proxy.rate_limit
        if bucket is not None and not bucket.take():
            fault, kind = None, RATE_LIMIT_FAULT
        else:
            fault = proxy.fault_for(request)
            kind = fault.kind if fault else None

        reply: tuple[int, list[tuple[str, str]], bytes] | None = None  # None: reset the connection
        upstream_status: int | None = None
        error_code: str | None = None
        if (kind in CANNED_ERRORS or kind == RATE_LIMIT_FAULT) and target:
            status, headers, payload, error_code = json_error_reply(kind, target)
            reply = (status, headers, payload)
        elif kind in CANNED_ERRORS or kind == RATE_LIMIT_FAULT:
            status, error_code, message, error_type = CANNED_ERRORS["throttle" if kind == RATE_LIMIT_FAULT else kind]
            reply = (status, [("Content-Type", "text/xml")], error_body(error_code, message, error_type))
        elif kind != "reset":
            if kind == "slow":
                time.sleep(fault.delay)
            try:
                upstream_status, headers, payload = self._forward(body)
            except (OSError, http.client.HTTPException) as exc:
                error_code = "ProxyUpstreamError"
                reply = (502, [("Content-Type", "text/plain")], f"upstream error: {exc}\n".encode())
            else:
                if upstream_status >= 400:
                    match = _ERROR_CODE.search(payload) or _JSON_ERROR_TYPE.search(payload)
                    error_code = match.group(1).decode("utf-8", "replace") if match else None
                if kind != "lost":
                    reply = (upstream_status, headers, payload)
                if kind == "slow_reply":
                    time.sleep(fault.delay)

        if latency > 0 and latency_is_total:
            remaining = started + latency - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)

        # Record before replying: a client that got its answer finds its call in `calls`.
        attempt = _ATTEMPT.search(self.headers.get("amz-sdk-request", ""))
        proxy._record(
            action=request.action,
            params=params,
            method=self.command,
            path=self.path,
            status=reply[0] if reply else None,
            error_code=error_code if reply else None,
            fault=kind,
            forwarded=upstream_status is not None,
            upstream_status=upstream_status,
            duration=time.monotonic() - started,
            invocation_id=self.headers.get("amz-sdk-invocation-id"),
            attempt=int(attempt.group(1)) if attempt else None,
        )
        if reply is None:
            self._reset()
        else:
            self._reply(*reply)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request to moto over this client connection's own keep-alive connection to moto.

        A request is sent again only when a reused connection turns out closed before moto answered anything
        (moto closed it while it was idle), so moto cannot have acted on it; any other failure is the caller's.
        """
        while True:
            reused = self._upstream is not None
            if not reused:
                proxy = self.server.proxy
                self._upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
            try:
                return self._exchange(self._upstream, body)
            except (http.client.RemoteDisconnected, BrokenPipeError):
                self._close_upstream()
                if not reused:
                    raise
            except BaseException:
                self._close_upstream()
                raise

    def _exchange(self, upstream: http.client.HTTPConnection, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for key, value in self.headers.items():
            if key.lower() not in HOP_BY_HOP:
                upstream.putheader(key, value)
        upstream.putheader("Content-Length", str(len(body)))
        upstream.endheaders(body)  # with the body in the same segment as the headers
        response = upstream.getresponse()
        payload = response.read()
        if response.will_close:
            self._close_upstream()
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        return response.status, headers, payload

    def _close_upstream(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None

    def finish(self):
        self._close_upstream()
        super().finish()

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response_only(status)
        names = {key.lower() for key, _value in headers}
        for key, value in headers:
            self.send_header(key, value)
        if "date" not in names:
            self.send_header("Date", self.date_time_string())
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _reset(self) -> None:
        self.close_connection = True
        with self.server.sockets_lock:
            self.server.reset_sockets.add(self.connection)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


SECRET_FIELDS = frozenset({"SecretString", "SecretBinary", "Value"})


def _json_params(body: bytes) -> dict[str, str]:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    # the secret values a store write carries are not recorded
    return {key: value for key, value in document.items() if isinstance(value, str) and key not in SECRET_FIELDS}


def _parse_params(path: str, content_type: str, body: bytes) -> dict[str, str]:
    pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query, keep_blank_values=True)
    if content_type.lower().startswith("application/x-www-form-urlencoded"):
        pairs += urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    params: dict[str, str] = {}
    for key, value in pairs:
        params.setdefault(key, value)
    return params


class IamProxy:
    """Recording, fault-injecting HTTP proxy for one upstream (the moto server)."""

    def __init__(
        self,
        upstream_url: str,
        seed: int | None = None,
        latency: float = 0.0,
        rate_limit: tuple[float, int] | None = None,
    ):
        parts = urllib.parse.urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream_url!r}")
        self.upstream_url = upstream_url
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self._rng = random.Random(seed)  # fault injection, not crypto
        self._lock = threading.Lock()
        self._calls: list[IamCall] = []
        self._rules: list[Callable[[IamRequest], Fault | None]] = []
        self._seq = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.latency = 0.0
        self.latency_includes_server_time = False
        self.rate_limit: TokenBucket | None = None
        self.set_latency(latency)
        if rate_limit is not None:
            self.set_rate_limit(*rate_limit)

    # lifecycle
    def start(self) -> IamProxy:
        if self._server is not None:
            raise RuntimeError("proxy already started")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="iam-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.close_client_sockets()
        server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def __enter__(self) -> IamProxy:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("proxy not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # recording
    def _record(self, **fields) -> None:
        with self._lock:
            self._seq += 1
            self._calls.append(IamCall(seq=self._seq, **fields))

    @property
    def calls(self) -> list[IamCall]:
        """A snapshot of the recorded calls, oldest first."""
        with self._lock:
            return list(self._calls)

    def actions(self) -> list[str | None]:
        return [call.action for call in self.calls]

    def count(self, action: str | None = None) -> int:
        return sum(1 for call in self.calls if action is None or call.action == action)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def throttled(self) -> int:
        """Calls answered ``Throttling``: by the rate limit, a ``throttle`` fault, or moto."""
        return sum(1 for call in self.calls if call.error_code == "Throttling")

    def logical_calls(self) -> int:
        """The SDK's calls: attempts of one botocore call share an invocation id; a request without one counts alone."""
        calls = self.calls
        return len({call.invocation_id for call in calls if call.invocation_id}) + sum(
            1 for call in calls if not call.invocation_id
        )

    # real IAM's conditions
    def set_latency(self, seconds: float, includes_server_time: bool = False) -> None:
        """Add ``seconds`` to every call from now on (0 clears it); or, ``includes_server_time``, answer every call
        ``seconds`` after it arrived, or as soon as moto has answered if that takes longer."""
        if seconds < 0:
            raise ValueError(f"latency must be 0 or more seconds, got {seconds!r}")
        self.latency = float(seconds)
        self.latency_includes_server_time = bool(includes_server_time)

    def set_rate_limit(self, calls_per_second: float | None, burst: int | None = None) -> None:
        """Throttle beyond ``calls_per_second`` (a full bucket of ``burst`` tokens, default one second's worth),
        shared by all connections; ``None`` clears it. A new limit starts with a full bucket."""
        if calls_per_second is None:
            self.rate_limit = None
            return
        if burst is None:
            burst = max(1, round(calls_per_second))
        self.rate_limit = TokenBucket(calls_per_second, burst)

    def clear_rate_limit(self) -> None:
        self.set_rate_limit(None)

    # faults
    def add_rule(self, rule: Callable[[IamRequest], Fault | None]) -> Callable[[IamRequest], Fault | None]:
        with self._lock:
            self._rules.append(rule)
        return rule

    def add_fault(
        self,
        kind: str,
        action: str | None = None,
        times: int | None = None,
        rate: float | None = None,
        delay: float = 2.0,
    ) -> FaultRule:
        """Inject ``kind`` into calls of ``action`` (any action if None): the next ``times`` calls,
        or each call with probability ``rate``, or every call when neither is given."""
        rule = FaultRule(kind, action=action, times=times, rate=rate, delay=delay, rng=self._rng)
        self.add_rule(rule)
        return rule

    def clear_faults(self) -> None:
        with self._lock:
            self._rules.clear()

    def fault_for(self, request: IamRequest) -> Fault | None:
        with self._lock:
            rules = list(self._rules)
        for rule in rules:
            fault = rule(request)
            if fault is not None:
                return fault
        return None
