"""Types of the compiled kernels (kernels.pyx), for the type checker."""

import numpy as np

BUILD: str
EXP_FLOOR: float
FIRST_BYTES: float
NO_WINDOW: int
TOTAL_BITS: int
TOTAL: int
LOW: int
RANGE: int
CACHE: int
PENDING: int
POS: int
CODE: int
STATE_SIZE: int
FLUSH_BYTES: int
WORD: int
WORDS: int
MATCH: int
COLUMN: int
WORD_SKIP: int
SPARSE_23: int
SPARSE_13: int
SPARSE_2: int
ALIGN: int
RECORD: int
RECORD_LEFT: int
RECORD_COL: int
RECORD_IMAGE: int
MARKUP: int
MARKUP_WORD: int
INDIRECT_1: int
INDIRECT_2: int
IMAGE_WN: int
IMAGE_GRAD: int
IMAGE_WNW: int
IMAGE_NNE: int
IMAGE_AVG: int
IMAGE_EXT: int
IMAGE_COLOR: int
IMAGE_QUANT: int
IMAGE_VCOLOR: int
IMAGE_MCOLOR: int
IMAGE_CONTEXTS: int
APM_STEPS: int
PIPE_RING: int
PIPE_CTX: int
PIPE_FROM: int
SPEC_RING: int
APM_CONTEXTS: int
APM_SIZE: int
APM_RATE: int
P_LEAST: int
APM_MAPS: int
MIX_INPUTS: int
MIX_SETS: int
CM_MAX: int
CM_BUCKET: int
CM_LIMIT: int
ROW_ONE: int
ROW_LIMIT: int
MIX_WIDE: int
MIX_KNOWN_SETS: int
MIX_WIDE_SETS: int
MIX_BYTE_SETS: int
MIX_FINAL_SETS: int
MIX_FINAL_RATE: int
APM_WIDE_MAPS: int
CM_CLASSES: int
CM_MAPS_SIZE: int
CM_MAP_RATE: int
MIX_QUIET: int
MIX_SHIFT: int
LR_INPUT: int
LR_BOOST: int
LR_OUTPUT: int
LR_HIDDEN_BIAS: int
LR_CLAMP: int
LR_MATCH: int
LR_OUTPUT_FIRST: int
LR_BIAS: int
LR_SKIP: int
LR_RATES: int
CTX_HIST: int
CTX_WORD: int
CTX_SEED: int
CTX_PREV_WORD: int
CTX_SHIFT: int
CTX_MPTR: int
CTX_MLEN: int
CTX_POS: int
CTX_MMIN: int
CTX_MSHIFT: int
CTX_WMASK: int
CTX_WDIST: int
CTX_LINE: int
CTX_PREV_LINE: int
CTX_PREV2_WORD: int
CTX_BSHIFT: int
CTX_STEPS: int
CTX_RLEN: int
CTX_RLEN1: int
CTX_RCOUNT1: int
CTX_RLEN2: int
CTX_RCOUNT2: int
CTX_CPOS: int
CTX_TAG: int
CTX_MARKUP: int
MARKUP_CONTENT: int
MARKUP_NAME: int
MARKUP_TAG: int
MARKUP_VALUE: int
CTX_IMAGE: int
CTX_IMAGE_KEYS: int
CTX_SIZE: int
RECORD_MAX: int
MATCH_VERIFY: int
MATCH_LONGEST: int

def exp_neg(x: float) -> float: ...
def tanh(x: float) -> float: ...
def mul_add(a: float, b: float, c: float) -> float: ...
def quantise(p: np.ndarray, freq: np.ndarray) -> None: ...
def encoder_start(state: np.ndarray) -> None: ...
def encoder_finish(state: np.ndarray, out: np.ndarray) -> int: ...
def decoder_start(state: np.ndarray, buf: np.ndarray) -> None: ...
def encode_all(symbols: np.ndarray, freqs: np.ndarray, out: np.ndarray) -> int: ...
def decode_all(buf: np.ndarray, freqs: np.ndarray) -> np.ndarray: ...
def apm_table(bit_models: bool = False, final: bool = False,
              final_maps: int = 1) -> np.ndarray: ...
def mixer_table(bit_models: int = 0, final: bool = False,
                confidence: bool = False) -> np.ndarray: ...
def cm_entries(bits: int, contexts: int) -> int: ...
def code_filter(buf: np.ndarray, offset: int, ranges: np.ndarray, encode: bool,
                arm64: bool = False) -> None: ...
def record_length(data: bytes | np.ndarray) -> int: ...
def markup_state(data: bytes | np.ndarray) -> tuple[int, int]: ...
def guess_wrong_every(n: int) -> None: ...
def rate_array(lr_input: float, boost: float, lr_output: float, lr_hidden_bias: float,
               clamp: float, lr_match: float, lr_output_first: float, lr_bias: float,
               skip: float, per_context: tuple[float, ...]) -> np.ndarray: ...

class Predictor:
    E: np.ndarray
    seen: np.ndarray
    Wt: np.ndarray
    c: np.ndarray
    b: np.ndarray
    orders: np.ndarray
    lr: np.ndarray
    ctx: np.ndarray
    scratch: np.ndarray
    idx: np.ndarray
    mtab: np.ndarray
    mw: np.ndarray
    B: np.ndarray
    bias_orders: np.ndarray
    apm: np.ndarray | None
    mixer: np.ndarray | None
    cm: np.ndarray | None
    cm_orders: np.ndarray | None
    cm_map: bool
    cm_ways: int
    final_mixer: bool
    mixer_boost: int
    cm_confidence: bool
    final_maps: int
    two_threads: bool
    calls_in_two_threads: int
    guessing: bool
    guesses_right: int
    guesses_wrong: int
    def __init__(self, E: np.ndarray, seen: np.ndarray, Wt: np.ndarray, c: np.ndarray,
                 b: np.ndarray, orders: np.ndarray, lr: np.ndarray, ctx: np.ndarray,
                 scratch: np.ndarray, idx: np.ndarray, mtab: np.ndarray, mw: np.ndarray,
                 B: np.ndarray, bias_orders: np.ndarray,
                 apm: np.ndarray | None = None,
                 mixer: np.ndarray | None = None,
                 cm: np.ndarray | None = None,
                 cm_orders: np.ndarray | None = None, cm_map: bool = False,
                 cm_ways: int = 1, final_mixer: bool = False,
                 mixer_boost: int = 0, cm_confidence: bool = False,
                 final_maps: int = 1) -> None: ...
    def encode(self, data: np.ndarray, start: int, end: int, state: np.ndarray,
               out: np.ndarray, coded_freq: np.ndarray, freq: np.ndarray,
               cum: np.ndarray) -> None: ...
    def decode(self, buf: np.ndarray, start: int, end: int, state: np.ndarray,
               out: np.ndarray, freq: np.ndarray, cum: np.ndarray) -> None: ...
    def learn(self, data: np.ndarray, start: int, end: int, freq: np.ndarray) -> None: ...
    def probe_hash(self, data: np.ndarray, freq: np.ndarray) -> int: ...
