"""LogiFlow: logistics domain events over Apache Kafka, processed by Faust."""

__version__ = "0.1.0"
