"""Where units are on the ground: which grid's area holds a point (WGS-84 degrees, as given).

Grids are a few hundred metres across, so a circle is measured with the haversine
distance and a polygon is tested on the plane of its degrees (ray casting): over such
distances the error is centimetres, far below how exactly a phone knows where it is.
Coordinates are never converted: a client holding GCJ-02 (most Chinese map SDKs)
converts to WGS-84 before sending, and the org file's areas are written in WGS-84 too.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.vocabulary import Level
from workflow.org.models import Unit

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two points, in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _in_polygon(lat: float, lon: float, corners: list[list[float]]) -> bool:
    inside = False
    j = len(corners) - 1
    for i, (lat_i, lon_i) in enumerate(corners):
        lat_j, lon_j = corners[j]
        if (lat_i > lat) != (lat_j > lat):
            crossing = lon_i + (lat - lat_i) * (lon_j - lon_i) / (lat_j - lat_i)
            if lon < crossing:
                inside = not inside
        j = i
    return inside


def contains(area: dict[str, Any], lat: float, lon: float) -> bool:
    """Tell whether an area (``schemas.org.Area`` as stored) holds the point."""
    if area.get("polygon"):
        return _in_polygon(lat, lon, area["polygon"])
    centre, radius = area.get("centre"), area.get("radius_m")
    if centre is None or radius is None:
        return False
    return distance_m(lat, lon, centre[0], centre[1]) <= float(radius)


def grid_at(session: Session, lat: float, lon: float) -> Unit | None:
    """Return the grid whose area holds the point (the nearest centre if areas overlap), or None."""
    grids = session.scalars(select(Unit).where(Unit.level == Level.GRID.value, Unit.area.is_not(None))
                            .order_by(Unit.id))
    holding = [g for g in grids if g.area and contains(g.area, lat, lon)]
    if not holding:
        return None

    def centre_distance(grid: Unit) -> float:
        area = grid.area or {}
        centre = area.get("centre") or _centroid(area.get("polygon") or [[lat, lon]])
        return distance_m(lat, lon, centre[0], centre[1])

    return min(holding, key=centre_distance)


def _centroid(corners: list[list[float]]) -> list[float]:
    return [sum(c[0] for c in corners) / len(corners), sum(c[1] for c in corners) / len(corners)]
