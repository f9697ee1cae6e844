"""Pure pandas functions that turn the gateway's rows into frames typed by the lake schemas.

The gateway is loose about types (freshliance-api.md section 9): longs arrive as numbers or as
numeric strings, ``appId``-sized ids exceed a double, times are epoch milliseconds, a field the
device lacks is simply absent. Each column is coerced to the schema's type here, in one place,
and a value that cannot be coerced raises :class:`NormalizationError` naming the dataset, the
column and the value, instead of landing as something else.

Fields the schema does not list are kept in the row's ``_extras`` column as a JSON object, and
logged once per dataset and field, so a field the gateway starts sending is never lost.

Readings are screened before they are typed (:func:`screen_readings`). A row that cannot be
trusted is never dropped silently: it goes to ``rejected/readings`` with its reasons and the row
exactly as sent. What is checked, and what happens to the row:

- its time: missing or not a whole number, epoch seconds where milliseconds are expected (a
  value that as seconds falls in 2000-2100), before 2000, more than a day after the sync, or
  outside the window that was asked for. Such a row cannot be placed, so it is kept only among
  the rejects, with ``ts`` null unless the time itself is sound.
- two or more different rows with the same time in one answer: none of them can be preferred,
  so every version is kept only among the rejects (identical copies are one row).
- its values: a temperature outside -200..200 degC or one of the sentinels loggers send instead
  of a measurement, a latitude outside -90..90 or a longitude outside -180..180, any measure that
  is not a number. The reading itself is sound, so it stays in ``readings`` with only those
  values null, and its original is among the rejects (``inReadings`` true), where the warehouse
  finds the raw value again.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from freshliance_pipeline.api.signing import canonical_json
from freshliance_pipeline.lake import schemas
from freshliance_pipeline.lake.schemas import Dataset

logger = logging.getLogger(__name__)


class NormalizationError(ValueError):
    """A value from the gateway does not fit the lake schema."""


def normalize(
    rows: Iterable[Mapping[str, Any]],
    dataset: Dataset,
    fetched_at: datetime,
    *,
    aliases: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
    ignore: Iterable[str] = (),
) -> pd.DataFrame:
    """Rows as returned by the gateway -> a frame with exactly the dataset's columns."""
    names = [f.name for f in dataset.schema if not f.name.startswith("_")]
    wanted = set(names)
    aliases = aliases or {}
    ignored = set(ignore)
    records = []
    extras: list[str | None] = []
    for row in rows:
        record: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        for key, value in row.items():
            name = aliases.get(key, key)
            if name in wanted:
                if value is not None and record.get(name) is None:
                    record[name] = value
            elif key not in ignored:
                unknown[key] = value
        record.update(constants or {})
        records.append(record)
        extras.append(canonical_json(unknown) if unknown else None)
        for key in unknown:
            _log_new_field_once(dataset.name, key)
    frame = pd.DataFrame.from_records(records, columns=names)
    for field in dataset.schema:
        if field.name.startswith("_"):
            continue
        frame[field.name] = _coerce(frame[field.name], field, dataset)
        if not field.nullable and frame[field.name].isna().any():
            raise NormalizationError(f"{dataset.name}.{field.name}: required value is missing")
    frame["_extras"] = pd.Series(extras, index=frame.index, dtype="string")
    frame["_fetched_at"] = pd.Series(
        [pd.Timestamp(fetched_at).tz_convert("UTC")] * len(frame), dtype="datetime64[ms, UTC]"
    )
    return frame


_REPORTED: set[tuple[str, str]] = set()


def _log_new_field_once(dataset: str, field: str) -> None:
    if (dataset, field) not in _REPORTED:
        _REPORTED.add((dataset, field))
        logger.warning(
            "new field dataset=%s field=%s: kept in _extras; add it to the lake schema to "
            "make it a column",
            dataset,
            field,
        )


def _coerce(series: pd.Series, field: pa.Field, dataset: Dataset) -> pd.Series:
    try:
        if field.type == schemas.TIMESTAMP:
            millis = _integers(series)
            return pd.to_datetime(millis, unit="ms", utc=True).astype("datetime64[ms, UTC]")
        if pa.types.is_integer(field.type):
            return _integers(series)
        if pa.types.is_floating(field.type):
            return pd.to_numeric(series.astype("object"), errors="raise").astype("float64")
        return series.map(_text).astype("string")
    except (TypeError, ValueError, OverflowError) as exc:
        bad = _first_bad(series, field)
        raise NormalizationError(
            f"{dataset.name}.{field.name}: cannot read {bad!r} as {field.type}"
        ) from exc


def _integers(series: pd.Series) -> pd.Series:
    values = [_integer(v) for v in series.astype("object")]
    return pd.Series(values, index=series.index, dtype="Int64")


def _integer(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    raise ValueError(f"{value!r} is not a whole number")


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Mapping | list):
        return canonical_json(value)
    return str(value)


def _first_bad(series: pd.Series, field: pa.Field) -> Any:
    for value in series.astype("object"):
        try:
            if pa.types.is_integer(field.type) or field.type == schemas.TIMESTAMP:
                _integer(value)
            elif pa.types.is_floating(field.type) and value is not None:
                float(value)
        except (TypeError, ValueError):
            return value
    return None


# -- per dataset --------------------------------------------------------------------------


def account(data: Mapping[str, Any], fetched_at: datetime) -> pd.DataFrame:
    # The docs' table says nickname, their example nickName: accept both.
    return normalize([data], schemas.ACCOUNT, fetched_at, aliases={"nickName": "nickname"})


def devices(rows: Iterable[Mapping[str, Any]], fetched_at: datetime) -> pd.DataFrame:
    return normalize(rows, schemas.DEVICES, fetched_at)


def device_groups(rows: Iterable[Mapping[str, Any]], fetched_at: datetime) -> pd.DataFrame:
    return normalize(rows, schemas.DEVICE_GROUPS, fetched_at)


def group_devices(
    rows: Iterable[Mapping[str, Any]], user_group_id: int, fetched_at: datetime
) -> pd.DataFrame:
    return normalize(
        rows, schemas.GROUP_DEVICES, fetched_at, constants={"userGroupId": user_group_id}
    )


def config_templates(rows: Iterable[Mapping[str, Any]], fetched_at: datetime) -> pd.DataFrame:
    # Each row nests its settings under tripConfig (freshliance-api.md 9.25); flatten it and
    # also accept rows that are already flat.
    flat = [{**row, **(row.get("tripConfig") or {})} for row in rows]
    return normalize(flat, schemas.CONFIG_TEMPLATES, fetched_at, ignore=("tripConfig",))


def trips(rows: Iterable[Mapping[str, Any]], fetched_at: datetime) -> pd.DataFrame:
    return normalize(rows, schemas.TRIPS, fetched_at)


def readings(
    rows: Iterable[Mapping[str, Any]],
    *,
    trip_id: int,
    device_code: str,
    probe_type: int,
    fetched_at: datetime,
) -> pd.DataFrame:
    constants = {"userDeviceTripId": trip_id, "deviceCode": device_code, "probeType": probe_type}
    return normalize(rows, schemas.READINGS, fetched_at, constants=constants)


# -- screening readings -----------------------------------------------------------------

# What loggers send instead of a temperature: -127 (a DS18B20-style probe unplugged), 85 (its
# power-on value), 16-bit limits and their tenths, the -999 family. dbt_project.yml's var
# temperature_sentinels_c lists the same values (a test keeps them equal).
TEMPERATURE_SENTINELS_C = frozenset(
    {-127.0, 85.0, -3276.8, 3276.7, -32768.0, 32767.0, -9999.0, -999.0, 999.0, 9999.0}
)
TEMPERATURE_LIMITS_C = (-200.0, 200.0)
COORDINATE_LIMITS = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0)}
EARLIEST_TS_MS = 946_684_800_000  # 2000-01-01T00:00Z
# As epoch seconds these are 2000-01-01 and 2100-01-01; read as milliseconds they are January
# 1970, which no logger in service records, so a ts between them is seconds.
SECONDS_SPAN = (946_684_800, 4_102_444_800)
FUTURE_SLACK_MS = 24 * 3600 * 1000
_FLOAT_MEASURES = ("temperature", "humidity", "longitude", "latitude", "light")
_INT_MEASURES = ("shock",)


@dataclass(frozen=True)
class Reject:
    """One reading row that failed a check."""

    row: Mapping[str, Any]  # as the gateway sent it
    ts_ms: int | None  # its time when that is sound, else None
    reasons: tuple[str, ...]
    details: tuple[str, ...]
    in_readings: bool  # kept in readings with the untrusted values nulled


@dataclass
class Screened:
    kept: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rejects: list[Reject] = dataclasses.field(default_factory=list)


def screen_readings(
    rows: Iterable[Mapping[str, Any]], *, begin_ms: int, end_ms: int, now_ms: int
) -> Screened:
    """Split one window's rows (``[begin_ms, end_ms]`` inclusive) into rows for ``readings``
    and rejects with reasons; identical copies of a row count once."""
    distinct: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        distinct.setdefault(canonical_json(dict(row)), row)
    checked = []
    versions: dict[int, int] = {}
    for row in distinct.values():
        ts_ms, reasons, details = _check_time(row.get("ts"), begin_ms, end_ms, now_ms)
        if ts_ms is not None:
            versions[ts_ms] = versions.get(ts_ms, 0) + 1
        checked.append((row, ts_ms, reasons, details))
    out = Screened()
    for row, ts_ms, reasons, details in checked:
        if ts_ms is not None and versions[ts_ms] > 1:
            reasons.append("conflicting_duplicate")
            details.append(f"{versions[ts_ms]} different rows have ts {ts_ms}")
        row_level = bool(reasons)
        untrusted = _check_values(row, reasons, details)
        if not reasons:
            out.kept.append(dict(row))
            continue
        if not row_level:
            out.kept.append({k: (None if k in untrusted else v) for k, v in row.items()})
        out.rejects.append(
            Reject(row, ts_ms, tuple(reasons), tuple(details), in_readings=not row_level)
        )
    return out


def _check_time(
    value: Any, begin_ms: int, end_ms: int, now_ms: int
) -> tuple[int | None, list[str], list[str]]:
    """The row's time if it is sound, and the reasons it is not."""
    if value is None:
        return None, ["ts_missing"], ["the row has no ts"]
    try:
        ts = _integer(value)
    except ValueError:
        return None, ["ts_unreadable"], [f"ts {value!r} is not epoch milliseconds"]
    assert ts is not None
    if SECONDS_SPAN[0] <= ts <= SECONDS_SPAN[1]:
        as_seconds = datetime.fromtimestamp(ts, tz=UTC).isoformat()
        return None, ["ts_in_seconds"], [f"ts {ts} reads as seconds ({as_seconds})"]
    if ts < EARLIEST_TS_MS:
        return None, ["ts_before_2000"], [f"ts {ts} is before 2000-01-01"]
    if ts > now_ms + FUTURE_SLACK_MS:
        return None, ["ts_in_future"], [f"ts {ts} is more than a day after the sync"]
    if not begin_ms <= ts <= end_ms:
        return (
            None,
            ["ts_outside_window"],
            [f"ts {ts} is outside the window asked for, {begin_ms}..{end_ms}"],
        )
    return ts, [], []


def _check_values(row: Mapping[str, Any], reasons: list[str], details: list[str]) -> set[str]:
    """Append the reasons the row's measures cannot be trusted; the names of those fields."""
    untrusted: set[str] = set()
    for name in (*_FLOAT_MEASURES, *_INT_MEASURES):
        value = row.get(name)
        if value is None:
            continue
        number = _number(value, whole=name in _INT_MEASURES)
        problem = None
        if number is None:
            problem = ("unreadable", f"{name} {value!r} is not a number")
        elif name == "temperature" and number in TEMPERATURE_SENTINELS_C:
            problem = ("sentinel", f"temperature {number} is a logger's no-value sentinel")
        elif name == "temperature" and not (
            TEMPERATURE_LIMITS_C[0] <= number <= TEMPERATURE_LIMITS_C[1]
        ):
            problem = ("out_of_range", f"temperature {number} is outside -200..200 degC")
        elif name in COORDINATE_LIMITS:
            low, high = COORDINATE_LIMITS[name]
            if not low <= number <= high:
                problem = ("out_of_range", f"{name} {number} is outside {low:g}..{high:g}")
        if problem is not None:
            untrusted.add(name)
            reasons.append(f"{name}_{problem[0]}")
            details.append(problem[1])
    return untrusted


def _number(value: Any, *, whole: bool) -> float | None:
    """The value as a finite number the lake can type, or None."""
    if isinstance(value, bool):
        return None
    try:
        if whole:
            integer = _integer(value)
            return None if integer is None else float(integer)
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def rejected_readings(
    rejects: Iterable[Reject],
    *,
    trip_id: int,
    device_code: str,
    probe_type: int,
    fetched_at: datetime,
) -> pd.DataFrame:
    """Rejects of one window as rows of the ``rejected/readings`` dataset."""
    found = list(rejects)
    frame = pd.DataFrame(
        {
            "userDeviceTripId": pd.Series([trip_id] * len(found), dtype="int64"),
            "deviceCode": pd.Series([device_code] * len(found), dtype="string"),
            "probeType": pd.Series([probe_type] * len(found), dtype="int64"),
            "ts": pd.to_datetime(
                pd.Series([r.ts_ms for r in found], dtype="Int64"), unit="ms", utc=True
            ).astype("datetime64[ms, UTC]"),
            "reason": pd.Series(["; ".join(r.reasons) for r in found], dtype="string"),
            "detail": pd.Series(["; ".join(r.details) for r in found], dtype="string"),
            "inReadings": pd.Series([r.in_readings for r in found], dtype="bool"),
            "rawRow": pd.Series([canonical_json(dict(r.row)) for r in found], dtype="string"),
        }
    )
    frame["_fetched_at"] = pd.Series(
        [pd.Timestamp(fetched_at).tz_convert("UTC")] * len(frame), dtype="datetime64[ms, UTC]"
    )
    return frame
