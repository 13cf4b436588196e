"""The ``ringlab`` command's exits: usage errors, a busy port, a clean demo."""

import socket
import subprocess
import sys

import pytest

RINGLAB = [sys.executable, "-m", "simulator.cli"]


def run(*args, timeout=60):
    return subprocess.run([*RINGLAB, *args], capture_output=True, text=True, timeout=timeout)


def test_bad_flags_print_usage_and_exit_2():
    result = run("serve", "--port", "notaport")
    assert result.returncode == 2
    assert "Usage:" in result.stderr and "--port" in result.stderr
    assert run("frobnicate").returncode == 2


def test_port_in_use_is_one_clear_line_and_exit_1():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("serve", "--port", str(port), "--db", ":memory:")
    assert result.returncode == 1
    assert result.stderr.strip() == f"ringlab serve: 127.0.0.1:{port} is already in use"


def test_demo_runs_a_call_end_to_end():
    result = run("demo")
    assert result.returncode == 0, result.stderr
    assert "stops ringing (accepted_elsewhere)" in result.stdout
    assert "Yes, in 3-5 days." in result.stdout


def test_bad_config_file_is_a_usage_error_naming_the_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[server]\nport = 'eighty'\n")
    result = run("serve", "--config", str(path))
    assert result.returncode == 2
    assert "server.port" in result.stderr and "Traceback" not in result.stderr


def test_proxy_bad_arguments_are_usage_errors():
    for args, needle in [
        (["--listen", "127.0.0.1:x", "--upstream", "127.0.0.1:1"], "--listen"),
        (["--listen", "127.0.0.1:0"], "--listen and --upstream go together"),
        (["--profile", "3g", "--set", "down.loss=7"], "down.loss: expected a probability"),
    ]:
        result = run("proxy", *args)
        assert result.returncode == 2, args
        assert needle in result.stderr and "Traceback" not in result.stderr


def test_serve_settles_the_collector_and_stops_on_ctrl_c():
    """The server process freezes what startup made and raises the young threshold
    (server/collector.py); Ctrl-C still stops it cleanly."""
    import signal
    import urllib.request

    proc = subprocess.Popen(
        # the collector's line is a debug one: a tuning detail, not news at every start
        [*RINGLAB, "serve", "--port", "0", "--db", ":memory:", "--log-level", "debug"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().split()[4]
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as r:
            assert r.status == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "stopped" in out
    line = next(x for x in err.splitlines() if "collector:" in x)
    frozen = int(line.split("collector: ")[1].split()[0])
    assert frozen > 10_000 and "young threshold 20000" in line


def test_a_run_against_a_target_loads_no_server_stack():
    """`ringlab run --target` and the runner's API stay lean: Quart and Hypercorn load only
    for `serve`, `proxy` or an embedded server, and httpx leaves its own CLI (rich,
    pygments) unloaded."""
    probe = (
        "import sys, simulator.cli.main, simulator.play.runner, simulator.play.client; "
        "print(sorted(m for m in ('quart', 'hypercorn', 'pygments', 'httpx._main') "
        "if sys.modules.get(m)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------- ringlab run: refusals

TINY = """
name = "tiny"
duration = "3s"
reproduces = "the call keeps ringing after Accept"

[links.op]
latency = "50ms"

[[operators]]
name = "ops"
count = 2
link = "op"
reaction = "0.2s..0.4s"
close_after = "1s"

[[visitors]]
name = "v"
count = 2
over = "1s"
messages = 1
think = "0.3s"

[expect]
"ring_stop.acceptor.p95" = "> 50ms"
lost_messages = 0
"""


def ringlab(*args):
    """`ringlab ...` in this process: a run of TINY takes well under a second."""
    from click.testing import CliRunner

    from simulator.cli.main import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("old", "new", "args", "needle"),
    [
        # misspelt metric: used to run, then fail as "no data" with exit 1
        (
            "lost_messages = 0",
            "lost_mesages = 0",
            [],
            "expect.lost_mesages: not a metric; did you mean lost_messages?",
        ),
        (
            "lost_messages = 0",
            'lost_messages = "<< 0"',
            [],
            'expect.lost_messages: expected a comparison such as "< 2s" or "== 0", got \'<< 0\'',
        ),
        (
            'latency = "50ms"',
            "latency = 100",
            [],
            'links.op.latency: expected a duration with its unit, "100s" or "100ms", got 100',
        ),
        (
            '"> 50ms"',
            '"> 0.05"',
            [],
            'a time: expected a comparison with a unit, such as "> 0.05s"',
        ),
        (
            "reaction =",
            "reacton =",
            [],
            "operators[0].reacton: unknown key; did you mean reaction?",
        ),
        ('duration = "3s"', "", [], "duration: required (a duration such as 30s)"),
        ("[[visitors]]", "[[visitrs]]", [], "visitrs: unknown key; did you mean visitors?"),
        ("[[operators]]", "[[operatrs]]", [], "operatrs: unknown key; did you mean operators?"),
        (
            "",
            "",
            ["--set", "links.opp.latency=1s"],
            "--set links.opp.latency: {path} has no link 'opp', and no group uses one by that "
            "name; did you mean op?",
        ),
        (
            "",
            "",
            ["--set", "expect.ring_stop.acceptor.p95=< 1"],
            "--set expect.ring_stop.acceptor.p95: a time: expected a comparison with a unit, "
            'such as "< 1s"',
        ),
        ("", "", ["--set", "links.op.up.loss=2"], "--set links.op.up.loss: expected a probability"),
        ("", "", ["--set", "duration=100"], "--set duration: expected a duration with its unit"),
        (
            "",
            "",
            ["--out", "{file}"],
            "Invalid value for '--out': {file} is a file, not a directory",
        ),
        (
            "",
            "",
            ["--target", "http://127.0.0.1:{port}"],
            "--target: cannot reach http://127.0.0.1:{port}: connection refused",
        ),
    ],
)
def test_bad_input_is_refused_before_running_with_exit_2(tmp_path, old, new, args, needle):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.replace(old, new) if old else TINY)
    (tmp_path / "a-file").write_text("")
    port = closed_port()
    fill = {"path": path, "file": tmp_path / "a-file", "port": port}
    out = tmp_path / "reports"
    args = [a.format(**fill) for a in args]
    result = ringlab("run", path, "--out", out, *args)
    assert result.exit_code == 2, result.output
    assert needle.format(**fill) in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())  # nothing ran, no report folder
    if "cannot reach" in needle:  # not a misuse of the command: one line, no usage text
        assert result.output.strip().splitlines() == [f"Error: {needle.format(**fill)}"]


def test_a_file_without_visitors_is_refused(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.split("[[visitors]]")[0])
    result = ringlab("run", path, "--out", tmp_path)
    assert result.exit_code == 2
    assert f"{path}: visitors: at least one group is required" in result.output


def test_set_reaches_expectations_and_the_verdict_says_reproduced(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    held = ringlab("run", path, "--out", tmp_path / "a")
    assert held.exit_code == 0, held.output
    assert "ring_stop.acceptor.p95 > 50ms" in held.output  # thresholds and values in units
    assert "100 ms" in held.output
    assert "verdict: fault reproduced (the call keeps ringing after Accept)" in held.output
    assert "┃ verdict ┃" in held.output
    # --set could not touch an expectation in any form
    changed = ringlab(
        "run", path, "--out", tmp_path / "b", "--set", "expect.ring_stop.acceptor.p95=> 1s"
    )
    assert changed.exit_code == 1, changed.output
    assert "ring_stop.acceptor.p95 > 1s" in changed.output
    assert "verdict: not reproduced" in changed.output
    plain = ringlab("run", path, "--out", tmp_path / "c", "--set", 'reproduces=""')
    assert plain.exit_code == 0 and "verdict: pass" in plain.output
