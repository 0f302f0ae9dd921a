"""Types of the compiled fused last layer (fused_kernel.pyx), for the type checker."""

import numpy as np

AVX512: bool
KMAX: int
PAIRS_A_BLOCK: int
LANES: int

def last_layer_range(h: np.ndarray, w1: np.ndarray, target: np.ndarray, solve: np.ndarray,
                     weight: np.ndarray, tol: np.ndarray, lo: int, hi: int,
                     correct: np.ndarray, dh: np.ndarray, dw1: np.ndarray) -> float: ...
