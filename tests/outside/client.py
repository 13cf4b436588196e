"""An outside client for ringlab's reference server, written from docs/protocol.md alone.

It uses another WebSocket stack than the project (the `websockets` library's synchronous
client, not trio-websocket) and none of the project's code, so that what it relies on is
what the documentation promises. What the protocol asks of a client (docs/protocol.md,
*Sessions, sequence numbers, acknowledgements* and *Reconnect and resume*):

- the first frame is `hello`; `welcome` (not sequenced) answers it, then a `snapshot` or a
  replay follows;
- every sequenced frame whose `seq` is not above the highest processed one is dropped
  (rule 4); a gap means lost frames: close the connection and resume (rule 2);
- events are acknowledged (`ack`); this client acks each one at once, which the doc allows;
- requests carry an `id` unique within the session, across reconnects too (a random
  per-client prefix); the answer is `ok` or `error` with `ref`; an `error` without `seq`
  means the frame was not taken;
- `ping` is answered with `pong`;
- after a cut, reconnect (with back-off), send `hello` with `session` and `last_seq` (a
  visitor also its `resume_token`), then send again every request that has no answer,
  with the same id;
- a `ring` for a call whose ring stopped for good is not shown again (ring replay guard);
  a snapshot replaces what the client knew.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import json
import random
import secrets
import socket
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

Frame = dict[str, Any]
Pred = Callable[[Frame], bool]

# websockets >= 17.1 wants connect() as a context manager unless `legacy=True` says that the
# connection is used directly (as here: it outlives the call that opens it); older versions
# have no such flag.
_CONNECT_KW: dict[str, Any] = (
    {"legacy": True} if "legacy" in inspect.signature(connect).parameters else {}
)

FINAL_RING_STOPS = {"accepted", "accepted_elsewhere", "declined", "visitor_left", "timeout"}


class Closed(Exception):
    """The WebSocket connection ended; `code` is the close code received (1006: none)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"connection closed: {code} {reason!r}")
        self.code = code
        self.reason = reason


class Refused(Exception):
    """The server answered `hello` with an error frame instead of `welcome`."""

    def __init__(self, frame: Frame) -> None:
        super().__init__(f"hello refused: {frame}")
        self.frame = frame


# ---------------------------------------------------------------------------------------
# HTTP (operator login, logout, Control Panel API)


def http(
    method: str,
    url: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = 5.0,
) -> tuple[int, dict[str, str], Any]:
    """One HTTP request; returns (status, headers, decoded JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, headers, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, headers, raw = exc.code, dict(exc.headers), exc.read()
    return status, headers, (json.loads(raw) if raw.strip() else None)


def login(base_url: str, name: str, password: str) -> dict[str, Any]:
    """`POST /api/login`; returns {"token", "operator": {...}}."""
    status, _, body = http("POST", f"{base_url}/api/login", {"login": name, "password": password})
    if status != 200:
        raise AssertionError(f"login {name}: HTTP {status} {body}")
    return body  # type: ignore[no-any-return]


def logout(base_url: str, token: str) -> int:
    return http("POST", f"{base_url}/api/logout", token=token)[0]


def masked_text_frame(payload: bytes) -> bytes:
    """One client-to-server WebSocket text frame (RFC 6455: FIN, opcode 1, masked)."""
    n = len(payload)
    if n < 126:
        header = bytes([0x81, 0x80 | n])
    elif n < 1 << 16:
        header = bytes([0x81, 0x80 | 126]) + struct.pack("!H", n)
    else:
        header = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", n)
    mask = secrets.token_bytes(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


# ---------------------------------------------------------------------------------------
# The WebSocket client


class OutsideClient:
    """One operator console or one visitor page instance, across reconnects."""

    def __init__(self, base_url: str, role: str, hello: dict[str, Any], name: str = "") -> None:
        assert role in ("operator", "visitor")
        self.ws_url = base_url.replace("http://", "ws://", 1) + f"/ws/{role}"
        self.role = role
        self.name = name or role
        self.hello_fields = dict(hello)  # operator: token; visitor: account, button, url...
        self.ws: ClientConnection | None = None
        # session
        self.session: str | None = None
        self.resume_token: str | None = None
        self.visitor_id: str | None = hello.get("visitor_id")
        self.last_seq = 0  # highest seq processed in this session
        self.welcome: Frame | None = None
        self.welcomes: list[Frame] = []
        # what was seen
        self.events: list[Frame] = []  # processed sequenced frames, in order, all sessions
        self.unsequenced: list[Frame] = []  # errors without seq, pongs, pings
        self.dropped: list[Frame] = []  # sequenced frames dropped (seq <= last_seq)
        self.gaps: list[tuple[int, int]] = []  # (expected seq, received seq)
        self.close_codes: list[int] = []
        # requests
        self._prefix = secrets.token_hex(4)
        self._ids = itertools.count(1)
        self.pending: dict[str, Frame] = {}  # id -> request with no answer yet
        self.answers: dict[str, Frame] = {}  # ref -> first answer (sequenced ok/error)
        self.repeated_answers: list[Frame] = []  # later answers for an already answered ref
        self.refusals: dict[str, Frame] = {}  # ref -> error without seq (frame not taken)
        self.orphaned: dict[str, Frame] = {}  # pending when a resume gave a new session
        self.resent: list[str] = []  # ids sent again after a resume
        # the state the client shows (a snapshot replaces it)
        self.rings: dict[str, Frame] = {}
        self.stopped_for_good: set[str] = set()
        self.guarded_rings: list[Frame] = []  # rings not shown (ring replay guard)
        self.rooms: dict[str, Frame] = {}
        self.operators: dict[str, Frame] = {}
        self.visitors: dict[str, Frame] = {}
        self.call: str | None = None
        self.call_state: str | None = None
        self.leave_message = False
        self.available: bool | None = None

    # -- connection ---------------------------------------------------------------------

    def connect(self, retry_for: float = 0.0, timeout: float = 5.0) -> Frame:
        """Open a connection and send `hello` (a resume when a session is known).

        Retries with the documented back-off (0.5 s doubling, at most 10 s, +-20 %) for up
        to `retry_for` seconds. Returns `welcome`. After a resume, sends again the requests
        that have no answer, with their ids (docs/protocol.md, Reconnect and resume).
        """
        deadline = time.monotonic() + retry_for
        delay = 0.5
        while True:
            try:
                return self._connect_once(timeout)
            except (OSError, Closed, InvalidStatus, TimeoutError):
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 10.0)

    def _connect_once(self, timeout: float) -> Frame:
        self._drop_socket()
        self.ws = connect(
            self.ws_url,
            open_timeout=timeout,
            close_timeout=2,
            compression=None,
            max_size=2**20,
            **_CONNECT_KW,
        )
        hello: Frame = {"type": "hello", **self.hello_fields}
        if self.visitor_id is not None and self.role == "visitor":
            hello["visitor_id"] = self.visitor_id
        if self.session is not None:
            hello["session"] = self.session
            hello["last_seq"] = self.last_seq
            if self.role == "visitor" and self.resume_token is not None:
                hello["resume_token"] = self.resume_token
        self._send(hello)
        welcome = self._recv(timeout)
        if welcome.get("type") == "error":
            raise Refused(welcome)
        if welcome.get("type") != "welcome":
            raise AssertionError(f"{self.name}: first frame after hello is {welcome}")
        assert "seq" not in welcome, welcome
        self.welcome = welcome
        self.welcomes.append(welcome)
        if welcome["session"] != self.session:
            # a new session: its seq counter starts again at 1
            self.last_seq = 0
            if self.pending:
                # The doc says to send them again; but a new session does not know their
                # ids, so a request that was applied before would be applied twice. Keep
                # them aside for the caller to decide.
                self.orphaned.update(self.pending)
                self.pending.clear()
        self.session = welcome["session"]
        self.resume_token = welcome.get("resume_token", self.resume_token)
        self.visitor_id = welcome.get("visitor_id", self.visitor_id)
        for rid, frame in list(self.pending.items()):
            self.resent.append(rid)
            self._send(frame)
        return welcome

    def cut(self) -> None:
        """Drop the TCP connection at once with no close frame: SO_LINGER {1, 0}, then
        close, so the kernel sends an RST."""
        ws = self.ws
        assert ws is not None
        ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._drop_socket()

    def send_request_cut_midway(self, kind: str, **fields: Any) -> str:
        """Send the first half of a request's WebSocket frame, then cut (RST): the server
        cannot decode it. The request stays pending, to be sent again after the resume."""
        rid = self.new_id()
        frame = {"type": kind, "id": rid, **fields}
        self.pending[rid] = frame
        wire = masked_text_frame(json.dumps(frame).encode())
        assert self.ws is not None
        self.ws.socket.sendall(wire[: len(wire) // 2])
        self.cut()
        return rid

    def _drop_socket(self) -> None:
        ws, self.ws = self.ws, None
        if ws is None:
            return
        close_socket = getattr(ws, "close_socket", None)
        if close_socket is not None:
            close_socket()  # wakes the library's reader thread, then socket.close()
        else:  # pragma: no cover - older websockets
            ws.socket.close()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """A WebSocket close handshake (no `bye`)."""
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.ws.close(code, reason)
            self._drop_socket()

    def bye(self, timeout: float = 5.0) -> int:
        """Leave on purpose; returns the close code the server sent."""
        self._send({"type": "bye"})
        return self.wait_closed(timeout)

    def wait_closed(self, timeout: float = 5.0) -> int:
        """Read (and process) frames until the server closes; returns the close code."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: connection still open after {timeout} s")
            try:
                self._read(left)
            except Closed as exc:
                return exc.code

    # -- frames -------------------------------------------------------------------------

    def _send(self, frame: Frame) -> None:
        if self.ws is None:
            raise Closed(1006, "not connected")
        try:
            self.ws.send(json.dumps(frame))
        except ConnectionClosed as exc:
            raise self._closed(exc) from exc

    def send_raw(self, data: str | bytes) -> None:
        assert self.ws is not None
        self.ws.send(data)

    def _closed(self, exc: ConnectionClosed) -> Closed:
        code = exc.rcvd.code if exc.rcvd is not None else 1006
        reason = exc.rcvd.reason if exc.rcvd is not None else ""
        self.close_codes.append(code)
        self._drop_socket()
        return Closed(code, reason)

    def _recv(self, timeout: float) -> Frame:
        if self.ws is None:
            raise Closed(1006, "not connected")
        try:
            raw = self.ws.recv(timeout=timeout)
        except TimeoutError:
            raise
        except ConnectionClosed as exc:
            raise self._closed(exc) from exc
        frame = json.loads(raw)
        assert isinstance(frame, dict) and "type" in frame, raw
        return frame  # type: ignore[no-any-return]

    def _read(self, timeout: float) -> Frame | None:
        """Read one frame and process it. Returns it if it was processed (or unsequenced),
        None if it was dropped as a duplicate."""
        frame = self._recv(timeout)
        kind = frame["type"]
        if "seq" not in frame:
            self.unsequenced.append(frame)
            if kind == "ping":
                self._send({"type": "pong"})
            elif kind == "error" and "ref" in frame:
                self.refusals[frame["ref"]] = frame
            return frame
        seq = frame["seq"]
        if seq <= self.last_seq:
            self.dropped.append(frame)
            return None
        if seq != self.last_seq + 1:
            # a gap: this connection lost frames; resume, which replays them
            self.gaps.append((self.last_seq + 1, seq))
            self.connect(retry_for=5)
            return None
        self.last_seq = seq
        self.events.append(frame)
        self._apply(frame)
        with contextlib.suppress(Closed):
            self._send({"type": "ack", "seq": seq})
        return frame

    def _apply(self, f: Frame) -> None:
        kind = f["type"]
        if kind in ("ok", "error") and "ref" in f:
            ref = f["ref"]
            if ref in self.answers:
                self.repeated_answers.append(f)
            else:
                self.answers[ref] = f
            self.pending.pop(ref, None)
            self.orphaned.pop(ref, None)
        elif kind == "snapshot":
            self.rooms = {r["room"]: r for r in f.get("rooms", [])}
            if self.role == "operator":
                self.rings = {}
                for ring in f.get("rings", []):
                    if ring["call"] in self.stopped_for_good:
                        self.guarded_rings.append(ring)
                    else:
                        self.rings[ring["call"]] = ring
                self.operators = {o["id"]: o for o in f.get("operators", [])}
                self.visitors = {v["id"]: v for v in f.get("visitors", [])}
            else:
                self.visitor_id = f.get("visitor_id", self.visitor_id)
                self.available = f.get("available")
                self.call = f.get("call")
                self.call_state = f.get("call_state")
                self.leave_message = bool(f.get("leave_message", False))
        elif kind == "ring":
            if f["call"] in self.stopped_for_good:
                self.guarded_rings.append(f)
            else:
                self.rings[f["call"]] = f
        elif kind == "ring_stop":
            self.rings.pop(f["call"], None)
            if f["reason"] in FINAL_RING_STOPS:
                self.stopped_for_good.add(f["call"])
        elif kind == "room_opened":
            self.rooms[f["room"]["room"]] = f["room"]
        elif kind == "room_closed":
            self.rooms.pop(f["room"], None)
        elif kind == "message":
            room = self.rooms.get(f["room"])
            if room is not None:
                room.setdefault("messages", []).append(f)
        elif kind == "operator_status":
            self.operators[f["operator"]["id"]] = f["operator"]
        elif kind == "visitor_arrived":
            self.visitors[f["visitor"]["id"]] = f["visitor"]
        elif kind == "visitor_left":
            self.visitors.pop(f["visitor"], None)
        elif kind == "call_state":
            self.call, self.call_state = f["call"], f["state"]
            self.leave_message = bool(f.get("leave_message", False))
        elif kind == "availability":
            self.available = f["online"]

    # -- waiting ------------------------------------------------------------------------

    def next_event(self, pred: Pred, timeout: float = 5.0, what: str = "") -> Frame:
        """Read until a processed sequenced frame matches `pred` (frames already processed
        are not searched)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"{self.name}: no {what or 'matching frame'} within {timeout} s; "
                    f"last events: {self.events[-5:]}"
                )
            try:
                frame = self._read(left)
            except TimeoutError:
                continue
            if frame is not None and "seq" in frame and pred(frame):
                return frame

    def next_unsequenced(self, pred: Pred, timeout: float = 5.0, what: str = "") -> Frame:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no {what or 'unsequenced frame'} in {timeout} s")
            try:
                frame = self._read(left)
            except TimeoutError:
                continue
            if frame is not None and "seq" not in frame and pred(frame):
                return frame

    def drain(self, duration: float) -> list[Frame]:
        """Read everything that arrives for `duration` seconds; returns what was processed."""
        start = len(self.events)
        deadline = time.monotonic() + duration
        while (left := deadline - time.monotonic()) > 0:
            try:
                self._read(left)
            except TimeoutError:
                break
        return self.events[start:]

    def ping(self, timeout: float = 3.0) -> Frame:
        """A client `ping`; the server answers `pong` (unsequenced)."""
        self._send({"type": "ping"})
        return self.next_unsequenced(lambda f: f["type"] == "pong", timeout, "pong")

    # -- requests -----------------------------------------------------------------------

    def new_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    def send_request(self, kind: str, rid: str | None = None, **fields: Any) -> str:
        """Send a request; it stays pending until its answer arrives. Returns its id."""
        rid = rid or self.new_id()
        frame = {"type": kind, "id": rid, **fields}
        self.pending[rid] = frame
        self._send(frame)
        return rid

    def wait_answer(self, rid: str, timeout: float = 5.0) -> Frame:
        """The answer to `rid`: a sequenced ok/error, or an error without seq (not taken)."""
        deadline = time.monotonic() + timeout
        while rid not in self.answers and rid not in self.refusals:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no answer to {rid} within {timeout} s")
            with contextlib.suppress(TimeoutError):
                self._read(left)
        if rid in self.answers:
            return self.answers[rid]
        self.pending.pop(rid, None)
        return self.refusals.pop(rid)

    def request(self, kind: str, timeout: float = 5.0, **fields: Any) -> Frame:
        return self.wait_answer(self.send_request(kind, **fields), timeout)

    def ok(self, kind: str, timeout: float = 5.0, **fields: Any) -> Frame:
        """A request that must succeed."""
        answer = self.request(kind, timeout, **fields)
        if answer["type"] != "ok":
            raise AssertionError(f"{self.name}: {kind} {fields} answered {answer}")
        return answer

    # -- views --------------------------------------------------------------------------

    def seen(self, kind: str, **fields: Any) -> list[Frame]:
        """Processed sequenced frames of `kind` whose fields equal `fields`."""
        return [
            f
            for f in self.events
            if f["type"] == kind and all(f.get(k) == v for k, v in fields.items())
        ]

    def snapshots(self) -> list[Frame]:
        return self.seen("snapshot")


def operator(base_url: str, token: str, name: str = "operator") -> OutsideClient:
    client = OutsideClient(base_url, "operator", {"token": token}, name)
    client.connect()
    client.next_event(lambda f: f["type"] == "snapshot", what="snapshot")
    return client


def visitor(
    base_url: str,
    url: str = "http://shop.example/",
    name: str = "visitor",
    account: str = "demo",
    button: str = "btn_main",
    **fields: Any,
) -> OutsideClient:
    hello = {
        "account": account,
        "button": button,
        "page_instance": "p-" + secrets.token_hex(6),
        "url": url,
        **fields,
    }
    client = OutsideClient(base_url, "visitor", hello, name)
    client.connect()
    client.next_event(lambda f: f["type"] == "snapshot", what="snapshot")
    return client
