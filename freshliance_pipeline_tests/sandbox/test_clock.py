"""The sandbox clock: frozen until moved, or running at a chosen speed from a chosen start."""

from __future__ import annotations

import pytest

from freshliance_pipeline.sandbox import Clock


class FakeMonotonic:
    """A monotonic clock the test moves by hand, in nanoseconds."""

    def __init__(self) -> None:
        self.ns = 10**12

    def __call__(self) -> int:
        return self.ns

    def sleep(self, ms: int) -> None:
        self.ns += ms * 1_000_000


def test_a_frozen_clock_moves_only_when_set_or_advanced() -> None:
    ticks = FakeMonotonic()
    clock = Clock(1_000, monotonic_ns=ticks)

    ticks.sleep(5_000)
    before = clock.now_ms()
    after_advance = clock.advance(250)
    clock.set(100)

    assert clock.mode == "frozen"
    assert (before, after_advance, clock.now_ms()) == (1_000, 1_250, 100)


def test_a_running_clock_follows_real_time_at_its_speed_and_can_jump() -> None:
    ticks = FakeMonotonic()
    clock = Clock(1_000, running=True, speed=60.0, monotonic_ns=ticks)

    ticks.sleep(1_000)
    one_minute_on = clock.now_ms()
    clock.advance(-30_000)
    ticks.sleep(500)
    after_jump = clock.now_ms()
    clock.set(5_000)
    ticks.sleep(10)

    assert clock.mode == "real" and clock.speed == 60.0
    assert one_minute_on == 61_000
    assert after_jump == 61_000 - 30_000 + 30_000
    assert clock.now_ms() == 5_600


def test_freeze_and_run_switch_modes_without_jumping() -> None:
    ticks = FakeMonotonic()
    clock = Clock(0, running=True, monotonic_ns=ticks)

    ticks.sleep(2_000)
    frozen_at = clock.freeze()
    ticks.sleep(9_000)
    still = clock.now_ms()
    clock.run(speed=2.0)
    ticks.sleep(1_000)

    assert frozen_at == still == 2_000
    assert clock.now_ms() == 4_000 and clock.mode == "real"


def test_real_time_starts_at_the_wall_clock() -> None:
    import time

    before = time.time_ns() // 1_000_000
    clock = Clock.real_time()

    assert before <= clock.now_ms() <= time.time_ns() // 1_000_000 + 1
    assert Clock.real_time(42, speed=0.5).now_ms() >= 42


@pytest.mark.parametrize("bad", [1.5, True, "1"])
def test_times_must_be_integer_milliseconds(bad: object) -> None:
    with pytest.raises(TypeError):
        Clock(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Clock(0).advance(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("speed", [0, -1.0, True])
def test_speed_must_be_positive(speed: object) -> None:
    with pytest.raises(ValueError):
        Clock(0, speed=speed)  # type: ignore[arg-type]
