"""Settings: safe defaults, environment parsing, validation that names the variable, derived values."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from logiflow.errors import ConfigError
from logiflow.kafka.config import LocalBrokerSettings
from logiflow.settings import Settings, settings_table


def test_the_defaults_are_local_and_safe():
    s = Settings.from_env({})
    assert s.web_host == "127.0.0.1"
    assert s.api_token == ""  # the page is read-only until a token is set
    assert s.bootstrap_servers == "127.0.0.1:9092"
    assert s.topic_prefix == ""


def test_from_env_ignores_the_process_environment_when_given_a_mapping(monkeypatch):
    monkeypatch.setenv("LOGIFLOW_PARTITIONS", "9")
    assert Settings.from_env({}).partitions == Settings().partitions
    assert Settings.from_env().partitions == 9


def test_values_are_parsed_to_the_type_of_their_field():
    s = Settings.from_env({
        "LOGIFLOW_PARTITIONS": "12",
        "LOGIFLOW_RENDER_TIMEOUT_S": "2.5",
        "LOGIFLOW_VAT_PCT": "7.7",
        "LOGIFLOW_INVOICE_DIR": "/srv/invoices",
        "LOGIFLOW_APP_ID": "logiflow-eu",
    })
    assert s.partitions == 12 and isinstance(s.partitions, int)
    assert s.render_timeout_s == 2.5
    assert s.vat_pct == Decimal("7.7") and isinstance(s.vat_pct, Decimal)  # exact, not 7.7000000001
    assert s.invoice_dir == Path("/srv/invoices")
    assert s.app_id == "logiflow-eu"


def test_keyword_overrides_win_over_the_environment():
    assert Settings.from_env({"LOGIFLOW_RETRY_ATTEMPTS": "7"}, retry_attempts=2).retry_attempts == 2


@pytest.mark.parametrize(("name", "raw"), [
    ("LOGIFLOW_PARTITIONS", "four"),
    ("LOGIFLOW_PARTITIONS", "4.0"),
    ("LOGIFLOW_WEB_PORT", ""),
    ("LOGIFLOW_RETRY_BASE_S", "fast"),
    ("LOGIFLOW_BASE_FEE", "45,00"),
])
def test_an_unparsable_value_is_a_config_error_naming_the_variable(name, raw):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: raw})


@pytest.mark.parametrize(("name", "raw"), [
    ("LOGIFLOW_PARTITIONS", "0"),
    ("LOGIFLOW_REPLICATION", "0"),
    ("LOGIFLOW_RETRY_ATTEMPTS", "-1"),
    ("LOGIFLOW_DLQ_REPLAY_CAP", "0"),
    ("LOGIFLOW_WEB_PORT", "0"),
    ("LOGIFLOW_RENDER_TIMEOUT_S", "0"),
    ("LOGIFLOW_BREAKER_PROBE_S", "-2"),
    ("LOGIFLOW_RETRY_BASE_S", "-0.1"),
    ("LOGIFLOW_RENDER_TIMEOUT_S", "nan"),
    ("LOGIFLOW_AVG_SPEED_KMH", "0"),
    ("LOGIFLOW_ROAD_FACTOR", "0.9"),
])
def test_validation_rejects_values_that_would_fail_later_and_names_the_variable(name, raw):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: raw})


def test_validation_also_applies_to_overrides():
    with pytest.raises(ConfigError, match="LOGIFLOW_PARTITIONS"):
        Settings.from_env({}, partitions=0)


def test_a_zero_retry_base_is_allowed_for_immediate_retries():
    assert Settings.from_env({"LOGIFLOW_RETRY_BASE_S": "0"}).retry_base_s == 0.0


@pytest.mark.parametrize(("broker", "servers"), [
    ("kafka://127.0.0.1:9092", "127.0.0.1:9092"),
    ("kafka://k1:9092;k2:9093;k3:9094", "k1:9092,k2:9093,k3:9094"),
    ("kafka://k1:9092;kafka://k2:9093", "k1:9092,k2:9093"),
    ("kafka://k1:9092,k2:9093", "k1:9092,k2:9093"),
    ("k1:9092", "k1:9092"),
    ("kafka://k1:9092/", "k1:9092"),
])
def test_the_faust_broker_url_becomes_an_aiokafka_bootstrap_list(broker, servers):
    assert Settings.from_env({"LOGIFLOW_BROKER": broker}).bootstrap_servers == servers


def test_topic_names_get_the_deployment_prefix():
    assert Settings.from_env({}).topic("routing.events") == "routing.events"
    prefixed = Settings.from_env({"LOGIFLOW_TOPIC_PREFIX": "it-42."})
    assert prefixed.topic("routing.events") == "it-42.routing.events"


def test_the_settings_table_lists_every_field_once_with_its_logiflow_variable():
    rows = settings_table()
    names = [name for name, _default, _doc in rows]
    assert len(rows) == len(fields(Settings)) + len(fields(LocalBrokerSettings))
    assert len(set(names)) == len(names)
    assert all(name.startswith("LOGIFLOW_") for name in names)
    assert all(doc.strip() for _name, _default, doc in rows)
    for f in fields(Settings):
        assert Settings.env_name(f.name) in names
    assert "LOGIFLOW_KAFKA_PORT" in names
    assert ("LOGIFLOW_WEB_HOST", "127.0.0.1") in [(n, d) for n, d, _ in rows]


def test_every_default_shown_in_the_table_parses_back_to_itself():
    # What the README shows as a default must be a value an operator can paste into the variable.
    env = {name: default for name, default, _doc in settings_table()}
    assert Settings.from_env(env) == Settings()
    assert LocalBrokerSettings.from_env(env) == LocalBrokerSettings()


@pytest.mark.parametrize(("name", "raw"), [
    ("LOGIFLOW_KAFKA_PORT", "0"),
    ("LOGIFLOW_KAFKA_CONTROLLER_PORT", "70000"),
    ("LOGIFLOW_KAFKA_START_TIMEOUT_S", "0"),
    ("LOGIFLOW_KAFKA_PORT", "ninety"),
])
def test_local_broker_settings_are_validated_and_name_the_variable(name, raw):
    with pytest.raises(ConfigError, match=name):
        LocalBrokerSettings.from_env({name: raw})


def test_the_readme_settings_table_is_the_generated_one():
    from pathlib import Path

    from logiflow.settings import settings_markdown

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("<!-- settings:start", 1)[1].split("-->", 1)[1].split("<!-- settings:end -->")[0]
    assert block.strip() == settings_markdown(), "regenerate with: python -m logiflow.settings"
