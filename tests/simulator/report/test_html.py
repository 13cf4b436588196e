"""index.html in words: verdicts with units, the button-code section, the replay command."""

import json
from pathlib import Path

from simulator.record import events as ev
from simulator.report.files import write_report
from simulator.scenario import load, parse
from tests.simulator.report.logs import log, race

REPRODUCES = "the call keeps ringing after Accept"


def page(tmp_path, events, **table):
    loaded = parse({"name": "hand", "duration": "40s", **table})
    write_report(tmp_path, loaded, events)
    return (tmp_path / "index.html").read_text()


def test_the_verdict_table_has_units_and_a_header(tmp_path):
    events = race(acceptor_stop=1.000282)  # the acceptor's console stopped 282 µs after the click
    expect = {"ring_stop.acceptor.p95": "< 2s", "ring_stop.others.max": "< 0.3s", "calls.placed": 1}
    html = page(tmp_path, events, expect=expect)
    assert "<th>expectation</th><th>measured</th><th>verdict</th>" in html
    assert "<td>ring_stop.acceptor.p95 &lt; 2.00 s</td>" in html
    assert '<td class="num">282 µs</td>' in html  # not 0.000282
    assert '<td class="num">400 ms</td>' in html and "<td>calls.placed == 1</td>" in html
    assert "0.000282" not in html and "2.01" not in html


def test_a_scenario_that_reproduces_a_fault_says_so(tmp_path):
    slow = race(acceptor_stop=4.0)
    html = page(
        tmp_path,
        slow,
        reproduces=REPRODUCES,
        expect={"ring_stop.acceptor.p95": "> 0.5s"},
    )
    assert f"fault reproduced: {REPRODUCES}</span></h1>" in html
    assert ">passed<" not in html
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["verdict"] == f"fault reproduced: {REPRODUCES}" and summary["passed"]
    html = page(
        tmp_path,
        race(),
        reproduces=REPRODUCES,
        expect={"ring_stop.acceptor.p95": "> 0.5s"},
    )
    assert f'<span class="fail">not reproduced: {REPRODUCES}</span>' in html
    assert '<td class="fail">not seen</td>' in html
    assert '<span class="pass">passed</span>' in page(tmp_path, race(), expect={})


def test_the_button_code_section_lists_shared_visitor_ids_rooms_and_conflicts(tmp_path):
    shared = [
        ev.VisitorArrivedLogged(
            t=1, actor="shoppers[0]", page="pg-0", visitor_id="v_PINNED", intended=1
        ),
        ev.VisitorArrivedLogged(
            t=2, actor="shoppers[1]", page="pg-1", visitor_id="v_PINNED", intended=2
        ),
        ev.VisitorArrivedLogged(
            t=3, actor="shoppers[2]", page="pg-2", visitor_id="v_OWN", intended=3
        ),
        ev.ServerConflict(
            t=2.1, visitor_id="v_PINNED", first_page="pg-0", page="pg-1", binding="legacy"
        ),
        ev.RoomJoined(t=2.2, actor="shoppers[0]", room="r-c1", role="visitor"),
        ev.RoomJoined(t=2.3, actor="shoppers[1]", room="r-c1", role="visitor"),
        ev.RoomJoined(t=3.3, actor="shoppers[2]", room="r-c2", role="visitor"),
    ]
    events = sorted([*log(), *shared], key=lambda e: e.t)
    html = page(tmp_path, events, visitors=[{"name": "shoppers", "count": 3, "code": "pinned"}])
    section = html[html.index("<h2>Button code") : html.index("<h2>Every call")]
    assert "visitors shoppers (3): <code>pinned</code>" in section
    assert "1 visitor id was shared by more than one real visitor" in section
    assert "<code>v_PINNED</code>" in section and "v_OWN" not in section
    assert "shoppers[0], shoppers[1] (2 pages)" in section
    # the room is named by its call; two real visitors in it: a merge
    assert "the room of call #1 (shoppers[0]): shoppers[0], shoppers[1] (merged)" in section
    conflict = "at 2.1 s: shoppers[0]&#39;s page and shoppers[1]&#39;s page presented v_PINNED"
    assert conflict in section
    clean = page(tmp_path, log())
    assert "Every real visitor had a visitor id of its own" in clean


def test_the_report_gives_the_replay_command_and_names_the_docs(tmp_path):
    path = tmp_path / "customer.toml"
    path.write_text(
        'name = "customer"\nduration = "40s"\nseed = 4\n'
        '[[operators]]\nname = "ops"\nlink = "3g"\n[[visitors]]\nname = "shoppers"\n'
        '[links.slow]\nlatency = "90ms"\n'
    )
    loaded = load(path, {"seed": 9, "operators[0].count": 2, "links.slow.latency": "120ms"})
    out = tmp_path / "report"
    write_report(out, loaded, log())
    html = (out / "index.html").read_text()
    command = (
        f"ringlab run {path} --seed 9 --set &#39;links.slow.latency=&#34;120ms&#34;&#39;"
        " --set &#39;operators[0].count=2&#39;"
    )
    assert f"<code>{command}</code>" in html
    for doc in ("docs/metrics.md", "docs/scenarios.md"):
        assert f"<code>{doc}</code>" in html  # named, not linked into this machine
        assert (Path(__file__).parents[3] / doc).is_file()
    assert "<a href" not in html
    assert "http://" not in html and "https://" not in html
    # rendered again from the run directory (`ringlab report`), it still names the file
    (out / "scenario.json").write_text(json.dumps(loaded.table))
    again = parse(loaded.table, str(out / "scenario.json"))
    write_report(out, again, log())
    assert f"ringlab run {path} --seed 9" in (out / "index.html").read_text()
    assert json.loads((out / "summary.json").read_text())["file"] == str(path)


def test_calls_and_operators_read_as_names_not_ids(tmp_path):
    html = page(
        tmp_path,
        log(),
        links={"mobile": {"profile": "3g", "up": {"loss": 0.2}}},
        operators=[{"name": "ops", "count": 3, "link": "mobile"}],
    )
    assert "Call #3 (shoppers[2]), placed at 10.0 s, rang at 3 consoles." in html
    assert "alice[0] clicked Accept at 12.4 s and won." in html
    assert "2 uplink retransmission stalls (1.20 s, 2.40 s) on the mobile (3g*) link" in html
    body = html[html.index("<h2>Every call") :]
    assert "op_a" not in body and ">c3<" not in body
