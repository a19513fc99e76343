"""Cooldowns and daily caps under an injected clock."""

from __future__ import annotations

from orderbot.limits import DAY_SECONDS, Cooldown, DailyCap
from tests.conftest import FakeClock


def test_cooldown_blocks_until_the_wait_is_over(clock: FakeClock) -> None:
    cooldown = Cooldown(30, timer=clock)
    cooldown.use("alice")

    clock.advance(10)
    assert cooldown.remaining("alice") == 20
    clock.advance(20)
    assert cooldown.remaining("alice") == 0


def test_cooldown_is_per_key(clock: FakeClock) -> None:
    cooldown = Cooldown(30, timer=clock)
    cooldown.use("alice")

    assert cooldown.remaining("bob") == 0


def test_cooldown_zero_turns_it_off(clock: FakeClock) -> None:
    cooldown = Cooldown(0, timer=clock)
    cooldown.use("alice")

    assert cooldown.remaining("alice") == 0


def test_daily_cap_refuses_past_the_limit(clock: FakeClock) -> None:
    cap = DailyCap(3, timer=clock)
    for _ in range(3):
        assert cap.allows("alice")
        cap.record("alice")

    assert not cap.allows("alice")
    assert cap.allows("bob")


def test_daily_cap_frees_a_slot_after_24_hours(clock: FakeClock) -> None:
    cap = DailyCap(2, timer=clock)
    cap.record("alice")
    clock.advance(3600)
    cap.record("alice")

    assert cap.seconds_until_free("alice") == DAY_SECONDS - 3600
    clock.advance(DAY_SECONDS - 3600)
    assert cap.allows("alice")
    assert not DailyCap(2, timer=clock).seconds_until_free("x")


def test_cooldown_change_applies_to_past_uses(clock: FakeClock) -> None:
    cooldown = Cooldown(30, timer=clock)
    cooldown.use("alice")
    clock.advance(40)

    cooldown.seconds = 60

    assert cooldown.remaining("alice") == 20


def test_daily_cap_raised_limit_allows_more(clock: FakeClock) -> None:
    cap = DailyCap(2, timer=clock)
    for _ in range(2):
        cap.record("alice")

    cap.limit = 4
    cap.record("alice")
    cap.record("alice")

    assert not cap.allows("alice")


def test_daily_cap_lowered_limit_waits_for_enough_to_age_out(clock: FakeClock) -> None:
    cap = DailyCap(3, timer=clock)
    for _ in range(3):
        cap.record("alice")
        clock.advance(3600)

    cap.limit = 2

    assert not cap.allows("alice")
    assert cap.seconds_until_free("alice") == DAY_SECONDS - 2 * 3600
