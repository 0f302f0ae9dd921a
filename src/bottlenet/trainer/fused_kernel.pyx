# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The softmax's last layer of the full-batch step, fused: for each pair its logits, their
maximum, exponentials and both gradient products in two sweeps over the outputs, in the
caches (optional: trainer/fused.py uses it where it was built, trainer/chunked.py's XLA
version everywhere else).

Why: XLA's chunked step (trainer/chunked.py) writes each chunk's logits and their
exponentials to memory and reads them back for the maximum, the sums and two products.
Here the outputs are first put in the order of their weights (a Morton key, bn_order),
so that the 16 outputs of a block have like logits for every pair; then pairs go 2-4 at
a time through two sweeps, each block's weights loaded once for all of them: the
logits' maximum, then the logits again and, for the blocks not far below the maximum
(BN_FAR: in a trained network 80-90% of the blocks are far, and their exponentials are
below what a float sum can hold), the exponentials (its own: 2^n by the exponent bits,
2^f by a polynomial of degree 5, relative error below 2e-7: the step needs gradients,
not the last ulp), their sums and e W^T, keeping the exponentials for the last layer's
gradient, added once per 8 pairs. 16 lanes at a time (GCC's vector extensions: AVX-512
registers where the machine has them). One network at n = 4,096, k = 2, on one core of
the 2-core machine: 4-5 ms on trained weights, against 10 ms for the first version (a
pair at a time, every block) and about 20 for the XLA chunk
(benchmarks/capacity_fused.py).

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
    #define BN_FAR 87.0f
    #define BN_QMAX 4
    #if defined(__SSE__)
    #define BN_FTZ 1
    #include <xmmintrin.h>
    #else
    #define BN_FTZ 0
    #endif

    static inline v16 vld(const float* p) { v16 v; memcpy(&v, p, 64); return v; }
    static inline void vst(float* p, v16 v) { memcpy(p, &v, 64); }
    static inline v16 splat(float x) { return (v16){x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x}; }
    static inline float hsum(v16 v) { float s = 0; for (int i = 0; i < BN_L; i++) s += v[i]; return s; }
    static inline float hmax(v16 v) { float s = BN_NEG; for (int i = 0; i < BN_L; i++) s = v[i] > s ? v[i] : s; return s; }
    #if defined(__AVX512F__)
    #define BN_AVX512 1
    #include <immintrin.h>
    static inline v16 vmax(v16 a, v16 b) { return (v16)_mm512_max_ps((__m512)a, (__m512)b); }
    static inline int any_at_least(v16 a, v16 b) { return _mm512_cmp_ps_mask((__m512)a, (__m512)b, _CMP_GE_OQ) != 0; }
    #else
    #define BN_AVX512 0
    static inline v16 vmax(v16 a, v16 b) { v16i k = a > b; return (v16)(((v16i)a & k) | ((v16i)b & ~k)); }
    static inline int any_at_least(v16 a, v16 b) { v16i k = a >= b; int32_t m = 0; for (int i = 0; i < BN_L; i++) m |= k[i]; return m != 0; }
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

    /* a block's biases (returned) and its k weight rows (into wv), loaded once for the
       pairs a sweep takes together */
    static inline __attribute__((always_inline)) v16
    load_block(const float* bias, const float* w1, int n, int j, v16* wv, const int k) {
        for (int c = 0; c < k; c++) wv[c] = vld(w1 + (size_t)c * n + j);
        return vld(bias + j);
    }

    /* a block's logits for one pair: its biases plus the pair's k units times the block's
       weight rows */
    static inline __attribute__((always_inline)) v16
    block_logits(v16 bv, const v16* wv, const v16* hv, const int k) {
        v16 z = bv;
        for (int c = 0; c < k; c++) z += hv[c] * wv[c];
        return z;
    }

    /* n a multiple of 16 here (outputs padded by the caller: bias -inf, weights 0).
       Pairs go in groups of BN_P (the rows buffer, one dW pass a group), and within a
       group Q at a time through two sweeps over the outputs, each block of 16 outputs'
       weights loaded once for the Q pairs (the weights stream from L2 once per Q pairs,
       not per pair: the first version, a pair at a time with its logits stored, spent
       two thirds of its time moving them). Sweep 1: each pair's strongest output but its
       solve target (that lane set to -inf in its block). Sweep 2: the logits again, and
       the exponentials, sums and e W^T of every block not far (BN_FAR) below the shift,
       stored for the dW pass with a flag. */
    static inline __attribute__((always_inline)) double
    last_layer_k(int m, int n, const int k, const float* restrict h, const float* restrict w1,
                 const int32_t* restrict target, const int32_t* restrict solve,
                 const float* restrict weight, const float* restrict tol,
                 uint8_t* restrict correct, float* restrict dh, float* restrict dw1,
                 float* restrict rows, uint8_t* restrict flags) {
        const int K = k + 1, NB = n / BN_L;
        const int Q = k <= 2 ? BN_QMAX : BN_QMAX / 2;   /* fewer at a time where more registers go to h */
        double loss = 0;
        memset(dw1, 0, sizeof(float) * K * n);
        const float* bias = w1 + (size_t)k * n;
        for (int i0 = 0; i0 < m; i0 += BN_P) {
            float hs[BN_P][BN_KMAX + 1];
            memset(hs, 0, sizeof hs);
            memset(flags, 0, (size_t)BN_P * NB);
            int np = m - i0 < BN_P ? m - i0 : BN_P;
            for (int q0 = 0; q0 < np; q0 += Q) {
                int nq = np - q0 < Q ? np - q0 : Q;
                v16 hv[BN_QMAX][BN_KMAX];
                float hc[BN_QMAX][BN_KMAX], best[BN_QMAX], zt[BN_QMAX];
                int so[BN_QMAX], sob[BN_QMAX];
                for (int q = 0; q < Q; q++) {
                    int i = i0 + q0 + (q < nq ? q : nq - 1);   /* past the end: a copy, dropped */
                    so[q] = solve[i];
                    sob[q] = so[q] / BN_L;
                    best[q] = bias[so[q]];
                    zt[q] = bias[target[i]];
                    for (int c = 0; c < k; c++) {
                        hc[q][c] = h[(size_t)i * k + c];
                        hv[q][c] = splat(hc[q][c]);
                        best[q] += hc[q][c] * w1[(size_t)c * n + so[q]];
                        zt[q] += hc[q][c] * w1[(size_t)c * n + target[i]];
                    }
                }
                v16 mx[BN_QMAX];
                for (int q = 0; q < Q; q++) mx[q] = splat(BN_NEG);
                for (int b = 0; b < NB; b++) {
                    const int j = b * BN_L;
                    v16 wv[BN_KMAX], bv = load_block(bias, w1, n, j, wv, k);
                    for (int q = 0; q < Q; q++) {
                        v16 z = block_logits(bv, wv, hv[q], k);
                        if (b == sob[q]) z[so[q] - j] = BN_NEG;
                        mx[q] = vmax(mx[q], z);
                    }
                }
                float other[BN_QMAX];
                v16 sh[BN_QMAX], far[BN_QMAX], t[BN_QMAX], a[BN_QMAX][BN_KMAX];
                for (int q = 0; q < Q; q++) {
                    other[q] = hmax(mx[q]);
                    float shift = other[q] > best[q] ? other[q] : best[q];
                    sh[q] = splat(shift);
                    /* a block whose logits all trail the shift by more than BN_FAR has
                       exponentials below 2^-125.5 (e^-87), nothing a float sum holds
                       beside the e^0 = 1 of the strongest output: left out of the sums
                       and of dW. With outputs in the order of their weights (bn_order)
                       most blocks of a trained network are (80-90% at n = 4,096, k = 2). */
                    far[q] = splat(shift - BN_FAR);
                    t[q] = splat(0);
                    for (int c = 0; c < k; c++) a[q][c] = splat(0);
                }
                for (int b = 0; b < NB; b++) {
                    const int j = b * BN_L;
                    v16 wv[BN_KMAX], bv = load_block(bias, w1, n, j, wv, k);
                    for (int q = 0; q < Q; q++) {
                        v16 z = block_logits(bv, wv, hv[q], k);
                        /* (at least: where shift - BN_FAR rounds to the shift itself, at
                           logits past 10^9, the strongest output's block still counts) */
                        if (!any_at_least(z, far[q])) continue;
                        flags[(size_t)(q0 + q) * NB + b] = 1;
                        v16 e = vexp_neg(z - sh[q]);
                        vst(rows + (size_t)(q0 + q) * n + j, e);
                        t[q] += e;
                        for (int c = 0; c < k; c++) a[q][c] += e * wv[c];
                    }
                }
                for (int q = nq; q < Q; q++) memset(flags + (size_t)(q0 + q) * NB, 0, NB);
                for (int q = 0; q < nq; q++) {
                    int i = i0 + q0 + q, p = q0 + q, ta = target[i];
                    float tot = hsum(t[q]);
                    float wi = weight[i];
                    float shift = sh[q][0];
                    loss += (log((double)tot) - (double)(zt[q] - shift)) * wi;
                    float s = wi / tot;
                    for (int c = 0; c < k; c++) {
                        float ew = hsum(a[q][c]);
                        dh[(size_t)i * k + c] = ew * s - wi * w1[(size_t)c * n + ta];
                        hs[p][c] = hc[q][c] * s;
                        dw1[(size_t)c * n + ta] -= hc[q][c] * wi;
                    }
                    hs[p][k] = s;
                    dw1[(size_t)k * n + ta] -= wi;
                    correct[i] = other[q] <= best[q] - tol[i];
                }
            }
            v16 a[BN_P][BN_KMAX + 1];
            for (int p = 0; p < BN_P; p++) for (int c = 0; c < K; c++) a[p][c] = splat(hs[p][c]);
            for (int b = 0; b < NB; b++) {
                const int j = b * BN_L;
                int any = 0;
                for (int p = 0; p < BN_P; p++) any |= flags[(size_t)p * NB + b];
                if (!any) continue;
                v16 d[BN_KMAX + 1];
                for (int c = 0; c < K; c++) d[c] = vld(dw1 + (size_t)c * n + j);
                for (int p = 0; p < BN_P; p++) {
                    if (!flags[(size_t)p * NB + b]) continue;
                    v16 r = vld(rows + (size_t)p * n + j);
                    for (int c = 0; c < K; c++) d[c] += a[p][c] * r;
                }
                for (int c = 0; c < K; c++) vst(dw1 + (size_t)c * n + j, d[c]);
            }
        }
        return loss;
    }

    /* The outputs in the order of a Morton (Z-order) key of their weight columns, so that
       outputs with like weights, whose logits are alike for every pair, share blocks of 16
       (and a far block is far in all its lanes). Each of the k rows scaled to
       32 / k bits (at most 16), the bits interleaved; a stable radix sort of the keys. */
    static void bn_order(int n, int k, const float* w1, int32_t* order, uint32_t* key,
                         uint32_t* key2, int32_t* order2) {
        int bits = 32 / k;
        if (bits > 16) bits = 16;
        float top = (float)((1u << bits) - 1);
        for (int j = 0; j < n; j++) key[j] = 0;
        for (int c = 0; c < k; c++) {
            const float* w = w1 + (size_t)c * n;
            float lo = INFINITY, hi = -INFINITY;
            for (int j = 0; j < n; j++) { if (w[j] < lo) lo = w[j]; if (w[j] > hi) hi = w[j]; }
            float scale = hi > lo && isfinite(hi - lo) ? top / (hi - lo) : 0.0f;
            for (int j = 0; j < n; j++) {
                float v = (w[j] - lo) * scale;
                uint32_t q = v > 0 ? (v < top ? (uint32_t)v : (uint32_t)top) : 0u;
                for (int b = 0; b < bits; b++) key[j] |= ((q >> b) & 1u) << (b * k + c);
            }
        }
        for (int j = 0; j < n; j++) order[j] = j;
        for (int shift = 0; shift < 32; shift += 8) {
            int count[257] = {0};
            for (int j = 0; j < n; j++) count[((key[j] >> shift) & 255u) + 1]++;
            for (int d = 0; d < 256; d++) count[d + 1] += count[d];
            for (int j = 0; j < n; j++) {
                int at = count[(key[j] >> shift) & 255u]++;
                key2[at] = key[j];
                order2[at] = order[j];
            }
            memcpy(key, key2, sizeof(uint32_t) * n);
            memcpy(order, order2, sizeof(int32_t) * n);
        }
    }

    /* ints: 5n + 2m int32 (order, inverse, two keys, order2, targets, solve targets);
       floats: 2 (k + 1) n (the weights and dW in that order); flags: BN_P n / BN_L */
    static double bn_last_layer(int m, int n, int k, const float* h, const float* w1,
                      const int32_t* target, const int32_t* solve, const float* weight,
                      const float* tol, uint8_t* correct, float* dh, float* dw1, float* rows,
                      int32_t* ints, float* floats, uint8_t* flags) {
        const int K = k + 1;
        int32_t *order = ints, *inv = ints + n, *order2 = ints + 2 * n;
        uint32_t *key = (uint32_t*)(ints + 3 * n), *key2 = (uint32_t*)(ints + 4 * n);
        int32_t *tp = ints + 5 * n, *sp = ints + 5 * n + m;
        float *w1p = floats, *dwp = floats + (size_t)K * n;
        bn_order(n, k, w1, order, key, key2, order2);
        for (int c = 0; c < K; c++)
            for (int j = 0; j < n; j++) w1p[(size_t)c * n + j] = w1[(size_t)c * n + order[j]];
        for (int j = 0; j < n; j++) inv[order[j]] = j;
        for (int i = 0; i < m; i++) { tp[i] = inv[target[i]]; sp[i] = inv[solve[i]]; }
        double loss;
    #if BN_FTZ
        /* no denormals: tiny exponentials times small factors (as XLA's own threads do) */
        unsigned int csr = _mm_getcsr();
        _mm_setcsr(csr | 0x8040);
    #endif
        switch (k) {
        case 1: loss = last_layer_k(m, n, 1, h, w1p, tp, sp, weight, tol, correct, dh, dwp, rows, flags); break;
        case 2: loss = last_layer_k(m, n, 2, h, w1p, tp, sp, weight, tol, correct, dh, dwp, rows, flags); break;
        case 3: loss = last_layer_k(m, n, 3, h, w1p, tp, sp, weight, tol, correct, dh, dwp, rows, flags); break;
        case 4: loss = last_layer_k(m, n, 4, h, w1p, tp, sp, weight, tol, correct, dh, dwp, rows, flags); break;
        default: loss = last_layer_k(m, n, k, h, w1p, tp, sp, weight, tol, correct, dh, dwp, rows, flags);
        }
    #if BN_FTZ
        _mm_setcsr(csr);
    #endif
        for (int c = 0; c < K; c++)
            for (int j = 0; j < n; j++) dw1[(size_t)c * n + order[j]] = dwp[(size_t)c * n + j];
        return loss;
    }
    """
    double bn_last_layer(int m, int n, int k, const float* h, const float* w1,
                         const int32_t* target, const int32_t* solve, const float* weight,
                         const float* tol, uint8_t* correct, float* dh, float* dw1,
                         float* rows, int32_t* ints, float* floats, uint8_t* flags) nogil
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
    cdef int32_t[::1] ints = np.empty(5 * n + 2 * (hi - lo), np.int32)
    cdef float[::1] floats = np.empty(2 * (k + 1) * n, np.float32)
    cdef uint8_t[::1] flags = np.empty(PAIRS_A_BLOCK * (n // LANES), np.uint8)
    cdef double loss
    with nogil:
        loss = bn_last_layer(<int>(hi - lo), n, k, &h[lo, 0], &w1[0, 0], &target[lo],
                             &solve[lo], &weight[lo], &tol[lo], &correct[lo], &dh[lo, 0],
                             &dw1[0, 0], &rows[0], &ints[0], &floats[0], &flags[0])
    return loss
