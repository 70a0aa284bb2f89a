"""Kafka tooling: the local broker (local_broker, config, pom.xml) and topic administration (admin)."""
