"""Wire quirks: the ways a real gateway's answers may differ from the docs' examples, as switches.

Each switch is off by default, so the sandbox answers exactly like the docs' examples: ``code``
the string ``"0"``, ``data`` a JSON object, longs as numbers, readings in time order, unsigned.
Each one on is a reading of the docs that a client must survive (freshliance-api.md section 9):

========================  ====================================================================
``data_as_string``        ``data`` is the JSON text of the payload. Documented type: the
                          response table types ``data`` String (item 4); examples show objects.
``code_as_number``        ``code`` is a JSON number (``0``, ``40000``). Our assumption: the
                          docs type it String and quote it (item 5); some third-party code
                          tolerates both.
``longs_as_strings``      epoch-millisecond fields (``LONG_FIELDS``) are numeric strings.
                          Documented in gateway examples (``"dataTime": "1747640566191"``,
                          item 36); assumed possible here.
``row_order``             ``"reversed"`` (newest first) or ``"scrambled"`` (a fixed permutation
                          of the window, so pages interleave in time) for trip readings. Our
                          assumption: the docs state no order. Paging stays complete.
``clock_tick_ms``         every authenticated request first moves the sandbox clock forward by
                          this much, so new data arrives mid-paging and ``total`` grows
                          between pages, as on a live account. Our assumption.
``sign_responses``        the response carries ``sign``, made with a platform key (recipe
                          below). Documented that responses are signed (section 3.3); the field
                          list, serialisation and key are not, so the recipe is ours.
========================  ====================================================================

``bizContent`` as a JSON string or an object is always accepted (not a switch): the docs show
both (item 1).

Response signature recipe (ours; the docs leave it open): take the response's top-level fields
except ``sign``, drop those whose value is empty (null or ""; a success's empty ``subCode`` and
``subMsg``), write each as ``name=value`` with ``data`` as its canonical JSON (compact, keys
sorted, UTF-8 unescaped; as is when ``data_as_string`` already made it text) and numbers as their
JSON text, sort by name, join with ``&``, and sign with SHA256withRSA (PKCS#1 v1.5), base64. That
is the request signature's own recipe (:func:`freshliance_pipeline.api.signing.string_to_sign`)
applied to the response as sent, so a client verifies with the same code it signs with, against
the platform public key (``FRESHLIANCE_PLATFORM_PUBLIC_KEY``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, get_args

from freshliance_pipeline.sandbox.fleet import RowOrder

# Epoch-millisecond fields of the tracker rows, as typed "long" in the docs.
LONG_FIELDS = frozenset(
    {
        "ts",
        "bindTime",
        "batteryTime",
        "expectedBeginTime",
        "expectedEndTime",
        "actualBeginTime",
        "actualEndTime",
        "flightStartTime",
        "flightEndTime",
    }
)


@dataclass(frozen=True)
class WireQuirks:
    data_as_string: bool = False
    code_as_number: bool = False
    longs_as_strings: bool = False
    row_order: RowOrder = "time"
    clock_tick_ms: int = 0
    sign_responses: bool = False

    def __post_init__(self) -> None:
        for name in ("data_as_string", "code_as_number", "longs_as_strings", "sign_responses"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        if self.row_order not in get_args(RowOrder):
            raise ValueError(f"row_order must be one of {get_args(RowOrder)}")
        tick = self.clock_tick_ms
        if isinstance(tick, bool) or not isinstance(tick, int) or tick < 0:
            raise ValueError("clock_tick_ms must be a non-negative integer")

    def updated(self, changes: Mapping[str, Any]) -> WireQuirks:
        """A copy with ``changes`` applied; unknown names are an error, not ignored."""
        known = {field.name for field in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown quirks {unknown}; known: {sorted(known)}")
        return replace(self, **dict(changes))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def shape(envelope: Mapping[str, Any], quirks: WireQuirks) -> dict[str, Any]:
    """The envelope as the quirks say it goes on the wire (before signing)."""
    shaped = dict(envelope)
    if "data" in shaped:
        data = shaped["data"]
        if quirks.longs_as_strings:
            data = _longs_to_strings(data)
        if quirks.data_as_string:
            data = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        shaped["data"] = data
    if quirks.code_as_number:
        shaped["code"] = int(shaped["code"])
    return shaped


def _longs_to_strings(value: Any) -> Any:
    if isinstance(value, list):
        return [_longs_to_strings(item) for item in value]
    if isinstance(value, dict):
        return {
            key: str(item)
            if key in LONG_FIELDS and isinstance(item, int) and not isinstance(item, bool)
            else _longs_to_strings(item)
            for key, item in value.items()
        }
    return value
