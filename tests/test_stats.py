import pytest

from bottlenet.stats import describe, wilson_interval


def test_wilson_known_values():
    # Reference values from the closed form (Wilson 1927), z = 1.96.
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(32, 32) == pytest.approx((0.8928, 1.0), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_describe():
    d = describe([1, 2, 3, 4, 5, float("nan")])
    assert d == {"n": 5, "min": 1, "q1": 2, "median": 3, "q3": 4, "max": 5}
    assert describe([]) is None


def test_wilson_interval_contains_the_rate():
    for t in range(1, 80):
        for s in range(t + 1):
            lo, hi = wilson_interval(s, t)
            assert lo <= s / t + 1e-12 and s / t <= hi + 1e-12
