"""Grid areas: circles and polygons in WGS-84, read from the org file, finding the grid of a point."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from workflow.base.errors import InvalidInput
from workflow.org.areas import contains, distance_m, grid_at
from workflow.org.tree import read_org_file


def test_distance_is_the_great_circle_in_metres() -> None:
    # One degree of latitude is about 111.2 km anywhere; one of longitude shrinks with cos(latitude).
    assert distance_m(42.0, 118.0, 43.0, 118.0) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(42.28, 118.93, 42.28, 118.9315) == pytest.approx(123.6, rel=1e-2)


def test_circles_and_polygons_hold_what_is_inside() -> None:
    circle = {"centre": [42.28, 118.93], "radius_m": 60}
    assert contains(circle, 42.2804, 118.93) and not contains(circle, 42.2806, 118.93)  # 44 m in, 67 m out
    square = {"polygon": [[42.0, 118.0], [42.0, 118.1], [42.1, 118.1], [42.1, 118.0]]}
    assert contains(square, 42.05, 118.05) and not contains(square, 42.15, 118.05)
    concave = {"polygon": [[0, 0], [0, 4], [4, 4], [4, 3], [1, 3], [1, 1], [4, 1], [4, 0]]}  # a "C"
    assert contains(concave, 0.5, 2) and not contains(concave, 2, 2)


def test_the_demo_grids_are_found_by_their_points(session: Session) -> None:
    polygon_grid = grid_at(session, 42.2801, 118.9301)
    circle_grid = grid_at(session, 42.2830, 118.9515)
    assert polygon_grid is not None and polygon_grid.code == "XY-01-A-1"
    assert circle_grid is not None and circle_grid.code == "XY-03-B-4"
    assert grid_at(session, 39.9, 116.4) is None


@pytest.mark.parametrize(("area", "says"), [
    ("{centre: [42.28, 118.93]}", "both centre and radius_m"),
    ("{centre: [42.28, 118.93], radius_m: 60, polygon: [[0, 0], [0, 1], [1, 1]]}", "either"),
    ("{polygon: [[0, 0], [0, 1]]}", "polygon"),
    ("{centre: [91, 118.93], radius_m: 60}", "centre"),
])
def test_a_bad_area_in_the_org_file_is_named(tmp_path: Path, area: str, says: str) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(f"units:\n- {{code: S, name: S, level: street, area: {area}}}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=says):
        read_org_file(path)
