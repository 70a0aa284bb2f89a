"""``logiflow kafka start | stop | status``: the local broker, one node or a cluster.

Runs without building the Faust app (it works before anything else does).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from logiflow.errors import BrokerError
from logiflow.settings import Settings

if TYPE_CHECKING:
    from logiflow.kafka.local_broker import LocalKafka

NODE = click.option("--node", type=int, default=None, metavar="I",
                    help="Only node I of the cluster (1-based).")


@click.group(name="kafka")
def kafka_group() -> None:
    """Run a local Kafka (KRaft) from the official jars: one node, or a cluster (--brokers 3)."""


def _local() -> LocalKafka:
    from logiflow.kafka.config import LocalBrokerSettings
    from logiflow.kafka.local_broker import LocalKafka

    return LocalKafka(LocalBrokerSettings.from_env(), partitions=Settings.from_env().partitions)


@kafka_group.command("start")
@click.option("--brokers", type=click.IntRange(1, 9), default=None,
              help="Nodes of a new cluster (remembered in the kafka home); default 1, or what the "
                   "home already holds.")
@NODE
@click.option("--sasl-ssl", "sasl_ssl", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="JSON file describing an extra SASL_SSL listener: port, keystore "
                                 "(PKCS12), keystorePassword, users {name: password}.")
def kafka_start(brokers: int | None, node: int | None, sasl_ssl: Path | None) -> None:
    """Fetch (cached), format (first time) and start the broker(s); wait until they answer."""
    from logiflow.kafka.nodes import SaslSslListener

    local = _local()
    try:
        if node is not None:
            click.echo(f"node {node}: {local.start_node(node).describe()}")
            return
        listener = None
        if sasl_ssl is not None:
            try:
                listener = SaslSslListener.from_json(json.loads(sasl_ssl.read_text(encoding="utf-8")))
            except ValueError as exc:
                raise BrokerError(f"{sasl_ssl} is not JSON: {exc}") from exc
        click.echo(local.start(brokers, listener).describe())
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from exc


@kafka_group.command("stop")
@NODE
@click.option("--kill", is_flag=True, help="With --node: kill -9 instead of a clean shutdown.")
def kafka_stop(node: int | None, kill: bool) -> None:
    """Stop what `logiflow kafka start` started (clean shutdown), or one node of it."""
    local = _local()
    try:
        if node is None:
            if kill:
                raise click.UsageError("--kill needs --node")
            stopped = local.stop()
        else:
            stopped = local.kill_node(node) if kill else local.stop_node(node)
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from exc
    what = "broker" if node is None else f"node {node}"
    click.echo(("killed" if kill else "stopped") if stopped else f"no {what} started by logiflow is running")


@kafka_group.command("status")
def kafka_status() -> None:
    """Say whether the broker (every node) is up and where. Exit 0 when all are up, else 1."""
    status = _local().status()
    click.echo(status.describe())
    sys.exit(0 if status.up else 1)
