"""The ``ringlab`` command."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

import click
import trio

from server.config import ConfigError

from ..network.link import ParamError
from ..network.link import spec as link_spec
from ..play.runner import first_error
from .compare import compare_command
from .run import report_command, run_command

if TYPE_CHECKING:
    from ..network.proxy import RunningProxy


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ringlab")
def main() -> None:
    """ringlab: reproduce and measure the connectivity faults of website live chat.

    `ringlab serve` runs the reference server (open the URL it prints), `ringlab run
    scenarios/baseline.toml` plays a scenario and writes its report, and `ringlab COMMAND
    --help` tells more. Documentation: README.md and docs/ in the repository.
    """


@contextlib.contextmanager
def _interrupts() -> Iterator[Callable[[], Awaitable[None]]]:
    """A shutdown trigger for Ctrl-C or SIGTERM whose handlers are installed on entry,
    before the server starts: a signal sent the moment the banner says it is ready is kept
    for the trigger. Installed by the trigger itself, they came a scheduler turn after
    Hypercorn reported ready; a signal in between met trio's default handling, a
    KeyboardInterrupt in whichever task it found, and a server that once went on serving
    (seen under load in tests/outside/test_first_run.py)."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def interrupted() -> None:
            async for _ in signals:
                return

        yield interrupted


@main.command()
@click.option("--host", help="Address to listen on.  [default: 127.0.0.1]")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="TCP port, 0 picks a free one.  [default: 8000]"
)
@click.option("--db", help="SQLite file; ':memory:' keeps nothing.  [default: ringlab.db]")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="TOML config file (see server/config.py); flags win over it.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="[default: info]",
)
def serve(
    host: str | None,
    port: int | None,
    db: str | None,
    config_file: str | None,
    log_level: str | None,
) -> None:
    """Run the reference chat server (Hypercorn, trio worker)."""
    # Quart and Hypercorn load here and in `proxy`, not with the command: `ringlab run
    # --target` never needs them (~15 MB less per process).
    from server.serve import RunningServer, ServeOptions, serve_banner, serve_until

    try:
        options = ServeOptions.of(config_file, host=host, port=port, db=db, log_level=log_level)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="'--config'") from None
    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(name)s %(message)s")

    def announce(running: RunningServer) -> None:
        for line in serve_banner(running.url, running.chat.demo_logins):
            click.echo(line)

    async def serve_until_interrupted() -> str | None:
        with _interrupts() as interrupted:
            return await serve_until(options, interrupted, announce)

    try:
        failure = trio.run(serve_until_interrupted)
    except* OSError as group:
        cause = first_error(group)
        where = f"{options.host}:{options.port}"
        if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
            click.echo(f"ringlab serve: {where} is already in use", err=True)
        else:
            click.echo(f"ringlab serve: {cause}", err=True)
        sys.exit(1)
    if failure:
        click.echo(f"ringlab serve: stopped: {failure}", err=True)
        sys.exit(1)
    click.echo("stopped")


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or (param.name == "control" and value == "none"):
        return None
    from ..network.proxy.proxies import split_address

    try:
        split_address(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@main.command()
@click.option("--listen", callback=_address, help="Address the proxy listens on (host:port).")
@click.option("--upstream", callback=_address, help="Address it forwards to (host:port).")
@click.option(
    "--profile",
    default="",
    help="Link: a profile name and/or overrides, e.g. '3g' or '3g,down.loss=0.05'.",
)
@click.option("--set", "overrides", multiple=True, help="Override one parameter: down.loss=0.05.")
@click.option("--seed", type=int, help="Seed of the link randomness (default: random).")
@click.option(
    "--control",
    default="127.0.0.1:8474",
    show_default=True,
    callback=_address,
    help="Toxiproxy-compatible control API address ('none' to disable).",
)
def proxy(
    listen: str | None,
    upstream: str | None,
    profile: str,
    overrides: tuple[str, ...],
    seed: int | None,
    control: str | None,
) -> None:
    """Put an emulated link between clients and a server (a TCP proxy).

    With --listen and --upstream it starts one proxy, named 'ringlab'; without them,
    only the control API, where Toxiproxy clients create proxies.
    """
    from ..network.proxy import ProxyError, serve_proxy  # its control API is a Quart app

    if (listen is None) != (upstream is None):
        raise click.UsageError("--listen and --upstream go together")
    if listen is None and control is None:
        raise click.UsageError(
            "nothing to run: give --listen and --upstream, or a --control address "
            "to create proxies through"
        )
    try:
        spec = link_spec.parse(",".join([profile, *overrides]), where="")
    except ParamError as exc:
        raise click.BadParameter(str(exc), param_hint="'--profile'/'--set'") from None

    async def run() -> None:
        with _interrupts() as interrupted:
            await proxy_until(interrupted)

    async def proxy_until(interrupted: Callable[[], Awaitable[None]]) -> None:
        async with trio.open_nursery() as nursery:
            running: RunningProxy = await nursery.start(
                partial(
                    serve_proxy,
                    listen=listen,
                    upstream=upstream,
                    spec=spec,
                    seed=seed,
                    control=control,
                    log=lambda line: click.echo(f"ringlab proxy: {line}"),
                    shutdown_trigger=interrupted,
                )
            )
            if listen is not None:
                p = running.proxy
                click.echo(f"proxy {p.name}: {p.listen} -> {p.upstream}  ({spec.describe()})")
            if running.control_url:
                click.echo(f"control API (Toxiproxy-compatible): {running.control_url}")
            if listen is None:
                click.echo(
                    "no proxy yet (no --listen/--upstream): create them through the control "
                    "API, e.g. with a Toxiproxy client or POST /proxies"
                )
            click.echo("Ctrl-C stops")

    try:
        trio.run(run)
    except* (OSError, ProxyError) as group:
        click.echo(f"ringlab proxy: {first_error(group)}", err=True)
        sys.exit(1)
    click.echo("stopped")


@main.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors that validate TOML)."""
    from ..scenario import schema as scenario_schema

    click.echo(json.dumps(scenario_schema(), indent=2))


@main.command("demo")
def demo_command() -> None:
    """Start the server and drive one call end to end, printing each step."""
    from .demo import run_demo

    trio.run(run_demo, click.echo)


main.add_command(run_command)
main.add_command(report_command)
main.add_command(compare_command)

#: ``ringlab --help``'s line for commands whose docstring opens with a long sentence: click
#: cuts that to the terminal's width, mid-phrase ("...") at 80 columns. Each fits there.
SHORT_HELP = {
    "run": "Play scenario files and write a report per run.",
    "compare": "Two runs side by side: metrics, deltas, ring-stop CDFs.",
    "schema": "Print the JSON Schema of scenario files.",
    "demo": "Drive one scripted call end to end, printing each step.",
}
for _name, _text in SHORT_HELP.items():
    main.commands[_name].short_help = _text
