"""Pure pandas functions that turn the gateway's rows into frames typed by the lake schemas.

The gateway is loose about types (freshliance-api.md section 9): longs arrive as numbers or as
numeric strings, ``appId``-sized ids exceed a double, times are epoch milliseconds, a field the
device lacks is simply absent. Each column is coerced to the schema's type here, in one place,
and a value that cannot be coerced raises :class:`NormalizationError` naming the dataset, the
column and the value, instead of landing as something else.

Fields the schema does not list are kept in the row's ``_extras`` column as a JSON object, and
logged once per dataset and field, so a field the gateway starts sending is never lost.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
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
