"""SQLite persistence: what the server must keep across restarts.

WAL mode with ``synchronous=NORMAL`` (the durability this promises: docs/security.md).

**Writes run inline**, on the event loop's thread, in one connection. A transaction of the
runtime's batch is short: a hop to a worker thread and back costs more than the write itself
(bench/RESULTS.md), and writes never overlap anyway: the runtime makes them one at a time.
What could take long in a write is the WAL checkpoint that copies the log back into the
database (and syncs it), so the writer never checkpoints itself (``wal_autocheckpoint=0``):
:meth:`Store.checkpoint` does, from the reader's connection, in a worker thread.

**Reads run in a worker thread** on a second connection (WAL: readers see every committed
transaction and never block the writer), one at a time. An in-memory database cannot have
a second connection, so there reads share the writer's connection, inline.

Tests and simulations inject one ``runner`` for every call: inline under the virtual clock
(a thread would let the autojump clock race ahead), or one that takes time.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import trio

from . import records
from .core import (
    Account,
    Binding,
    Button,
    Call,
    Conflict,
    Membership,
    Message,
    OfflineMessage,
    Operator,
    Room,
    RoomState,
)

T = TypeVar("T")
Runner = Callable[[Callable[[], Any]], Awaitable[Any]]


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
    """Blocking calls in a worker thread, one at a time."""
    limiter = trio.CapacityLimiter(1)

    async def run(fn: Callable[[], T]) -> T:
        return await trio.to_thread.run_sync(fn, limiter=limiter)

    return run


async def inline(fn: Callable[[], T]) -> T:
    """Blocking, on the caller's thread: invisible to the autojump clock."""
    return fn()


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def _schema(db: sqlite3.Connection) -> None:
    db.executescript(records.SCHEMA)
    records.migrate(db)


class Store:
    """The server's SQLite database. Create with :meth:`open`."""

    def __init__(
        self,
        db: sqlite3.Connection,
        write: Runner,
        reader: sqlite3.Connection | None = None,
        read: Runner | None = None,
    ) -> None:
        self._db = db
        self._write = write
        self._reader = reader or db
        self._read = read or write
        #: checkpoints are this store's to make (a file database, written inline)
        self.checkpoints = reader is not None
        self.closed = False

    @classmethod
    async def open(cls, path: str, *, threaded: bool = True, runner: Runner | None = None) -> Store:
        """Open (creating if needed) the database at ``path`` (``:memory:`` for tests).
        ``runner``: one runner for every call instead of the real server's (see above)."""
        if runner is not None or not threaded:
            run = runner or inline
            db = await run(lambda: _connect(path))
            await run(lambda: _schema(db))
            return cls(db, run)
        db = _connect(path)
        _schema(db)
        if path == ":memory:" or path.startswith("file::memory:"):
            return cls(db, inline)
        db.execute("PRAGMA wal_autocheckpoint=0")  # see the module's docstring
        read = in_thread()
        return cls(db, inline, await read(lambda: _connect(path)), read)

    async def checkpoint(self) -> None:
        """Copy the WAL back into the database, as far as readers allow (``PASSIVE``: it
        never waits for, nor blocks, the writer)."""
        if self.checkpoints and not self.closed:
            await self._read(lambda: self._reader.execute("PRAGMA wal_checkpoint(PASSIVE)"))

    async def close(self) -> None:
        self.closed = True
        if self.checkpoints:
            await self._read(lambda: self._reader.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
            await self._read(self._reader.close)
        await self._write(self._db.close)

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

        return cast(T, await self._write(run))

    async def _query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        rows = await self._read(lambda: self._reader.execute(sql, args).fetchall())
        return cast(list[tuple[Any, ...]], rows)

    async def apply(self, batch: Iterable[Any]) -> None:
        """Store a batch of core records in one transaction."""
        rows = list(batch)
        if rows:
            await self._tx(lambda db: records.write(db, rows))

    async def add_account(
        self, account: Account, operators: Iterable[Operator], buttons: Iterable[Button]
    ) -> None:
        def write(db: sqlite3.Connection) -> None:
            records.write(db, [account])
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

    async def rooms(
        self, account_id: str, limit: int = 100, before: str | None = None
    ) -> list[records.RoomSummary]:
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
            records.RoomSummary(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7].split(",") if r[7] else []
            )
            for r in rows
        ]

    async def account_data(self) -> tuple[list[Account], list[Operator], list[Button]]:
        """Every account, operator and button (what :meth:`load` reads of them)."""

        def read(db: sqlite3.Connection) -> tuple[list[Account], list[Operator], list[Button]]:
            return records.accounts(db), records.operators(db), records.buttons(db)

        return await self._read(lambda: read(self._reader))  # type: ignore[no-any-return]

    async def is_empty(self) -> bool:
        return not await self._query("SELECT 1 FROM accounts LIMIT 1")

    async def operator_by_login(self, login: str) -> Operator | None:
        rows = await self._query("SELECT * FROM operators WHERE login=?", login)
        return records.operator(rows[0]) if rows else None

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
                records.call(r)
                for r in db.execute(
                    f"SELECT * FROM calls WHERE id IN ({','.join('?' * len(ringing))})", ringing
                )
            ]
            db.execute(
                "UPDATE invitations SET state='cancelled', ended_at=? WHERE state='pending'", (now,)
            )
            accounts, operators, buttons = (
                records.accounts(db),
                records.operators(db),
                records.buttons(db),
            )
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
                by_id[r[0]].add_message(Message(*r))
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
