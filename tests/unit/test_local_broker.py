"""The local broker's pure parts: cluster ids, node layout, configuration (the processes run in
every integration test, and the cluster in tests/integration/test_local_cluster.py)."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest

from logiflow.errors import BrokerError
from logiflow.kafka.local_broker import new_cluster_id
from logiflow.kafka.nodes import SaslSslListener, layout, scram_format_args, server_properties

HOME = Path("/srv/kafka")


def test_cluster_ids_are_uuids_in_url_safe_base64_that_never_look_like_an_option():
    ids = [new_cluster_id() for _ in range(5_000)]  # ~78 would start with "-" if unfiltered
    assert len(set(ids)) == len(ids)
    for cluster_id in ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        uuid.UUID(bytes=base64.urlsafe_b64decode(cluster_id + "=="))


def test_a_single_node_lives_in_the_home_itself_on_the_configured_ports():
    [node] = layout(HOME, 1, 9092, 9093)
    assert (node.node_id, node.dir, node.address, node.controller_port) == (1, HOME, "127.0.0.1:9092", 9093)
    assert node.data == HOME / "data" and node.log == HOME / "logs" / "server.log"


def test_a_single_node_keeps_its_internal_topics_unreplicated():
    [node] = nodes = layout(HOME, 1, 9092, 9093)
    props = server_properties(node, nodes, partitions=4)
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert "min.insync.replicas" not in props
    assert props["num.partitions"] == "4"


def test_node_i_of_a_cluster_has_its_own_folder_and_the_ports_plus_two_per_node():
    nodes = layout(HOME, 3, 19292, 19293, sasl_ssl_port=19392)
    assert [n.dir for n in nodes] == [HOME / "node-1", HOME / "node-2", HOME / "node-3"]
    assert [(n.port, n.controller_port, n.sasl_ssl_port) for n in nodes] == [
        (19292, 19293, 19392), (19294, 19295, 19394), (19296, 19297, 19396)]
    assert len({n.pid_file for n in nodes}) == len({n.log for n in nodes}) == 3


def test_every_node_of_a_three_node_cluster_is_a_voter_and_topics_keep_three_copies_acked_by_two():
    nodes = layout(HOME, 3, 9092, 9093)
    props = [server_properties(n, nodes, partitions=4) for n in nodes]
    assert {p["controller.quorum.voters"] for p in props} == {
        "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"}
    assert [p["node.id"] for p in props] == ["1", "2", "3"]
    assert props[1]["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9094"
    assert props[2]["log.dirs"] == str(HOME / "node-3" / "data")
    for p in props:
        assert p["process.roles"] == "broker,controller"
        assert (p["default.replication.factor"], p["min.insync.replicas"]) == ("3", "2")
        # a killed node is fenced (its partitions get new leaders) within 3 s, not Kafka's 9 s
        assert int(p["broker.heartbeat.interval.ms"]) < int(p["broker.session.timeout.ms"]) <= 3000
        assert p["offsets.topic.replication.factor"] == "3"
        assert p["transaction.state.log.replication.factor"] == "3"
        assert p["transaction.state.log.min.isr"] == "2"


@pytest.mark.parametrize(("brokers", "port", "controller", "sasl"), [
    (3, 9092, 9094, None),      # node 2's client port is node 1's controller port
    (2, 9092, 9093, 9095),      # node 2's controller port is node 1's SASL_SSL port
    (3, 65532, 65533, None),    # past the last port
])
def test_a_layout_whose_ports_collide_or_overflow_is_refused(brokers, port, controller, sasl):
    with pytest.raises(BrokerError, match="ports"):
        layout(HOME, brokers, port, controller, sasl)


def _listener(**kw: object) -> SaslSslListener:
    args: dict = {"port": 9192, "keystore": Path("/k.p12"), "keystore_password": "ks-secret",
                  "users": {"alice": "alice-secret", "bob": "b0b!"}}
    args.update(kw)
    return SaslSslListener(**args)


def test_a_sasl_ssl_listener_offers_plain_and_scram_with_the_users_and_keeps_brokers_on_plaintext():
    sasl = _listener()
    [node] = nodes = layout(HOME, 1, 9092, 9093, sasl_ssl_port=sasl.port)
    props = server_properties(node, nodes, 4, sasl)
    assert props["listeners"].endswith(",SASL_SSL://127.0.0.1:9192")
    assert "SASL_SSL://127.0.0.1:9192" in props["advertised.listeners"]
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
    jaas = props["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert 'user_alice="alice-secret"' in jaas and 'user_bob="b0b!"' in jaas and jaas.endswith(";")
    assert props["listener.name.sasl_ssl.ssl.keystore.location"] == "/k.p12"
    assert scram_format_args(sasl) == [
        "--add-scram", "SCRAM-SHA-256=[name=alice,password=alice-secret]",
        "--add-scram", "SCRAM-SHA-512=[name=alice,password=alice-secret]",
        "--add-scram", "SCRAM-SHA-256=[name=bob,password=b0b!]",
        "--add-scram", "SCRAM-SHA-512=[name=bob,password=b0b!]"]
    assert scram_format_args(None) == []


def test_a_sasl_ssl_listener_never_shows_its_passwords_and_round_trips_through_json():
    sasl = _listener()
    assert "secret" not in repr(sasl)
    assert SaslSslListener.from_json(sasl.to_json()) == sasl


@pytest.mark.parametrize("users", [{}, {"al ice": "x"}, {"alice": 'pa"ss'}, {"alice": "a,b"},
                                   {"alice": "a=b"}, {"alice": "back\\slash"}, {"alice": "x]"}])
def test_users_that_would_break_the_jaas_or_scram_syntax_are_refused(users):
    with pytest.raises(BrokerError):
        _listener(users=users)


def test_a_malformed_listener_file_says_what_it_needs():
    with pytest.raises(BrokerError, match="port, keystore"):
        SaslSslListener.from_json({"port": 9192})
