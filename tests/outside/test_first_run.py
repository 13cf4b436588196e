"""What a newcomer meets first: the install, ``ringlab --help``, what ``ringlab serve`` prints,
the server's ``/`` page and the live progress line, at 80 columns."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio
from click.testing import CliRunner
from rich.console import Console

from server.http.pages import PAGES
from server.serve import open_server, serve_banner
from simulator.cli.main import main
from simulator.cli.progress import describe, fit, render

ROOT = Path(__file__).resolve().parents[2]
PAGE_PATHS = ["/console", "/demo", "/demo/pinned", "/control"]
#: `ringlab serve` on a free port, keeping nothing
SERVE = [sys.executable, "-m", "simulator.cli", "serve", "--port", "0", "--db", ":memory:"]


def test_help_gives_every_command_one_uncut_line_at_80_columns():
    result = CliRunner().invoke(main, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    listing = result.output.split("Commands:\n")[1].splitlines()
    # click ends a short help it had to cut with "...", and wraps a long one onto a
    # second line that starts with blanks only
    rows = [line for line in listing if line.strip()]
    assert [row.split()[0] for row in rows] == sorted(main.commands)
    for row in rows:
        assert len(row) <= 80 and not row.endswith("...") and not row.startswith("    "), row


def test_serve_prints_the_pages_next_to_the_logins():
    lines = serve_banner("http://127.0.0.1:8000", [("alice", "alice-demo"), ("bob", "bob-demo")])
    assert lines[0].split()[4] == "http://127.0.0.1:8000"  # scripts read the URL there
    text = "\n".join(lines)
    for path in PAGE_PATHS:
        assert f"http://127.0.0.1:8000{path}\n" in text, path
    assert "login 'alice'  password 'alice-demo'  (admin)" in text
    assert all(len(line) <= 80 for line in lines if "metrics" not in line)


def test_the_serve_command_says_where_to_go_and_keeps_tuning_out_of_its_log():
    proc = subprocess.Popen(SERVE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline()]
        while "password" not in lines[-1] or "bob" not in lines[-1]:
            lines.append(proc.stdout.readline())
            assert lines[-1], "the output ended before the logins"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    url = lines[0].split()[4]
    for path in PAGE_PATHS:
        assert any(line.split()[-1] == url + path for line in lines), path
    assert "collector" not in err  # a debug line (server/collector.py): --log-level debug


async def test_the_root_is_a_landing_page_linking_every_page():
    with trio.fail_after(30):
        async with open_server() as server, httpx.AsyncClient(base_url=server.url) as http:
            page = await http.get("/")
            assert page.headers["content-type"].startswith("text/html")
            links = re.findall(r'<a href="([^"]+)"', page.text)
            assert set(PAGE_PATHS) <= set(links)
            for link in links:
                assert (await http.get(link)).status_code == 200, link
            # what `/` answered before it was a page, for programs that ask for JSON
            listed = await http.get("/", headers={"Accept": "application/json"})
            assert listed.headers["content-type"] == "application/json"
            endpoints = listed.json()["endpoints"]
            assert {"/ws/operator", "/api/login", "/healthz", *PAGE_PATHS} <= set(endpoints)


def test_every_page_the_landing_page_names_is_one_serve_prints():
    assert [path for path, _, _ in PAGES] == PAGE_PATHS


BUSY = dict(
    connected=1_234, calls=56_789, waiting=321, chats=987, ringing=654, overrunning=43,
    messages=1_234_567,
)  # fmt: skip


@pytest.mark.parametrize("width", [200, 120, 100, 80, 72, 60, 40, 24])
def test_the_progress_line_fits_the_terminal(width):
    name = "ring_after_accept[up.latency=200ms]"
    line = fit(name, 123.5, 300.0, BUSY, width)
    assert line.width() < width
    console = Console(width=width, record=True, force_terminal=True, color_system=None)
    console.print(render(line, 123.5, 300.0))
    shown = console.export_text().rstrip("\n").split("\n")
    assert len(shown) == 1 and len(shown[0].rstrip()) < width, shown
    if width >= 80:  # what the line is for: how many consoles ring, and ring too long
        assert "ring 654" in shown[0] or "ringing 654" in shown[0]
        assert "overrun 43" in shown[0] or "overrunning 43" in shown[0]


def test_the_progress_line_says_everything_when_there_is_room():
    line = fit("baseline", 60.0, 120.0, BUSY, 200)
    assert line.counts == describe(BUSY) and line.bar == 40 and line.name == "baseline"


@pytest.mark.skipif(os.environ.get("RINGLAB_OFFLINE") == "1", reason="needs a package index")
def test_an_editable_install_prints_no_setuptools_warning(tmp_path):
    """`pip install -e .` into a fresh virtualenv (this one's pip, which shows what the build
    backend warns; the venv's own may be too old to): setuptools once warned about the
    license table three times and about the editable finder once."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    result = subprocess.run(
        [*pip, "install", "--no-deps", "-e", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    # "SomethingWarning:" is Python's warnings module, from the build backend; pip's own
    # "WARNING:" lines are about this machine's index settings
    assert not re.search(r"[a-z]Warning\b|!!", output), output


def test_ctrl_c_the_moment_the_server_says_it_is_ready_stops_it():
    """The signal handlers are in place before the first line is printed: a Ctrl-C sent
    as soon as it appears stops the server (it once kept serving, under load)."""
    for _ in range(3):
        proc = subprocess.Popen(SERVE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert "reference server on" in proc.stdout.readline()
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=30)
        finally:
            proc.kill()
        assert proc.returncode == 0
        assert out.rstrip().endswith("stopped")
