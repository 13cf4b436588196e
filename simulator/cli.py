"""The ``ringlab`` command."""

from __future__ import annotations

import errno
import logging
import signal
import sys

import click
import trio

from server import demo
from server.app import ServerConfig
from server.serve import RunningServer, serve_reference


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ringlab")
def main() -> None:
    """ringlab: reproduce and measure the connectivity faults of website live chat."""


async def _until_interrupted() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port (0 picks a free one).",
)
@click.option(
    "--db",
    default="ringlab.db",
    show_default=True,
    help="SQLite database file (':memory:' keeps nothing).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(host: str, port: int, db: str, log_level: str) -> None:
    """Run the reference chat server (Hypercorn, trio worker)."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(
                lambda task_status: serve_reference(
                    ServerConfig(db=db),
                    host,
                    port,
                    shutdown_trigger=_until_interrupted,
                    task_status=task_status,
                )
            )
            click.echo(f"ringlab reference server on {running.url}  (Ctrl-C stops)")
            click.echo(f"  operator websocket  {running.ws_url}/ws/operator")
            click.echo(f"  visitor websocket   {running.ws_url}/ws/visitor")
            click.echo(f"  health / metrics    {running.url}/healthz  {running.url}/metrics")
            if running.chat.demo_logins:
                click.echo(f"created demo account '{demo.ACCOUNT}' (button '{demo.BUTTON}'):")
                for login, password in running.chat.demo_logins:
                    click.echo(f"  login {login!r}  password {password!r}")

    try:
        trio.run(run)
    except* OSError as group:
        exc = _leaf(group)
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            click.echo(f"ringlab serve: {host}:{port} is already in use", err=True)
        else:
            click.echo(f"ringlab serve: {exc}", err=True)
        sys.exit(1)
    click.echo("stopped")


def _leaf(exc: BaseException) -> BaseException:
    """The first real exception inside nested exception groups (trio nests nurseries)."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


@main.command("demo")
def demo_command() -> None:
    """Start the server and drive one call end to end, printing each step."""
    from .demo import run_demo

    trio.run(run_demo, click.echo)


if __name__ == "__main__":
    main()
