"""Web/Geo nodes: H3 computed locally; OSRM and Nominatim nodes against local servers standing in
for those APIs (answering in their documented JSON shapes), reached through the egress policy."""

from __future__ import annotations

import math

import pytest

from boardrun.engine import EgressPolicy
from boardrun.engine.http_egress import GeoServices
from engine_testkit import BoardBuilder, run_pure
from http_testkit import QuietHandler, serve

BERLIN = {"latitude": 52.520008, "longitude": 13.404954}
CELL = "891f1d48947ffff"  # BERLIN at resolution 9


# -- H3 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("node,output,inputs,expected", [
    ("h3_latlng_to_cell", "cell", {"coordinate": BERLIN}, CELL),
    ("h3_latlng_to_cell", "cell", {"coordinate": BERLIN, "resolution": 5}, "851f1d4bfffffff"),
    ("h3_latlng_to_cell", "cell", {"coordinate": BERLIN, "resolution": 99}, "8f1f1d48945d994"),
    ("h3_cell_to_parent", "parent", {"cell": CELL}, "851f1d4bfffffff"),
    ("h3_cell_to_parent", "original_resolution", {"cell": CELL.upper()}, 9),
    ("h3_cell_to_children", "children", {"cell": CELL},
     ["8a1f1d489447fff", "8a1f1d48944ffff", "8a1f1d489457fff", "8a1f1d48945ffff", "8a1f1d489467fff",
      "8a1f1d48946ffff", "8a1f1d489477fff"]),
    ("h3_cell_to_children", "count", {"cell": CELL, "child_resolution": 12}, 343),
    ("h3_cell_to_children", "children", {"cell": CELL, "child_resolution": 3}, []),
    ("h3_grid_disk", "count", {"cell": CELL, "k": 2}, 19),
    ("h3_grid_disk", "cells", {"cell": CELL, "k": 0}, [CELL]),
    ("h3_grid_distance", "distance", {"cell_a": CELL, "cell_b": "891f1d489c3ffff"}, 3),
    ("h3_grid_path", "length", {"cell_a": CELL, "cell_b": "891f1d489c3ffff"}, 4),
    ("h3_grid_path", "path", {"cell_a": CELL, "cell_b": CELL}, [CELL]),
    ("h3_cell_to_boundary", "vertex_count", {"cell": CELL}, 6),
    ("h3_cell_to_boundary", "vertex_count", {"cell": "8009fffffffffff"}, 5),
    ("h3_cell_area", "resolution", {"cell": CELL, "unit": "Hectares"}, 9),
    ("h3_edge_length", "cell_count", {"resolution": 9, "unit": "Meters"}, 4842432842),
    ("h3_compact_cells", "compacted",
     {"cells": ["8a1f1d489447fff", "8a1f1d48944ffff", "8a1f1d489457fff", "8a1f1d48945ffff", "8a1f1d489467fff",
                "8a1f1d48946ffff", "8a1f1d489477fff"]}, [CELL]),
    ("h3_compact_cells", "original_count", {"cells": [CELL, "891f1d48943ffff"]}, 2),
    ("h3_compact_cells", "compacted_count", {"cells": []}, 0),
    ("h3_cells_to_multi_polygon", "polygon_count", {"cells": []}, 0),
])
def test_h3_nodes(node, output, inputs, expected):
    """Each H3 node gives the H3 library's answer for a cell in Berlin (resolutions clamped to 0-15)."""
    result = run_pure(node, output, **inputs)
    assert result.status == "completed", result.error
    assert result.result == expected


def test_h3_cell_centre_and_boundary():
    """The centre of the Berlin cell is within a few metres of the point it was made from; its six
    corners surround it."""
    centre = run_pure("h3_cell_to_latlng", "coordinate", cell=CELL).result
    assert math.isclose(centre["latitude"], 52.5205341, abs_tol=1e-6)
    assert math.isclose(centre["longitude"], 13.4043806, abs_tol=1e-6)
    corners = run_pure("h3_cell_to_boundary", "boundary", cell=CELL).result
    assert min(c["latitude"] for c in corners) < centre["latitude"] < max(c["latitude"] for c in corners)


@pytest.mark.parametrize("unit,expected", [("SquareMeters", 93736.768), ("SquareKilometers", 0.0937368),
                                           ("Hectares", 9.3736768), ("Acres", 23.1627), ("SquareMiles", 0.0361919)])
def test_h3_cell_area_units(unit, expected):
    """The area of a resolution-9 cell converts to every unit."""
    assert math.isclose(run_pure("h3_cell_area", "area", cell=CELL, unit=unit).result, expected, rel_tol=1e-4)


@pytest.mark.parametrize("unit,expected", [("Meters", 200.786148), ("Kilometers", 0.200786148),
                                           ("Miles", 0.124764), ("Feet", 658.74)])
def test_h3_edge_length_units(unit, expected):
    """The average edge length of resolution 9 converts to every unit."""
    assert math.isclose(run_pure("h3_edge_length", "edge_length", unit=unit).result, expected, rel_tol=1e-4)


def test_h3_multi_polygon_has_holes_and_closed_rings():
    """A ring of cells outlines as one polygon with one hole; rings are closed (first point = last)."""
    ring = run_pure("h3_grid_disk", "cells", cell=CELL, k=1).result
    ring.remove(CELL)
    polygons = run_pure("h3_cells_to_multi_polygon", "polygons", cells=ring).result
    assert len(polygons) == 1 and len(polygons[0]["interiors"]) == 1
    exterior = polygons[0]["exterior"]
    assert exterior[0] == exterior[-1] and all(set(p) == {"latitude", "longitude"} for p in exterior)


@pytest.mark.parametrize("node,inputs,message", [
    ("h3_cell_to_latlng", {"cell": "not-a-cell"}, "input 'cell' is not a valid H3 cell index"),
    ("h3_cell_to_latlng", {"cell": ""}, "input 'cell' is not a valid H3 cell index"),
    ("h3_cell_to_latlng", {"cell": 5}, "input 'cell' must be a string"),
    ("h3_cell_area", {"cell": CELL}, "input 'unit' is not connected"),
    ("h3_cell_area", {"cell": CELL, "unit": "Parsecs"}, "input 'unit' must be one of"),
    ("h3_edge_length", {"unit": {"Meters": 1}}, "input 'unit' must be one of"),
    ("h3_latlng_to_cell", {"coordinate": {"latitude": "52", "longitude": 13}}, "'latitude' must be a finite number"),
    ("h3_latlng_to_cell", {"coordinate": [52, 13]}, "input 'coordinate' must be an object"),
    ("h3_latlng_to_cell", {"coordinate": BERLIN, "resolution": 1.5}, "input 'resolution' must be a 64-bit integer"),
    ("h3_cell_to_boundary", {"cell": None}, "input 'cell' must be a string"),
    ("h3_grid_disk", {"cell": CELL, "k": "2"}, "input 'k' must be a 64-bit integer"),
    ("h3_grid_disk", {"cell": "ffffffffffffffff"}, "input 'cell' is not a valid H3 cell index"),
    ("h3_cell_to_parent", {"cell": CELL, "parent_resolution": 12}, "must not be finer than the cell's resolution"),
    ("h3_cell_to_children", {"cell": "8009fffffffffff", "child_resolution": 15}, "at most 100000 are allowed"),
    ("h3_grid_distance", {"cell_a": CELL, "cell_b": "851f1d4bfffffff"}, "cannot compute the grid distance"),
    ("h3_grid_path", {"cell_a": CELL, "cell_b": "x"}, "input 'cell_b' is not a valid H3 cell index"),
    ("h3_compact_cells", {"cells": [CELL, "851f1d4bfffffff"]}, "cannot compact the cells"),
    ("h3_compact_cells", {"cells": [CELL, "junk"]}, "input 'cells[1]' is not a valid H3 cell index"),
    ("h3_compact_cells", {"cells": "891f1d48947ffff"}, "input 'cells' must be an array"),
    ("h3_cells_to_multi_polygon", {"cells": [CELL, CELL]}, "cannot outline the cells"),
])
def test_h3_bad_input_fails_naming_the_problem(node, inputs, message):
    """Invalid cells, units, coordinates, resolutions and cell sets fail with a clear node error."""
    output = _outputs(node)[0]["name"]
    result = run_pure(node, output, **inputs)
    assert result.reason == "node_error" and message in result.error["message"], result.error


def _outputs(node: str) -> list[dict]:
    from engine_testkit import DEFINITIONS

    return [p for p in DEFINITIONS[node]["pins"].values() if p["pin_type"] == "Output"]


# -- local stand-ins for OSRM and Nominatim ---------------------------------------------------------

ROUTE = {
    "geometry": {"type": "LineString", "coordinates": [[13.388798, 52.517033], [13.397631, 52.529432]]},
    "legs": [{"steps": [
        {"geometry": {"type": "LineString", "coordinates": [[13.388798, 52.517033], [13.39, 52.52]]},
         "maneuver": {"bearing_after": 90, "bearing_before": 0, "location": [13.388798, 52.517033], "type": "depart"},
         "mode": "driving", "driving_side": "right", "name": "Unter den Linden", "intersections": [],
         "weight": 20.1, "duration": 20.1, "distance": 150.3},
        {"geometry": {"type": "LineString", "coordinates": [[13.39, 52.52], [13.397631, 52.529432]]},
         "maneuver": {"bearing_after": 0, "bearing_before": 90, "location": [13.39, 52.52], "modifier": "left",
                      "type": "turn"},
         "mode": "driving", "driving_side": "right", "name": "Friedrichstraße", "intersections": [],
         "weight": 240.0, "duration": 240.0, "distance": 1736.4}],
        "summary": "Unter den Linden, Friedrichstraße", "weight": 260.1, "duration": 260.1, "distance": 1886.7}],
    "weight_name": "routability", "weight": 260.1, "duration": 260.1, "distance": 1886.7,
}
WAYPOINT = {"hint": "hint-a", "distance": 4.21, "name": "Unter den Linden", "location": [13.388798, 52.517033]}

NOMINATIM_PLACE = {
    "place_id": 240109189, "licence": "Data © OpenStreetMap contributors, ODbL 1.0.", "osm_type": "relation",
    "osm_id": 62422, "lat": "52.5173885", "lon": "13.3951309", "class": "boundary", "type": "administrative",
    "place_rank": 8, "importance": 0.8534, "addresstype": "city", "name": "Berlin", "display_name": "Berlin, Deutschland",
    "address": {"city": "Berlin", "ISO3166-2-lvl4": "DE-BE", "country": "Deutschland", "country_code": "de"},
    "boundingbox": ["52.3382448", "52.6755087", "13.0883450", "13.7611609"],
}
NOMINATIM_REVERSE = {
    "place_id": 132497590, "licence": "Data © OpenStreetMap contributors, ODbL 1.0.", "osm_type": "way",
    "osm_id": 4591434, "lat": "52.5200731", "lon": "13.4049254", "class": "highway", "type": "pedestrian",
    "display_name": "Rathausstraße, Mitte, Berlin, 10178, Deutschland",
    "address": {"road": "Rathausstraße", "suburb": "Mitte", "town": "Berlin", "state": "Berlin",
                "postcode": "10178", "country": "Deutschland", "country_code": "de"},
    "boundingbox": ["52.5194", "52.5207", "13.4033", "13.4061"],
}


class GeoApis(QuietHandler):
    """Answers /route, /nearest, /table, /trip and /match like OSRM and /search, /reverse like Nominatim.
    Every request is recorded (path, query, User-Agent). A coordinate of 0,0 makes OSRM answer NoRoute."""

    seen: list[dict] = []

    def do_GET(self):
        GeoApis.seen.append({"path": self.route, "query": self.query, "agent": self.headers.get("User-Agent")})
        service = self.route.split("/")[1]
        if service in ("route", "nearest", "table", "trip", "match") and "/0.0,0.0" in self.route.replace("/0,0", "/0.0,0.0"):
            self.reply_json({"code": "NoRoute", "message": "Impossible route between points"}, status=400)
        elif service == "route":
            routes = [ROUTE, {**ROUTE, "distance": 2100.0}] if self.query.get("alternatives") == "true" else [ROUTE]
            self.reply_json({"code": "Ok", "routes": routes, "waypoints": [WAYPOINT, WAYPOINT]})
        elif service == "nearest":
            count = int(self.query["number"])
            self.reply_json({"code": "Ok", "waypoints": [{**WAYPOINT, "distance": 4.21 + i} for i in range(count)]})
        elif service == "table":
            annotations = self.query["annotations"].split(",")
            body = {"code": "Ok", "sources": [WAYPOINT], "destinations": [WAYPOINT, WAYPOINT]}
            if "duration" in annotations:
                body["durations"] = [[0.0, 260.1], [255.0, None]]
            if "distance" in annotations:
                body["distances"] = [[0.0, 1886.7], [1801.2, None]]
            self.reply_json(body)
        elif service == "trip":
            self.reply_json({"code": "Ok", "trips": [ROUTE],
                             "waypoints": [{**WAYPOINT, "waypoint_index": 1, "trips_index": 0},
                                           {**WAYPOINT, "waypoint_index": 0, "trips_index": 0}]})
        elif service == "match":
            self.reply_json({"code": "Ok", "matchings": [{**ROUTE, "confidence": 0.93}],
                             "tracepoints": [None, {**WAYPOINT, "matchings_index": 0, "waypoint_index": 0,
                                                    "alternatives_count": 2}]})
        elif service == "search":
            if self.query["q"] == "nowhere":
                self.reply_json([])
            elif self.query["q"] == "broken":
                self.reply(502, b"<html>Bad Gateway</html>", "text/html")
            else:
                self.reply_json([NOMINATIM_PLACE, {**NOMINATIM_PLACE, "osm_id": 1, "importance": 0.5}])
        elif service == "reverse":
            if self.query["lat"] == "0.0":
                self.reply_json({"error": "Unable to geocode"})
            else:
                self.reply_json(NOMINATIM_REVERSE)
        elif service == "tile":
            if "tile(0,0,1)" in self.route:
                self.reply(400, b'{"code": "InvalidValue"}')
            else:
                self.reply(200, b"\x1a\x02mvt-bytes", "application/vnd.mapbox-vector-tile")
        elif service == "text":
            self.reply(200, b"not json", "text/plain")
        else:
            self.reply_json({"code": "InvalidUrl"}, status=400)


@pytest.fixture(scope="module")
def apis():
    with serve(GeoApis) as url:
        yield url


@pytest.fixture
def policy(apis):
    GeoApis.seen.clear()
    return EgressPolicy(allow_private=True, timeout_seconds=5.0,
                        geo=GeoServices(nominatim_url=apis, osrm_url=apis, user_agent="BoardrunTests/1.0 (ops@example.com)"))


def run_geo(node: str, outputs: list[str], policy: EgressPolicy, **inputs):
    """events_simple -> node; on Success, struct_set nodes gather the named outputs into one object,
    which is the run's result."""
    b = BoardBuilder()
    start = b.add("events_simple")
    target = b.add(node, **inputs)
    ret = b.add("events_generic_return_result")
    b.chain(start, target)
    setters: list[str] = []
    for name in outputs:
        setter = b.add("struct_set", field=name, **({} if setters else {"struct_in": {}}))
        b.connect(target, name, setter, "value")
        if setters:
            b.connect(setters[-1], "struct_out", setter, "struct_in")
        setters.append(setter)
    b.connect(target, "exec_success", (setters or [ret])[0], "exec_in")
    b.chain(*setters, ret)
    if setters:
        b.connect(setters[-1], "struct_out", ret, "response")
    return b.run(start, egress=policy)


def test_plan_route_calls_osrm_route(policy):
    """Plan Route asks the configured OSRM for a full GeoJSON route through start, waypoints and end
    (lon,lat order) and maps route, legs, steps, distance, duration and geometry."""
    result = run_geo("geo_plan_route", ["route", "distance", "duration", "geometry", "alternatives_out"], policy,
                     start={"latitude": 52.517, "longitude": 13.3888}, end={"latitude": 52.5294, "longitude": 13.3976},
                     waypoints=[{"latitude": 52.52, "longitude": 13.39}], profile="Bike")
    assert result.status == "completed", result.error
    request = GeoApis.seen[-1]
    assert request["path"] == "/route/v1/cycling/13.3888,52.517;13.39,52.52;13.3976,52.5294"
    assert request["query"] == {"overview": "full", "geometries": "geojson", "steps": "true", "alternatives": "false"}
    value = result.result
    assert (value["distance"], value["duration"], value["alternatives_out"]) == (1886.7, 260.1, [])
    assert value["geometry"]["points"][0] == {"latitude": 52.517033, "longitude": 13.388798}
    steps = value["route"]["legs"][0]["steps"]
    assert [(s["instruction"], s["maneuver_type"], s["name"]) for s in steps] == [
        ("depart", "depart", "Unter den Linden"), ("left", "turn", "Friedrichstraße")]
    assert value["route"]["weight_name"] == "routability"


def test_plan_route_alternatives(policy):
    """With alternatives on, the further routes come out of Alternative Routes."""
    result = run_geo("geo_plan_route", ["alternatives_out"], policy, start=BERLIN, end=BERLIN, alternatives=True,
                     profile="car")
    assert [r["distance"] for r in result.result["alternatives_out"]] == [2100.0]
    assert GeoApis.seen[-1]["path"].startswith("/route/v1/driving/")


def test_osrm_nearest(policy):
    """OSRM Nearest sends 'number' (clamped to 50) and returns the closest and all waypoints."""
    result = run_geo("geo_osrm_nearest", ["nearest", "waypoints"], policy, coordinate=BERLIN, profile="Foot", number=80)
    assert result.status == "completed", result.error
    assert GeoApis.seen[-1]["path"] == "/nearest/v1/foot/13.404954,52.520008"
    assert GeoApis.seen[-1]["query"] == {"number": "50"}
    nearest = result.result["nearest"]
    assert nearest == {"name": "Unter den Linden", "distance": 4.21, "hint": "hint-a",
                       "coordinate": {"latitude": 52.517033, "longitude": 13.388798}}
    assert len(result.result["waypoints"]) == 50


def test_osrm_table(policy):
    """OSRM Table asks for the chosen annotations, sources and destinations; null cells stay null."""
    coordinates = [BERLIN, {"latitude": 52.53, "longitude": 13.39}]
    result = run_geo("geo_osrm_table", ["durations", "distances", "result"], policy, coordinates=coordinates,
                     sources=[0], destinations=[0, 1], include_distances=True)
    assert result.status == "completed", result.error
    assert GeoApis.seen[-1]["query"] == {"annotations": "duration,distance", "sources": "0", "destinations": "0;1"}
    value = result.result
    assert value["durations"] == [{"values": [0.0, 260.1]}, {"values": [255.0, None]}]
    assert value["result"] == {"durations": value["durations"], "distances": value["distances"]}
    only_distances = run_geo("geo_osrm_table", ["durations", "distances"], policy, coordinates=coordinates,
                             include_durations=False, include_distances=True)
    assert GeoApis.seen[-1]["query"] == {"annotations": "distance"}
    assert only_distances.result["durations"] == []


def test_osrm_trip(policy):
    """OSRM Trip sends roundtrip/source/destination and returns trip, waypoints with their order."""
    result = run_geo("geo_osrm_trip", ["trip", "trips", "waypoints", "distance"], policy,
                     coordinates=[BERLIN, {"latitude": 52.53, "longitude": 13.39}], profile="Car",
                     roundtrip=False, source="first", destination="last")
    assert result.status == "completed", result.error
    assert GeoApis.seen[-1]["path"].startswith("/trip/v1/driving/")
    assert {k: GeoApis.seen[-1]["query"][k] for k in ("roundtrip", "source", "destination")} == {
        "roundtrip": "false", "source": "first", "destination": "last"}
    assert [w["waypoint_index"] for w in result.result["waypoints"]] == [1, 0]
    assert result.result["distance"] == 1886.7 and len(result.result["trips"]) == 1


def test_osrm_match_trace(policy):
    """OSRM Match sends timestamps, radiuses, gaps and tidy; unmatched tracepoints stay null."""
    result = run_geo("geo_osrm_match_trace", ["matchings", "primary_matching", "tracepoints"], policy,
                     coordinates=[BERLIN, {"latitude": 52.53, "longitude": 13.39}], profile="Car",
                     timestamps=[1700000000, 1700000030], radiuses=[5, 7.5], gaps="ignore", tidy=True)
    assert result.status == "completed", result.error
    query = GeoApis.seen[-1]["query"]
    assert (query["timestamps"], query["radiuses"], query["gaps"], query["tidy"]) == (
        "1700000000;1700000030", "5;7.5", "ignore", "true")
    value = result.result
    assert value["tracepoints"][0] is None and value["tracepoints"][1]["alternatives_count"] == 2
    assert value["primary_matching"]["distance"] == 1886.7


def test_base_url_pin_overrides_configuration(apis):
    """An OSRM 'Base URL' other than Flow-Like's default is used as given; the default means the
    configured OSRM (here a closed port, so the call fails there)."""
    dead = EgressPolicy(allow_private=True, timeout_seconds=5.0, geo=GeoServices(osrm_url="http://127.0.0.1:9"))
    given = run_geo("geo_osrm_nearest", ["nearest"], dead, coordinate=BERLIN, profile="Car", base_url=apis + "/")
    assert given.status == "completed", given.error
    default = run_geo("geo_osrm_nearest", ["nearest"], dead, coordinate=BERLIN, profile="Car")
    assert default.reason == "node_error" and "127.0.0.1:9" in default.error["message"]


def test_search_location_calls_nominatim_with_user_agent(policy):
    """Search Location sends q, limit (clamped), countrycodes and the configured User-Agent; results map
    Nominatim's bounding box order (south, north, west, east) and string coordinates."""
    result = run_geo("geo_search_location", ["results", "first_result"], policy, query="  Berlin ", limit=0,
                     country_codes="de")
    assert result.status == "completed", result.error
    request = GeoApis.seen[-1]
    assert request["path"] == "/search" and request["agent"] == "BoardrunTests/1.0 (ops@example.com)"
    assert request["query"] == {"q": "Berlin", "format": "json", "limit": "1", "addressdetails": "1",
                                "countrycodes": "de"}
    first = result.result["first_result"]
    assert first == {"display_name": "Berlin, Deutschland", "coordinate": {"latitude": 52.5173885, "longitude": 13.3951309},
                     "place_type": "administrative", "importance": 0.8534, "osm_id": 62422, "osm_type": "relation",
                     "bounding_box": {"min_lat": 52.3382448, "min_lon": 13.088345, "max_lat": 52.6755087,
                                      "max_lon": 13.7611609}}
    assert len(result.result["results"]) == 2


def test_search_location_no_results(policy):
    """No match gives an empty list and an empty first result (as Flow-Like)."""
    result = run_geo("geo_search_location", ["results", "first_result"], policy, query="nowhere")
    assert result.result["results"] == [] and result.result["first_result"]["display_name"] == ""


def test_reverse_geocode(policy):
    """Reverse Geocode sends lat, lon and zoom (clamped to 18) and maps the address (town counts as city)."""
    result = run_geo("geo_reverse_geocode", ["result", "display_name"], policy, coordinate=BERLIN, zoom=30)
    assert result.status == "completed", result.error
    assert GeoApis.seen[-1]["query"] == {"lat": "52.520008", "lon": "13.404954", "format": "json",
                                         "addressdetails": "1", "zoom": "18"}
    value = result.result
    assert value["display_name"] == "Rathausstraße, Mitte, Berlin, 10178, Deutschland"
    assert value["result"]["address"] == {"house_number": None, "road": "Rathausstraße", "suburb": "Mitte",
                                          "city": "Berlin", "county": None, "state": "Berlin", "postcode": "10178",
                                          "country": "Deutschland", "country_code": "de"}
    assert value["result"]["coordinate"] == {"latitude": 52.5200731, "longitude": 13.4049254}


# -- failures ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("node,inputs,message", [
    ("geo_plan_route", {"start": {"latitude": 0.0, "longitude": 0.0}, "end": BERLIN},
     "OSRM answered HTTP 400: Impossible route between points"),
    ("geo_plan_route", {"start": BERLIN, "end": BERLIN, "profile": "Plane"}, "input 'profile' must be one of"),
    ("geo_plan_route", {"start": BERLIN, "end": BERLIN, "waypoints": {"latitude": 1}}, "input 'waypoints' must be an array"),
    ("geo_plan_route", {"start": BERLIN, "end": {"lat": 1, "lon": 2}}, "input 'end': 'latitude' must be a finite number"),
    ("geo_osrm_nearest", {"coordinate": BERLIN}, "input 'profile' is not connected"),
    ("geo_osrm_nearest", {"coordinate": BERLIN, "profile": "Car", "base_url": "ftp://x"}, "invalid URL"),
    ("geo_osrm_table", {"coordinates": []}, "at least one coordinate"),
    ("geo_osrm_table", {"coordinates": [BERLIN], "sources": [3]}, "input 'sources': index 3 is not one of the 1"),
    ("geo_osrm_table", {"coordinates": [BERLIN], "destinations": ["0"]}, "input 'destinations[0]' must be a 64-bit"),
    ("geo_osrm_trip", {"coordinates": [BERLIN], "profile": "Car"}, "at least two coordinates"),
    ("geo_osrm_trip", {"coordinates": [BERLIN, BERLIN], "profile": "Car", "source": "middle"},
     "input 'source' must be one of any, first, last"),
    ("geo_osrm_match_trace", {"coordinates": [BERLIN], "profile": "Car", "gaps": "x"}, "input 'gaps' must be one of"),
    ("geo_osrm_match_trace", {"coordinates": [BERLIN], "profile": "Car", "radiuses": ["5"]},
     "input 'radiuses[0]' must be a finite number"),
    ("geo_search_location", {"query": "   "}, "input 'query' must not be empty"),
    ("geo_search_location", {"query": "broken"}, "Nominatim answered HTTP 502"),
    ("geo_search_location", {"query": "x", "limit": "5"}, "input 'limit' must be a 64-bit integer"),
    ("geo_reverse_geocode", {"coordinate": {"latitude": 0.0, "longitude": 0.0}}, "Nominatim found no address"),
    ("geo_reverse_geocode", {"coordinate": None}, "input 'coordinate' must be an object"),
])
def test_geo_bad_input_and_service_errors(policy, node, inputs, message):
    """Bad inputs and service refusals fail the node with a message naming the pin or the service."""
    result = run_geo(node, [], policy, **inputs)
    assert result.reason == "node_error" and message in result.error["message"], result.error


def test_unexpected_answers_are_node_errors(apis):
    """A service answering non-JSON or JSON of another shape fails the node instead of crashing it."""
    text = EgressPolicy(allow_private=True, geo=GeoServices(nominatim_url=apis + "/text", osrm_url=apis + "/text"))
    result = run_geo("geo_search_location", [], text, query="Berlin")
    assert result.reason == "node_error" and "Nominatim did not answer with JSON" in result.error["message"]
    wrong = EgressPolicy(allow_private=True, geo=GeoServices(nominatim_url=apis + "/route"))
    result = run_geo("geo_search_location", [], wrong, query="Berlin")
    assert result.reason == "node_error" and "unexpected shape" in result.error["message"], result.error


def test_geo_requests_go_through_the_egress_policy(apis):
    """With the default policy (private addresses refused) a geo node pointed at 127.0.0.1 is refused."""
    strict = EgressPolicy(geo=GeoServices(nominatim_url=apis))
    result = run_geo("geo_search_location", [], strict, query="Berlin")
    assert result.reason == "node_error" and "egress refused" in result.error["message"]


def test_geo_services_from_settings():
    """EgressPolicy.from_settings takes the ENGINE_GEO_* variables; the defaults are the public endpoints."""
    from boardrun.config import load_settings

    policy = EgressPolicy.from_settings(load_settings({
        "ENGINE_GEO_NOMINATIM_URL": "https://geo.internal/nominatim/", "ENGINE_GEO_OSRM_URL": "https://osrm.internal",
        "ENGINE_GEO_USER_AGENT": "Acme/2"}).engine)
    assert policy.geo == GeoServices("https://geo.internal/nominatim", "https://osrm.internal", "Acme/2")
    defaults = EgressPolicy.from_settings(load_settings({}).engine).geo
    assert defaults == GeoServices()
    assert (defaults.nominatim_url, defaults.osrm_url) == ("https://nominatim.openstreetmap.org",
                                                           "https://router.project-osrm.org")
    assert defaults.user_agent.startswith("Boardrun/")


def test_osrm_tile_saves_the_tile_as_mvt(policy, tmp_path):
    """OSRM Tile asks /tile/v1/<profile>/tile(x,y,z).mvt, saves the bytes under the path with a .mvt
    extension and outputs that path and the content type; an impossible tile or an error answer fails."""
    from boardrun.engine.files import FileServices, flow_path

    files = FileServices.local(tmp_path / "store", "app1", "user1")
    b = BoardBuilder()
    start = b.add("events_simple")
    node = b.add("geo_osrm_tile", profile="Bike", z=14, x=8800, y=5373, path=flow_path("dirs__storage", "tiles/berlin"))
    ret = b.add("events_generic_return_result")
    setter = b.add("struct_set", field="type", struct_in={})
    setter2 = b.add("struct_set", field="path")
    b.chain(start, node)
    b.connect(node, "exec_success", setter, "exec_in")
    b.chain(setter, setter2, ret)
    b.connect(node, "content_type", setter, "value")
    b.connect(setter, "struct_out", setter2, "struct_in")
    b.connect(node, "tile_path", setter2, "value")
    b.connect(setter2, "struct_out", ret, "response")
    result = b.run(start, egress=policy, files=files)
    assert result.status == "completed", result
    assert result.result["type"] == "application/vnd.mapbox-vector-tile"
    assert result.result["path"]["path"] == "tiles/berlin.mvt"
    assert GeoApis.seen[-1]["path"] == "/tile/v1/cycling/tile(8800,5373,14).mvt"
    assert files.read(files.locate(result.result["path"], "path")) == b"\x1a\x02mvt-bytes"

    for inputs, text in [({"z": 1, "x": 0, "y": 0}, "HTTP 400"), ({"z": 2, "x": 4, "y": 0}, "must be from 0 to 3"),
                         ({"z": 23, "x": 0, "y": 0}, "zoom level")]:
        b = BoardBuilder()
        start = b.add("events_simple")
        node = b.add("geo_osrm_tile", profile="Car", path=flow_path("dirs__storage", "t"), **inputs)
        b.chain(start, node)
        failed = b.run(start, egress=policy, files=files)
        assert failed.reason == "node_error" and text in failed.error["message"], (inputs, failed.error)


# -- Get Map Image -------------------------------------------------------------------------------------

class Tiles(QuietHandler):
    """A tile server: each tile is one flat colour that encodes its z/x/y; '/broken' answers 500."""

    seen: list[tuple[str, str]] = []

    def do_GET(self):
        import io

        from PIL import Image

        Tiles.seen.append((self.route, self.headers.get("User-Agent", "")))
        parts = self.route.strip("/").split("/")
        if parts[0] == "broken":
            return self.reply(500, b"down", "text/plain")
        if parts[0] == "junk":
            return self.reply(200, b"not a png", "image/png")
        z, x, y = (int(p.removesuffix(".png")) for p in parts[-3:])
        if parts[0] == "sat":  # the satellite layout: /z/y/x
            x, y = y, x
        buffer = io.BytesIO()
        Image.new("RGB", (256, 256), (z * 10, x % 256, y % 256)).save(buffer, "PNG")
        self.reply(200, buffer.getvalue(), "image/png")


@pytest.fixture
def tiles():
    Tiles.seen.clear()
    with serve(Tiles) as url:
        yield url


def map_policy(base: str, **extra) -> EgressPolicy:
    urls = {"Standard": f"{base}/osm/{{z}}/{{x}}/{{y}}.png", "Satellite": f"{base}/sat/{{z}}/{{y}}/{{x}}",
            "Terrain": f"{base}/topo/{{z}}/{{x}}/{{y}}.png", "Dark": f"{base}/dark/{{z}}/{{x}}/{{y}}.png", **extra}
    return EgressPolicy(allow_private=True, timeout_seconds=5.0,
                        geo=GeoServices(user_agent="BoardrunTests/1.0", tile_urls=tuple(urls.items())))


def map_image(policy: EgressPolicy, **inputs):
    """Get Map Image, then the map as PNG pixels (or the failed run)."""
    from image_testkit import Chain, pixels

    chain = Chain()
    node = chain.then("geo_get_map_image", exec_out="exec_success", **inputs)
    result = chain.run(None, chain.as_png((node, "image")), egress=policy)
    return pixels(result.result[0]) if result.status == "completed" else result


def test_map_image_is_centred_on_the_coordinate(tiles):
    """At zoom 1 the world is 2x2 tiles: (0, 0) lies on the corner of all four, so a 64x64 map shows a
    32x32 quarter of each, with the configured User-Agent on every tile request."""
    image = map_image(map_policy(tiles), coordinate={"latitude": 0.0, "longitude": 0.0}, zoom=1, width=64, height=64)
    assert image.size == (64, 64) and image.mode == "RGBA"
    assert [image.getpixel(p)[:3] for p in ((0, 0), (63, 0), (0, 63), (63, 63))] == [
        (10, 0, 0), (10, 1, 0), (10, 0, 1), (10, 1, 1)]
    assert image.getpixel((31, 31))[:3] == (10, 0, 0) and image.getpixel((32, 32))[:3] == (10, 1, 1)
    assert sorted(route for route, _ in Tiles.seen) == ["/osm/1/0/0.png", "/osm/1/0/1.png", "/osm/1/1/0.png",
                                                         "/osm/1/1/1.png"]
    assert {agent for _, agent in Tiles.seen} == {"BoardrunTests/1.0"}


def test_map_image_styles_clamps_and_wraps(tiles):
    """The style picks the tile server (Satellite's z/y/x order included); zoom and size are clamped;
    a map crossing the antimeridian wraps around; beyond the poles stays transparent."""
    berlin = map_image(map_policy(tiles), coordinate=BERLIN, zoom=99, width=10, height=5000, style="Satellite")
    assert berlin.size == (64, 2048)
    assert {route.split("/")[1] for route, _ in Tiles.seen} == {"sat"} and all(
        route.split("/")[2] == "19" for route, _ in Tiles.seen)
    Tiles.seen.clear()
    edge = map_image(map_policy(tiles), coordinate={"latitude": 0.0, "longitude": 179.99}, zoom=2, width=256,
                     height=256, style="Terrain")
    assert edge.getpixel((200, 100))[:3] == (20, 0, 1)  # east of 180° is tile column 0 again
    Tiles.seen.clear()
    pole = map_image(map_policy(tiles), coordinate={"latitude": 89.9, "longitude": 0.0}, zoom=1, width=64, height=64)
    assert pole.getpixel((10, 10))[3] == 0 and pole.getpixel((10, 50))[3] == 255
    assert all(route.startswith("/osm/") for route, _ in Tiles.seen)


def test_map_image_failures(tiles):
    """A tile server error, a tile that is not an image, a private address without permission and a bad
    coordinate fail the node."""
    broken = map_policy(tiles, Standard=f"{tiles}/broken/{{z}}/{{x}}/{{y}}")
    result = map_image(broken, coordinate=BERLIN)
    assert result.reason == "node_error" and "answered HTTP 500" in result.error["message"]
    junk = map_policy(tiles, Standard=f"{tiles}/junk/{{z}}/{{x}}/{{y}}")
    result = map_image(junk, coordinate=BERLIN)
    assert result.reason == "node_error" and "is not an image" in result.error["message"]
    strict = EgressPolicy(geo=map_policy(tiles).geo)
    result = map_image(strict, coordinate=BERLIN)
    assert result.reason == "node_error" and "egress refused" in result.error["message"]
    result = map_image(map_policy(tiles), coordinate={"latitude": "north"})
    assert result.reason == "node_error" and "'latitude' must be a finite number" in result.error["message"]
