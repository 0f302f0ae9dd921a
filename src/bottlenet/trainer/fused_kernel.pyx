# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The softmax's last layer of the full-batch step, fused: for each pair its logits, their
maximum, exponentials and both gradient products in one sweep over the outputs, in the
caches (optional: trainer/fused.py uses it where it was built, trainer/chunked.py's XLA
version everywhere else).

Why: XLA's chunked step (trainer/chunked.py) writes each chunk's logits and their
exponentials to memory and reads them back for the maximum, the sums and two products;
here a pair's logits are made twice (for the maximum, then for the exponentials, whose
row stays in the L1 cache for the gradients) and never leave the caches, with an
exponential of its own (2^n by the exponent bits, 2^f by a polynomial of degree 5,
relative error below 2e-7: the step needs gradients, not the last ulp) on 16 lanes at a
time (GCC's vector extensions: AVX-512 registers where the machine has them), and the
last layer's gradient rows are written once per 8 pairs. One network at n = 4,096, k = 2 on one core:
about 2x faster than the XLA chunk (benchmarks/capacity_fused.py).

The loss, outcome and gradients are the XLA version's (trainer/chunked.last_layer: the
solve target's logit out of its row for the maximum, the rule `other <= best - tol`,
G = w (softmax - onehot)); sums are taken in another order, so they agree to float32's
rounding, not bit for bit.
"""

import numpy as np

from libc.stdint cimport int32_t, uint8_t

cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <string.h>
    typedef float v16 __attribute__((vector_size(64)));
    typedef int32_t v16i __attribute__((vector_size(64)));
    #define BN_NEG (-3.0e38f)
    #define BN_P 8
    #define BN_KMAX 8
    #define BN_L 16

    static inline v16 vld(const float* p) { v16 v; memcpy(&v, p, 64); return v; }
    static inline void vst(float* p, v16 v) { memcpy(p, &v, 64); }
    static inline v16 splat(float x) { return (v16){x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x}; }
    static inline float hsum(v16 v) { float s = 0; for (int i = 0; i < BN_L; i++) s += v[i]; return s; }
    static inline float hmax(v16 v) { float s = BN_NEG; for (int i = 0; i < BN_L; i++) s = v[i] > s ? v[i] : s; return s; }
    #if defined(__AVX512F__)
    #define BN_AVX512 1
    #include <immintrin.h>
    static inline v16 vmax(v16 a, v16 b) { return (v16)_mm512_max_ps((__m512)a, (__m512)b); }
    #else
    #define BN_AVX512 0
    static inline v16 vmax(v16 a, v16 b) { v16i k = a > b; return (v16)(((v16i)a & k) | ((v16i)b & ~k)); }
    #endif

    static inline v16 exp2_fraction(v16 f) {
        /* 2^f for f in [-1/2, 1/2]: a polynomial of degree 5, relative error below 2e-7 */
        v16 p = splat(1.3333558146428443e-3f);
        p = p * f + splat(9.6181291076284772e-3f);
        p = p * f + splat(5.5504108664821580e-2f);
        p = p * f + splat(2.4022650695910071e-1f);
        p = p * f + splat(6.9314718055994531e-1f);
        return p * f + splat(1.0f);
    }

    static inline v16 vexp_neg(v16 x) {
        /* e^x = 2^n 2^f, n = x log2(e) rounded to the nearest integer (AVX-512: by
           vrndscaleps, 2^n p by vscalefps; else by adding 1.5 x 2^23, which leaves n in the
           sum's low mantissa bits, and 2^n from the exponent bits), f in [-1/2, 1/2]; x
           below -87 taken as -87 (2^-125.5) */
        x = vmax(x, splat(-87.0f));
        v16 t = x * splat(1.44269504088896341f);
    #if BN_AVX512
        v16 n = (v16)_mm512_roundscale_ps((__m512)t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        return (v16)_mm512_scalef_ps((__m512)exp2_fraction(t - n), (__m512)n);
    #else
        v16 r = t + splat(12582912.0f);
        v16 n = r - splat(12582912.0f);
        v16 p = exp2_fraction(t - n);
        v16i bits; memcpy(&bits, &r, 64);
        bits = (bits - (0x4B400000 - 127)) << 23;
        v16 scale; memcpy(&scale, &bits, 64);
        return p * scale;
    #endif
    }

    /* n a multiple of 16 here (outputs padded by the caller: bias -inf, weights 0) */
    static inline __attribute__((always_inline)) double
    last_layer_k(int m, int n, const int k, const float* restrict h, const float* restrict w1,
                 const int32_t* restrict target, const int32_t* restrict solve,
                 const float* restrict weight, const float* restrict tol,
                 uint8_t* restrict correct, float* restrict dh, float* restrict dw1,
                 float* restrict rows) {
        const int K = k + 1;
        double loss = 0;
        memset(dw1, 0, sizeof(float) * K * n);
        const float* bias = w1 + k * n;
        for (int i0 = 0; i0 < m; i0 += BN_P) {
            float hs[BN_P][BN_KMAX + 1];
            memset(hs, 0, sizeof hs);
            int np = m - i0 < BN_P ? m - i0 : BN_P;
            for (int p = 0; p < np; p++) {
                int i = i0 + p;
                float* row = rows + p * n;
                v16 hv[BN_KMAX];
                float hc[BN_KMAX];
                for (int c = 0; c < k; c++) { hc[c] = h[i * k + c]; hv[c] = splat(hc[c]); }
                int so = solve[i], ta = target[i];
                float best = bias[so], zt = bias[ta];
                for (int c = 0; c < k; c++) { best += hc[c] * w1[c * n + so]; zt += hc[c] * w1[c * n + ta]; }
                v16 m0 = splat(BN_NEG), m1 = splat(BN_NEG);
                int j = 0;
                for (; j + 2 * BN_L <= n; j += 2 * BN_L) {
                    v16 z0 = vld(bias + j), z1 = vld(bias + j + BN_L);
                    for (int c = 0; c < k; c++) { z0 += hv[c] * vld(w1 + c * n + j); z1 += hv[c] * vld(w1 + c * n + j + BN_L); }
                    vst(row + j, z0); vst(row + j + BN_L, z1);
                    m0 = vmax(m0, z0); m1 = vmax(m1, z1);
                }
                for (; j < n; j += BN_L) {
                    v16 z0 = vld(bias + j);
                    for (int c = 0; c < k; c++) z0 += hv[c] * vld(w1 + c * n + j);
                    vst(row + j, z0);
                    m0 = vmax(m0, z0);
                }
                /* the strongest output but the solve target */
                float keep = row[so];
                row[so] = BN_NEG;
                float other = hmax(vmax(m0, m1));
                if (keep >= other) {   /* the maximum may have been the solve target's */
                    m0 = splat(BN_NEG);
                    for (int q = 0; q < n; q += BN_L) m0 = vmax(m0, vld(row + q));
                    other = hmax(m0);
                }
                row[so] = keep;
                float shift = other > best ? other : best;
                v16 sh = splat(shift);
                v16 t0 = splat(0), t1 = splat(0);
                v16 a0[BN_KMAX], a1[BN_KMAX];
                for (int c = 0; c < k; c++) { a0[c] = splat(0); a1[c] = splat(0); }
                for (j = 0; j + 2 * BN_L <= n; j += 2 * BN_L) {
                    v16 e0 = vexp_neg(vld(row + j) - sh), e1 = vexp_neg(vld(row + j + BN_L) - sh);
                    vst(row + j, e0); vst(row + j + BN_L, e1);
                    t0 += e0; t1 += e1;
                    for (int c = 0; c < k; c++) { a0[c] += e0 * vld(w1 + c * n + j); a1[c] += e1 * vld(w1 + c * n + j + BN_L); }
                }
                for (; j < n; j += BN_L) {
                    v16 e0 = vexp_neg(vld(row + j) - sh);
                    vst(row + j, e0);
                    t0 += e0;
                    for (int c = 0; c < k; c++) a0[c] += e0 * vld(w1 + c * n + j);
                }
                float tot = hsum(t0 + t1);
                float wi = weight[i];
                loss += (log((double)tot) - (double)(zt - shift)) * wi;
                float s = wi / tot;
                for (int c = 0; c < k; c++) {
                    float ew = hsum(a0[c] + a1[c]);
                    dh[i * k + c] = ew * s - wi * w1[c * n + ta];
                    hs[p][c] = hc[c] * s;
                    dw1[c * n + ta] -= hc[c] * wi;
                }
                hs[p][k] = s;
                dw1[k * n + ta] -= wi;
                correct[i] = other <= best - tol[i];
            }
            for (int p = np; p < BN_P; p++) memset(rows + p * n, 0, sizeof(float) * n);
            v16 a[BN_P][BN_KMAX + 1];
            for (int p = 0; p < BN_P; p++) for (int c = 0; c < K; c++) a[p][c] = splat(hs[p][c]);
            for (int j = 0; j < n; j += BN_L) {
                v16 d[BN_KMAX + 1];
                for (int c = 0; c < K; c++) d[c] = vld(dw1 + c * n + j);
                for (int p = 0; p < BN_P; p++) {
                    v16 r = vld(rows + p * n + j);
                    for (int c = 0; c < K; c++) d[c] += a[p][c] * r;
                }
                for (int c = 0; c < K; c++) vst(dw1 + c * n + j, d[c]);
            }
        }
        return loss;
    }

    static double bn_last_layer(int m, int n, int k, const float* h, const float* w1,
                      const int32_t* target, const int32_t* solve, const float* weight,
                      const float* tol, uint8_t* correct, float* dh, float* dw1, float* rows) {
        switch (k) {
        case 1: return last_layer_k(m, n, 1, h, w1, target, solve, weight, tol, correct, dh, dw1, rows);
        case 2: return last_layer_k(m, n, 2, h, w1, target, solve, weight, tol, correct, dh, dw1, rows);
        case 3: return last_layer_k(m, n, 3, h, w1, target, solve, weight, tol, correct, dh, dw1, rows);
        case 4: return last_layer_k(m, n, 4, h, w1, target, solve, weight, tol, correct, dh, dw1, rows);
        default: return last_layer_k(m, n, k, h, w1, target, solve, weight, tol, correct, dh, dw1, rows);
        }
    }
    """
    double bn_last_layer(int m, int n, int k, const float* h, const float* w1,
                         const int32_t* target, const int32_t* solve, const float* weight,
                         const float* tol, uint8_t* correct, float* dh, float* dw1,
                         float* rows) nogil
    int BN_AVX512

# Whether this build has 512-bit vectors (an editable install on an AVX-512 machine). On
# narrower ones (AVX2, or a portable build's SSE2) the kernel ran at 0.4x the XLA step's
# speed on the 2-core machine, so trainer/fused.py leaves those to XLA.
AVX512 = bool(BN_AVX512)
KMAX = 8          # the most units in the last hidden layer
PAIRS_A_BLOCK = 8  # (P in the C code: the rows buffer holds this many pairs' outputs)
LANES = 16         # the outputs must be a multiple of this (padded by the caller)


def last_layer_range(const float[:, ::1] h, const float[:, ::1] w1,
                     const int32_t[::1] target, const int32_t[::1] solve,
                     const float[::1] weight, const float[::1] tol, Py_ssize_t lo,
                     Py_ssize_t hi, uint8_t[::1] correct, float[:, ::1] dh,
                     float[:, ::1] dw1) -> float:
    """Pairs [lo, hi) of one network: writes correct[lo:hi] and dh[lo:hi], and their
    part of the last layer's gradient into dw1 (k + 1, n: zeroed first); returns their
    part of the loss. h (m, k); w1 (k + 1, n) with the bias as its last row (padded
    outputs at -inf there); n a multiple of LANES. Runs without the GIL."""
    cdef int k = h.shape[1], n = w1.shape[1]
    if not 1 <= k <= KMAX or w1.shape[0] != k + 1 or n % LANES or n == 0:
        raise ValueError(f"1 to {KMAX} units and a multiple of {LANES} outputs")
    if not 0 <= lo <= hi <= h.shape[0] or dw1.shape[0] != k + 1 or dw1.shape[1] != n:
        raise ValueError("pairs or gradient outside the arrays")
    if hi == lo:
        dw1[:, :] = 0
        return 0.0
    cdef float[::1] rows = np.empty(PAIRS_A_BLOCK * n, np.float32)
    cdef double loss
    with nogil:
        loss = bn_last_layer(<int>(hi - lo), n, k, &h[lo, 0], &w1[0, 0], &target[lo],
                             &solve[lo], &weight[lo], &tol[lo], &correct[lo], &dh[lo, 0],
                             &dw1[0, 0], &rows[0])
    return loss
