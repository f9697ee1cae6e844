"""The tracker methods the sandbox serves, with their business-parameter rules.

Documented (freshliance-api.md section 6): method names, the request fields and which are
required, ``pageNum`` from 1 and ``pageSize`` 1-50, paged results as ``{"total", "rows"}``,
``probeType`` 0 built-in or 1 external. ``tracker.deviceGroup.page`` is known only from
third-party code (section 6.5).

Our assumptions where the docs are silent:

* Integer and long fields must be JSON integers (not strings, floats or booleans); optional
  string filters must be strings, and null or "" counts as not given. Breaking a rule gives
  40000 ``invalid-parameter`` naming the field. Unknown fields are ignored.
* ``probeType`` is required, as the table marks it, despite the note about a default.
* ``tracker.tripData.pageProbeData`` rejects ``beginTime`` after ``endTime``; no maximum span.
  An unknown ``userDeviceTripId`` is 50000 ``biz-error``; an unknown ``userGroupId`` is an empty
  page (a filter that matches nothing).
* A page past the end is empty and still reports the full ``total``.
* A ``userDeviceTripId`` the clock has not reached yet (a trip not listed yet) is unknown too.

Handlers build only the rows of the page asked for, so paging a large fleet costs per page,
not per fleet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from freshliance_pipeline.sandbox.envelope import biz_error, invalid_parameter
from freshliance_pipeline.sandbox.fleet import Fleet, UnknownTripError
from freshliance_pipeline.sandbox.quirks import WireQuirks

MAX_PAGE_SIZE = 50

Handler = Callable[[Fleet, Mapping[str, Any], WireQuirks], Any]


def _int(biz: Mapping[str, Any], name: str, *, required: bool = True) -> int | None:
    value = biz.get(name)
    if value is None:
        if required:
            raise invalid_parameter(f"{name} is required")
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid_parameter(f"{name} must be an integer, got {type(value).__name__}")
    return value


def _required_int(biz: Mapping[str, Any], name: str) -> int:
    value = _int(biz, name)
    assert value is not None
    return value


def _optional_str(biz: Mapping[str, Any], name: str) -> str | None:
    value = biz.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_parameter(f"{name} must be a string, got {type(value).__name__}")
    return value


def _page_bounds(biz: Mapping[str, Any]) -> tuple[int, int]:
    """(offset, page size) from pageNum and pageSize."""
    page_num = _required_int(biz, "pageNum")
    page_size = _required_int(biz, "pageSize")
    if page_num < 1:
        raise invalid_parameter(f"pageNum must be 1 or more, got {page_num}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise invalid_parameter(f"pageSize must be from 1 to {MAX_PAGE_SIZE}, got {page_size}")
    return (page_num - 1) * page_size, page_size


def _page(bounds: tuple[int, int], rows: list[dict[str, Any]]) -> dict[str, Any]:
    offset, size = bounds
    return {"total": len(rows), "rows": rows[offset : offset + size]}


def user_info(fleet: Fleet, biz: Mapping[str, Any], quirks: WireQuirks) -> Any:
    return fleet.user_info()


def user_device_page(fleet: Fleet, biz: Mapping[str, Any], quirks: WireQuirks) -> Any:
    offset, size = _page_bounds(biz)
    devices = fleet.devices_with(_optional_str(biz, "deviceCode"))
    rows = [fleet.device_row(device) for device in devices[offset : offset + size]]
    return {"total": len(devices), "rows": rows}


def device_trip_page(fleet: Fleet, biz: Mapping[str, Any], quirks: WireQuirks) -> Any:
    offset, size = _page_bounds(biz)
    listing = fleet.trip_listing(
        trip_code=_optional_str(biz, "tripCode"),
        device_code=_optional_str(biz, "deviceCode"),
        begin_ms=_int(biz, "beginTime", required=False),
        end_ms=_int(biz, "endTime", required=False),
    )
    return {"total": listing.total, "rows": listing.rows(offset, size)}


def trip_data_page(fleet: Fleet, biz: Mapping[str, Any], quirks: WireQuirks) -> Any:
    offset, size = _page_bounds(biz)
    trip_id = _required_int(biz, "userDeviceTripId")
    begin_ms = _required_int(biz, "beginTime")
    end_ms = _required_int(biz, "endTime")
    probe_type = _required_int(biz, "probeType")
    if probe_type not in (0, 1):
        raise invalid_parameter(f"probeType must be 0 (built-in) or 1 (external), got {probe_type}")
    if begin_ms > end_ms:
        raise invalid_parameter(f"beginTime {begin_ms} is after endTime {end_ms}")
    try:
        total = fleet.reading_count(trip_id, probe_type, begin_ms, end_ms)
        rows = fleet.reading_rows(
            trip_id, probe_type, begin_ms, end_ms, offset, size, order=quirks.row_order
        )
    except UnknownTripError as error:
        raise biz_error(str(error)) from error
    return {"total": total, "rows": rows}


def device_group_page(fleet: Fleet, biz: Mapping[str, Any], quirks: WireQuirks) -> Any:
    return _page(_page_bounds(biz), fleet.group_rows())


def group_device_page(fleet: Fleet, biz: Mapping[str, Any], quirks: WireQuirks) -> Any:
    bounds = _page_bounds(biz)
    rows = fleet.group_device_rows(
        _required_int(biz, "userGroupId"),
        device_code=_optional_str(biz, "deviceCode"),
        trip_code=_optional_str(biz, "tripCode"),
        device_status=_optional_str(biz, "deviceStatus"),
    )
    return _page(bounds, rows)


def config_template_page(fleet: Fleet, biz: Mapping[str, Any], quirks: WireQuirks) -> Any:
    bounds = _page_bounds(biz)
    return _page(bounds, fleet.template_rows(template_name=_optional_str(biz, "templateName")))


METHODS: dict[str, Handler] = {
    "tracker.userInfo.get": user_info,
    "tracker.userDevice.page": user_device_page,
    "tracker.deviceTrip.page": device_trip_page,
    "tracker.tripData.pageProbeData": trip_data_page,
    "tracker.deviceGroup.page": device_group_page,
    "tracker.groupDevice.pageAllocatedDevice": group_device_page,
    "tracker.configTemplate.page": config_template_page,
}
