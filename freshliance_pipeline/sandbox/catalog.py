"""The sandbox world's fixed tables: device models, goods profiles, places and names.

All of it is invented (our assumption: the docs describe fields, not a product catalogue or an
account), picked to look like a cold-chain tracker account. The fleet builder chooses from these
tables with seeded hashes.

Sensor sets per model decide which reading fields exist: the docs mark humidity, light, shock and
the coordinates optional in ``tracker.tripData.pageProbeData`` rows, and a row leaves a field out
(rather than sending null) when the device has no such sensor, which is our assumption. External
probe rows carry temperature and, for a temperature-humidity probe, humidity; light, shock and
position are built-in sensors, so they appear on built-in rows only (also our assumption).

Goods profiles keep normal readings inside ``[low, high]`` with a margin, so the planted
excursions are the only out-of-range runs a test will find.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["high", "low"]

BUILT_IN = 0
EXTERNAL = 1


@dataclass(frozen=True)
class DeviceModel:
    """A tracker model and the sensors each of its probes has besides temperature."""

    device_type: str
    builtin: frozenset[str]
    # None: the model has no external probe; an empty set: a temperature-only probe.
    external: frozenset[str] | None = None

    @property
    def probes(self) -> tuple[int, ...]:
        return (BUILT_IN,) if self.external is None else (BUILT_IN, EXTERNAL)

    def sensors(self, probe_type: int) -> frozenset[str]:
        """Sensors beside temperature on that probe; empty when the probe does not exist."""
        if probe_type == BUILT_IN:
            return self.builtin
        if probe_type == EXTERNAL and self.external is not None:
            return self.external
        return frozenset()


DEVICE_MODELS: tuple[DeviceModel, ...] = (
    DeviceModel("Tracker10", frozenset({"humidity", "light", "shock", "gps"})),
    DeviceModel("Tracker10P", frozenset({"humidity", "light", "shock", "gps"}), frozenset()),
    DeviceModel("Tracker20", frozenset({"gps"})),
    DeviceModel("Tracker20H", frozenset({"humidity"}), frozenset({"humidity"})),
    DeviceModel("Tracker5", frozenset()),
)


@dataclass(frozen=True)
class GoodsProfile:
    """A kind of cargo: its allowed range and how its normal temperature curve behaves."""

    name: str
    low: float
    high: float
    setpoint: float
    # Normal readings stay within setpoint +- swing, which sits inside [low, high] with margin.
    swing: float
    humidity: float
    goods: tuple[str, ...]
    excursion_directions: tuple[Direction, ...]


PHARMA = GoodsProfile(
    "pharma",
    low=2.0,
    high=8.0,
    setpoint=5.0,
    swing=2.0,
    humidity=45.0,
    goods=("COVID-19 vaccine", "Insulin pens", "Blood plasma", "Monoclonal antibodies"),
    # Freezing ruins vaccines as surely as heat does, so pharma gets low excursions too.
    excursion_directions=("high", "high", "low"),
)
FROZEN = GoodsProfile(
    "frozen",
    low=-25.0,
    high=-15.0,
    setpoint=-18.0,
    swing=2.0,
    humidity=70.0,
    goods=("Frozen shrimp", "Ice cream", "Frozen chicken", "Frozen peas"),
    excursion_directions=("high",),
)
PRODUCE = GoodsProfile(
    "produce",
    low=0.0,
    high=4.0,
    setpoint=2.0,
    swing=1.3,
    humidity=90.0,
    goods=("Oranges", "Lettuce", "Strawberries", "Blueberries"),
    excursion_directions=("high", "high", "low"),
)
GOODS_PROFILES: dict[str, GoodsProfile] = {p.name: p for p in (PHARMA, FROZEN, PRODUCE)}


@dataclass(frozen=True)
class City:
    name: str
    latitude: float
    longitude: float


ZHENGZHOU = City("Zhengzhou", 34.746611, 113.625328)
SHANGHAI = City("Shanghai", 31.230416, 121.473701)
SHENZHEN = City("Shenzhen", 22.543099, 114.057868)
BEIJING = City("Beijing", 39.904200, 116.407396)
ROTTERDAM = City("Rotterdam", 51.924420, 4.477733)
HAMBURG = City("Hamburg", 53.551085, 9.993682)
VALENCIA = City("Valencia", 39.469907, -0.376288)
PARIS = City("Paris", 48.856614, 2.352222)
CHICAGO = City("Chicago", 41.878114, -87.629798)
NEW_YORK = City("New York", 40.712776, -74.005974)

# Overland lanes a reefer truck covers in one to six days.
ROUTES: tuple[tuple[City, City], ...] = (
    (ZHENGZHOU, SHANGHAI),
    (SHANGHAI, SHENZHEN),
    (ZHENGZHOU, BEIJING),
    (ROTTERDAM, HAMBURG),
    (VALENCIA, PARIS),
    (CHICAGO, NEW_YORK),
)

GROUP_NAMES: dict[str, str] = {
    "pharma": "Pharma lanes",
    "produce": "Food distribution",
    "frozen": "Frozen export",
}

CARRIERS = ("Cold Express Logistics", "SF Cold Chain", "Kuehne+Nagel", "DHL Pharma", "顺丰冷运")
CONSIGNEES = (
    "City Hospital Pharmacy",
    "FreshMart DC North",
    "Hôtel-Dieu Central Pharmacy",
    "Metro Cash & Carry",
    "Harbour Seafood Ltd",
)
VEHICLES = ("Reefer X100", "Truck 豫A·8K213", "Container MSKU 123456-7", "Van B-FR 2201", "X100")
CUSTOM_NAMES = ("Fresh Tracker10", "Reefer rear door", "Pallet 3 top", "Cargo hold A", "Spare")
NICKNAMES = ("coldchain-ops", "feedback", "qa-logistics")
