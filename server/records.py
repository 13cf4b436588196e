"""What the store keeps, as SQL: the schema, and core records to rows and back.

Pure functions over a ``sqlite3.Connection``; :mod:`server.store` decides which
connection, which thread and which transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    Settings,
)

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
    sender_name TEXT NOT NULL, text TEXT NOT NULL, at REAL NOT NULL, request_id TEXT,
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
        "INSERT INTO messages VALUES (?,?,?,?,?,?,?,?)",
        lambda m: (m.room_id, m.n, m.role, m.sender_id, m.sender_name, m.text, m.at, m.request_id),
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


def migrate(db: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version to the schema (columns added since)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
    if "request_id" not in columns:
        db.execute("ALTER TABLE messages ADD COLUMN request_id TEXT")


def accounts(db: sqlite3.Connection) -> list[Account]:
    rows = db.execute("SELECT * FROM accounts ORDER BY id")
    return [Account(r[0], r[1], Settings(r[2], r[3], Binding(r[4]))) for r in rows]


def operators(db: sqlite3.Connection) -> list[Operator]:
    return [operator(r) for r in db.execute("SELECT * FROM operators ORDER BY id")]


def buttons(db: sqlite3.Connection) -> list[Button]:
    return [Button(*r) for r in db.execute("SELECT * FROM buttons ORDER BY id")]


def call(r: tuple[Any, ...]) -> Call:
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


def operator(row: tuple[Any, ...]) -> Operator:
    return Operator(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


def write(db: sqlite3.Connection, batch: list[Any]) -> None:
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
