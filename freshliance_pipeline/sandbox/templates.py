"""Configuration templates of the sandbox account (``tracker.configTemplate.page`` rows).

The docs list the ``tripConfig`` fields but the page is cut inside ``phoneList`` (freshliance-api.md
section 6.7), so these are our assumptions: each row is ``{"tripConfig": {...}}`` (section 9, item
25); ``phoneList`` entries carry only the two readable fields, ``areaCode`` and ``phone``; optional
fields are left out rather than null (flight times exist only when flight mode is on); units of
``startDelay``, ``collectInterval`` and ``activeTime`` are minutes, as the page says.
"""

from __future__ import annotations

from typing import Any

from freshliance_pipeline.sandbox._noise import Draws
from freshliance_pipeline.sandbox.world import DAY, HOUR

_TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "templateName": "Pharma 2-8C 5min",
        "startDelay": 0,
        "collectInterval": 5,
        "activeTime": 30,
        "buttonFlag": 1,
        "gpsFlag": 1,
        "wifiFlag": 1,
        "flightFlag": 0,
        "lightFlag": 1,
        "shockFlag": 1,
        "email": "qa@coldchain.example.com,ops@coldchain.example.com",
        "phoneList": [{"areaCode": "+86", "phone": "13800138000"}],
    },
    {
        "templateName": "Frozen export 15min (air)",
        "startDelay": 30,
        "collectInterval": 15,
        "activeTime": 60,
        "buttonFlag": 0,
        "gpsFlag": 1,
        "wifiFlag": 0,
        "flightFlag": 1,
        "lightFlag": 0,
        "shockFlag": 1,
        "email": "export@coldchain.example.com",
        "phoneList": [
            {"areaCode": "+86", "phone": "13900139000"},
            {"areaCode": "+31", "phone": "612345678"},
        ],
    },
    {
        "templateName": "Produce 10min",
        "startDelay": 5,
        "collectInterval": 10,
        "activeTime": 15,
        "buttonFlag": 1,
        "gpsFlag": 0,
        "wifiFlag": 1,
        "flightFlag": 0,
        "lightFlag": 0,
        "shockFlag": 0,
    },
)


def template_rows(seed: int, anchor_ms: int) -> tuple[dict[str, Any], ...]:
    """Two or three templates, ids and flight window drawn from the seed."""
    draws = Draws(seed, "templates")
    count = draws.integer(2, 3)
    template_id = 45_000 + draws.integer(0, 999)
    rows = []
    for template in _TEMPLATES[:count]:
        config = {"tripConfigTemplateId": template_id, **template}
        if config["flightFlag"] == 1:
            start = anchor_ms - 2 * DAY + draws.integer(0, 12) * HOUR
            config["flightStartTime"] = start
            config["flightEndTime"] = start + draws.integer(2, 14) * HOUR
        rows.append({"tripConfig": config})
        template_id += draws.integer(1, 40)
    return tuple(rows)
