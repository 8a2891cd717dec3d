"""Deal outcomes beside adherence: the statistics claim a lift only with its interval, and only when it is there."""
from __future__ import annotations

import random

import pytest

from compliance.history.outcomes import DealStages, Lift, conversions, newcombe, stage_lifts, wilson


@pytest.mark.parametrize("k, n, low, high", [(81, 263, 0.2553, 0.3662), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0)])
def test_wilson_matches_published_values(k, n, low, high):
    got = wilson(k, n)
    assert got == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize("k1, n1, k0, n0, low, high", [(56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090)])
def test_newcombe_matches_his_worked_examples(k1, n1, k0, n0, low, high):
    assert newcombe(k1, n1, k0, n0) == pytest.approx((low, high), abs=1e-3)


def _deals(rng: random.Random, n: int, p_with: float, p_without: float, share_with: float = 0.5) -> list[DealStages]:
    deals = []
    for i in range(n):
        had = rng.random() < share_with
        won = rng.random() < (p_with if had else p_without)
        deals.append(DealStages(deal_id=i, status="won" if won else "lost", value=1000, currency="UAH",
                                manager=f"m{i % 3}", stages={"payment_timing": had}))
    return deals


def test_a_known_effect_is_found_and_its_interval_holds_the_true_difference():
    """100 synthetic teams of 400 closed deals where the stage adds 30 points to the win rate."""
    rng = random.Random(7)
    lifts = [stage_lifts(_deals(rng, 400, 0.55, 0.25), {"payment_timing": "Оплата"})[0] for _ in range(100)]
    assert all(lift.enough and lift.with_deals + lift.without_deals == 400 for lift in lifts)
    assert sum(lift.claim == "more" for lift in lifts) >= 95          # found (the power here is ~100 %)
    covered = sum(lift.interval[0] < 0.30 < lift.interval[1] for lift in lifts)
    assert covered >= 88                                              # 95 % intervals: ~95 of 100


def test_no_effect_claims_none_at_the_stated_confidence():
    """200 synthetic teams with no effect: a lift is claimed in about 5 % of them, not more (95 % intervals)."""
    rng = random.Random(11)
    claimed = sum(stage_lifts(_deals(rng, 200, 0.35, 0.35), {"payment_timing": "x"})[0].claim in ("more", "less")
                  for _ in range(200))
    assert claimed <= 20                                   # 5 % expected; 10 % leaves room for chance


def test_too_few_deals_is_said_not_guessed():
    deals = _deals(random.Random(3), 40, 0.9, 0.1)
    lift = stage_lifts(deals, {"payment_timing": "x"})[0]
    assert not lift.enough and lift.interval is None and lift.claim == "few"
    assert stage_lifts(deals, {"payment_timing": "x"}, min_group=5)[0].claim == "more"


def test_open_deals_and_calls_without_the_stage_in_the_script_are_left_out():
    deals = [DealStages(deal_id=1, status="open", stages={"a": True}),
             DealStages(deal_id=2, status="won", stages={"b": True}),
             DealStages(deal_id=3, status="won", stages={"a": True}),
             DealStages(deal_id=4, status="lost", stages={"a": False})]
    lift = stage_lifts(deals, {"a": "A"}, min_group=1)[0]
    assert (lift.with_deals, lift.with_won, lift.without_deals, lift.without_won) == (1, 1, 1, 0)


def test_conversion_per_manager_and_team_with_mean_won_value():
    deals = [DealStages(deal_id=1, status="won", value=1000, currency="UAH", manager="a"),
             DealStages(deal_id=2, status="lost", manager="a"),
             DealStages(deal_id=3, status="won", value=3000, currency="UAH", manager="b"),
             DealStages(deal_id=4, status="won", value=50, currency="USD", manager="b"),
             DealStages(deal_id=5, status="open", manager="b")]
    conv = conversions(deals)
    assert (conv["a"].closed, conv["a"].won, conv["a"].rate) == (2, 1, 0.5)
    assert conv["b"].mean_value == 3000 and conv["b"].currency == "UAH"   # USD is not averaged with hryvnias
    assert (conv[""].closed, conv[""].won) == (4, 3)
    low, high = conv[""].interval
    assert low < 0.75 < high


def test_lift_rates():
    lift = Lift(stage_id="a", with_deals=40, with_won=20, without_deals=50, without_won=10)
    assert (lift.rate_with, lift.rate_without) == (0.5, 0.2)
