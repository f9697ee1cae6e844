"""A deterministic local stand-in for the Freshliance tracker API, served over real HTTP.

``Fleet`` is the account (devices, trips, readings) as a pure function of a seed and a
``Clock``, computed on demand so that 2,000 devices over a year cost no memory; ``create_app``
wraps it in the gateway protocol (signed requests, documented error envelopes, paging rules)
plus an admin API; ``SandboxServer`` runs that app on loopback. Tests and the demo point the real
client at it and compare what lands in the warehouse with ``Fleet.ground_truth``. Never imports
Dagster.

Which behaviour is documented by Freshliance (freshliance-api.md) and which is our assumption
where the docs are silent; each module's docstring gives the details:

* Documented: one ``POST`` endpoint, the common parameters, RSA2 request signatures, the error
  codes and texts, the tracker methods with their fields and paging (1-50 rows, ``{total,
  rows}``), epoch-millisecond times, ``tripStatus`` wait/ing/end, ``activeTime`` as the upload
  interval, the webhook push shapes with second timestamps (:mod:`.gateway`, :mod:`.envelope`,
  :mod:`.methods`, :mod:`.webhook`).
* Documented as possible, switchable (:mod:`.quirks`): ``data`` as a JSON string, long fields
  as numeric strings, ``bizContent`` as string or object, responses signed.
* Our assumptions: the world itself (devices, trips, schedules, sensor curves, planted
  excursions, gaps, sentinels, optional untrustworthy "bad rows"; :mod:`.schedule`,
  :mod:`.build`, :mod:`.events`, :mod:`.readings`, :mod:`.bad_rows`), when uploaded data
  becomes visible and how offline spells delay it (:mod:`.world`), filter semantics and
  orderings (:mod:`.fleet`, :mod:`.listing`, :mod:`.rows`), the response signature recipe
  (:mod:`.quirks`), every fault's shape and delivery and the flow limit's numbers
  (:mod:`.faults`, :mod:`.asgi`), the clock modes (:mod:`.clock`) and the admin API
  (:mod:`.admin`).

``README.md`` next to this file describes all of it for users.
"""

from freshliance_pipeline.sandbox.asgi import SandboxApp, create_app
from freshliance_pipeline.sandbox.clock import Clock
from freshliance_pipeline.sandbox.counts import RequestCounts
from freshliance_pipeline.sandbox.faults import FaultPlan, FaultRule, FlowLimit, Latency
from freshliance_pipeline.sandbox.fleet import (
    BAD_ROW_KINDS,
    BadRow,
    BadRowKind,
    Fleet,
    FleetConfig,
    UnknownTripError,
)
from freshliance_pipeline.sandbox.gateway import AppRegistry, Gateway
from freshliance_pipeline.sandbox.quirks import WireQuirks
from freshliance_pipeline.sandbox.server import SandboxServer
from freshliance_pipeline.sandbox.webhook import WebhookPusher

__all__ = [
    "BAD_ROW_KINDS",
    "AppRegistry",
    "BadRow",
    "BadRowKind",
    "Clock",
    "FaultPlan",
    "FaultRule",
    "Fleet",
    "FleetConfig",
    "FlowLimit",
    "Gateway",
    "Latency",
    "RequestCounts",
    "SandboxApp",
    "SandboxServer",
    "UnknownTripError",
    "WebhookPusher",
    "WireQuirks",
    "create_app",
]
