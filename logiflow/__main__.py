"""``logiflow``: Faust's command line bound to ``logiflow.app``, plus LogiFlow's own commands.

``logiflow worker -l info`` is ``faust -A logiflow.app worker -l info``; ``logiflow send ...``
is ``faust -A logiflow.app send ...``. ``logiflow worker --role routing`` (routing, invoicing,
dlq or all) sets ``LOGIFLOW_ROLE`` for the worker: the option is taken out before Faust parses
the command line, and checked before the app is built.

Added groups: ``logiflow kafka start|stop|status`` (local broker or cluster:
logiflow/kafka/cli.py), ``logiflow dlq list|show|replay|discard`` (dead-letter queue) and
``logiflow roles split-offsets`` (from role all to split roles: logiflow/kafka/role_offsets.py).

The ``kafka``, ``dlq`` and ``roles`` groups run without building the Faust app (``kafka`` works before
anything else does; ``dlq`` talks to Kafka directly).
"""

from __future__ import annotations

import os
import sys

import click

from logiflow.errors import ConfigError
from logiflow.kafka.cli import kafka_group


def main() -> None:
    """Entry point of the ``logiflow`` console command."""
    argv = sys.argv[1:]
    try:
        if argv[:1] == ["kafka"]:
            kafka_group(args=argv[1:], prog_name="logiflow kafka")
            return
        if argv[:1] == ["roles"]:  # like kafka and dlq: no Faust app needed
            from logiflow.kafka.role_offsets import roles_group

            roles_group(args=argv[1:], prog_name="logiflow roles")
            return
        from logiflow.dlq.cli import dlq_group

        if argv[:1] == ["dlq"]:
            # Not through Faust's root group: it scans argv for "--app" by prefix, so our
            # "--apply" would be taken for it. The dlq commands do not need the Faust app.
            dlq_group(args=argv[1:], prog_name="logiflow dlq")
            return
        argv = _take_role(argv)
        from faust.cli.faust import cli

        cli.add_command(dlq_group)
        cli.add_command(kafka_group)
        from logiflow.app import app

        if next((a for a in argv if not a.startswith("-")), None) in ("worker", "send"):
            _check_kafka_credentials()
        app.main()
    except ConfigError as exc:
        click.echo(f"logiflow: configuration error: {exc}", err=True)
        sys.exit(2)


def _take_role(argv: list[str]) -> list[str]:
    """``argv`` without ``--role X`` / ``--role=X`` of the worker command, which sets LOGIFLOW_ROLE."""
    if next((a for a in argv if not a.startswith("-")), None) != "worker":
        return argv
    out, i, role = [], 0, None
    while i < len(argv):
        arg = argv[i]
        if arg == "--role":
            if i + 1 >= len(argv):
                raise ConfigError("--role needs a value: routing, invoicing, dlq or all")
            role, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--role="):
            role = arg.split("=", 1)[1]
        else:
            out.append(arg)
        i += 1
    if role is not None:
        from logiflow import roles

        os.environ["LOGIFLOW_ROLE"] = roles.parse(role)
    sys.argv[1:] = out
    return out


def _check_kafka_credentials() -> None:
    """A wrong SASL password or an untrusted broker certificate: a ConfigError now, not a
    traceback from deep inside Faust. Plaintext settings connect nothing here."""
    from logiflow.kafka.security import check_connection_sync
    from logiflow.settings import Settings

    check_connection_sync(Settings.from_env())


if __name__ == "__main__":
    main()
