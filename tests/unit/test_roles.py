"""Roles: names, groups and changelogs, what a role's app declares, and reading Faust's group data."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal

import faust
import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from faust.assignor.client_assignment import ClientAssignment, ClientMetadata
from hypothesis import given
from hypothesis import strategies as st

from logiflow import roles, topics
from logiflow.__main__ import _take_role
from logiflow.app import create_app
from logiflow.errors import ConfigError
from logiflow.kafka.groups import Group, decode_member, group_from_description
from logiflow.settings import Settings
from logiflow.web.system import role_view, sum_shares


def test_the_default_role_is_all_and_keeps_the_app_id_as_the_one_group():
    s = Settings.from_env({})
    assert s.role == roles.ALL and s.group_id == s.app_id == "logiflow"
    assert roles.groups("logiflow", roles.ALL) == dict.fromkeys(roles.ROLES, "logiflow")


def test_each_role_is_a_group_of_its_own_but_changelogs_keep_the_app_id():
    assert Settings.from_env({"LOGIFLOW_ROLE": "routing"}).group_id == "logiflow-routing"
    assert roles.groups("lf", roles.INVOICING) == {
        "routing": "lf-routing", "invoicing": "lf-invoicing", "dlq": "lf-dlq"}
    assert roles.changelog_topic("lf", topics.TRUCK_ROUTES) == "lf-truck-routes-changelog"


@pytest.mark.parametrize("bad", ["billing", "Routing", "", "routing,invoicing"])
def test_an_unknown_role_is_a_config_error_naming_the_setting(bad):
    with pytest.raises(ConfigError, match="LOGIFLOW_ROLE"):
        Settings.from_env({"LOGIFLOW_ROLE": bad})


def test_every_agent_and_table_belongs_to_exactly_one_role():
    agents = [a for names in roles.AGENTS.values() for a in names]
    tables = [t for names in roles.TABLES.values() for t in names]
    assert sorted(agents) == sorted({topics.CALCULATE_ROUTES, topics.GENERATE_INVOICES,
                                     topics.INDEX_DEAD_LETTERS})
    assert sorted(tables) == sorted({topics.TRUCK_ROUTES, topics.TRUCK_INVOICES,
                                     topics.INVOICES_ISSUED, topics.DLQ_ENTRIES})
    assert roles.role_of_table(topics.INVOICES_ISSUED) == roles.INVOICING
    assert roles.role_of_agent(topics.CALCULATE_ROUTES) == roles.ROUTING


def test_the_worker_option_sets_the_role_and_is_taken_out_of_faust_s_arguments(monkeypatch):
    monkeypatch.setenv("LOGIFLOW_ROLE", "all")  # restored after the test, whatever it sets
    monkeypatch.setattr("sys.argv", ["logiflow", "worker", "--role", "dlq", "-l", "info"])
    assert _take_role(["worker", "--role", "dlq", "-l", "info"]) == ["worker", "-l", "info"]
    import os

    assert os.environ["LOGIFLOW_ROLE"] == "dlq"
    assert _take_role(["worker", "--role=routing"]) == ["worker"]
    assert os.environ["LOGIFLOW_ROLE"] == "routing"
    assert _take_role(["send", "--role", "x"]) == ["send", "--role", "x"]  # only the worker's
    with pytest.raises(ConfigError):
        _take_role(["worker", "--role", "nope"])


def test_a_role_s_app_declares_only_its_tables_with_the_changelog_faust_would_give_role_all():
    routing = create_app(Settings.from_env({"LOGIFLOW_ROLE": "routing", "LOGIFLOW_APP_ID": "lf"}))
    assert routing.conf.id == "lf-routing"
    mine = routing.Table(topics.TRUCK_ROUTES, key_type=str, partitions=4)
    other = routing.Table(topics.TRUCK_INVOICES, key_type=str, partitions=4)
    assert list(routing.tables) == [topics.TRUCK_ROUTES]
    assert isinstance(other, roles.AbsentTable)
    assert other.changelog_topic.get_topic_name() == "lf-truck-invoices-changelog"
    with pytest.raises(roles.TableNotHere, match="invoicing"):
        other.get("TR-1")

    # Faust's own changelog for the same table in an app whose id is the app id (role all).
    plain = faust.App("lf", store="memory://", key_serializer="raw", value_serializer="raw")
    theirs = plain.Table(topics.TRUCK_ROUTES, key_type=str, partitions=4).changelog_topic
    ours = mine.changelog_topic
    assert ours.get_topic_name() == theirs.get_topic_name() == "lf-truck-routes-changelog"
    for attr in ("partitions", "compacting", "deleting", "internal", "acks", "maxsize",
                 "allow_empty", "retention", "replicas", "config", "key_type", "value_type"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr


def test_a_role_s_app_leaves_other_roles_agents_undeclared():
    app = create_app(Settings.from_env({"LOGIFLOW_ROLE": "invoicing"}))

    async def fun(stream):  # pragma: no cover - never run
        yield stream

    assert app.agent(app.app_topics.route_requests, name=topics.CALCULATE_ROUTES)(fun) is fun
    app.agent(app.app_topics.routing_events, name=topics.GENERATE_INVOICES)(fun)
    assert list(app.agents) == [topics.GENERATE_INVOICES]


def faust_assignment(url: str, actives: dict[str, list[int]], standbys: dict[str, list[int]]) -> bytes:
    """Assignment bytes as Faust's PartitionAssignor writes them (its own model, zlib, Kafka's struct)."""
    meta = ClientMetadata(assignment=ClientAssignment(actives=actives, standbys=standbys), url=url,
                          changelog_distribution={})
    return ConsumerProtocolMemberAssignment(4, sorted(actives.items()),
                                            zlib.compress(meta.dumps())).encode()


def test_a_member_is_read_from_faust_s_own_assignment_format():
    raw = faust_assignment("http://r1:6066", {"rq": [0, 2], "lf-truck-routes-changelog": [2, 0]},
                           {"lf-truck-routes-changelog": [1]})
    member = decode_member(raw, "/10.0.0.5")
    assert member is not None
    assert member.url == "http://r1:6066" and member.client_host == "/10.0.0.5"
    assert member.actives == {"rq": [0, 2], "lf-truck-routes-changelog": [0, 2]}
    assert member.standbys == {"lf-truck-routes-changelog": [1]}
    assert decode_member(b"") is None  # mid-rebalance: no assignment yet
    assert decode_member(b"\x00\x01garbage") is None


def test_a_group_says_who_owns_each_partition():
    described = {"group": "lf-routing", "state": "Stable", "protocol": "faust", "members": [
        {"client_host": "/a", "member_assignment": faust_assignment("http://r1:1", {"c": [0, 1]}, {})},
        {"client_host": "/b", "member_assignment": faust_assignment("http://r2:1", {"c": [2, 3]}, {})},
        {"client_host": "/c", "member_assignment": b""}]}
    group = group_from_description(described)
    assert [m.url for m in group.members] == ["http://r1:1", "http://r2:1"]
    assert group.owner("c", 3) == "http://r2:1" and group.owner("c", 9) is None
    assert group.distribution("c") == {"http://r1:1": {"c": [0, 1]}, "http://r2:1": {"c": [2, 3]}}


def test_a_role_s_backlog_and_time_to_drain_come_from_its_committed_and_end_offsets():
    settings = Settings.from_env({"LOGIFLOW_APP_ID": "lf", "LOGIFLOW_ROLE": "routing"})
    group = Group("lf-routing", "PreparingRebalance", [],
                  committed={("routing.requests", 0): 100, ("routing.requests", 1): -1},
                  ends={("routing.requests", 0): 150, ("routing.requests", 1): 30, ("other", 0): 9})
    view = role_view(settings, roles.ROUTING, group, rate=40.0)
    assert [r["lag"] for r in view["lag"]] == [50, 30]
    assert view["lag"][1]["committed"] is None
    assert view["lagTotal"] == 80 and view["drainSeconds"] == 2.0 and view["rebalancing"]
    assert role_view(settings, roles.ROUTING, group, rate=None)["drainSeconds"] is None


def test_role_totals_count_each_partition_once_even_when_two_workers_report_it():
    a = {"0": {"trucks": 2, "routes": 5, "km": 10.5}, "1": {"trucks": 1, "routes": 1, "km": 1.25}}
    b = {"1": {"trucks": 1, "routes": 1, "km": 1.25}, "2": {"trucks": 3, "routes": 7, "km": 0.0}}
    out = sum_shares([a, b], partitions=4)
    assert out["totals"] == {"trucks": 6, "routes": 13, "km": 11.8}  # 11.75, rounded once
    assert out["partitionsCovered"] == [0, 1, 2] and out["complete"] is False
    money = sum_shares([{"0": {"invoices": 1, "revenue": "10.10", "currency": "EUR"}},
                        {"1": {"invoices": 2, "revenue": "0.20", "currency": "EUR"}}], partitions=2)
    assert Decimal(money["totals"]["revenue"]) == Decimal("10.30") and money["complete"]
    assert json.dumps(money)  # plain JSON values


def test_split_offsets_copies_the_all_group_s_offsets_only_where_a_role_group_has_none():
    from aiokafka import TopicPartition

    from logiflow.kafka.role_offsets import plan

    settings = Settings.from_env({"LOGIFLOW_APP_ID": "lf", "LOGIFLOW_PARTITIONS": "2"})
    source = {TopicPartition("routing.requests", 0): 10, TopicPartition("routing.requests", 1): 7,
              TopicPartition("routing.events", 0): 5}
    existing = {"lf-routing": {TopicPartition("routing.requests", 1): 9}}
    actions = {(c.group, c.tp.topic, c.tp.partition): (c.action, c.offset)
               for c in plan(settings, source, existing)}
    assert actions == {
        ("lf-routing", "routing.requests", 0): ("copy", 10),
        ("lf-routing", "routing.requests", 1): ("keep", 7),  # never moved: the group has 9
        ("lf-invoicing", "routing.events", 0): ("copy", 5),
        ("lf-invoicing", "routing.events", 1): ("nothing", None),
        ("lf-dlq", "logiflow.dlq", 0): ("nothing", None),
    }


def test_an_agent_or_table_without_a_role_is_refused_at_declaration():
    app = create_app(Settings.from_env({}))
    with pytest.raises(roles.NoRole, match=r"logiflow/roles\.py"):
        app.Table("unlisted", key_type=str)
    with pytest.raises(roles.NoRole, match="AGENTS"):
        app.agent(app.app_topics.route_requests, name="unlisted_agent")


@given(st.binary(max_size=300))
def test_any_bytes_in_a_member_assignment_give_a_member_or_none_never_an_error(raw):
    member = decode_member(raw)
    assert member is None or isinstance(member.url, str)
