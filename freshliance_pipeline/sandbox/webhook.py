"""Webhook pushes: the sandbox POSTs each device upload to a receiver URL, as the platform does.

Documented (freshliance-api.md section 7): a push is ``POST`` ``application/json`` of
``{"dataType", "deviceCode", "pushTime", "data": [...]}`` with ``pushTime`` and each row's
``dataTime`` in epoch **seconds**; built-in rows carry ``temperature`` and, where the device has
them, ``humidity``, ``light``, ``shock``; external-probe rows ``temperature`` and ``humidity``;
internet rows ``rsrp`` and ``power`` (battery %). ``dataType`` is 0 in every example although the
table says 1 to 4: ``data_types="docs"`` (the default) sends 0 like the examples,
``data_types="table"`` sends 1 built-in, 2 external, 3 internet, 4 location.

Our assumptions where the docs are silent or cut off: location rows are ``{"longitude",
"latitude", "dataTime"}`` (that section is not readable); one push per upload and data type,
split into pushes of at most ``MAX_ROWS`` rows (a device back from a long offline spell uploads
hours of data at once); an upload pushes one internet row stamped with the upload time; pushes
carry no signature or authentication (none is documented); any 2xx from the receiver counts as
delivered and nothing is retried (no retry policy is documented).

NOTE: pushes are never corrupted: with ``FleetConfig.bad_rows`` they still carry the TRUE
readings; planted bad rows are served by ``tracker.tripData.pageProbeData`` only.

Pushes are driven by the sandbox clock: ``pump()`` sends every upload between the previous pump
and now, so a test advances a frozen clock and pumps; a server pumps in the background and after
each admin clock change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any, Literal

import httpx

from freshliance_pipeline.sandbox._noise import mix, unit
from freshliance_pipeline.sandbox.catalog import BUILT_IN, EXTERNAL
from freshliance_pipeline.sandbox.fleet import Fleet, Upload
from freshliance_pipeline.sandbox.readings import Reading

logger = logging.getLogger(__name__)

DataTypes = Literal["docs", "table"]
MAX_ROWS = 100
_TABLE_TYPES = {"builtin": 1, "external": 2, "internet": 3, "location": 4}


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), MAX_ROWS):
        yield rows[start : start + MAX_ROWS]


def _measure_row(reading: Reading, names: tuple[str, ...]) -> dict[str, Any]:
    row: dict[str, Any] = {"temperature": reading.temperature}
    for name in names:
        value = getattr(reading, name)
        if value is not None:
            row[name] = value
    row["dataTime"] = reading.ts // 1000
    return row


def payloads(upload: Upload, data_types: DataTypes = "docs") -> list[dict[str, Any]]:
    """The push bodies of one upload, in the order they are sent."""
    trip = upload.trip
    push_time = upload.at_ms // 1000
    builtin = upload.readings.get(BUILT_IN, [])
    rows: dict[str, list[dict[str, Any]]] = {
        "builtin": [_measure_row(r, ("humidity", "light", "shock")) for r in builtin],
        "external": [_measure_row(r, ("humidity",)) for r in upload.readings.get(EXTERNAL, [])],
        "internet": [
            {
                # A cellular signal between -65 and -110 dBm, steady for one upload.
                "rsrp": -65 - int(45 * unit(mix(trip.noise_key, 99), push_time)),
                "power": trip.battery_at(upload.at_ms),
                "dataTime": push_time,
            }
        ],
        "location": [
            {"longitude": r.longitude, "latitude": r.latitude, "dataTime": r.ts // 1000}
            for r in builtin
            if r.latitude is not None and r.longitude is not None
        ],
    }
    bodies = []
    for name, items in rows.items():
        data_type = 0 if data_types == "docs" else _TABLE_TYPES[name]
        for chunk in _chunks(items):
            bodies.append(
                {
                    "dataType": data_type,
                    "deviceCode": trip.device_code,
                    "pushTime": push_time,
                    "data": chunk,
                }
            )
    return bodies


class WebhookPusher:
    """Pushes the fleet's uploads to one receiver URL; ``pump`` does a round by hand."""

    def __init__(
        self,
        fleet: Fleet,
        url: str | None = None,
        *,
        data_types: DataTypes = "docs",
        interval_s: float = 0.25,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._fleet = fleet
        self._interval_s = interval_s
        self._http = httpx.Client(timeout=timeout_s, transport=transport)
        self._lock = threading.Lock()
        self._pump_lock = threading.Lock()
        self._url: str | None = None
        self._data_types: DataTypes = data_types
        self._watermark = fleet.clock.now_ms()
        self.sent = 0
        self.failed = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.configure(url, data_types)

    @property
    def url(self) -> str | None:
        return self._url

    def configure(self, url: str | None, data_types: DataTypes | None = None) -> None:
        """Push to ``url`` (None: stop pushing) from now on; earlier uploads are not sent."""
        if data_types is not None and data_types not in ("docs", "table"):
            raise ValueError(f"data_types must be 'docs' or 'table', got {data_types!r}")
        with self._pump_lock:
            self._url = url
            if data_types is not None:
                self._data_types = data_types
            self._watermark = self._fleet.clock.now_ms()

    def pump(self) -> int:
        """Send every upload since the last pump; returns how many pushes were delivered."""
        with self._pump_lock:
            url, now, after = self._url, self._fleet.clock.now_ms(), self._watermark
            if url is None or now <= after:
                return 0
            self._watermark = now
            delivered = 0
            for upload in self._fleet.uploads(after, now):
                for body in payloads(upload, self._data_types):
                    delivered += self._post(url, body)
            return delivered

    def _post(self, url: str, body: dict[str, Any]) -> int:
        try:
            response = self._http.post(url, json=body)
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        else:
            ok, error = response.is_success, f"HTTP {response.status_code}"
        with self._lock:
            if ok:
                self.sent += 1
            else:
                self.failed += 1
                self.last_error = error
        if not ok:
            logger.warning("webhook push failed url=%s error=%s", url, error)
        return 1 if ok else 0

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "url": self._url,
                "data_types": self._data_types,
                "sent": self.sent,
                "failed": self.failed,
                "last_error": self.last_error,
                "watermark_ms": self._watermark,
            }

    def start(self) -> None:
        """Pump in a background thread every ``interval_s`` until ``stop``."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.pump()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(10.0)

    def close(self) -> None:
        self.stop()
        self._http.close()
