"""A deterministic local stand-in for the Freshliance tracker API, served over real HTTP.

``Fleet`` is the account (devices, trips, readings) as a pure function of a seed and a
``Clock``; ``create_app`` wraps it in the gateway protocol (signed requests, documented error
envelopes, paging rules) as an ASGI app; ``SandboxServer`` runs that app on loopback. Tests and the
demo point the real client at it and compare what lands in the warehouse with
``Fleet.ground_truth``. Never imports Dagster.
"""

from freshliance_pipeline.sandbox.clock import Clock
from freshliance_pipeline.sandbox.fleet import Fleet, FleetConfig, UnknownTripError
from freshliance_pipeline.sandbox.gateway import AppRegistry, RequestCounts, create_app
from freshliance_pipeline.sandbox.server import SandboxServer

__all__ = [
    "AppRegistry",
    "Clock",
    "Fleet",
    "FleetConfig",
    "RequestCounts",
    "SandboxServer",
    "UnknownTripError",
    "create_app",
]
