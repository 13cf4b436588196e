"""The ``ringlab`` command's exits: usage errors, a busy port, a clean demo."""

import socket
import subprocess
import sys

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
        [*RINGLAB, "serve", "--port", "0", "--db", ":memory:"],
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
        "import sys, simulator.cli, simulator.runner, simulator.client; "
        "print(sorted(m for m in ('quart', 'hypercorn', 'pygments', 'httpx._main') "
        "if sys.modules.get(m)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
