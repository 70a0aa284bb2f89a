"""The pom that pins and fetches the local Kafka broker (see logiflow.kafka_local)."""
