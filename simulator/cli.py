"""The ``ringlab`` command."""

from __future__ import annotations

import errno
import logging
import signal
import sys

import click
import msgspec
import trio

from server import demo
from server.app import ServerConfig
from server.config import ConfigError, FileConfig, load_config
from server.core import Settings
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
    try:
        file = load_config(config_file) if config_file else FileConfig()
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="'--config'") from None
    host = host or file.server.host or "127.0.0.1"
    port = port if port is not None else file.server.port if file.server.port is not None else 8000
    level = log_level or file.server.log_level or "info"
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(name)s %(message)s")
    config = server_config(file, db)

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(
                lambda task_status: serve_reference(
                    config,
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
        cause = _leaf(group)
        if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
            click.echo(f"ringlab serve: {host}:{port} is already in use", err=True)
        else:
            click.echo(f"ringlab serve: {cause}", err=True)
        sys.exit(1)
    click.echo("stopped")


def server_config(file: FileConfig, db: str | None) -> ServerConfig:
    """The server's config from the file, with ``--db`` winning."""
    proto = {k: v for k, v in msgspec.structs.asdict(file.protocol).items() if v is not None}
    return ServerConfig(
        db=db or file.server.db or "ringlab.db",
        demo=file.demo.create,
        allowed_origins=tuple(file.server.allowed_origins),
        demo_settings=Settings(
            ring_timeout=file.demo.ring_timeout,
            max_chats=file.demo.max_chats,
            binding=file.demo.binding,  # type: ignore[arg-type]  # coerced to Binding
        ),
        **proto,
    )


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
