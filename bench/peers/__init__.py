"""Peers: the same routing work on other stream clients (confluent-kafka, Quix Streams).

Each runs as a subprocess in its own virtual environment (:mod:`bench.peers.venv`), so neither
library is a project dependency.
"""
