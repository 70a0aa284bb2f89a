"""The bench's shared routing work, its broker choice, its Faust floor's port and its ratios.

The peers themselves run against a real broker only in the bench (``python -m bench.run``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.compare import routing_comparison
from bench.payloads import route_requests
from bench.run import bench_broker
from bench.work import PoisonMessage, RouteWork
from logiflow.domain.geo import Gazetteer
from logiflow.domain.routing import RoutingParams, plan_route
from logiflow.domain.trucks import apply_route
from logiflow.settings import Settings
from logiflow.wire import decode_route_requested, encode_route_calculated
from tests.support.harness import REPO

T0 = 1_795_735_109_000


def test_route_work_is_the_agents_decode_plan_encode_and_fold():
    gazetteer, params = Gazetteer.load(), RoutingParams()
    work = RouteWork(gazetteer, params, max_message_bytes=256 * 1024)
    (key, value), = route_requests(1, 1, gazetteer)
    prior = {"truckId": key.decode(), "routes": 3, "km": 10.0, "lastOffset": 6, "recent": []}

    out_key, out_value, state = work(value, key, T0, 7, prior)

    route = plan_route(decode_route_requested(value, key), gazetteer, params, received_ms=T0)
    assert out_key == route.truck_id.encode() == key
    assert out_value == encode_route_calculated(route)
    assert state == apply_route(prior, route, 7)
    assert state["routes"] == 4 and state["lastOffset"] == 7


def test_route_work_rejects_what_the_agent_would_dead_letter():
    work = RouteWork(Gazetteer.load(), RoutingParams(), max_message_bytes=256 * 1024)
    with pytest.raises(PoisonMessage):
        work(b"{not json", b"TR-1", T0, 0, None)


def test_the_shared_work_imports_neither_faust_nor_aiokafka():
    # The peers run it in a venv without them; importing them here would fail there.
    probe = ("import sys, bench.work\n"
             "print([m for m in sys.modules if m.split('.')[0] in ('faust', 'mode', 'aiokafka')])")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_the_bench_uses_logiflow_broker_when_set():
    assert bench_broker({"LOGIFLOW_BROKER": "kafka://k1:9000;kafka://k2:9000"}) == ("k1:9000,k2:9000",
                                                                                  False)
    assert bench_broker({"LOGIFLOW_BROKER": "kafka://127.0.0.1:19192",
                         "LOGIFLOW_KAFKA_PORT": "19192"}) == ("127.0.0.1:19192", True)


def test_without_logiflow_broker_the_bench_uses_the_local_broker_port():
    assert bench_broker({"LOGIFLOW_KAFKA_PORT": "19300"}) == ("127.0.0.1:19300", True)
    assert bench_broker({}) == ("127.0.0.1:9092", True)


def test_the_faust_floor_binds_the_runs_web_port_not_fausts_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGIFLOW_")}
    env.update(LOGIFLOW_WEB_PORT="16543", LOGIFLOW_DATA_DIR=str(tmp_path), LOGIFLOW_APP_ID="floor-t")
    probe = ("import json, bench.faust_floor as f\n"
             "print(json.dumps([f.app.conf.web_port, f.app.conf.web_bind]))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True,
                          text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [16543, Settings().web_host]


def test_every_contestant_is_a_ratio_to_the_raw_loop_and_to_quix():
    runs = {
        "routing.raw": [{"eventsPerS": 100.0, "steadyEventsPerS": 120.0},
                        {"eventsPerS": 300.0, "steadyEventsPerS": 360.0},
                        {"eventsPerS": 200.0, "steadyEventsPerS": 240.0}],
        "routing.quix": [{"eventsPerS": 50.0, "steadyEventsPerS": 80.0}],
        "routing.faustFloor": [{"eventsPerS": 400.0}],
        "invoicing.endToEnd": [{"invoicesPerS": 9.0}],
    }
    c = routing_comparison(runs)
    assert set(c) == {"raw", "quix", "faustFloor"}
    assert c["raw"]["eventsPerS"] == 200.0 and c["raw"]["vsRaw"] == 1.0
    assert c["raw"]["vsQuix"] == 4.0 and c["raw"]["steadyVsQuix"] == 3.0
    assert c["quix"]["vsRaw"] == 0.25 and c["quix"]["steadyVsRaw"] == 80.0 / 240.0
    assert c["faustFloor"]["vsRaw"] == 2.0 and c["faustFloor"]["steadyVsRaw"] is None


def test_a_ratio_to_a_contestant_that_did_not_run_is_none():
    c = routing_comparison({"routing.confluent": [{"eventsPerS": 10.0, "steadyEventsPerS": 12.0}]})
    assert c["confluent"]["vsRaw"] is None and c["confluent"]["vsQuix"] is None
