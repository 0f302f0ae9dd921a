"""The range coder and the float -> integer quantiser, tested like a library would be:
property-based round trips on random tables with near-zero frequencies, the code length
against the ideal one, and the deterministic exp/tanh against the library ones."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import needs_kernels

needs_kernels()  # before the compressor's imports, which load its compiled kernels

from bottlenet.compress import coder, kernels, quantiser


def quantised(p: np.ndarray) -> np.ndarray:
    f = np.zeros(len(p), np.int64)
    coder.quantise(np.asarray(p, np.float64), f)
    return f


probabilities = hnp.arrays(np.float64, st.integers(2, 256),
                           elements=st.floats(0, 1, allow_subnormal=True))


@given(probabilities)
def test_quantise_sums_to_total_and_keeps_every_symbol(p):
    f = quantised(p)
    assert f.sum() == coder.TOTAL
    assert f.min() >= 1


@given(probabilities)
def test_quantise_keeps_the_order_of_probabilities(p):
    p = p / p.sum() if p.sum() > 0 else p
    f = quantised(p)
    more_likely = p[:, None] > p[None, :]
    assert (f[:, None] >= f[None, :])[more_likely].all()


def test_quantise_survives_nan_and_excess():
    f = quantised(np.array([np.nan, 2.0, 1.0, -1.0]))
    assert f.sum() == coder.TOTAL and f.min() >= 1
    assert f[0] == 1 and f[3] == 1      # NaN and negative: the floor of 1


@given(hnp.arrays(np.float64, st.integers(0, 300), elements=st.one_of(
    st.floats(0, 1, allow_subnormal=True), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 0.5, 2.0**-17, 1 - 2.0**-53, np.nan]))))
def test_the_numpy_quantiser_equals_the_compiled_one(p):
    """C16 codes HELLO with the NumPy quantiser (it runs where the kernels were not built):
    it must give the compressor's frequencies exactly, overshooting input included."""
    want, got = np.zeros(len(p), np.int64), np.zeros(len(p), np.int64)
    coder.quantise(p, want)
    quantiser.quantise(p, got)
    assert np.array_equal(got, want)
    assert quantiser.TOTAL == coder.TOTAL and quantiser.TOTAL_BITS == coder.TOTAL_BITS


@st.composite
def streams(draw):
    """Symbols and one frequency table per symbol, from near-uniform to one symbol taking
    all but 1/TOTAL of the mass per other symbol; the coded symbol is often a rare one."""
    n_sym = draw(st.integers(2, 256))
    length = draw(st.integers(0, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    sharp = draw(st.floats(0.001, 10))
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(n_sym, sharp), size=length)
    freqs = np.zeros((length, n_sym), np.int64)
    for t in range(length):
        coder.quantise(p[t], freqs[t])
    rare = draw(st.floats(0, 1))
    symbols = np.where(rng.random(length) < rare,
                       freqs.argmin(axis=1) if length else 0,
                       [rng.choice(n_sym, p=f / coder.TOTAL) for f in freqs])
    return symbols.astype(np.int64), freqs


@settings(max_examples=200, deadline=None)
@given(streams())
def test_coder_round_trip_and_length_near_ideal(stream):
    symbols, freqs = stream
    data = coder.encode_symbols(symbols, freqs)
    assert (coder.decode_symbols(data, freqs) == symbols).all()
    n = len(symbols)
    ideal = -np.log2(freqs[np.arange(n), symbols] / coder.TOTAL).sum() if n else 0.0
    # r = range >> 16 loses < 2**-8 of the range per symbol (< 0.006 bits), plus the flush.
    assert 8 * len(data) <= ideal + 0.006 * n + 8 * coder.FLUSH_BYTES


def test_coder_codes_a_symbol_of_frequency_one_in_sixteen_bits():
    freqs = np.full((1000, 256), 1, np.int64)
    freqs[:, 0] = coder.TOTAL - 255
    symbols = np.full(1000, 255)          # always the least likely symbol
    data = coder.encode_symbols(symbols, freqs)
    assert (coder.decode_symbols(data, freqs) == symbols).all()
    assert abs(len(data) - 2000) <= 8


def test_coder_output_bound_two_bytes_per_symbol():
    # compress() sizes its buffer as 2 bytes per symbol + 64; the worst case must fit.
    freqs = np.full((5000, 256), 1, np.int64)
    freqs[:, 7] = coder.TOTAL - 255
    data = coder.encode_symbols(np.zeros(5000, np.int64), freqs)
    assert len(data) <= 2 * 5000 + 64


def test_decoder_on_garbage_returns_symbols_without_crashing():
    freqs = np.tile(quantised(np.full(256, 1 / 256)), (100, 1))
    out = coder.decode_symbols(bytes(range(7)), freqs)
    assert out.shape == (100,) and out.min() >= 0 and out.max() < 256


def test_deterministic_exp_is_accurate():
    for x in np.concatenate([np.linspace(-45, 0, 40001), [-1e-300, -0.0]]):
        want = math.exp(max(x, -kernels.EXP_FLOOR))
        assert abs(kernels.exp_neg(x) - want) <= 2e-7 * want, x


def test_deterministic_tanh_is_accurate_and_odd():
    half = np.linspace(0, 20, 10001)
    xs = np.concatenate([-half[::-1], half])
    got = np.array([kernels.tanh(x) for x in xs])
    assert np.abs(got - np.tanh(xs)).max() < 1e-7
    assert (got == -got[::-1]).all()
    assert np.abs(got).max() <= 1.0
