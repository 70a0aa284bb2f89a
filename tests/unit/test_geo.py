"""Great-circle distances and the gazetteer (packaged data, operator's extra file)."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest

from logiflow.domain.geo import EARTH_RADIUS_KM, Gazetteer, haversine_km
from logiflow.domain.model import Place, PlaceRef
from logiflow.errors import ConfigError, PoisonMessage

HAMBURG = Place(53.5511, 9.9937, "Hamburg")
MUNICH = Place(48.1351, 11.5820, "Munich")


def write_places(path: Path, places: list[dict[str, object]], mtime_ns: int) -> None:
    """Write an extra gazetteer file with an explicit mtime (no sleeping for the clock to move)."""
    path.write_text(json.dumps({"places": places}), encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))


# --- haversine -------------------------------------------------------------------------------

def test_hamburg_to_munich_is_about_612_km_great_circle() -> None:
    assert haversine_km(HAMBURG, MUNICH) == pytest.approx(612, abs=5)


def test_distance_is_symmetric() -> None:
    assert haversine_km(HAMBURG, MUNICH) == pytest.approx(haversine_km(MUNICH, HAMBURG))


def test_a_place_is_zero_km_from_itself() -> None:
    assert haversine_km(HAMBURG, Place(HAMBURG.lat, HAMBURG.lon)) == 0.0


def test_antipodal_points_are_half_the_circumference_apart() -> None:
    half = math.pi * EARTH_RADIUS_KM
    assert haversine_km(Place(0.0, 0.0), Place(0.0, 180.0)) == pytest.approx(half)
    assert haversine_km(Place(90.0, 0.0), Place(-90.0, 0.0)) == pytest.approx(half)
    assert haversine_km(Place(40.0, -3.7), Place(-40.0, 176.3)) == pytest.approx(half)


def test_one_degree_of_latitude_is_about_111_km() -> None:
    assert haversine_km(Place(10.0, 20.0), Place(11.0, 20.0)) == pytest.approx(111.19, abs=0.01)


# --- packaged gazetteer ----------------------------------------------------------------------

def test_packaged_gazetteer_lists_about_forty_european_hubs() -> None:
    names = Gazetteer.load().names()
    assert len(names) >= 40
    assert {"Hamburg", "Rotterdam", "Antwerp", "Duisburg", "Le Havre", "Lisbon"} <= set(names)


def test_packaged_places_lie_in_europe() -> None:
    gazetteer = Gazetteer.load()
    for name in gazetteer.names():
        place = gazetteer.resolve(PlaceRef(name=name))
        assert 35 < place.lat < 72 and -10 < place.lon < 32, name


def test_names_resolve_ignoring_case_and_surrounding_whitespace() -> None:
    gazetteer = Gazetteer.load()
    for spelling in ("Hamburg", "hamburg", "  HAMBURG\t", "hAmBuRg "):
        assert gazetteer.resolve(PlaceRef(name=spelling)) == HAMBURG


def test_a_resolved_name_carries_the_canonical_spelling() -> None:
    assert Gazetteer.load().resolve(PlaceRef(name="le havre")).name == "Le Havre"


def test_an_unknown_name_is_poison_naming_the_place() -> None:
    with pytest.raises(PoisonMessage) as caught:
        Gazetteer.load().resolve(PlaceRef(name="Atlantis"))
    assert caught.value.reason == "unknown-place"
    assert "Atlantis" in caught.value.detail


def test_a_long_unknown_name_is_truncated_in_the_message() -> None:
    with pytest.raises(PoisonMessage) as caught:
        Gazetteer.load().resolve(PlaceRef(name="X" * 200))
    assert "X" * 60 in caught.value.detail
    assert "X" * 61 not in caught.value.detail


def test_coordinates_pass_through_with_their_label() -> None:
    gazetteer = Gazetteer({})
    assert gazetteer.resolve(PlaceRef(lat=1.5, lon=-2.25)) == Place(1.5, -2.25)
    labelled = PlaceRef(name="Depot 7", lat=1.5, lon=-2.25)
    assert gazetteer.resolve(labelled) == Place(1.5, -2.25, "Depot 7")


def test_coordinates_win_over_an_unknown_name() -> None:
    ref = PlaceRef(name="Nowhere", lat=0.0, lon=0.0)
    assert Gazetteer({}).resolve(ref) == Place(0.0, 0.0, "Nowhere")


def test_impossible_coordinates_are_poison() -> None:
    with pytest.raises(PoisonMessage) as caught:
        Gazetteer({}).resolve(PlaceRef(lat=91.0, lon=0.0))
    assert caught.value.reason == "out-of-range"


def test_a_gazetteer_built_from_a_mapping_uses_its_names() -> None:
    gazetteer = Gazetteer({"Depot": Place(1.0, 2.0)})
    assert gazetteer.resolve(PlaceRef(name="depot")) == Place(1.0, 2.0, "Depot")
    assert gazetteer.names() == ["Depot"]


# --- the operator's extra file ---------------------------------------------------------------

def test_a_missing_extra_file_adds_nothing(tmp_path: Path) -> None:
    assert Gazetteer.load(tmp_path / "absent.json").names() == Gazetteer.load().names()


def test_extra_file_entries_add_to_and_override_packaged_places(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    write_places(extra, [{"name": "Depot Nord", "country": "DE", "lat": 54.0, "lon": 10.0},
                         {"name": "hamburg", "lat": 53.5, "lon": 10.0}], 1_000_000_000_000)
    gazetteer = Gazetteer.load(extra)
    assert gazetteer.resolve(PlaceRef(name="DEPOT NORD")) == Place(54.0, 10.0, "Depot Nord")
    assert gazetteer.resolve(PlaceRef(name="Hamburg")) == Place(53.5, 10.0, "hamburg")
    assert gazetteer.names().count("hamburg") == 1
    assert "Hamburg" not in gazetteer.names()


def test_a_place_added_to_the_extra_file_resolves_after_a_miss(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    write_places(extra, [], 1_000_000_000_000)
    gazetteer = Gazetteer.load(extra)
    with pytest.raises(PoisonMessage) as caught:
        gazetteer.resolve(PlaceRef(name="Depot Süd"))
    assert caught.value.reason == "unknown-place"

    write_places(extra, [{"name": "Depot Süd", "lat": 48.0, "lon": 11.0}], 2_000_000_000_000)
    assert gazetteer.resolve(PlaceRef(name="depot süd")) == Place(48.0, 11.0, "Depot Süd")


def test_an_extra_file_created_after_loading_is_picked_up_on_a_miss(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    gazetteer = Gazetteer.load(extra)
    write_places(extra, [{"name": "Depot West", "lat": 50.0, "lon": 6.0}], 1_000_000_000_000)
    assert gazetteer.resolve(PlaceRef(name="Depot West")) == Place(50.0, 6.0, "Depot West")


def test_a_hit_does_not_re_read_the_extra_file(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    write_places(extra, [], 1_000_000_000_000)
    gazetteer = Gazetteer.load(extra)
    write_places(extra, [{"name": "Hamburg", "lat": 0.0, "lon": 0.0}], 2_000_000_000_000)
    assert gazetteer.resolve(PlaceRef(name="Hamburg")) == HAMBURG


def test_an_invalid_extra_file_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"extra\.json"):
        Gazetteer.load(extra)


@pytest.mark.parametrize("content", [
    '[]',
    '{"places": {}}',
    '{"places": [{"lat": 1, "lon": 2}]}',
    '{"places": [{"name": "A", "lat": 91, "lon": 2}]}',
    '{"places": [{"name": "A", "lat": "1", "lon": 2}]}',
    '{"places": [{"name": "A", "lat": true, "lon": 2}]}',
    '{"places": [{"name": "A", "lat": 1, "lon": 2}, {"name": "a", "lat": 1, "lon": 2}]}',
])
def test_a_malformed_extra_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(extra))):
        Gazetteer.load(extra)


def test_an_extra_file_broken_while_running_is_a_config_error_on_a_miss(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    write_places(extra, [], 1_000_000_000_000)
    gazetteer = Gazetteer.load(extra)
    extra.write_text("{half-written", encoding="utf-8")
    os.utime(extra, ns=(2_000_000_000_000, 2_000_000_000_000))
    with pytest.raises(ConfigError, match=r"extra\.json"):
        gazetteer.resolve(PlaceRef(name="Depot"))
    write_places(extra, [{"name": "Depot", "lat": 1.0, "lon": 2.0}], 3_000_000_000_000)
    assert gazetteer.resolve(PlaceRef(name="Depot")) == Place(1.0, 2.0, "Depot")
