"""The fault campaign (``make faults`` = ``python -m bench.faults``): loss, duplicates, recovery.

Real ``logiflow worker`` processes on a real broker (one node, or a local 3-node cluster), fed by
a plain aiokafka producer at a fixed rate; a seeded schedule of faults (kill -9, graceful stop,
a worker joining and one leaving, local state deleted, broker restart, kill -9 of a broker node)
injected while a backlog exists; then every topic read from the beginning and accounted. Not
part of ``make test``, which runs a bounded plan (tests/integration/test_fault_campaign.py).

plan (pure: kinds, presets, seeded schedule) -> campaign (traffic, faults, drain) -> accounting
(pure: figures from the records) + recovery (pure: times from the monitor's notes) -> report.
"""
