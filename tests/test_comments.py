"""The instruments of C18-C20 on hand-made numbers: where pre-activations sit, which
units are off or dead, and a network read through sign(h)."""

import numpy as np

from bottlenet import construct, tasks
from bottlenet.experiments.comments import band_shares, sign_read, zero_shares
from bottlenet.spec import NetSpec


def test_band_and_flat_shares_follow_each_activation():
    z = np.array([[[0.0, 0.3], [5.0, -5.0]]])  # one network, two inputs, two units
    band, flat = band_shares("tanh", z)
    assert band.tolist() == [0.5] and flat.tolist() == [0.5]  # 0 and 0.3 in the band; +-5 flat
    band, flat = band_shares("sinh", z)
    assert band.tolist() == [0.5] and flat.tolist() == [0.0]  # sinh is never flat
    band, flat = band_shares("arctan", np.array([[[0.6, 0.65, 2.0, 10.0]]]))
    assert band.tolist() == [0.25]  # |f| < 1/2 below z = 2/pi (0.637)
    assert flat.tolist() == [0.5]  # slope below 0.1 past z = 6/pi (1.91)


def test_zero_shares_count_hard_zeros_and_dead_units():
    z = np.array([[[-1.0, 2.0], [-3.0, -0.5]], [[1.0, 1.0], [1.0, 1.0]]])
    relu = zero_shares("relu", z)
    assert relu["hard_zeros"].tolist() == [0.75, 0.0]
    assert relu["dead_units"].tolist() == [0.5, 0.0]  # unit 0 is off for both inputs
    leaky = zero_shares("leaky_relu", z)
    assert leaky["hard_zeros"].tolist() == [0.0, 0.0]  # softened: off, but not zero
    assert leaky["off"].tolist() == [0.75, 0.0] and leaky["dead_units"].tolist() == [0.5, 0.0]


def test_a_grid_code_at_the_corners_survives_the_sign_reading():
    # codes at (+-0.9, +-0.9): sign(h) moves each to its own corner of the square
    task = tasks.shift(5)
    params = construct.unit_weights(task, 2, 0.9, "grid")
    solved, won, codes = sign_read(NetSpec(5, 5, (2,)), params, task)
    assert (solved, won, codes) == (True, 4, 4)
    # nine symbols on a 3 x 3 grid: the middle row and column collapse onto corners
    task = tasks.shift(10)
    params = construct.unit_weights(task, 2, 0.9, "grid")
    solved, won, codes = sign_read(NetSpec(10, 10, (2,)), params, task)
    assert not solved and codes == 4 and won < 9
