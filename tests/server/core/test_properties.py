"""Random sequences of operator and visitor actions keep the core's invariants (Hypothesis).

The hub is driven as the adapter drives it (``tests/support/world.py``): connections, statuses,
calls, accepts, declines, hang-ups, messages, closes, drops and time passing. After
every step: sequence numbers are gap-free per session, no call has two winners, and no
console rings for a call that is not ringing there.
"""

import itertools
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from server import protocol as p
from server.core.lifecycle import CallAccepted
from tests.support.world import World

OPERATORS = range(3)
PAGES = [f"pg{i}" for i in range(4)]


class Hub(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World(operators=len(OPERATORS), ring_timeout=60.0, max_chats=2)
        self.operator_sessions: dict[int, str] = {}
        self.visitor_sessions: dict[str, str] = {}
        self.ids = itertools.count(1)

    @initialize()
    def a_working_day(self) -> None:
        """Consoles online and two visitors on the site (one with a shared id) to begin."""
        for i in OPERATORS:
            self.operator_sessions[i] = self.world.operator(i)
        self.visitor_sessions[PAGES[0]] = self.world.visitor(PAGES[0])
        self.visitor_sessions[PAGES[1]] = self.world.visitor(PAGES[1], visitor_id="v_shared")

    def rid(self) -> str:
        return f"r{next(self.ids)}"

    def known_calls(self) -> list[str]:
        return sorted(self.world.hub.state.calls) + sorted(self.world.hub.state.ended_calls)

    def open_rooms(self) -> list[str]:
        return sorted(self.world.hub.state.rooms)

    # ------------------------------------------------------------ operators

    @rule(i=st.sampled_from(OPERATORS))
    def operator_connects(self, i: int) -> None:
        self.operator_sessions[i] = self.world.operator(i)

    @rule(i=st.sampled_from(OPERATORS), status=st.sampled_from(["online", "away"]))
    def operator_sets_status(self, i: int, status: str) -> None:
        if i in self.operator_sessions:
            self.world.do(self.operator_sessions[i], p.SetStatus(id=self.rid(), status=status))

    @rule(i=st.sampled_from(OPERATORS), pick=st.integers(0, 50), decline=st.booleans())
    def operator_answers(self, i: int, pick: int, decline: bool) -> None:
        # mostly the calls ringing there; sometimes any call (late, ended, not offered)
        ringing = sorted(c.id for c in self.world.hub.state.calls.values() if f"op{i}" in c.ringing)
        calls = ringing if ringing and pick % 5 else self.known_calls()
        if i not in self.operator_sessions or not calls:
            return
        call = calls[pick % len(calls)]
        kind = p.Decline if decline and pick % 3 == 0 else p.Accept
        self.world.do(self.operator_sessions[i], kind(id=self.rid(), call=call))

    @rule(i=st.sampled_from(OPERATORS), pick=st.integers(0, 50), close=st.booleans())
    def operator_writes_or_closes(self, i: int, pick: int, close: bool) -> None:
        own = sorted(r.id for r in self.world.hub.state.rooms.values() if f"op{i}" in r.operators)
        rooms = own if own and pick % 5 else self.open_rooms()
        if i not in self.operator_sessions or not rooms:
            return
        room = rooms[pick % len(rooms)]
        sid = self.operator_sessions[i]
        if close and pick % 4 == 0:
            self.world.do(sid, p.Close(id=self.rid(), room=room))
        else:
            self.world.do(sid, p.Send(id=self.rid(), room=room, text="hello"))

    # ------------------------------------------------------------ visitors

    @rule(page=st.sampled_from(PAGES), shared=st.booleans())
    def visitor_opens_a_page(self, page: str, shared: bool) -> None:
        if page not in self.visitor_sessions:
            self.visitor_sessions[page] = self.world.visitor(
                page, visitor_id="v_shared" if shared else None
            )

    @rule(page=st.sampled_from(PAGES))
    def visitor_calls(self, page: str) -> None:
        if page in self.visitor_sessions:
            self.world.do(self.visitor_sessions[page], p.PlaceCall(id=self.rid()))

    @rule(page=st.sampled_from(PAGES), pick=st.integers(0, 50))
    def visitor_hangs_up(self, page: str, pick: int) -> None:
        calls = self.known_calls()
        if page in self.visitor_sessions and calls:
            call = calls[pick % len(calls)]
            self.world.do(self.visitor_sessions[page], p.Hangup(id=self.rid(), call=call))

    @rule(page=st.sampled_from(PAGES), pick=st.integers(0, 50))
    def visitor_writes(self, page: str, pick: int) -> None:
        rooms = self.open_rooms()
        if page in self.visitor_sessions and rooms:
            room = rooms[pick % len(rooms)]
            self.world.do(self.visitor_sessions[page], p.Send(id=self.rid(), room=room, text="hi"))

    # ------------------------------------------------------------ the network and time

    @rule(data=st.data())
    def a_connection_drops(self, data: st.DataObject) -> None:
        """A connection ends; nothing more comes over it (a page or console that comes
        back connects again, and gets a snapshot)."""
        sessions = [("op", i, sid) for i, sid in sorted(self.operator_sessions.items())]
        sessions += [("page", page, sid) for page, sid in sorted(self.visitor_sessions.items())]
        if not sessions:
            return
        kind, key, sid = data.draw(st.sampled_from(sessions))
        self.world.drop(sid)
        if kind == "op":
            del self.operator_sessions[key]
        else:
            del self.visitor_sessions[key]

    @rule(seconds=st.sampled_from([0.5, 5.0, 31.0, 61.0, 130.0]))
    def time_passes(self, seconds: float) -> None:
        self.world.advance(seconds)

    # ------------------------------------------------------------ invariants

    @invariant()
    def sequence_numbers_are_gap_free_per_session(self) -> None:
        for sid, inbox in self.world.inbox.items():
            seqs = [m.seq for m in inbox if getattr(m, "seq", 0)]
            assert seqs == list(range(1, len(seqs) + 1)), (sid, seqs)

    @invariant()
    def no_call_has_two_winners(self) -> None:
        accepted = Counter(log.call for log in self.world.logs if isinstance(log, CallAccepted))
        assert all(n == 1 for n in accepted.values()), accepted

    @invariant()
    def no_console_rings_for_a_call_not_ringing_there(self) -> None:
        state = self.world.hub.state
        for i, sid in self.operator_sessions.items():
            if sid not in state.sessions:
                continue  # expired: that console is gone
            for call_id in self.world.ringing(sid):
                call = state.calls.get(call_id)
                assert call is not None and call.state == "ringing", (i, call_id)
                assert f"op{i}" in call.ringing, (i, call_id, call.ringing)


Hub.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestHubInvariants = Hub.TestCase
