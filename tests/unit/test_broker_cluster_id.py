"""Cluster ids the Kafka storage tool accepts: Kafka's Uuid form, never starting with '-'."""

import base64

from pipeline.embedded import kafka_broker


def test_cluster_ids_never_start_with_a_dash_and_decode_to_16_bytes():
    ids = [kafka_broker._new_cluster_id() for _ in range(5000)]  # ~78 would start with '-' by chance
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)


def test_the_cluster_id_is_made_once_and_kept(tmp_path):
    first = kafka_broker.cluster_id(tmp_path)
    assert kafka_broker.cluster_id(tmp_path) == first
    assert (tmp_path / "cluster.id").read_text().strip() == first
