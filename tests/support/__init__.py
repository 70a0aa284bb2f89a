"""Test support for every tier (and bench/): the real-broker harness, fakes, factories, poison."""
