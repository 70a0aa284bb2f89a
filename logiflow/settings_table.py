"""The settings reference: every environment variable, its default and what it does.

The README's settings table is generated from it (``python -m logiflow.settings_table``), and a
unit test keeps the two in step. The worker's settings come first, then the local broker's.
"""

from __future__ import annotations

from dataclasses import fields

from logiflow.kafka.config import LocalBrokerSettings
from logiflow.settings import Settings


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, description) rows, for the README."""
    return [(f.metadata["env"], str(f.default), f.metadata["doc"])
            for cls in (Settings, LocalBrokerSettings) for f in fields(cls)]


def settings_markdown() -> str:
    """The README's settings table."""
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    rows += [f"| `{name}` | `{default or '(empty)'}` | {doc} |" for name, default, doc in settings_table()]
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_markdown())
