"""The DLQ for operators: reading the topic, replaying and discarding, the ``logiflow dlq`` commands."""
