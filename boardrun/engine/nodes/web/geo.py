"""Geo nodes: H3 cell indexing (computed locally with the h3 library), OSRM routing and
Nominatim place search (public HTTP APIs, sent through the egress policy).

Where the services live is configured once, in :class:`boardrun.engine.http_egress.GeoServices`
(``ENGINE_GEO_*`` variables). The OSRM nodes have a 'Base URL' pin as in Flow-Like: left at
Flow-Like's default (the public OSRM server) it means "the configured OSRM", any other value is
used as given.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import quote, urlencode

from ... import http_egress
from ...coerce import as_bool, as_int, as_list, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext


PUBLIC_OSRM = "https://router.project-osrm.org"
# Lists of cells a node may produce: a cell's children 10 levels down are 7**10 (282 million).
MAX_CELLS = 100_000

COORDINATE_SCHEMA = json.dumps({
    "title": "GeoCoordinate", "type": "object", "required": ["latitude", "longitude"],
    "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}},
})


# -- shared value helpers ------------------------------------------------------------------------------

def _number(value: Any, what: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise NodeError(f"{what} must be a finite number")
    return float(value)


def _coordinate(value: Any, pin: str) -> tuple[float, float]:
    """(latitude, longitude) of a GeoCoordinate object."""
    if not isinstance(value, dict):
        raise NodeError(f"input '{pin}' must be an object with 'latitude' and 'longitude'")
    return (_number(value.get("latitude"), f"input '{pin}': 'latitude'"),
            _number(value.get("longitude"), f"input '{pin}': 'longitude'"))


def _coordinates(value: Any, pin: str) -> list[tuple[float, float]]:
    return [_coordinate(item, f"{pin}[{i}]") for i, item in enumerate(as_list(value, pin))]


def _geo(latitude: float, longitude: float) -> dict[str, float]:
    return {"latitude": latitude, "longitude": longitude}


def _from_lonlat(location: Any) -> dict[str, float]:
    # OSRM and GeoJSON give [longitude, latitude].
    return _geo(float(location[1]), float(location[0]))


# -- H3 (pure, local) ------------------------------------------------------------------------------

AREA_UNITS = {"SquareMeters": 1.0, "SquareKilometers": 1_000_000.0, "SquareMiles": 2_589_988.11,
              "Hectares": 10_000.0, "Acres": 4_046.86}
LENGTH_UNITS = {"Meters": 1.0, "Kilometers": 1_000.0, "Miles": 1_609.344, "Feet": 1 / 3.28084}


def _cell(value: Any, pin: str) -> str:
    import h3

    cell = as_str(value, pin)
    if not h3.is_valid_cell(cell):
        raise NodeError(f"input '{pin}' is not a valid H3 cell index: '{cell}'")
    return cell.lower()


def _cells(value: Any, pin: str) -> list[str]:
    return [_cell(item, f"{pin}[{i}]") for i, item in enumerate(as_list(value, pin))]


def _unit(value: Any, pin: str, units: dict[str, float]) -> float:
    if not isinstance(value, str) or value not in units:
        raise NodeError(f"input '{pin}' must be one of {', '.join(units)}")
    return units[value]


def _resolution(value: Any, pin: str) -> int:
    return min(15, max(0, as_int(value, pin)))


def _h3_call(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    import h3

    try:
        return fn(*args)
    except h3.H3BaseException as exc:
        raise NodeError(f"{what}: {type(exc).__name__} {exc}".rstrip()) from None


def _capped(count: int, what: str) -> None:
    if count > MAX_CELLS:
        raise NodeError(f"{what} would have {count} cells; at most {MAX_CELLS} are allowed")


CELL_IN = inp("cell", "Cell", "String", default="", description="An H3 cell index (hexadecimal).")


@register("h3_latlng_to_cell", "Lat/Lng to H3 Cell", "Web/Geo/H3", "The H3 cell containing a coordinate.",
          [inp("coordinate", "Coordinate", "Struct", options={"enforce_schema": True}, schema=COORDINATE_SCHEMA,
               description="Latitude and longitude in degrees."),
           inp("resolution", "Resolution", "Integer", default=9, description="0 (coarsest) to 15; clamped."),
           out("cell", "Cell", "String", description="The cell index.")])
def h3_latlng_to_cell(ctx: NodeContext) -> None:
    import h3

    latitude, longitude = _coordinate(ctx.get("coordinate"), "coordinate")
    resolution = _resolution(ctx.get("resolution"), "resolution")
    ctx.set("cell", _h3_call("cannot index the coordinate", h3.latlng_to_cell, latitude, longitude, resolution))


@register("h3_cell_to_latlng", "H3 Cell to Lat/Lng", "Web/Geo/H3", "The centre of an H3 cell.",
          [CELL_IN, out("coordinate", "Coordinate", "Struct", schema=COORDINATE_SCHEMA, description="Its centre.")])
def h3_cell_to_latlng(ctx: NodeContext) -> None:
    import h3

    ctx.set("coordinate", _geo(*h3.cell_to_latlng(_cell(ctx.get("cell"), "cell"))))


@register("h3_cell_to_boundary", "H3 Cell Boundary", "Web/Geo/H3", "The corner coordinates of an H3 cell.",
          [CELL_IN,
           out("boundary", "Boundary", "Struct", schema=COORDINATE_SCHEMA, description="Corners in order."),
           out("vertex_count", "Vertex Count", "Integer", description="6, or 5 for pentagons (more when distorted).")])
def h3_cell_to_boundary(ctx: NodeContext) -> None:
    import h3

    corners = [_geo(lat, lng) for lat, lng in h3.cell_to_boundary(_cell(ctx.get("cell"), "cell"))]
    ctx.set("boundary", corners)
    ctx.set("vertex_count", len(corners))


@register("h3_cell_area", "H3 Cell Area", "Web/Geo/H3", "The exact area of an H3 cell.",
          [CELL_IN,
           inp("unit", "Unit", "Struct",
               description="SquareMeters, SquareKilometers, SquareMiles, Hectares or Acres."),
           out("area", "Area", "Float", description="The area in the chosen unit."),
           out("resolution", "Resolution", "Integer", description="The cell's resolution.")])
def h3_cell_area(ctx: NodeContext) -> None:
    import h3

    cell = _cell(ctx.get("cell"), "cell")
    divisor = _unit(ctx.get("unit"), "unit", AREA_UNITS)
    ctx.set("area", h3.cell_area(cell, "m^2") / divisor)
    ctx.set("resolution", h3.get_resolution(cell))


@register("h3_edge_length", "H3 Edge Length", "Web/Geo/H3",
          "The average hexagon edge length and the number of cells at a resolution.",
          [inp("resolution", "Resolution", "Integer", default=9, description="0 to 15; clamped."),
           inp("unit", "Unit", "Struct", description="Meters, Kilometers, Miles or Feet."),
           out("edge_length", "Edge Length", "Float", description="Average edge length in the chosen unit."),
           out("cell_count", "Cell Count", "Integer", description="Cells covering the globe at that resolution.")])
def h3_edge_length(ctx: NodeContext) -> None:
    import h3

    resolution = _resolution(ctx.get("resolution"), "resolution")
    divisor = _unit(ctx.get("unit"), "unit", LENGTH_UNITS)
    ctx.set("edge_length", h3.average_hexagon_edge_length(resolution, "m") / divisor)
    ctx.set("cell_count", h3.get_num_cells(resolution))


@register("h3_cell_to_parent", "H3 Cell Parent", "Web/Geo/H3", "The cell containing this one at a coarser resolution.",
          [CELL_IN,
           inp("parent_resolution", "Parent Resolution", "Integer", default=5,
               description="0 up to the cell's own resolution; clamped to 0-15."),
           out("parent", "Parent", "String", description="The parent cell."),
           out("original_resolution", "Original Resolution", "Integer", description="The input cell's resolution.")])
def h3_cell_to_parent(ctx: NodeContext) -> None:
    import h3

    cell = _cell(ctx.get("cell"), "cell")
    target = _resolution(ctx.get("parent_resolution"), "parent_resolution")
    own = h3.get_resolution(cell)
    if target > own:
        raise NodeError(f"input 'parent_resolution' ({target}) must not be finer than the cell's resolution ({own})")
    ctx.set("parent", h3.cell_to_parent(cell, target))
    ctx.set("original_resolution", own)


@register("h3_cell_to_children", "H3 Cell Children", "Web/Geo/H3", "The cells inside this one at a finer resolution.",
          [CELL_IN,
           inp("child_resolution", "Child Resolution", "Integer", default=10,
               description="Finer than the cell's own (a coarser one gives no children); clamped to 0-15."),
           out("children", "Children", "String", "Array", description="The child cells."),
           out("count", "Count", "Integer", description="How many.")])
def h3_cell_to_children(ctx: NodeContext) -> None:
    import h3

    cell = _cell(ctx.get("cell"), "cell")
    target = _resolution(ctx.get("child_resolution"), "child_resolution")
    children: list[str] = []
    if target >= h3.get_resolution(cell):
        _capped(h3.cell_to_children_size(cell, target), "the list of children")
        children = h3.cell_to_children(cell, target)
    ctx.set("children", children)
    ctx.set("count", len(children))


@register("h3_grid_disk", "H3 Grid Disk", "Web/Geo/H3", "Every cell within k grid steps of a cell, itself included.",
          [CELL_IN,
           inp("k", "K (Radius)", "Integer", default=1, description="Steps, 0 to 100; clamped."),
           out("cells", "Cells", "String", "Array", description="The cells."),
           out("count", "Count", "Integer", description="How many.")])
def h3_grid_disk(ctx: NodeContext) -> None:
    import h3

    cell = _cell(ctx.get("cell"), "cell")
    k = min(100, max(0, as_int(ctx.get("k"), "k")))
    cells = h3.grid_disk(cell, k)
    ctx.set("cells", cells)
    ctx.set("count", len(cells))


@register("h3_grid_distance", "H3 Grid Distance", "Web/Geo/H3", "The number of grid steps between two cells.",
          [inp("cell_a", "Cell A", "String", default="", description="First cell."),
           inp("cell_b", "Cell B", "String", default="", description="Second cell (same resolution)."),
           out("distance", "Distance", "Integer", description="Grid steps.")])
def h3_grid_distance(ctx: NodeContext) -> None:
    import h3

    a, b = _cell(ctx.get("cell_a"), "cell_a"), _cell(ctx.get("cell_b"), "cell_b")
    ctx.set("distance", _h3_call("cannot compute the grid distance", h3.grid_distance, a, b))


@register("h3_grid_path", "H3 Grid Path", "Web/Geo/H3", "The cells of a grid line from one cell to another.",
          [inp("cell_a", "Start Cell", "String", default="", description="Where the line starts."),
           inp("cell_b", "End Cell", "String", default="", description="Where it ends (same resolution)."),
           out("path", "Path", "String", "Array", description="The cells, both ends included."),
           out("length", "Length", "Integer", description="How many.")])
def h3_grid_path(ctx: NodeContext) -> None:
    import h3

    a, b = _cell(ctx.get("cell_a"), "cell_a"), _cell(ctx.get("cell_b"), "cell_b")
    _capped(_h3_call("cannot compute the grid path", h3.grid_distance, a, b) + 1, "the path")
    path = _h3_call("cannot compute the grid path", h3.grid_path_cells, a, b)
    ctx.set("path", path)
    ctx.set("length", len(path))


@register("h3_compact_cells", "H3 Compact Cells", "Web/Geo/H3",
          "Replaces every complete set of sibling cells by their parent, repeatedly.",
          [inp("cells", "Cells", "String", "Array", default=[], description="Cells of one resolution."),
           out("compacted", "Compacted", "String", "Array", description="The compacted cells."),
           out("original_count", "Original Count", "Integer", description="Cells given."),
           out("compacted_count", "Compacted Count", "Integer", description="Cells left.")])
def h3_compact_cells(ctx: NodeContext) -> None:
    import h3

    cells = _cells(ctx.get("cells"), "cells")
    compacted = _h3_call("cannot compact the cells", h3.compact_cells, cells) if cells else []
    ctx.set("compacted", list(compacted))
    ctx.set("original_count", len(cells))
    ctx.set("compacted_count", len(compacted))


@register("h3_cells_to_multi_polygon", "H3 Cells to Polygon", "Web/Geo/H3",
          "The outline of a set of cells as polygons (outer ring and holes, rings closed).",
          [inp("cells", "Cells", "String", "Array", default=[], description="Cells of one resolution, no duplicates."),
           out("polygons", "Polygons", "Struct", description="Objects with 'exterior' and 'interiors' rings."),
           out("polygon_count", "Polygon Count", "Integer", description="How many polygons.")])
def h3_cells_to_multi_polygon(ctx: NodeContext) -> None:
    import h3

    cells = _cells(ctx.get("cells"), "cells")
    polygons = []
    if cells:
        shape = _h3_call("cannot outline the cells", h3.cells_to_geo, cells)
        rings_of = [shape["coordinates"]] if shape["type"] == "Polygon" else shape["coordinates"]
        for rings in rings_of:
            converted = [[_from_lonlat(point) for point in ring] for ring in rings]
            polygons.append({"exterior": converted[0], "interiors": converted[1:]})
    ctx.set("polygons", polygons)
    ctx.set("polygon_count", len(polygons))


# -- calling the services ------------------------------------------------------------------------------

def _get(ctx: NodeContext, url: str, accept: str) -> http_egress.HttpReply:
    """GET ``url`` through the egress policy with the configured User-Agent."""
    headers = {"User-Agent": ctx.egress.geo.user_agent, "Accept": accept}
    ctx.checkpoint()
    try:
        return http_egress.send(ctx.egress, "GET", url, headers, None, ctx.time_left())
    except NodeError:
        ctx.checkpoint()  # a time-out caused by the run's deadline or a cancel reports that
        raise


def _get_json(ctx: NodeContext, service: str, url: str) -> Any:
    """GET ``url`` (see _get); the decoded JSON answer."""
    reply = _get(ctx, url, "application/json")
    try:
        answer = json.loads(reply.body.decode("utf-8"))
    except ValueError:
        answer = None
    if not 200 <= reply.status_code <= 299:
        # OSRM explains refusals (NoRoute, InvalidQuery, ...) in a JSON body of its 400 answers.
        detail = answer.get("message") or answer.get("code") if isinstance(answer, dict) else None
        raise NodeError(f"{service} answered HTTP {reply.status_code}" + (f": {detail}" if detail else ""))
    if answer is None:
        raise NodeError(f"{service} did not answer with JSON")
    return answer


def _parsed(service: str, convert: Callable[[Any], Any], answer: Any) -> Any:
    """``convert(answer)``; an answer of another shape than the service documents is a node error."""
    try:
        return convert(answer)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        raise NodeError(f"{service} answered in an unexpected shape") from None


def _osrm_base(ctx: NodeContext, base_pin: str | None) -> str:
    """The configured OSRM server, unless the node's Base URL names another than the public one."""
    base = ctx.egress.geo.osrm_url
    if base_pin is not None:
        given = as_str(ctx.get(base_pin), base_pin).rstrip("/")
        if given != PUBLIC_OSRM:
            base = given
    return base


def _osrm(ctx: NodeContext, base_pin: str | None, service: str, profile: str, coordinates: list[tuple[float, float]],
          query: dict[str, Any]) -> dict[str, Any]:
    base = _osrm_base(ctx, base_pin)
    # OSRM wants longitude,latitude pairs separated by ';' in the path.
    path = ";".join(f"{lon!r},{lat!r}" for lat, lon in coordinates)
    url = f"{base}/{service}/v1/{profile}/{quote(path, safe=',;.-')}?{urlencode(query, safe=',;')}"
    answer = _get_json(ctx, "OSRM", url)
    if not isinstance(answer, dict) or answer.get("code") != "Ok":
        detail = answer.get("message") or answer.get("code") if isinstance(answer, dict) else None
        raise NodeError(f"OSRM returned an error: {detail or 'no code in the answer'}")
    return answer


PROFILES = {"Car": "driving", "Bike": "cycling", "Foot": "foot"}


def _profile(value: Any, pin: str) -> str:
    # The string pins (Plan Route, Table) also accept lower case, as Flow-Like does.
    if isinstance(value, str) and value.capitalize() in PROFILES:
        return PROFILES[value.capitalize()]
    raise NodeError(f"input '{pin}' must be one of Car, Bike, Foot")


def _choice(ctx: NodeContext, pin: str, choices: tuple[str, ...]) -> str:
    value = as_str(ctx.get(pin), pin)
    if value not in choices:
        raise NodeError(f"input '{pin}' must be one of {', '.join(choices)}")
    return value


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _no_route() -> dict[str, Any]:
    return {"distance": 0.0, "duration": 0.0, "geometry": {"points": []}, "legs": [], "weight_name": ""}


def _step(step: dict[str, Any]) -> dict[str, Any]:
    maneuver = step.get("maneuver") or {}
    kind = maneuver.get("type") or ""
    return {"instruction": maneuver.get("modifier") or kind, "distance": float(step["distance"]),
            "duration": float(step["duration"]), "name": step.get("name") or "", "maneuver_type": kind,
            "coordinate": _from_lonlat(maneuver["location"]) if "location" in maneuver else _geo(0.0, 0.0)}


def _route(route: dict[str, Any]) -> dict[str, Any]:
    return {"distance": float(route["distance"]), "duration": float(route["duration"]),
            "geometry": {"points": [_from_lonlat(c) for c in route["geometry"]["coordinates"]]},
            "legs": [{"distance": float(leg["distance"]), "duration": float(leg["duration"]),
                      "summary": leg.get("summary") or "", "steps": [_step(s) for s in leg.get("steps") or []]}
                     for leg in route.get("legs") or []],
            "weight_name": route.get("weight_name") or ""}


def _waypoint(point: dict[str, Any]) -> dict[str, Any]:
    return {"name": point.get("name") or "", "distance": float(point.get("distance") or 0.0),
            "coordinate": _from_lonlat(point["location"]), "hint": point.get("hint")}


ROUTE_OUTPUTS = [out("distance", "Distance", "Float", description="Metres."),
                 out("duration", "Duration", "Float", description="Seconds.")]
EXEC_IN = inp("exec_in", "Execute", "Execution", description="Call the service.")
SUCCESS = out("exec_success", "Success", "Execution", description="Fires when the service answered.")
ERROR = out("exec_error", "Error", "Execution",
            description="Never fires by itself: a failed call fails the node (wire On Error to handle it).")
COORDINATE_IN = inp("coordinate", "Coordinate", "Struct", options={"enforce_schema": True}, schema=COORDINATE_SCHEMA,
                    description="Latitude and longitude in degrees.")
COORDINATES_IN = inp("coordinates", "Coordinates", "Struct", default=[], options={"enforce_schema": True},
                     description="A list of coordinates.")
PROFILE_STRUCT = inp("profile", "Profile", "Struct", description="Car, Bike or Foot.")
BASE_URL = inp("base_url", "Base URL", "String", default=PUBLIC_OSRM,
               description="OSRM server; the default means the one configured with ENGINE_GEO_OSRM_URL.")


def _succeed(ctx: NodeContext) -> None:
    ctx.deactivate("exec_error")
    ctx.activate("exec_success")


def _start(ctx: NodeContext) -> None:
    ctx.deactivate("exec_success")
    ctx.activate("exec_error")


# -- OSRM routing ------------------------------------------------------------------------------------

@register("geo_plan_route", "Plan Route", "Web/Geo/Routing",
          "Plans a route from start to end through optional waypoints with OSRM.",
          [EXEC_IN,
           inp("start", "Start", "Struct", options={"enforce_schema": True}, schema=COORDINATE_SCHEMA,
               description="Where the route starts."),
           inp("end", "End", "Struct", options={"enforce_schema": True}, schema=COORDINATE_SCHEMA,
               description="Where it ends."),
           inp("waypoints", "Waypoints", "Struct", default=[], description="Coordinates to pass, in order."),
           inp("profile", "Profile", "String", default="Car", options={"valid_values": ["Car", "Bike", "Foot"]},
               description="Means of travel."),
           inp("alternatives", "Alternatives", "Boolean", default=False, description="Also ask for other routes."),
           SUCCESS, ERROR,
           out("route", "Route", "Struct", description="The best route (distance, duration, geometry, legs)."),
           out("alternatives_out", "Alternative Routes", "Struct", description="Other routes, best first."),
           *ROUTE_OUTPUTS,
           out("geometry", "Geometry", "Struct", description="The best route's points.")])
def geo_plan_route(ctx: NodeContext) -> None:
    _start(ctx)
    points = [_coordinate(ctx.get("start"), "start"), *_coordinates(ctx.get("waypoints"), "waypoints"),
              _coordinate(ctx.get("end"), "end")]
    profile = _profile(ctx.get("profile"), "profile")
    alternatives = as_bool(ctx.get("alternatives"), "alternatives")
    answer = _osrm(ctx, None, "route", profile, points,
                   {"overview": "full", "geometries": "geojson", "steps": "true", "alternatives": _flag(alternatives)})
    routes = _parsed("OSRM", lambda a: [_route(r) for r in a.get("routes") or []], answer)
    best = routes[0] if routes else _no_route()
    ctx.set("route", best)
    ctx.set("alternatives_out", routes[1:])
    ctx.set("distance", best["distance"])
    ctx.set("duration", best["duration"])
    ctx.set("geometry", best["geometry"])
    _succeed(ctx)


@register("geo_osrm_nearest", "OSRM Nearest", "Web/Geo/Routing", "Snaps a coordinate to the nearest roads with OSRM.",
          [EXEC_IN, COORDINATE_IN, PROFILE_STRUCT,
           inp("number", "Number", "Integer", default=1, description="How many candidates, 1 to 50; clamped."),
           BASE_URL, SUCCESS, ERROR,
           out("nearest", "Nearest", "Struct", description="The closest point (name, distance, coordinate, hint)."),
           out("waypoints", "Waypoints", "Struct", description="Every candidate, closest first.")])
def geo_osrm_nearest(ctx: NodeContext) -> None:
    _start(ctx)
    point = _coordinate(ctx.get("coordinate"), "coordinate")
    profile = _profile(ctx.get("profile"), "profile")
    number = min(50, max(1, as_int(ctx.get("number"), "number")))
    answer = _osrm(ctx, "base_url", "nearest", profile, [point], {"number": number})
    waypoints = _parsed("OSRM", lambda a: [_waypoint(w) for w in a.get("waypoints") or []], answer)
    ctx.set("nearest", waypoints[0] if waypoints else {"name": "", "distance": 0.0, "coordinate": _geo(0.0, 0.0),
                                                         "hint": None})
    ctx.set("waypoints", waypoints)
    _succeed(ctx)


def _indexes(value: Any, pin: str, count: int) -> list[int]:
    indexes = [as_int(item, f"{pin}[{i}]") for i, item in enumerate(as_list(value, pin))]
    for index in indexes:
        if not 0 <= index < count:
            raise NodeError(f"input '{pin}': index {index} is not one of the {count} coordinates")
    return indexes


@register("geo_osrm_table", "OSRM Table", "Web/Geo/Routing",
          "Travel durations and/or distances between every source and destination, with OSRM.",
          [EXEC_IN, COORDINATES_IN,
           inp("profile", "Profile", "String", default="Car", options={"valid_values": ["Car", "Bike", "Foot"]},
               description="Means of travel."),
           inp("sources", "Sources", "Struct", default=[], description="Indexes into the coordinates; empty: all."),
           inp("destinations", "Destinations", "Struct", default=[],
               description="Indexes into the coordinates; empty: all."),
           inp("include_durations", "Include Durations", "Boolean", default=True, description="Ask for durations."),
           inp("include_distances", "Include Distances", "Boolean", default=False, description="Ask for distances."),
           BASE_URL, SUCCESS, ERROR,
           out("durations", "Durations", "Struct", description="Rows of {'values': seconds or null}."),
           out("distances", "Distances", "Struct", description="Rows of {'values': metres or null}."),
           out("result", "Result", "Struct", description="Both matrices.")])
def geo_osrm_table(ctx: NodeContext) -> None:
    _start(ctx)
    points = _coordinates(ctx.get("coordinates"), "coordinates")
    if not points:
        raise NodeError("input 'coordinates' must hold at least one coordinate")
    profile = _profile(ctx.get("profile"), "profile")
    sources = _indexes(ctx.get("sources"), "sources", len(points))
    destinations = _indexes(ctx.get("destinations"), "destinations", len(points))
    wanted = [name for name, pin in (("duration", "include_durations"), ("distance", "include_distances"))
              if as_bool(ctx.get(pin), pin)]
    query = {"annotations": ",".join(wanted or ["duration"])}
    if sources:
        query["sources"] = ";".join(map(str, sources))
    if destinations:
        query["destinations"] = ";".join(map(str, destinations))
    answer = _osrm(ctx, "base_url", "table", profile, points, query)

    def rows(key: str) -> list[dict[str, Any]]:
        return [{"values": [None if v is None else float(v) for v in row]} for row in answer.get(key) or []]

    durations, distances = _parsed("OSRM", rows, "durations"), _parsed("OSRM", rows, "distances")
    ctx.set("durations", durations)
    ctx.set("distances", distances)
    ctx.set("result", {"durations": durations, "distances": distances})
    _succeed(ctx)


@register("geo_osrm_trip", "OSRM Trip", "Web/Geo/Routing",
          "Solves the travelling salesman problem over the coordinates with OSRM (fastest visiting order).",
          [EXEC_IN, COORDINATES_IN, PROFILE_STRUCT,
           inp("roundtrip", "Roundtrip", "Boolean", default=True, description="Return to the first stop."),
           inp("source", "Source", "String", default="any", options={"valid_values": ["any", "first", "last"]},
               description="Which coordinate the trip must start at."),
           inp("destination", "Destination", "String", default="any",
               options={"valid_values": ["any", "first", "last"]}, description="Which coordinate it must end at."),
           BASE_URL, SUCCESS, ERROR,
           out("trip", "Trip", "Struct", description="The first trip."),
           out("trips", "Trips", "Struct", description="Every trip (more than one if parts are unconnected)."),
           out("waypoints", "Waypoints", "Struct", description="The coordinates snapped, with their trip position."),
           *ROUTE_OUTPUTS,
           out("geometry", "Geometry", "Struct", description="The first trip's points.")])
def geo_osrm_trip(ctx: NodeContext) -> None:
    _start(ctx)
    points = _coordinates(ctx.get("coordinates"), "coordinates")
    if len(points) < 2:
        raise NodeError("input 'coordinates' must hold at least two coordinates")
    profile = _profile(ctx.get("profile"), "profile")
    roundtrip = as_bool(ctx.get("roundtrip"), "roundtrip")
    ends = ("any", "first", "last")
    query = {"overview": "full", "geometries": "geojson", "steps": "true", "roundtrip": _flag(roundtrip),
             "source": _choice(ctx, "source", ends), "destination": _choice(ctx, "destination", ends)}
    answer = _osrm(ctx, "base_url", "trip", profile, points, query)

    def convert(a: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        waypoints = [{**_waypoint(w), "waypoint_index": w.get("waypoint_index")} for w in a.get("waypoints") or []]
        return [_route(t) for t in a.get("trips") or []], waypoints

    trips, waypoints = _parsed("OSRM", convert, answer)
    best = trips[0] if trips else _no_route()
    ctx.set("trip", best)
    ctx.set("trips", trips)
    ctx.set("waypoints", waypoints)
    ctx.set("distance", best["distance"])
    ctx.set("duration", best["duration"])
    ctx.set("geometry", best["geometry"])
    _succeed(ctx)


@register("geo_osrm_match_trace", "OSRM Match Trace", "Web/Geo/Routing",
          "Matches a recorded GPS trace to the road network with OSRM.",
          [EXEC_IN, COORDINATES_IN, PROFILE_STRUCT,
           inp("timestamps", "Timestamps", "Struct", default=[], description="Unix seconds per coordinate, or empty."),
           inp("radiuses", "Radiuses", "Struct", default=[], description="GPS accuracy in metres per coordinate."),
           inp("gaps", "Gaps", "String", default="split", options={"valid_values": ["split", "ignore"]},
               description="Split the trace at large time gaps, or not."),
           inp("tidy", "Tidy", "Boolean", default=False, description="Let OSRM clean up the trace first."),
           BASE_URL, SUCCESS, ERROR,
           out("matchings", "Matchings", "Struct", description="Matched routes."),
           out("primary_matching", "Primary Matching", "Struct", description="The first matched route."),
           out("tracepoints", "Tracepoints", "Struct", description="Each input point matched, or null.")])
def geo_osrm_match_trace(ctx: NodeContext) -> None:
    _start(ctx)
    points = _coordinates(ctx.get("coordinates"), "coordinates")
    if not points:
        raise NodeError("input 'coordinates' must hold at least one coordinate")
    profile = _profile(ctx.get("profile"), "profile")
    timestamps = [as_int(t, f"timestamps[{i}]") for i, t in enumerate(as_list(ctx.get("timestamps"), "timestamps"))]
    radiuses = [_number(r, f"input 'radiuses[{i}]'") for i, r in enumerate(as_list(ctx.get("radiuses"), "radiuses"))]
    query = {"overview": "full", "geometries": "geojson", "steps": "true",
             "gaps": _choice(ctx, "gaps", ("split", "ignore")), "tidy": _flag(as_bool(ctx.get("tidy"), "tidy"))}
    if timestamps:
        query["timestamps"] = ";".join(map(str, timestamps))
    if radiuses:
        query["radiuses"] = ";".join(map(_number_text, radiuses))
    answer = _osrm(ctx, "base_url", "match", profile, points, query)

    def tracepoint(point: dict[str, Any] | None) -> dict[str, Any] | None:
        if point is None:
            return None
        return {"name": point.get("name") or "", "distance": point.get("distance"),
                "coordinate": _from_lonlat(point["location"]), "hint": point.get("hint"),
                "matchings_index": point.get("matchings_index"), "waypoint_index": point.get("waypoint_index"),
                "alternatives_count": point.get("alternatives_count")}

    def convert(a: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any] | None]]:
        return [_route(m) for m in a.get("matchings") or []], [tracepoint(t) for t in a.get("tracepoints") or []]

    matchings, tracepoints = _parsed("OSRM", convert, answer)
    ctx.set("matchings", matchings)
    ctx.set("primary_matching", matchings[0] if matchings else _no_route())
    ctx.set("tracepoints", tracepoints)
    _succeed(ctx)


# -- Nominatim search ----------------------------------------------------------------------------

def _no_place() -> dict[str, Any]:
    return {"display_name": "", "coordinate": _geo(0.0, 0.0), "place_type": "", "importance": 0.0,
            "bounding_box": None, "osm_id": None, "osm_type": None}


def _place(item: dict[str, Any]) -> dict[str, Any]:
    box = item.get("boundingbox")
    bounding_box = None
    if box is not None:
        # Nominatim's order is [south, north, west, east].
        south, north, west, east = (float(v) for v in box)
        bounding_box = {"min_lat": south, "min_lon": west, "max_lat": north, "max_lon": east}
    return {"display_name": item["display_name"], "coordinate": _geo(float(item["lat"]), float(item["lon"])),
            "place_type": item.get("type") or "", "importance": float(item.get("importance") or 0.0),
            "bounding_box": bounding_box, "osm_id": item.get("osm_id"), "osm_type": item.get("osm_type")}


@register("geo_search_location", "Search Location", "Web/Geo/Search",
          "Finds places matching a free-text query with Nominatim (OpenStreetMap's geocoder).",
          [EXEC_IN,
           inp("query", "Query", "String", default="", description="Address or place name."),
           inp("limit", "Limit", "Integer", default=5, description="Most results, 1 to 50; clamped."),
           inp("country_codes", "Country Codes", "String", default="",
               description="Comma-separated ISO 3166-1 alpha-2 codes to search in, or empty."),
           SUCCESS, ERROR,
           out("results", "Results", "Struct", "Array", description="Matching places, best first."),
           out("first_result", "First Result", "Struct", description="The best match (empty fields if none).")])
def geo_search_location(ctx: NodeContext) -> None:
    _start(ctx)
    query = as_str(ctx.get("query"), "query").strip()
    if not query:
        raise NodeError("input 'query' must not be empty")
    limit = min(50, max(1, as_int(ctx.get("limit"), "limit")))
    countries = as_str(ctx.get("country_codes"), "country_codes").strip()
    params = {"q": query, "format": "json", "limit": limit, "addressdetails": 1}
    if countries:
        params["countrycodes"] = countries
    answer = _get_json(ctx, "Nominatim", f"{ctx.egress.geo.nominatim_url}/search?{urlencode(params)}")
    if not isinstance(answer, list):
        raise NodeError("Nominatim answered in an unexpected shape")
    results = _parsed("Nominatim", lambda a: [_place(item) for item in a], answer)
    ctx.set("results", results)
    ctx.set("first_result", results[0] if results else _no_place())
    _succeed(ctx)


ADDRESS_FIELDS = ("house_number", "road", "suburb", "city", "county", "state", "postcode", "country", "country_code")


@register("geo_reverse_geocode", "Reverse Geocode", "Web/Geo/Search",
          "Finds the address at a coordinate with Nominatim.",
          [EXEC_IN, COORDINATE_IN,
           inp("zoom", "Detail Level", "Integer", default=18,
               description="0 (country) to 18 (building); clamped."),
           SUCCESS, ERROR,
           out("result", "Result", "Struct", description="Name, coordinate, address parts and OSM id."),
           out("display_name", "Display Name", "String", description="The full address as one line.")])
def geo_reverse_geocode(ctx: NodeContext) -> None:
    _start(ctx)
    latitude, longitude = _coordinate(ctx.get("coordinate"), "coordinate")
    zoom = min(18, max(0, as_int(ctx.get("zoom"), "zoom")))
    params = {"lat": repr(latitude), "lon": repr(longitude), "format": "json", "addressdetails": 1, "zoom": zoom}
    answer = _get_json(ctx, "Nominatim", f"{ctx.egress.geo.nominatim_url}/reverse?{urlencode(params)}")
    if isinstance(answer, dict) and "error" in answer:
        raise NodeError(f"Nominatim found no address: {answer['error']}")

    def convert(a: dict[str, Any]) -> dict[str, Any]:
        parts = a.get("address") or {}
        address = {name: parts.get(name) for name in ADDRESS_FIELDS}
        address["city"] = parts.get("city") or parts.get("town") or parts.get("village")
        return {"display_name": a["display_name"],
                "coordinate": _geo(float(a.get("lat", latitude)), float(a.get("lon", longitude))),
                "address": address, "osm_id": a.get("osm_id"), "osm_type": a.get("osm_type")}

    result = _parsed("Nominatim", convert, answer)
    ctx.set("result", result)
    ctx.set("display_name", result["display_name"])
    _succeed(ctx)


@register("geo_osrm_tile", "OSRM Tile", "Web/Geo/Routing",
          "Fetches one vector tile (Mapbox Vector Tile) of OSRM's road graph and saves it as a .mvt file.",
          [EXEC_IN, PROFILE_STRUCT,
           inp("z", "Zoom", "Integer", default=14, description="Zoom level, 0 to 22."),
           inp("x", "X", "Integer", default=0, description="Tile column, 0 to 2^zoom - 1."),
           inp("y", "Y", "Integer", default=0, description="Tile row, 0 to 2^zoom - 1."),
           inp("path", "Path", "Struct", options={"enforce_schema": True}, schema="FlowPath",
               description="Where to save the tile (its extension becomes .mvt)."),
           BASE_URL, SUCCESS, ERROR,
           out("tile_path", "Tile Path", "Struct", schema="FlowPath", description="The saved tile."),
           out("content_type", "Content Type", "String", description="The content type OSRM answered with.")])
def geo_osrm_tile(ctx: NodeContext) -> None:
    from ...files import with_extension

    _start(ctx)
    profile = _profile(ctx.get("profile"), "profile")
    z, x, y = (as_int(ctx.get(pin), pin) for pin in ("z", "x", "y"))
    # Checked here rather than left to OSRM: an impossible tile is the board's mistake, not the server's.
    if not 0 <= z <= 22:
        raise NodeError(f"input 'z' must be a zoom level from 0 to 22, got {z}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise NodeError(f"inputs 'x' and 'y' must be from 0 to {2**z - 1} at zoom {z}, got {x}, {y}")
    target = with_extension(ctx.get("path"), "mvt", "path")
    location = ctx.files.locate(target, "path")
    reply = _get(ctx, f"{_osrm_base(ctx, 'base_url')}/tile/v1/{profile}/tile({x},{y},{z}).mvt",
                 "application/vnd.mapbox-vector-tile")
    if not 200 <= reply.status_code <= 299:
        raise NodeError(f"OSRM answered HTTP {reply.status_code} for tile {z}/{x}/{y}")
    ctx.files.write(location, reply.body)
    ctx.set("tile_path", target)
    ctx.set("content_type", reply.headers.get("content-type", ""))
    ctx.deactivate("exec_error")
    ctx.activate("exec_success")


# -- map images ----------------------------------------------------------------------------------------

TILE_SIZE = 256
MAX_LATITUDE = 85.0511287798  # where Web Mercator tiles end (the map is square)


def _tile_template(ctx: NodeContext, style: str) -> str:
    # An unknown style falls back to the standard map, as in Flow-Like.
    return ctx.egress.geo.tile_url(style) or ctx.egress.geo.tile_url("Standard") or ""


def _world_pixel(latitude: float, longitude: float, zoom: int) -> tuple[int, int]:
    """The Web Mercator pixel (at 256-pixel tiles) of a coordinate at ``zoom``."""
    side = 2**zoom * TILE_SIZE
    latitude = min(MAX_LATITUDE, max(-MAX_LATITUDE, latitude))
    x = (longitude + 180.0) / 360.0 * side
    y = (1.0 - math.asinh(math.tan(math.radians(latitude))) / math.pi) / 2.0 * side
    return math.floor(x), min(side - 1, math.floor(y))


def _tile(ctx: NodeContext, url: str) -> Any:
    from ... import images

    reply = _get(ctx, url, "image/png,image/jpeg,image/*")
    if not 200 <= reply.status_code <= 299:
        raise NodeError(f"the map tile server answered HTTP {reply.status_code} for {url}")
    tile = images.decode(ctx, reply.body, f"the map tile {url}").convert("RGBA")
    return tile if tile.size == (TILE_SIZE, TILE_SIZE) else tile.resize((TILE_SIZE, TILE_SIZE))


@register("geo_get_map_image", "Get Map Image", "Web/Geo/Map",
          "A map image centred on a coordinate, put together from map tiles (OpenStreetMap and others).",
          [EXEC_IN, COORDINATE_IN,
           inp("zoom", "Zoom", "Integer", default=15, description="1 (world) to 19 (houses); clamped."),
           inp("width", "Width", "Integer", default=512, description="Pixels, 64 to 2048; clamped."),
           inp("height", "Height", "Integer", default=512, description="Pixels, 64 to 2048; clamped."),
           inp("style", "Style", "String", default="Standard",
               options={"valid_values": ["Standard", "Satellite", "Terrain", "Dark"]},
               description="Which tile server (ENGINE_GEO_TILES_<STYLE>_URL)."),
           SUCCESS, ERROR,
           out("image", "Image", "Struct", schema="NodeImage", description="The map (RGBA).")])
def geo_get_map_image(ctx: NodeContext) -> None:
    from PIL import Image

    from ... import images

    _start(ctx)
    latitude, longitude = _coordinate(ctx.get("coordinate"), "coordinate")
    zoom = min(19, max(1, as_int(ctx.get("zoom"), "zoom")))
    width = min(2048, max(64, as_int(ctx.get("width"), "width")))
    height = min(2048, max(64, as_int(ctx.get("height"), "height")))
    template = _tile_template(ctx, as_str(ctx.get("style"), "style"))
    centre_x, centre_y = _world_pixel(latitude, longitude, zoom)
    left, top = centre_x - width // 2, centre_y - height // 2
    first_x, last_x = left // TILE_SIZE, (left + width - 1) // TILE_SIZE
    first_y, last_y = top // TILE_SIZE, (top + height - 1) // TILE_SIZE
    tiles = 2**zoom
    canvas = Image.new("RGBA", ((last_x - first_x + 1) * TILE_SIZE, (last_y - first_y + 1) * TILE_SIZE))
    for row in range(first_y, last_y + 1):
        if not 0 <= row < tiles:
            continue  # past the poles: left transparent
        for column in range(first_x, last_x + 1):
            url = (template.replace("{z}", str(zoom)).replace("{x}", str(column % tiles))
                   .replace("{y}", str(row)))
            canvas.paste(_tile(ctx, url), ((column - first_x) * TILE_SIZE, (row - first_y) * TILE_SIZE))
    x, y = left - first_x * TILE_SIZE, top - first_y * TILE_SIZE
    ctx.set("image", images.new(ctx, canvas.crop((x, y, x + width, y + height))))
    _succeed(ctx)
