"""Dead letters, pure: being split into headers, records, index and queries."""

from logiflow.domain.dlq.index import *  # noqa: F403
