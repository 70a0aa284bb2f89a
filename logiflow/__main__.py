"""``logiflow``: Faust's command line bound to ``logiflow.app``, plus LogiFlow's own commands.

``logiflow worker -l info`` is ``faust -A logiflow.app worker -l info``; ``logiflow send ...``
is ``faust -A logiflow.app send ...``. Added groups: ``logiflow kafka start|stop|status`` (local
broker) and ``logiflow dlq list|show|replay|discard`` (dead-letter queue).

The ``kafka`` and ``dlq`` groups run without building the Faust app (``kafka`` works before
anything else does; ``dlq`` talks to Kafka directly).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from logiflow.errors import BrokerError, ConfigError
from logiflow.settings import Settings

if TYPE_CHECKING:
    from logiflow.kafka.local_broker import LocalKafka


@click.group(name="kafka")
def kafka_group() -> None:
    """Run a local single-node Kafka broker (KRaft) from the official jars."""


def _local() -> LocalKafka:
    from logiflow.kafka.config import LocalBrokerSettings
    from logiflow.kafka.local_broker import LocalKafka

    return LocalKafka(LocalBrokerSettings.from_env(), partitions=Settings.from_env().partitions)


@kafka_group.command("start")
def kafka_start() -> None:
    """Fetch (cached), format (first time) and start the broker; wait until it answers."""
    local = _local()
    try:
        status = local.start()
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(status.describe())


@kafka_group.command("stop")
def kafka_stop() -> None:
    """Stop the broker that `logiflow kafka start` started (clean shutdown)."""
    local = _local()
    stopped = local.stop()
    click.echo("stopped" if stopped else "no broker started by logiflow is running")


@kafka_group.command("status")
def kafka_status() -> None:
    """Say whether the broker is up and where. Exit code 0 when up, 1 when down."""
    local = _local()
    status = local.status()
    click.echo(status.describe())
    sys.exit(0 if status.up else 1)


def main() -> None:
    """Entry point of the ``logiflow`` console command."""
    argv = sys.argv[1:]
    try:
        if argv[:1] == ["kafka"]:
            kafka_group(args=argv[1:], prog_name="logiflow kafka")
            return
        from logiflow.cli import dlq_group

        if argv[:1] == ["dlq"]:
            # Not through Faust's root group: it scans argv for "--app" by prefix, so our
            # "--apply" would be taken for it. The dlq commands do not need the Faust app.
            dlq_group(args=argv[1:], prog_name="logiflow dlq")
            return
        from faust.cli.faust import cli

        cli.add_command(dlq_group)
        cli.add_command(kafka_group)
        from logiflow.app import app

        app.main()
    except ConfigError as exc:
        click.echo(f"logiflow: configuration error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
