"""Faust-facing, agent-agnostic processing: the failure policy, batches, compat hooks, metrics."""
