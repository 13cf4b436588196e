"""SQLite persistence: what the server must keep across restarts.

One connection, WAL mode, every call serialized and run off the event loop
by an injected runner (a worker thread in real time; inline under the
virtual clock, where a thread would let the autojump clock race ahead).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import trio

from .core import (
    Account,
    Binding,
    Button,
    Call,
    CallState,
    Conflict,
    Invitation,
    Membership,
    Message,
    OfflineMessage,
    Operator,
    Room,
    RoomState,
    Settings,
)

T = TypeVar("T")
Runner = Callable[[Callable[[], Any]], Awaitable[Any]]

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL,
    ring_timeout REAL NOT NULL, max_chats INTEGER NOT NULL, binding TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS operators (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),
    login TEXT NOT NULL UNIQUE, name TEXT NOT NULL, password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS buttons (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, operator_id TEXT NOT NULL REFERENCES operators(id),
    created_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, button_id TEXT NOT NULL,
    visitor_id TEXT NOT NULL, page_instance_id TEXT NOT NULL, state TEXT NOT NULL,
    created_at REAL NOT NULL, accepted_by TEXT, accepted_at REAL, ended_at REAL,
    end_reason TEXT, room_id TEXT);
CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, visitor_id TEXT NOT NULL,
    call_id TEXT, invitation_id TEXT, state TEXT NOT NULL, opened_at REAL NOT NULL,
    closed_at REAL, close_reason TEXT);
CREATE TABLE IF NOT EXISTS room_operators (
    room_id TEXT NOT NULL, operator_id TEXT NOT NULL, joined_at REAL NOT NULL, left_at REAL,
    PRIMARY KEY (room_id, operator_id, joined_at));
CREATE TABLE IF NOT EXISTS messages (
    room_id TEXT NOT NULL, n INTEGER NOT NULL, role TEXT NOT NULL, sender_id TEXT NOT NULL,
    sender_name TEXT NOT NULL, text TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (room_id, n));
CREATE TABLE IF NOT EXISTS invitations (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, operator_id TEXT NOT NULL,
    visitor_id TEXT NOT NULL, text TEXT NOT NULL, state TEXT NOT NULL,
    created_at REAL NOT NULL, ended_at REAL, room_id TEXT);
CREATE TABLE IF NOT EXISTS offline_messages (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, visitor_id TEXT NOT NULL, name TEXT NOT NULL,
    email TEXT NOT NULL, text TEXT NOT NULL, at REAL NOT NULL, call_id TEXT);
CREATE TABLE IF NOT EXISTS conflicts (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, visitor_id TEXT NOT NULL,
    first_page_instance TEXT NOT NULL, second_page_instance TEXT NOT NULL,
    first_url TEXT NOT NULL, second_url TEXT NOT NULL, binding TEXT NOT NULL,
    assigned_visitor_id TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rooms_open ON rooms (state);
CREATE INDEX IF NOT EXISTS calls_account ON calls (account_id, created_at);
"""

_UPSERT: dict[type, tuple[str, Callable[[Any], tuple[Any, ...]]]] = {
    Account: (
        "INSERT OR REPLACE INTO accounts VALUES (?,?,?,?,?)",
        lambda a: (
            a.id,
            a.name,
            a.settings.ring_timeout,
            a.settings.max_chats,
            a.settings.binding.value,
        ),
    ),
    Call: (
        "INSERT OR REPLACE INTO calls VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        lambda c: (
            c.id,
            c.account_id,
            c.button_id,
            c.visitor_id,
            c.page_instance_id,
            c.state.value,
            c.created_at,
            c.accepted_by,
            c.accepted_at,
            c.ended_at,
            c.end_reason,
            c.room_id,
        ),
    ),
    Room: (
        "INSERT OR REPLACE INTO rooms VALUES (?,?,?,?,?,?,?,?,?)",
        lambda r: (
            r.id,
            r.account_id,
            r.visitor_id,
            r.call_id,
            r.invitation_id,
            r.state.value,
            r.opened_at,
            r.closed_at,
            r.close_reason,
        ),
    ),
    Message: (
        "INSERT INTO messages VALUES (?,?,?,?,?,?,?)",
        lambda m: (m.room_id, m.n, m.role, m.sender_id, m.sender_name, m.text, m.at),
    ),
    Invitation: (
        "INSERT OR REPLACE INTO invitations VALUES (?,?,?,?,?,?,?,?,?)",
        lambda i: (
            i.id,
            i.account_id,
            i.operator_id,
            i.visitor_id,
            i.text,
            i.state.value,
            i.created_at,
            i.ended_at,
            i.room_id,
        ),
    ),
    OfflineMessage: (
        "INSERT INTO offline_messages VALUES (?,?,?,?,?,?,?,?)",
        lambda o: (o.id, o.account_id, o.visitor_id, o.name, o.email, o.text, o.at, o.call_id),
    ),
    Conflict: (
        "INSERT INTO conflicts VALUES (?,?,?,?,?,?,?,?,?,?)",
        lambda c: (
            c.id,
            c.account_id,
            c.visitor_id,
            c.first_page_instance,
            c.second_page_instance,
            c.first_url,
            c.second_url,
            c.binding.value,
            c.assigned_visitor_id,
            c.at,
        ),
    ),
}


def token_hash(token: str) -> str:
    """Tokens are kept hashed, so a copy of the database logs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(slots=True)
class Loaded:
    """Everything a starting server takes from the store."""

    accounts: list[Account]
    operators: list[Operator]
    buttons: list[Button]
    open_rooms: list[Room]
    members: list[Membership]
    missed: list[Call]  # calls left ringing by the previous process, missed now


def in_thread() -> Runner:
    """The real server's runner: blocking calls in a worker thread, one at a time."""
    limiter = trio.CapacityLimiter(1)

    async def run(fn: Callable[[], T]) -> T:
        return await trio.to_thread.run_sync(fn, limiter=limiter)

    return run


async def inline(fn: Callable[[], T]) -> T:
    """The virtual clock's runner: blocking, but invisible to the autojump clock."""
    return fn()


class Store:
    """The server's SQLite database. Create with :meth:`open`."""

    def __init__(self, db: sqlite3.Connection, runner: Runner) -> None:
        self._db = db
        self._run = runner

    @classmethod
    async def open(cls, path: str, *, threaded: bool = True, runner: Runner | None = None) -> Store:
        """Open (creating if needed) the database at ``path`` (``:memory:`` for tests).
        ``runner`` runs each blocking call (default: a worker thread, or inline)."""
        runner = runner or (in_thread() if threaded else inline)

        def connect() -> sqlite3.Connection:
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(SCHEMA)
            return db

        return cls(await runner(connect), runner)

    async def close(self) -> None:
        await self._run(self._db.close)

    async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._db)
            except BaseException:
                if self._db.in_transaction:  # some errors (a full disk) roll back themselves
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return result

        return cast(T, await self._run(run))

    async def _query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        rows = await self._run(lambda: self._db.execute(sql, args).fetchall())
        return cast(list[tuple[Any, ...]], rows)

    # ---------------------------------------------------------------- writes

    async def apply(self, records: Iterable[Any]) -> None:
        """Store a batch of core records in one transaction."""
        batch = list(records)
        if batch:
            await self._tx(lambda db: _write(db, batch))

    async def add_account(
        self, account: Account, operators: Iterable[Operator], buttons: Iterable[Button]
    ) -> None:
        def write(db: sqlite3.Connection) -> None:
            _write(db, [account])
            db.executemany(
                "INSERT INTO operators VALUES (?,?,?,?,?,?)",
                [
                    (o.id, o.account_id, o.login, o.name, o.password_hash, int(o.is_admin))
                    for o in operators
                ],
            )
            db.executemany(
                "INSERT INTO buttons VALUES (?,?,?)",
                [(b.id, b.account_id, b.name) for b in buttons],
            )

        await self._tx(write)

    async def add_token(self, token: str, operator_id: str, now: float, ttl: float) -> None:
        await self._tx(
            lambda db: db.execute(
                "INSERT INTO tokens VALUES (?,?,?,?)",
                (token_hash(token), operator_id, now, now + ttl),
            )
        )

    async def token_operator(self, token: str, now: float) -> str | None:
        """The operator a live token belongs to, or None."""
        rows = await self._query(
            "SELECT operator_id FROM tokens WHERE token_hash=? AND expires_at>?",
            token_hash(token),
            now,
        )
        return rows[0][0] if rows else None

    async def revoke_token(self, token: str) -> None:
        await self._tx(
            lambda db: db.execute("DELETE FROM tokens WHERE token_hash=?", (token_hash(token),))
        )

    async def add_operator(self, op: Operator) -> None:
        """Raises :class:`LoginTaken` if the login is in use."""

        def write(db: sqlite3.Connection) -> None:
            try:
                db.execute(
                    "INSERT INTO operators VALUES (?,?,?,?,?,?)",
                    (op.id, op.account_id, op.login, op.name, op.password_hash, int(op.is_admin)),
                )
            except sqlite3.IntegrityError:
                raise LoginTaken(op.login) from None

        await self._tx(write)

    async def remove_operator(self, operator_id: str) -> None:
        """Delete an operator and its tokens; its messages keep its name."""

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM tokens WHERE operator_id=?", (operator_id,))
            db.execute("DELETE FROM operators WHERE id=?", (operator_id,))

        await self._tx(write)

    async def set_password(self, operator_id: str, password_hash: str) -> None:
        """A new password; every token of the operator stops working."""

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE operators SET password_hash=? WHERE id=?", (password_hash, operator_id)
            )
            db.execute("DELETE FROM tokens WHERE operator_id=?", (operator_id,))

        await self._tx(write)

    # ---------------------------------------------------------------- reads

    async def rooms(
        self, account_id: str, limit: int = 100, before: str | None = None
    ) -> list[RoomSummary]:
        """The account's chats, newest first, for the transcripts list: ``limit`` of them,
        opened before the chat ``before`` (the last one of the previous page)."""
        after = (
            " AND (r.opened_at, r.id) < (SELECT opened_at, id FROM rooms WHERE id=?)"
            if before
            else ""
        )
        rows = await self._query(
            "SELECT r.id, r.visitor_id, r.state, r.opened_at, r.closed_at, r.close_reason, "
            "(SELECT COUNT(*) FROM messages m WHERE m.room_id = r.id), "
            "(SELECT GROUP_CONCAT(DISTINCT o.name) FROM room_operators ro "
            " JOIN operators o ON o.id = ro.operator_id WHERE ro.room_id = r.id) "
            f"FROM rooms r WHERE r.account_id=?{after} ORDER BY r.opened_at DESC, r.id DESC "
            "LIMIT ?",
            *([account_id, before] if before else [account_id]),
            limit,
        )
        return [
            RoomSummary(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7].split(",") if r[7] else [])
            for r in rows
        ]

    async def account_data(self) -> tuple[list[Account], list[Operator], list[Button]]:
        """Every account, operator and button (what :meth:`load` reads of them)."""

        def read(db: sqlite3.Connection) -> tuple[list[Account], list[Operator], list[Button]]:
            return _accounts(db), _operators(db), _buttons(db)

        return await self._run(lambda: read(self._db))  # type: ignore[no-any-return]

    async def is_empty(self) -> bool:
        return not await self._query("SELECT 1 FROM accounts LIMIT 1")

    async def operator_by_login(self, login: str) -> Operator | None:
        rows = await self._query("SELECT * FROM operators WHERE login=?", login)
        return _operator(rows[0]) if rows else None

    async def load(self, now: float) -> Loaded:
        """Read account data and open rooms; calls left ringing end as missed.

        A ringing call cannot survive a restart (its rings lived in connections
        that are gone), so it ends with reason ``server_restart``; pending
        invitations are cancelled likewise.
        """

        def read(db: sqlite3.Connection) -> Loaded:
            ringing = [r[0] for r in db.execute("SELECT id FROM calls WHERE state='ringing'")]
            db.execute(
                "UPDATE calls SET state='missed', ended_at=?, end_reason='server_restart'"
                " WHERE state='ringing'",
                (now,),
            )
            missed = [
                _call(r)
                for r in db.execute(
                    f"SELECT * FROM calls WHERE id IN ({','.join('?' * len(ringing))})", ringing
                )
            ]
            db.execute(
                "UPDATE invitations SET state='cancelled', ended_at=? WHERE state='pending'", (now,)
            )
            accounts, operators, buttons = _accounts(db), _operators(db), _buttons(db)
            rooms = [
                Room(
                    id=r[0],
                    account_id=r[1],
                    visitor_id=r[2],
                    call_id=r[3],
                    invitation_id=r[4],
                    state=RoomState(r[5]),
                    opened_at=r[6],
                )
                for r in db.execute("SELECT * FROM rooms WHERE state='open' ORDER BY id")
            ]
            by_id = {room.id: room for room in rooms}
            for r in db.execute(
                "SELECT m.* FROM messages m JOIN rooms r ON r.id=m.room_id"
                " WHERE r.state='open' ORDER BY m.room_id, m.n"
            ):
                by_id[r[0]].messages.append(Message(*r))
            members = [
                Membership(*r)
                for r in db.execute(
                    "SELECT ro.* FROM room_operators ro JOIN rooms r ON r.id=ro.room_id"
                    " WHERE r.state='open' AND ro.left_at IS NULL ORDER BY ro.joined_at"
                )
            ]
            return Loaded(accounts, operators, buttons, rooms, members, missed)

        return await self._tx(read)

    async def room_account(self, room_id: str) -> str | None:
        """The account a chat belongs to, or None if there is no such chat."""
        rows = await self._query("SELECT account_id FROM rooms WHERE id=?", room_id)
        return rows[0][0] if rows else None

    async def transcript(self, room_id: str) -> list[Message]:
        rows = await self._query("SELECT * FROM messages WHERE room_id=? ORDER BY n", room_id)
        return [Message(*r) for r in rows]

    async def calls(self, account_id: str) -> list[Call]:
        rows = await self._query(
            "SELECT * FROM calls WHERE account_id=? ORDER BY created_at", account_id
        )
        return [_call(r) for r in rows]

    async def conflicts(self, account_id: str) -> list[Conflict]:
        rows = await self._query(
            "SELECT * FROM conflicts WHERE account_id=? ORDER BY at", account_id
        )
        return [
            Conflict(r[0], r[1], r[2], r[3], r[4], r[5], r[6], Binding(r[7]), r[8], r[9])
            for r in rows
        ]

    async def offline_messages(self, account_id: str) -> list[OfflineMessage]:
        rows = await self._query(
            "SELECT * FROM offline_messages WHERE account_id=? ORDER BY at", account_id
        )
        return [OfflineMessage(*r) for r in rows]


class LoginTaken(ValueError):
    """Another operator already has this login."""


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """One chat in the transcripts list."""

    id: str
    visitor_id: str
    state: str
    opened_at: float
    closed_at: float | None
    close_reason: str | None
    messages: int
    operators: list[str]


def _accounts(db: sqlite3.Connection) -> list[Account]:
    rows = db.execute("SELECT * FROM accounts ORDER BY id")
    return [Account(r[0], r[1], Settings(r[2], r[3], Binding(r[4]))) for r in rows]


def _operators(db: sqlite3.Connection) -> list[Operator]:
    return [_operator(r) for r in db.execute("SELECT * FROM operators ORDER BY id")]


def _buttons(db: sqlite3.Connection) -> list[Button]:
    return [Button(*r) for r in db.execute("SELECT * FROM buttons ORDER BY id")]


def _call(r: tuple[Any, ...]) -> Call:
    return Call(
        id=r[0],
        account_id=r[1],
        button_id=r[2],
        visitor_id=r[3],
        page_instance_id=r[4],
        state=CallState(r[5]),
        created_at=r[6],
        accepted_by=r[7],
        accepted_at=r[8],
        ended_at=r[9],
        end_reason=r[10],
        room_id=r[11],
    )


def _operator(row: tuple[Any, ...]) -> Operator:
    return Operator(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


def _write(db: sqlite3.Connection, batch: list[Any]) -> None:
    for record in batch:
        if isinstance(record, Membership):
            if record.left_at is None:
                db.execute(
                    "INSERT INTO room_operators VALUES (?,?,?,NULL)",
                    (record.room_id, record.operator_id, record.joined_at),
                )
            else:
                db.execute(
                    "UPDATE room_operators SET left_at=? WHERE room_id=? AND "
                    "operator_id=? AND left_at IS NULL",
                    (record.left_at, record.room_id, record.operator_id),
                )
            continue
        sql, row = _UPSERT[type(record)]
        db.execute(sql, row(record))
