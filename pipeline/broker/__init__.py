"""The embedded Apache Kafka broker (`vigil kafka`) and Vigil's topics."""
