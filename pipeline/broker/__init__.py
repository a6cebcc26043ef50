"""Kafka, as every process reaches it: the connection (bootstrap, TLS/SASL, the durable
producer's settings) and Vigil's topics.

May import: ``settings``. The embedded broker itself is :mod:`pipeline.embedded.kafka_broker`.
"""
