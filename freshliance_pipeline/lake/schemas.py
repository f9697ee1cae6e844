"""The lake's Arrow schemas: one explicit schema per dataset, never inferred from a page.

Columns keep the API's field names so the lake is a lossless typed copy of what the gateway
said; dbt's staging views rename them. Conventions (DESIGN.md, lake layout): epoch-millisecond
fields become ``timestamp[ms, UTC]``, ids ``int64``, codes and names ``string``, measures
``float64`` with nulls. Every row carries ``_fetched_at``, the time the sync read it.

Partition columns live in the folder names only (``snapshot_date=YYYY-MM-DD`` for snapshots,
``reading_date=YYYY-MM-DD`` for readings), never inside the files.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

# 2: every dataset gained _extras, the fields the gateway sent that the schema does not name.
SCHEMA_VERSION = "2"

TIMESTAMP = pa.timestamp("ms", tz="UTC")
FETCHED_AT = pa.field("_fetched_at", TIMESTAMP, nullable=False)
# A JSON object of the fields a row carried beyond the schema, so a new API field is kept
# (and can be promoted to a column later) instead of being dropped.
EXTRAS = pa.field("_extras", pa.string())


@dataclass(frozen=True)
class Dataset:
    """A lake dataset: its folder, its partition column and its schema."""

    name: str
    partition_column: str
    schema: pa.Schema

    @property
    def timestamp_fields(self) -> tuple[str, ...]:
        return tuple(
            f.name for f in self.schema if f.type == TIMESTAMP and not f.name.startswith("_")
        )


def _schema(*fields: pa.Field, extras: bool = True) -> pa.Schema:
    tail = [EXTRAS, FETCHED_AT] if extras else [FETCHED_AT]
    return pa.schema([*fields, *tail], metadata={"freshliance.schema_version": SCHEMA_VERSION})


def _ts(name: str) -> pa.Field:
    return pa.field(name, TIMESTAMP)


def _i(name: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, pa.int64(), nullable=nullable)


def _s(name: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, pa.string(), nullable=nullable)


def _f(name: str) -> pa.Field:
    return pa.field(name, pa.float64())


ACCOUNT = Dataset(
    "account",
    "snapshot_date",
    _schema(
        _s("email"),
        _s("timeZone"),
        _i("language"),
        _i("dateFormat"),
        _i("temperatureUnit"),
        _i("chnSmsNum"),
        _i("intSmsNum"),
        _i("chnVoiceNum"),
        _i("intVoiceNum"),
        _s("nickname"),
    ),
)

DEVICES = Dataset(
    "devices",
    "snapshot_date",
    _schema(
        _i("userDeviceId", nullable=False),
        _i("userDeviceTripId"),
        _s("deviceCode", nullable=False),
        _i("useType"),
        _ts("bindTime"),
        _i("battery"),
        _ts("batteryTime"),
        _s("customName"),
        _f("longitude"),
        _f("latitude"),
    ),
)

DEVICE_GROUPS = Dataset(
    "device_groups",
    "snapshot_date",
    _schema(
        _i("userGroupId", nullable=False),
        _s("groupName"),
        _i("parentId"),
    ),
)

GROUP_DEVICES = Dataset(
    "group_devices",
    "snapshot_date",
    _schema(
        _i("userGroupId", nullable=False),
        _i("userGroupDeviceId", nullable=False),
        _i("userDeviceId", nullable=False),
        _s("deviceCode", nullable=False),
        _s("deviceType"),
        _s("tripStatus"),
        _i("alarmFlag"),
        _s("deviceStatus"),
        _s("customName"),
        _s("tripCode"),
        _s("goodsName"),
        _ts("expectedBeginTime"),
        _ts("expectedEndTime"),
    ),
)

CONFIG_TEMPLATES = Dataset(
    "config_templates",
    "snapshot_date",
    _schema(
        _i("tripConfigTemplateId", nullable=False),
        _s("templateName"),
        _i("startDelay"),
        _i("collectInterval"),
        _i("activeTime"),
        _i("buttonFlag"),
        _i("gpsFlag"),
        _i("wifiFlag"),
        _i("flightFlag"),
        _ts("flightStartTime"),
        _ts("flightEndTime"),
        _i("lightFlag"),
        _i("shockFlag"),
        _s("email"),
        # Nested list of {areaCode, phone, ...}; kept as its JSON text so no field is lost.
        _s("phoneList"),
    ),
)

TRIPS = Dataset(
    "trips",
    "snapshot_date",
    _schema(
        _i("userDeviceId", nullable=False),
        _i("userDeviceTripId", nullable=False),
        _s("deviceCode", nullable=False),
        _s("tripStatus", nullable=False),
        _s("customName"),
        _s("tripCode"),
        _s("assetCode"),
        _s("goodsName"),
        _s("vehicleInfo"),
        _s("carrier"),
        _s("consignee"),
        _s("beginRoute"),
        _s("endRoute"),
        _ts("expectedBeginTime"),
        _ts("expectedEndTime"),
        _ts("actualBeginTime"),
        _ts("actualEndTime"),
    ),
)

READINGS = Dataset(
    "readings",
    "reading_date",
    _schema(
        _i("userDeviceTripId", nullable=False),
        _s("deviceCode", nullable=False),
        _i("probeType", nullable=False),
        pa.field("ts", TIMESTAMP, nullable=False),
        _f("temperature"),
        _f("humidity"),
        _f("longitude"),
        _f("latitude"),
        _f("light"),
        _i("shock"),
    ),
)

# The sync's own bookkeeping, one row per (day, trip, probe) window it has read: how many
# readings the gateway held then, when it looked, and whether the window is settled (its trip
# ended long enough ago that no late upload is expected), so later runs can skip it.
READING_WINDOWS = Dataset(
    "reading_windows",
    "reading_date",
    _schema(
        _i("userDeviceTripId", nullable=False),
        _s("deviceCode", nullable=False),
        _i("probeType", nullable=False),
        _i("rowCount", nullable=False),
        pa.field("checkedAt", TIMESTAMP, nullable=False),
        pa.field("settled", pa.bool_(), nullable=False),
    ),
)

# Rows of readings that cannot be trusted, kept with why (normalize.screen_readings). A row
# whose time and identity are sound stays in readings with only the untrusted values nulled
# (inReadings true); any other row lives here alone. rawRow is the row exactly as the gateway
# sent it. A row whose time is unusable is filed under the first day of the window that
# returned it, with ts null.
REJECTED_READINGS = Dataset(
    "rejected/readings",
    "reading_date",
    # No _extras: rawRow already holds every field the gateway sent.
    _schema(
        _i("userDeviceTripId", nullable=False),
        _s("deviceCode", nullable=False),
        _i("probeType", nullable=False),
        _ts("ts"),
        _s("reason", nullable=False),
        _s("detail", nullable=False),
        pa.field("inReadings", pa.bool_(), nullable=False),
        _s("rawRow", nullable=False),
        extras=False,
    ),
)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        ACCOUNT,
        DEVICES,
        DEVICE_GROUPS,
        GROUP_DEVICES,
        CONFIG_TEMPLATES,
        TRIPS,
        READINGS,
        READING_WINDOWS,
        REJECTED_READINGS,
    )
}
