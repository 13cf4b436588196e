"""SQLite store: everything the server keeps survives a restart."""

import random

from server import protocol as p
from server import records
from server.core import (
    Account,
    Binding,
    Button,
    Hub,
    Operator,
    SeededIds,
    Settings,
)
from server.store import Store


async def stored_calls(store, account_id):
    """The account's calls as the database holds them, oldest first."""
    rows = await store._query(
        "SELECT * FROM calls WHERE account_id=? ORDER BY created_at", account_id
    )
    return [records.call(r) for r in rows]


async def test_restart_keeps_transcripts_calls_conflicts_and_open_rooms(tmp_path):
    db = str(tmp_path / "chat.db")
    store = await Store.open(db)
    await store.add_account(
        Account("acc", "Acme", Settings(binding=Binding.LEGACY)),
        [Operator("op0", "acc", "op0", "Op", "hash")],
        [Button("btn", "acc", "Main")],
    )
    loaded = await store.load(1.0)
    hub = Hub(SeededIds(random.Random(3)))
    hub.load(loaded.accounts, loaded.operators, loaded.buttons)

    async def run(effects):
        await store.apply([fx.record for fx in effects if hasattr(fx, "record")])

    now = 100.0
    op, fx = hub.operator_connect(now, "op0", p.OperatorHello(token="t"))
    await run(fx)
    hellos = [
        p.VisitorHello(
            account="acc", button="btn", page_instance=f"pg{i}", url=f"u{i}", visitor_id="v_same"
        )
        for i in range(2)
    ]
    v, fx = hub.visitor_connect(now, hellos[0])
    await run(fx)
    _, fx = hub.visitor_connect(now, hellos[1])
    await run(fx)
    fx = hub.handle(now, v.id, p.PlaceCall(id="c"))
    await run(fx)
    call = next(m.message.call for m in fx if isinstance(getattr(m, "message", None), p.Ok))
    fx = hub.handle(now + 2, op.id, p.Accept(id="a", call=call))
    await run(fx)
    room = next(m.message.room for m in fx if isinstance(getattr(m, "message", None), p.Ok))
    await run(hub.handle(now + 3, v.id, p.Send(id="m1", room=room, text="hello")))
    await run(hub.handle(now + 4, op.id, p.Send(id="m2", room=room, text="hi there")))
    await run(
        hub.handle(now + 5, v.id, p.LeaveMessage(id="l", name="A", email="a@b", text="later"))
    )
    # a second call left ringing when the server stops
    w, fx = hub.visitor_connect(
        now, p.VisitorHello(account="acc", button="btn", page_instance="pgw", url="w")
    )
    await run(fx)
    await run(hub.handle(now + 6, w.id, p.PlaceCall(id="c2")))
    await store.close()

    store2 = await Store.open(db)
    loaded = await store2.load(200.0)
    assert [m.text for m in await store2.transcript(room)] == ["hello", "hi there"]
    assert [(r.id, [m.n for m in r.messages]) for r in loaded.open_rooms] == [(room, [1, 2])]
    assert [(m.room_id, m.operator_id) for m in loaded.members] == [(room, "op0")]
    calls = await stored_calls(store2, "acc")
    assert [(c.state, c.end_reason) for c in calls] == [
        ("accepted", None),
        ("missed", "server_restart"),
    ]
    assert calls[0].accepted_by == "op0" and calls[0].accepted_at == now + 2
    conflicts = await store2.conflicts("acc")
    assert [(c.first_url, c.second_url) for c in conflicts] == [("u0", "u1")]
    assert [m.text for m in await store2.offline_messages("acc")] == ["later"]
    assert loaded.accounts[0].settings.binding == Binding.LEGACY

    hub2 = Hub(SeededIds(random.Random(4)))
    hub2.load(loaded.accounts, loaded.operators, loaded.buttons)
    hub2.restore(200.0, loaded.open_rooms, loaded.members)
    _op2, fx = hub2.operator_connect(201.0, "op0", p.OperatorHello(token="t"))
    snap = next(
        m.message for m in fx if isinstance(getattr(m, "message", None), p.OperatorSnapshot)
    )
    assert [[m.text for m in r.messages] for r in snap.rooms] == [["hello", "hi there"]]
    await store2.close()


async def test_tokens_are_stored_hashed_expire_and_revoke(tmp_path):
    store = await Store.open(":memory:")
    await store.add_account(Account("acc", "Acme"), [Operator("op0", "acc", "l", "n", "h")], [])
    await store.add_token("secret-token", "op0", 10.0, 60.0)
    assert await store.token_operator("secret-token", 20.0) == "op0"
    assert await store.token_operator("secret-token", 71.0) is None
    assert await store.token_operator("other", 20.0) is None
    rows = await store._query("SELECT token_hash FROM tokens")
    assert rows and rows[0][0] != "secret-token"
    await store.revoke_token("secret-token")
    assert await store.token_operator("secret-token", 20.0) is None


async def test_writes_are_inline_and_the_reader_checkpoints(tmp_path):
    """The writer never checkpoints (its transactions stay short on the event loop); the
    reader's connection copies the WAL back, in a worker thread; close truncates it."""
    import sqlite3

    from server.core import Message

    path = str(tmp_path / "s.db")
    store = await Store.open(path)
    assert store.checkpoints
    for n in range(1, 1501):  # 1,500 transactions: past SQLite's automatic 1,000 pages
        await store.apply([Message("room", n, "visitor", "v", "V", f"m{n}", float(n))])
    with sqlite3.connect(path) as peek:
        _, frames, done = peek.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames >= 1500 and done == frames  # nothing checkpointed it before this peek
    await store.apply([Message("room", 1501, "visitor", "v", "V", "last", 1501.0)])
    await store.checkpoint()
    assert len(await store.transcript("room")) == 1501  # the reader sees every commit
    await store.close()
    assert (tmp_path / "s.db-wal").stat().st_size == 0


async def test_a_database_of_an_earlier_version_gets_the_columns_added_since(tmp_path):
    import sqlite3

    from server.core import Message

    path = str(tmp_path / "old.db")
    with sqlite3.connect(path) as old:  # the messages table as it was before request ids
        old.execute(
            "CREATE TABLE messages (room_id TEXT NOT NULL, n INTEGER NOT NULL, role TEXT NOT NULL,"
            " sender_id TEXT NOT NULL, sender_name TEXT NOT NULL, text TEXT NOT NULL,"
            " at REAL NOT NULL, PRIMARY KEY (room_id, n))"
        )
        old.execute("INSERT INTO messages VALUES ('room', 1, 'visitor', 'v', 'V', 'kept', 1.0)")
    store = await Store.open(path)
    await store.apply([Message("room", 2, "visitor", "v", "V", "new", 2.0, "r2")])
    assert [(m.text, m.request_id) for m in await store.transcript("room")] == [
        ("kept", None),
        ("new", "r2"),
    ]
    await store.close()
