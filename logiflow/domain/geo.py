"""Great-circle distances and the gazetteer that turns place names into coordinates.

Pure except for :meth:`Gazetteer.load` and the reload-on-miss of an operator's extra file:
reading those two JSON files is the only I/O here, and none of it happens at import time.

The gazetteer is the packaged ``gazetteer.json`` plus, optionally, an operator's extra file of
the same format (``{"places": [{"name": .., "country": .., "lat": .., "lon": ..}, ..]}``) whose
entries add to or override the packaged ones. When a name is not found, the extra file is
re-read if its modification time or size changed, so an operator can add a missing place while
the worker runs and then replay the dead-lettered requests.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from logiflow.domain.model import Place, PlaceRef
from logiflow.errors import ConfigError, PoisonMessage

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), in km."""

MAX_SHOWN_NAME_CHARS = 60
"""Unknown names are truncated to this length in error messages (they come from producers)."""

PACKAGED_GAZETTEER = "gazetteer.json"

# (st_mtime_ns, st_size) of the extra file as last loaded; None when the file did not exist.
_FileSignature = tuple[int, int] | None


def haversine_km(a: Place, b: Place) -> float:
    """Great-circle distance between two places, in km, on a sphere of the mean Earth radius."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    # Rounding can push h a hair above 1 for antipodal points; asin would then fail.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _key(name: str) -> str:
    """Lookup key: case-insensitive, surrounding whitespace ignored."""
    return name.strip().casefold()


def _index(places: Mapping[str, Place]) -> dict[str, Place]:
    """Key → Place carrying its canonical name (the Place's own name, else the mapping key)."""
    index: dict[str, Place] = {}
    for name, place in places.items():
        canonical = (place.name or name).strip()
        index[_key(name)] = Place(lat=place.lat, lon=place.lon, name=canonical)
    return index


class Gazetteer:
    """Place names → coordinates, with an optional operator file that can change at runtime.

    Args:
        places: Canonical name → Place. Lookups ignore case and surrounding whitespace.
        extra_file: An operator's JSON file (gazetteer format) whose entries add to or override
            ``places``. It may be missing (then it adds nothing) and may be created or edited
            later: it is re-read on a lookup miss when its mtime or size changed.
    """

    def __init__(self, places: Mapping[str, Place], extra_file: Path | None = None) -> None:
        self._base = _index(places)
        self._extra: dict[str, Place] = {}
        self._extra_file = extra_file
        self._extra_signature: _FileSignature = None
        if extra_file is not None:
            self._reload_extra_if_changed(force=True)

    @classmethod
    def load(cls, extra_file: Path | None = None) -> Gazetteer:
        """The packaged gazetteer, plus the operator's ``extra_file`` when given.

        Raises:
            ConfigError: a file is not valid gazetteer JSON. Operator: fix the file named in the
                message (or remove it) and restart.
        """
        resource = files("logiflow.domain") / PACKAGED_GAZETTEER
        try:
            text = resource.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the packaged {PACKAGED_GAZETTEER}: {exc}") from exc
        places = _parse_places(text, f"packaged {PACKAGED_GAZETTEER}")
        return cls({p.name or "": p for p in places}, extra_file=extra_file)

    def names(self) -> list[str]:
        """Canonical names of every known place, sorted case-insensitively."""
        merged = {**self._base, **self._extra}
        return sorted((p.name or "" for p in merged.values()), key=str.casefold)

    def resolve(self, ref: PlaceRef) -> Place:
        """The coordinates of a place reference.

        Coordinates pass through (with the ref's label as name); a name is looked up.

        Raises:
            PoisonMessage: ``unknown-place`` for a name the gazetteer does not know (the operator
                may add it to the extra file and replay), ``out-of-range`` for impossible
                coordinates, ``missing-field`` for a ref with neither name nor coordinates.
            ConfigError: the extra file changed and is no longer valid.
        """
        if ref.lat is not None and ref.lon is not None:
            return _coordinates(ref)
        if ref.name is None or not ref.name.strip():
            raise PoisonMessage("missing-field", "a place needs a name or lat and lon")
        place = self._lookup(ref.name)
        if place is None and self._reload_extra_if_changed():
            place = self._lookup(ref.name)
        if place is None:
            shown = ref.name.strip()
            if len(shown) > MAX_SHOWN_NAME_CHARS:
                shown = shown[:MAX_SHOWN_NAME_CHARS] + "…"
            raise PoisonMessage("unknown-place", f"no place named {shown!r} in the gazetteer "
                                 "(add it to the extra gazetteer file, then replay)")
        return place

    def _lookup(self, name: str) -> Place | None:
        key = _key(name)
        if key in self._extra:
            return self._extra[key]
        return self._base.get(key)

    def _reload_extra_if_changed(self, force: bool = False) -> bool:
        """Re-read the extra file if it changed since last read; True when it was re-read."""
        path = self._extra_file
        if path is None:
            return False
        signature = _signature(path)
        if not force and signature == self._extra_signature:
            return False
        extra: dict[str, Place] = {}
        if signature is not None:
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                signature = None  # removed between stat and read: as good as missing
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read the gazetteer file {path}: {exc}") from exc
            else:
                extra = _index({p.name or "": p for p in _parse_places(text, str(path))})
        # Only a successful parse moves the signature: a broken file is re-checked next miss.
        self._extra = extra
        self._extra_signature = signature
        return True


def _signature(path: Path) -> _FileSignature:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot stat the gazetteer file {path}: {exc}") from exc
    return (stat.st_mtime_ns, stat.st_size)


def _coordinates(ref: PlaceRef) -> Place:
    assert ref.lat is not None and ref.lon is not None
    lat, lon = float(ref.lat), float(ref.lon)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise PoisonMessage("out-of-range", f"coordinates {lat},{lon} are not a place on Earth")
    return Place(lat=lat, lon=lon, name=ref.name)


def _parse_places(text: str, source: str) -> list[Place]:
    """Gazetteer JSON → Places; ConfigError naming ``source`` and the entry on any defect."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"gazetteer file {source} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("places"), list):
        raise ConfigError(f'gazetteer file {source} must be {{"places": [...]}}')
    places = [_parse_entry(entry, i, source) for i, entry in enumerate(data["places"])]
    _reject_duplicates((p.name or "" for p in places), source)
    return places


def _parse_entry(entry: Any, index: int, source: str) -> Place:
    where = f"gazetteer file {source}, places[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: name must be a non-empty string")
    coordinates: list[float] = []
    for label, limit in (("lat", 90), ("lon", 180)):
        value = entry.get(label)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} ({name}): {label} must be a number")
        if not math.isfinite(value) or not -limit <= value <= limit:
            raise ConfigError(f"{where} ({name}): {label}={value} is out of range")
        coordinates.append(float(value))
    country = entry.get("country")
    if country is not None and not isinstance(country, str):
        raise ConfigError(f"{where} ({name}): country must be a string")
    lat, lon = coordinates
    return Place(lat=lat, lon=lon, name=name.strip())


def _reject_duplicates(names: Iterable[str], source: str) -> None:
    seen: set[str] = set()
    for name in names:
        if _key(name) in seen:
            raise ConfigError(f"gazetteer file {source} lists {name!r} twice")
        seen.add(_key(name))
