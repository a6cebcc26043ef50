"""Vigil's Kafka topics (what exists, with how many partitions) and its client configuration."""
