# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Everything compiled: deterministic exp/tanh, the range coder, the byte model's
predict/learn step, and the per-chunk coding loops (Cython, built with the package).

Why compiled ahead and not at run time (numba, before): a `compress` process on a small
file spent about a second importing numba and loading its cached machine code, and
numba's runtime held about 120 MB; a C extension loads in milliseconds and holds
nothing. Python calls in only once per chunk of 64 KiB; inside, plain C on pointers.

Arithmetic rules (they make decoding bit-exact on any IEEE-754 machine): float64 (and,
in format 5's output layer, float32, with exactly rounded conversions between the two)
with +, -, *, / and floor only; exp and tanh built from those instead of libm; built with
-ffp-contract=off and without -ffast-math (setup.py), so the compiler neither reorders
sums nor fuses multiply-adds (an FMA rounds once: machines with and without it would
disagree; `mul_add` lets a test check the build); every sum in an order fixed by this
code. Integers: the coder state and frequencies are int64. These are the rules the
numba kernels of earlier versions followed, and this code computes the same numbers (the
pinned archives in tests/data decode, and the fingerprint in every archive checks it).
The output layer's backward step, the hottest loop, is C with GCC/Clang vector types (in
the verbatim block below): the compiler's own vectoriser kept its sums in memory.

Model arrays (model.Model makes them, a Predictor owns them): E (rows, k) input codes,
float32 in formats 1-12, int16 in steps of 1/ROW_ONE in format 13; seen (rows,) uint8;
Wt (k, 256) output weights, transposed so the output loops run over contiguous memory,
and c (256,) output biases: float64 in formats 1-4, float32 in format 5 (half the
memory traffic and twice the lanes a vector: 1.5x the speed, the same sizes); b (k,)
hidden biases; orders (contexts: byte orders, WORD, WORDS, MATCH, COLUMN, WORD_SKIP and,
format 6, the sparse contexts);
lr (float64, slots: input rate, boost, output rate, hidden-bias rate, clamp, match rate,
output rate at byte 0, context-bias rate, the output layer's skip threshold, then a
factor on the input rate per context); ctx (uint64, slots CTX_*); scratch (4, >=256)
for pre-activations, hidden values, probabilities and gradients; idx (table rows of the
contexts, then of the context biases); mtab (int64) the match model's table: hash of the
last few bytes -> the position that followed them; mw (32,) the weight from each
match-length bucket to the guessed byte's logit; B (rows, 256) float32 output biases
selected by the last bytes (one row, unused, without them); bias_orders (int64: how many
last bytes select each bias row; empty before format 4).

Range coder state (int64 array, so a caller can stop after any chunk and continue):
    state[LOW]    low end of the interval, up to 33 bits (bit 32 is a pending carry)
    state[RANGE]  width of the interval, 2**24 <= range < 2**32 after normalisation
    state[CACHE]  the last byte not yet written (a carry may still change it)
    state[PENDING] how many bytes wait: the cache plus following 0xFF bytes
    state[POS]    write (encoder) or read (decoder) position in the byte buffer
    state[CODE]   decoder only: the code value, code < range
"""

from libc.math cimport floor
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

import numpy as np

cdef extern from *:
    """
    #ifdef BN_NATIVE
    static const char bn_build[] = "native";
    #else
    static const char bn_build[] = "portable";
    #endif
    """
    const char* bn_build

# The instructions this build was compiled for: "native" (this machine's own, -march=native:
# an editable install) or "portable" (the architecture's baseline: a wheel). setup.py says
# which build gets which; both compute the same numbers.
BUILD = (<bytes>bn_build).decode()

# ---- deterministic exp and tanh -------------------------------------------------------

EXP_FLOOR = 40.0


cdef union _Bits:
    int64_t i
    double d


cdef inline double _pow2(double n) noexcept nogil:
    """2**n, exactly, for a whole n in [-1022, 1023]: the exponent field set directly
    (no table lookup, so loops over 256 outputs vectorise)."""
    cdef _Bits v
    v.i = (<int64_t>n + 1023) << 52
    return v.d


cdef inline double _exp_neg(double x) noexcept nogil:
    """e**x for x <= 0, clamped at x = -EXP_FLOOR."""
    # (constants as literals: the C compiler then knows them, and the loops over 256
    # outputs vectorise; EXP_FLOOR, log2(e), ln(2))
    x = x if x >= -40.0 else -40.0
    cdef double y = x * 1.4426950408889634      # e**x = 2**y, y in [-57.7, 0]
    cdef double n = floor(y)
    cdef double u = (y - n) * 0.6931471805599453  # 2**(y-n) = e**u, u in [0, ln 2)
    # Taylor series of e**u to u**8 (Horner): error < u**9/9! < 1.1e-7 on [0, ln 2).
    cdef double p = 1.0 + u * (1.0 + u * (0.5 + u * (1.0 / 6.0 + u * (1.0 / 24.0 + u * (
        1.0 / 120.0 + u * (1.0 / 720.0 + u * (1.0 / 5040.0 + u * (1.0 / 40320.0))))))))
    return p * _pow2(n)


cdef inline double _tanh(double x) noexcept nogil:
    cdef double e = _exp_neg(-2.0 * (x if x >= 0.0 else -x))
    cdef double t = (1.0 - e) / (1.0 + e)
    return t if x >= 0.0 else -t


def exp_neg(double x) -> float:
    return _exp_neg(x)


def tanh(double x) -> float:
    return _tanh(x)


def mul_add(double a, double b, double c) -> float:
    """a * b + c as this build computes it: rounded twice unless the compiler fused it
    (which the build forbids; a test checks)."""
    return a * b + c


# ---- range coder ---------------------------------------------------------------------

cpdef enum:
    TOTAL_BITS = 16
    TOTAL = 1 << 16                  # every frequency table sums to exactly this
    LOW = 0
    RANGE = 1
    CACHE = 2
    PENDING = 3
    POS = 4
    CODE = 5
    STATE_SIZE = 6
    FLUSH_BYTES = 5                  # the encoder writes at most this many bytes on finish

cdef extern from *:
    # Constants the C compiler sees as such (a Cython module-level variable is a
    # mutable C global, reloaded after every store through a pointer).
    """
    #define BN_TOP (1LL << 24)
    #define BN_MASK32 0xFFFFFFFFLL
    #if defined(__GNUC__) || defined(__clang__)
    #define BN_PREFETCH(p) __builtin_prefetch(p)
    #define BN_PREFETCH_W(p) __builtin_prefetch(p, 1)
    #else
    #define BN_PREFETCH(p) ((void)(p))
    #define BN_PREFETCH_W(p) ((void)(p))
    #endif

    /* Vector kernels, written with GCC/Clang vector types so that running sums stay in
       registers (the compiler's own vectoriser kept them in memory). Each works in the
       machine's own width, BN_W floats (BN_W / 2 doubles) a vector: a vector type wider
       than the registers is kept in memory, every operation a load and a store (the
       64-byte vectors these kernels had ran 3-4x slower on AVX2 than on AVX-512). Where a
       sum is defined in 16 lanes (8 for doubles), those lanes are held in as many vectors
       as it takes, so every width makes the same additions in the same order: the
       arithmetic per lane is plain IEEE multiply then add, as in scalar code, and every
       build writes the same archives. */
    #include <stdint.h>
    #include <string.h>
    #if defined(__AVX512F__)
    #define BN_W 16
    #elif defined(__AVX__)
    #define BN_W 8
    #else
    #define BN_W 4
    #endif
    #define BN_D (BN_W / 2)       /* doubles a vector */
    #define BN_P (16 / BN_W)      /* vectors to 16 float lanes */
    #define BN_Q (8 / BN_D)       /* vectors to 8 double lanes */
    typedef float bn_fv __attribute__((vector_size(BN_W * 4)));
    typedef int32_t bn_iv __attribute__((vector_size(BN_W * 4)));
    typedef double bn_dv __attribute__((vector_size(BN_W * 4)));
    typedef long long bn_lv __attribute__((vector_size(BN_W * 4)));
    static inline bn_fv bn_ldf(const float* p) { bn_fv v; memcpy(&v, p, sizeof v); return v; }
    static inline void bn_stf(float* p, bn_fv v) { memcpy(p, &v, sizeof v); }
    static inline bn_dv bn_ldd(const double* p) { bn_dv v; memcpy(&v, p, sizeof v); return v; }
    static inline void bn_std(double* p, bn_dv v) { memcpy(p, &v, sizeof v); }
    /* 8 double lanes added pairwise; 16 float lanes folded in halves (lane t + lane
       t + 8, then t + t + 4, then t + t + 2, then 0 + 1: the order a vector unit folds
       in). */
    static inline double bn_fold8(const double* a) {
        return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    }
    static inline float bn_fold16(const float* a) {
        float h[8], q[4];
        for (int t = 0; t < 8; t++) h[t] = a[t] + a[t + 8];
        for (int t = 0; t < 4; t++) q[t] = h[t] + h[t + 4];
        return (q[0] + q[2]) + (q[1] + q[3]);
    }

    /* The output layer's backward step on `rows` rows of Wt (256 outputs each; rows is
       4 or 1, so four chains of additions run side by side): for each row j, g[j] =
       (sum_i p[i] w[j, i]) (1 - h[j]^2), the sum in 8 lanes (lane t adds the products of
       outputs i = t mod 8 in order, then the lanes are added pairwise), and w[j, i] -=
       (lr h[j]) p[i], each weight read for the sum before it is updated. */
    static inline void bn_out_step(double* w, const double* p, double lr, const double* h,
                                   double* g, const int rows) {
        bn_dv acc[4][BN_Q];
        memset(acc, 0, sizeof acc);
        double s[4];
        for (int r = 0; r < rows; r++) s[r] = lr * h[r];
        for (int i = 0; i < 256; i += 8) {
            for (int u = 0; u < BN_Q; u++) {
                bn_dv pi = bn_ldd(p + i + u * BN_D);
                for (int r = 0; r < rows; r++) {
                    double* wr = w + 256 * r + i + u * BN_D;
                    bn_dv x = bn_ldd(wr);
                    acc[r][u] += pi * x;
                    bn_std(wr, x - s[r] * pi);
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            double lanes[8];
            memcpy(lanes, acc[r], sizeof lanes);
            g[r] = bn_fold8(lanes) * (1.0 - h[r] * h[r]);
        }
    }
    static inline void bn_out_step4(double* w, const double* p, double lr,
                                    const double* h, double* g) {
        bn_out_step(w, p, lr, h, g, 4);
    }
    static inline void bn_out_step1(double* w, const double* p, double lr,
                                    const double* h, double* g) {
        bn_out_step(w, p, lr, h, g, 1);
    }

    /* Format 5's output layer in float32. The logits: for each output i, c[i] +
       sum_j w[j, i] h[j], summed over j in order; BN_ACC vectors of outputs at a time,
       so their sums stay in registers across the k units. */
    #define BN_ACC 8
    static inline void bn_logits_f32(const float* w, const float* c, const double* h,
                                     long k, float* z) {
        for (int ib = 0; ib < 256; ib += BN_ACC * BN_W) {
            bn_fv a[BN_ACC];
            for (int q = 0; q < BN_ACC; q++) a[q] = bn_ldf(c + ib + q * BN_W);
            for (long j = 0; j < k; j++) {
                const float* r = w + j * 256 + ib;
                float hj = (float)h[j];
                for (int q = 0; q < BN_ACC; q++) a[q] += bn_ldf(r + q * BN_W) * hj;
            }
            for (int q = 0; q < BN_ACC; q++) bn_stf(z + ib + q * BN_W, a[q]);
        }
    }
    /* Its backward step on `rows` rows (4 or 1) of w, over the listed blocks of 16
       outputs only (the blocks where some |p| reaches the skip threshold; the others
       would barely move): g[j] = (sum_i p[i] w[j, i]) (1 - h[j]^2), lane t adding the
       products of outputs 16 b + t over the blocks b in order, then the lanes folded
       (bn_fold16); and w[j, i] -= (float)(lr h[j]) p[i], each weight read for the sum
       before it is updated. */
    static inline void bn_out_f32(float* w, const float* p, double lr, const double* h,
                                  double* g, const int* blocks, int nb, const int rows,
                                  float* keep, long k) {
        bn_fv acc[4][BN_P];
        memset(acc, 0, sizeof acc);
        float s[4];
        for (int r = 0; r < rows; r++) s[r] = (float)(lr * h[r]);
        for (int q = 0; q < nb; q++) {
            int i = blocks[q] * 16;
            for (int u = 0; u < BN_P; u++) {
                bn_fv pi = bn_ldf(p + i + u * BN_W);
                for (int r = 0; r < rows; r++) {
                    float* wr = w + 256 * r + i + u * BN_W;
                    bn_fv x = bn_ldf(wr);
                    if (keep) bn_stf(keep + (q * k + r) * 16 + u * BN_W, x);
                    acc[r][u] += pi * x;
                    bn_stf(wr, x - s[r] * pi);
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            float lanes[16];
            memcpy(lanes, acc[r], sizeof lanes);
            g[r] = (double)bn_fold16(lanes) * (1.0 - h[r] * h[r]);
        }
    }
    /* keep (NULL: not kept): each weight as it was, before the step, at
       keep[(q k + r) 16 + i % 16] for block q and row r (the two-thread decoder's undo) */
    static inline void bn_out_f32_4(float* w, const float* p, double lr, const double* h,
                                    double* g, const int* blocks, int nb, float* keep,
                                    long k) {
        if (keep) bn_out_f32(w, p, lr, h, g, blocks, nb, 4, keep, k);
        else bn_out_f32(w, p, lr, h, g, blocks, nb, 4, NULL, k);
    }
    static inline void bn_out_f32_1(float* w, const float* p, double lr, const double* h,
                                    double* g, const int* blocks, int nb, float* keep,
                                    long k) {
        if (keep) bn_out_f32(w, p, lr, h, g, blocks, nb, 1, keep, k);
        else bn_out_f32(w, p, lr, h, g, blocks, nb, 1, NULL, k);
    }
    /* The blocks of 16 outputs (their numbers, in order) where some |p[i]| >= skip. */
    static inline int bn_active_blocks(const float* p, float skip, int* blocks) {
        int nb = 0;
        bn_fv s = {0};
        s += skip;
        for (int b = 0; b < 16; b++) {
            bn_iv hit = {0};
            for (int u = 0; u < BN_P; u++) {
                bn_fv v = bn_ldf(p + 16 * b + u * BN_W);
                hit |= (v >= s) | (v <= -s);
            }
            unsigned long long words[BN_W / 2], any = 0;
            memcpy(words, &hit, sizeof words);
            for (int t = 0; t < BN_W / 2; t++) any |= words[t];
            blocks[nb] = b;      /* kept when some lane is hit (no branch to mispredict) */
            nb += any != 0;
        }
        return nb;
    }

    /* The quantiser's passes over the first n8 (a multiple of 8) probabilities: q = p
       clamped to [0, 1] (NaN -> 0), freq = 1 + trunc(q spare), and the frequencies' sum
       and the largest q added to / folded into *sum and lane[8] (sums of integers and
       maxima: exact in any order). */
    static inline void bn_quantise8(const double* p, int64_t* freq, long n8,
                                    int64_t spare, int64_t* sum, double* lane) {
        bn_dv zero = {0}, one = zero + 1.0, sp = zero + (double)spare, best[BN_Q];
        memcpy(best, lane, sizeof best);
        bn_lv total = {0};
        for (long i = 0; i < n8; i += 8) {
            for (int u = 0; u < BN_Q; u++) {
                bn_dv q = bn_ldd(p + i + u * BN_D);
                q = (bn_dv)((bn_lv)q & (q > zero));           /* q > 0 ? q : 0 (NaN too) */
                bn_lv below = q < one;
                q = (bn_dv)(((bn_lv)q & below) | ((bn_lv)one & ~below));
                bn_lv f = __builtin_convertvector(q * sp, bn_lv) + 1;
                memcpy(freq + i + u * BN_D, &f, sizeof f);
                total += f;
                bn_lv more = q > best[u];
                best[u] = (bn_dv)(((bn_lv)q & more) | ((bn_lv)best[u] & ~more));
            }
        }
        int64_t t = 0;
        for (int j = 0; j < BN_D; j++) t += total[j];
        *sum += t;
        memcpy(lane, best, sizeof best);
    }

    /* Format 5's exp of 256 logits z - zmax (<= 0) in float32: the same construction as
       _exp_neg (clamp at -40, 2^floor(y) from the exponent bits, e^u on [0, ln 2) by its
       Taylor series, here to u^7: error < 1.3e-6, far below what the quantiser's 1/65536
       steps can show), written to p as float64. */
    static inline void bn_exp_f32(const float* z, float zmax, double* p) {
        bn_fv lo = {0};
        lo -= 40.0f;
        for (int i = 0; i < 256; i += BN_W) {
            bn_fv x = bn_ldf(z + i) - zmax;
            bn_iv low = x < lo;
            x = (bn_fv)(((bn_iv)x & ~low) | ((bn_iv)lo & low));
            bn_fv y = x * 1.44269504f;
            bn_fv n = __builtin_convertvector(__builtin_convertvector(y, bn_iv), bn_fv);
            n += __builtin_convertvector(n > y, bn_fv);       /* trunc -> floor */
            bn_fv u = (y - n) * 0.693147181f;
            bn_fv e = 1.0f + u * (1.0f + u * (0.5f + u * (1.0f / 6.0f + u * (1.0f / 24.0f
                      + u * (1.0f / 120.0f + u * (1.0f / 720.0f + u * (1.0f / 5040.0f)))))));
            bn_iv bits = (__builtin_convertvector(n, bn_iv) + 127) << 23;
            bn_fv two;
            memcpy(&two, &bits, sizeof two);
            e = e * two;
            for (int t = 0; t < BN_W; t++) p[i + t] = (double)e[t];
        }
    }

    /* The largest of 256 floats (exact in any order: max does not round; a lane keeps
       its value unless a later one compares greater). */
    static inline float bn_max_f32(const float* z) {
        bn_fv m = bn_ldf(z);
        for (int i = BN_W; i < 256; i += BN_W) {
            bn_fv v = bn_ldf(z + i);
            bn_iv more = v > m;
            m = (bn_fv)(((bn_iv)v & more) | ((bn_iv)m & ~more));
        }
        float best = m[0];
        for (int t = 1; t < BN_W; t++) best = m[t] > best ? m[t] : best;
        return best;
    }
    """
    void _quantise8 "bn_quantise8"(const double* p, int64_t* freq, long n8, int64_t spare,
                                   int64_t* sum, double* lane) noexcept nogil
    void _exp_f32 "bn_exp_f32"(const float* z, float zmax, double* p) noexcept nogil
    float _max_f32 "bn_max_f32"(const float* z) noexcept nogil
    void _logits_f32 "bn_logits_f32"(const float* w, const float* c, const double* h,
                                     long k, float* z) noexcept nogil
    void _out_f32_4 "bn_out_f32_4"(float* w, const float* p, double lr, const double* h,
                                   double* g, const int* blocks, int nb, float* keep,
                                   long k) noexcept nogil
    int _active_blocks "bn_active_blocks"(const float* p, float skip, int* blocks) noexcept nogil
    void _out_f32_1 "bn_out_f32_1"(float* w, const float* p, double lr, const double* h,
                                   double* g, const int* blocks, int nb, float* keep,
                                   long k) noexcept nogil
    void _out_step4 "bn_out_step4"(double* w, const double* p, double lr, const double* h,
                                   double* g) noexcept nogil
    void _out_step1 "bn_out_step1"(double* w, const double* p, double lr, const double* h,
                                   double* g) noexcept nogil
    const int64_t _TOP "BN_TOP"       # renormalise when the range falls below 2**24
    const int64_t _MASK32 "BN_MASK32"
    # A hint to the CPU to fetch a table row now (it changes no result)
    void _prefetch "BN_PREFETCH"(const void* p) noexcept nogil
    # ... to be written (the line taken from another core's cache ahead of the stores)
    void _prefetch_w "BN_PREFETCH_W"(const void* p) noexcept nogil


cdef extern from *:
    # A second thread for the encoder's bit models (Predictor.encode, .learn: _pipelined)
    # and the two counters it shares with the first, read with acquire and written with
    # release ordering (GCC/Clang builtins, as the vector kernels above need). Where
    # threads cannot start (no pthreads), bn_spawn returns NULL and the loop runs alone.
    """
    #if defined(_WIN32)
    static void* bn_spawn(void* (*f)(void*), void* arg) { (void)f; (void)arg; return NULL; }
    static void bn_join(void* h) { (void)h; }
    static void bn_yield(void) {}
    #else
    #include <pthread.h>
    #include <sched.h>
    #include <stdlib.h>
    static void* bn_spawn(void* (*f)(void*), void* arg) {
        pthread_t* t = (pthread_t*)malloc(sizeof(pthread_t));
        if (t == NULL) return NULL;
        if (pthread_create(t, NULL, f, arg) != 0) { free(t); return NULL; }
        return t;
    }
    static void bn_join(void* h) { pthread_join(*(pthread_t*)h, NULL); free(h); }
    static void bn_yield(void) { sched_yield(); }
    #endif
    static inline int64_t bn_acquire(const int64_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
    static inline void bn_release(int64_t* p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
    /* A wait's n-th turn: a short pause at first (the other thread is usually a few
       microseconds away), then the core given up at each turn, so that a machine with
       fewer free cores than threads still moves. */
    static inline void bn_spin(int64_t n) {
    #if defined(__x86_64__) || defined(__i386__)
        if (n < 2000) { __builtin_ia32_pause(); return; }
    #else
        if (n < 2000) return;
    #endif
        bn_yield();
    }
    """
    void* _spawn "bn_spawn"(void* (*f)(void*) noexcept nogil, void* arg) noexcept nogil
    void _join "bn_join"(void* h) noexcept nogil
    int64_t _acquire "bn_acquire"(const int64_t* p) noexcept nogil
    void _release "bn_release"(int64_t* p, int64_t v) noexcept nogil
    void _spin "bn_spin"(int64_t n) noexcept nogil


cdef inline double _unit(double q) noexcept nogil:
    """q clamped to [0, 1]; NaN -> 0."""
    q = q if q > 0.0 else 0.0
    return q if q < 1.0 else 1.0


cdef void _quantise(const double* p, int64_t* freq, Py_ssize_t n) noexcept nogil:
    """Probabilities p (>= 0, summing to about 1) -> integer freq >= 1 summing to TOTAL.

    Every symbol keeps at least 1/TOTAL, so any byte can still be coded (at most 16
    bits); the rounding remainder goes to the most probable symbol.
    """
    # n more than the floor of 1 per symbol is held back, so that probabilities whose
    # float sum exceeds 1 by rounding never overshoot TOTAL (that would need a repair
    # that can reorder near-equal symbols); the remainder goes to the likeliest symbol.
    cdef int64_t spare = TOTAL - 2 * n
    cdef int64_t s = 0, f, rest, take
    cdef Py_ssize_t i, j, best = 0
    cdef double q, qbest = 0.0
    cdef double lane[8]
    # One pass, 8 at a time: the floors (truncation is floor here: the product is >= 0),
    # their sum, and the largest q in 8 lanes.
    for j in range(8):
        lane[j] = 0.0
    cdef Py_ssize_t n8 = n - (n & 7)
    _quantise8(p, freq, n8, spare, &s, lane)
    for i in range(n8, n):
        q = _unit(p[i])
        freq[i] = 1 + <int64_t>(q * spare)
        s += freq[i]
        lane[i & 7] = q if q > lane[i & 7] else lane[i & 7]
    # The likeliest symbol by probability, not by floor: the first with the largest q
    # (the largest of the lanes, then its first place, 8 at a time).
    for j in range(8):
        qbest = lane[j] if lane[j] > qbest else qbest
    cdef bint found
    cdef Py_ssize_t start = 0       # the first 8 that hold it (or the tail)
    for i in range(0, n8, 8):
        found = False
        for j in range(8):
            found |= _unit(p[i + j]) == qbest
        if found:
            break
        start = i + 8
    for best in range(start, n):
        if _unit(p[best]) == qbest:
            break
    # Only unnormalised input (sum(p) clearly above 1) overshoots: take from the largest.
    rest = TOTAL - s
    while rest < 0:
        i = 0
        for j in range(n):
            if freq[j] > freq[i]:
                i = j
        take = min(-rest, freq[i] - 1)
        freq[i] -= take
        rest += take
    freq[best] += rest


def quantise(const double[::1] p, int64_t[::1] freq) -> None:
    if freq.shape[0] < p.shape[0]:
        raise ValueError("freq is shorter than p")
    if p.shape[0]:
        _quantise(&p[0], &freq[0], p.shape[0])


cdef inline void _encoder_start(int64_t* st) noexcept nogil:
    st[LOW] = 0
    st[RANGE] = _MASK32
    st[CACHE] = 0
    st[PENDING] = 1
    st[POS] = 0
    st[CODE] = 0


cdef inline void _shift_low(int64_t* st, uint8_t* out) noexcept nogil:
    cdef int64_t low = st[LOW], carry, byte
    if low < <int64_t>0xFF000000 or low > _MASK32:
        carry = low >> 32
        byte = st[CACHE]
        while True:
            out[st[POS]] = (byte + carry) & 0xFF
            st[POS] += 1
            byte = 0xFF
            st[PENDING] -= 1
            if st[PENDING] == 0:
                break
        st[CACHE] = (low >> 24) & 0xFF
    st[PENDING] += 1
    st[LOW] = (low & 0x00FFFFFF) << 8


cdef inline void _encode(int64_t* st, uint8_t* out, int64_t start, int64_t freq) noexcept nogil:
    """Code the symbol whose cumulative frequency is `start` and frequency `freq`.

    `out` must have room for 4 more bytes than written so far plus FLUSH_BYTES.
    """
    cdef int64_t r = st[RANGE] >> TOTAL_BITS
    st[LOW] += r * start
    st[RANGE] = r * freq
    while st[RANGE] < _TOP:
        st[RANGE] <<= 8
        _shift_low(st, out)


cdef inline int64_t _encoder_finish(int64_t* st, uint8_t* out) noexcept nogil:
    """Flush the pending bytes; returns the number of bytes written in all."""
    cdef int i
    for i in range(FLUSH_BYTES):
        _shift_low(st, out)
    return st[POS]


cdef inline int64_t _next_byte(int64_t* st, const uint8_t* buf, Py_ssize_t n) noexcept nogil:
    cdef int64_t pos = st[POS]
    st[POS] = pos + 1
    # Reading past the end yields zeros; the caller checks POS against the length,
    # and the container's checksum catches any damage.
    return buf[pos] if pos < n else 0


cdef inline void _decoder_start(int64_t* st, const uint8_t* buf, Py_ssize_t n) noexcept nogil:
    st[LOW] = 0
    st[RANGE] = _MASK32
    st[CACHE] = 0
    st[PENDING] = 0
    st[POS] = 0
    cdef int64_t code = 0
    cdef int i
    for i in range(FLUSH_BYTES):
        code = ((code << 8) | _next_byte(st, buf, n)) & _MASK32
    st[CODE] = code


cdef inline int64_t _decode(int64_t* st, const uint8_t* buf, Py_ssize_t n,
                            const int64_t* freq, const int64_t* cum,
                            Py_ssize_t symbols) noexcept nogil:
    """Decode one symbol under `freq` (cum[i] = sum of freq[:i], cum[n] = TOTAL)."""
    cdef int64_t r = st[RANGE] >> TOTAL_BITS
    cdef int64_t target = st[CODE] // r
    if target >= TOTAL:          # impossible for a stream we wrote: damaged input
        target = TOTAL - 1
    # Binary search for the symbol s with cum[s] <= target < cum[s + 1].
    cdef Py_ssize_t lo = 0, hi = symbols, mid
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if cum[mid] <= target:
            lo = mid
        else:
            hi = mid
    st[CODE] -= r * cum[lo]
    st[RANGE] = r * freq[lo]
    while st[RANGE] < _TOP:
        st[RANGE] <<= 8
        st[CODE] = ((st[CODE] << 8) | _next_byte(st, buf, n)) & _MASK32
    return lo


cdef inline int64_t _decode_bit(int64_t* st, const uint8_t* buf, Py_ssize_t n,
                                int64_t p) noexcept nogil:
    """Decode one bit whose probability of being 1 is p / TOTAL: what _decode does with
    freq (TOTAL - p, p), without its division (floor(code / r) >= c exactly when
    code >= r c), which lay on the decoder's path from each bit to the next."""
    cdef int64_t r = st[RANGE] >> TOTAL_BITS
    cdef int64_t c = r * (TOTAL - p)
    cdef int64_t bit = 1 if st[CODE] >= c else 0
    if bit:
        st[CODE] -= c
        st[RANGE] = r * p
    else:
        st[RANGE] = c
    while st[RANGE] < _TOP:
        st[RANGE] <<= 8
        st[CODE] = ((st[CODE] << 8) | _next_byte(st, buf, n)) & _MASK32
    return bit


cdef inline int64_t _sum_below(const int64_t* freq, int64_t y) noexcept nogil:
    """freq[0] + ... + freq[y - 1]: the encoder's cumulative frequency of y (the decoder
    needs them all, `_cumulate`)."""
    cdef int64_t s = 0
    cdef Py_ssize_t i
    for i in range(y):
        s += freq[i]
    return s


cdef inline void _cumulate(const int64_t* freq, int64_t* cum, Py_ssize_t n) noexcept nogil:
    cdef int64_t s = 0
    cdef Py_ssize_t i
    for i in range(n):
        cum[i] = s
        s += freq[i]
    cum[n] = s


def encoder_start(int64_t[::1] state) -> None:
    _encoder_start(&state[0])


def encoder_finish(int64_t[::1] state, uint8_t[::1] out) -> int:
    return _encoder_finish(&state[0], &out[0])


def decoder_start(int64_t[::1] state, const uint8_t[::1] buf) -> None:
    _decoder_start(&state[0], &buf[0] if buf.shape[0] else NULL, buf.shape[0])


def encode_all(const int64_t[::1] symbols, const int64_t[:, ::1] freqs,
               uint8_t[::1] out) -> int:
    """Code symbols[t] under freqs[t] into out (room for 4 bytes a symbol + 16)."""
    cdef int64_t st[STATE_SIZE]
    cdef Py_ssize_t n = freqs.shape[1]
    cum = np.zeros(n + 1, np.int64)
    cdef int64_t[::1] cumv = cum
    cdef int64_t s
    cdef Py_ssize_t t
    _encoder_start(st)
    for t in range(symbols.shape[0]):
        _cumulate(&freqs[t, 0], &cumv[0], n)
        s = symbols[t]
        _encode(st, &out[0], cumv[s], freqs[t, s])
    return _encoder_finish(st, &out[0])


def decode_all(const uint8_t[::1] buf, const int64_t[:, ::1] freqs):
    cdef int64_t st[STATE_SIZE]
    cdef Py_ssize_t n = freqs.shape[1], nbuf = buf.shape[0]
    cdef const uint8_t* b = &buf[0] if nbuf else NULL
    cum = np.zeros(n + 1, np.int64)
    out = np.zeros(freqs.shape[0], np.int64)
    cdef int64_t[::1] cumv = cum, outv = out
    cdef Py_ssize_t t
    _decoder_start(st, b, nbuf)
    for t in range(freqs.shape[0]):
        _cumulate(&freqs[t, 0], &cumv[0], n)
        outv[t] = _decode(st, b, nbuf, &freqs[t, 0], &cumv[0], n)
    return out


# ---- the byte model ------------------------------------------------------------------

cpdef enum:
    WORD = -1                     # context code for "the current word"
    WORDS = -2                    # the previous word and the current one
    MATCH = -3                    # the match model's guess: the byte that followed the
                                  # last earlier occurrence of the recent bytes, and how
                                  # long that occurrence has matched
    COLUMN = -4                   # the position in the line and the byte above it (the
                                  # byte at that position in the line before; format 4)
    WORD_SKIP = -5                # the current word and the word two back (format 4)
    # Sparse contexts (format 6; other data's profile): the bytes 2 and 3 back without
    # the last one, the last and the third back, the second back alone, and the last
    # byte with the position mod 4 (records and instructions of 2 and 4 bytes)
    SPARSE_23 = -6
    SPARSE_13 = -7
    SPARSE_2 = -8
    ALIGN = -9
    # Record contexts (format 8; other data's profile): with the record length found in
    # the data (_records), the bytes above (one and two records back), the byte above
    # with the last one, the position in the record with the byte above, and the three
    # bytes around the one above with the last one (raster images)
    RECORD = -10
    RECORD_LEFT = -11
    RECORD_COL = -12
    RECORD_IMAGE = -13
    # Markup contexts (format 9; the markup profile): the name of the tag the input is
    # in or last left, and where it is (_markup), with the last byte (MARKUP) or with
    # the current word (MARKUP_WORD): an element's content, its attributes and its
    # values each read as their own text
    MARKUP = -14
    MARKUP_WORD = -15
    # Indirect contexts (format 9; other data's and markup's bit models), as paq8's
    # indirect model: the last byte with the two bytes that followed it the last two
    # times (INDIRECT_1), the last two bytes with the two that followed them
    # (INDIRECT_2): what came next here before, whatever the bytes in between
    INDIRECT_1 = -16
    INDIRECT_2 = -17
    # Image contexts (format 11; the image profile), in the pixels of a raster image
    # whose header names its layout (image.py): of the same channel, the pixels left
    # (W), above (N), above left (NW), above right (NE) and two left and two up (WW,
    # NN). IMAGE_WN: W and N; IMAGE_GRAD: W + N - NW (the plane through the three);
    # IMAGE_WNW: W and NW; IMAGE_NNE: N and NE; IMAGE_AVG: the mean of W and N with how
    # far they differ; IMAGE_EXT: N and W carried on (2N - NN, 2W - WW); IMAGE_COLOR:
    # W moved as the previous channel moved from its own W (colour), or N + NE - NNE
    # (grey and the first channel); IMAGE_QUANT: W, N, NW and NE in 8 levels each;
    # IMAGE_VCOLOR: N moved as the previous channel moved from its own N, with
    # IMAGE_COLOR's guess in 32 levels (grey and the first channel: W + NE - N, with N);
    # IMAGE_MCOLOR: the mean of W and N moved as the previous channel's mean moved, and
    # in the third channel the first's move from its W (grey and the first channel: W
    # with N - NW). Each with the channel; outside the pixels, one constant context each.
    IMAGE_WN = -18
    IMAGE_GRAD = -19
    IMAGE_WNW = -20
    IMAGE_NNE = -21
    IMAGE_AVG = -22
    IMAGE_EXT = -23
    IMAGE_COLOR = -24
    IMAGE_QUANT = -25
    IMAGE_VCOLOR = -26
    IMAGE_MCOLOR = -27
    IMAGE_CONTEXTS = IMAGE_WN - IMAGE_MCOLOR + 1
# Slots of the uint64 context array: the last 8 bytes, hash of the current word, seed of
# the hashes, hash of the previous word, 64 - table bits (hash -> row shift); the match
# model's position of its guess in the history, its match length, the bytes seen so
# far, the bytes hashed to find a match, and 64 - match table bits; the history's
# window: position p of the history is at index p & CTX_WMASK, and a match is taken only
# up to CTX_WDIST bytes back (formats 3-5 keep a ring of the last bytes; formats 1 and 2
# kept the whole input: mask all ones, no distance limit). Format 4 adds: where the
# current and the previous line start, the hash of the word two back, 64 - bias table
# bits, and the bytes learnt (the primer's too; the output layer's rate follows it).
cpdef enum:
    CTX_HIST = 0
    CTX_WORD = 1
    CTX_SEED = 2
    CTX_PREV_WORD = 3
    CTX_SHIFT = 4
    CTX_MPTR = 5
    CTX_MLEN = 6
    CTX_POS = 7
    CTX_MMIN = 8
    CTX_MSHIFT = 9
    CTX_WMASK = 10
    CTX_WDIST = 11
    CTX_LINE = 12
    CTX_PREV_LINE = 13
    CTX_PREV2_WORD = 14
    CTX_BSHIFT = 15
    CTX_STEPS = 16
    CTX_RLEN = 17                 # the record length in use (0: none found)
    CTX_RLEN1 = 18                # two candidate lengths and how often each was seen
    CTX_RCOUNT1 = 19
    CTX_RLEN2 = 20
    CTX_RCOUNT2 = 21
    CTX_CPOS = 22                 # each byte value's last 4 positions (+ 1), 4 x 256
    CTX_TAG = CTX_CPOS + 1024     # format 9: a hash of the last tag's name ('/' of a
    CTX_MARKUP = CTX_TAG + 1      # closing tag in it), and where the input is (MARKUP_*)
    CTX_IND1 = CTX_MARKUP + 1     # format 9: after each byte value, the last 2 bytes
                                  # that followed it, 256 slots (INDIRECT_1) ...
    CTX_IND2 = CTX_IND1 + 256     # ... and after each pair, the last 2, 16 bits each,
                                  # 4 pairs a slot (INDIRECT_2)
    CTX_IMAGE = CTX_IND2 + 16384  # format 11: the image's first and end positions,
                                  # bytes a row and a pixel (0: no image) ...
    CTX_IMAGE_KEYS = CTX_IMAGE + 4  # ... and the keys of its contexts here (IMAGE_*)
    CTX_SIZE = CTX_IMAGE_KEYS + IMAGE_CONTEXTS
    RECORD_MAX = 65535            # the longest record length looked for
    MATCH_VERIFY = 32             # a candidate match is checked this many bytes back
    MATCH_LONGEST = 65535         # match lengths stop counting here
NO_WINDOW = 2**63 - 1             # CTX_WMASK and CTX_WDIST of a history kept whole
# Slots of the float64 rate array lr: the input rate, boost, the output rate, the hidden
# bias rate, clamp, the match weights' rate, the output rate at byte 0, the context
# biases' rate, the skip threshold of format 5's output layer (see _learn; 0 before),
# then one factor per context on the input rate (format 4; 1 before).
cpdef enum:
    LR_INPUT = 0
    LR_BOOST = 1
    LR_OUTPUT = 2
    LR_HIDDEN_BIAS = 3
    LR_CLAMP = 4
    LR_MATCH = 5
    LR_OUTPUT_FIRST = 6
    LR_BIAS = 7
    LR_SKIP = 8
    LR_RATES = 9
FIRST_BYTES = 1024.0              # the output layer's extra rate halves after this many


# Format 13's input rows: int16 in units of 1/ROW_ONE (-ROW_LIMIT..ROW_LIMIT, so within
# +-8, the default clamp): half a float32 row's memory, so twice the rows in the same
# memory, and a row of 32 units is one cache line. Steps rounded to 1/4096 made the
# corpus's archives no larger than float32's (1/256: +0.2%); see the README, format 13.
cpdef enum:
    ROW_ONE = 4096
    ROW_LIMIT = 32767


ctypedef struct Undo:
    # What the network's step on a byte (_learn: _advance, _match_find and the SGD step)
    # writes, as it was before, for the two-thread decoder to put back (_guessing): the
    # context's words and table slots, the match table's slot, the match weight, the
    # hidden biases, the input rows and their counts (kept by _save before the step),
    # and the blocks of the output layer and of the selected bias rows that the step
    # moves (kept by _learn as it moves them); with the prediction the step started
    # from (its scratch rows stay, the next prediction goes to the other set of them)
    uint64_t head[CTX_CPOS]
    uint64_t cpos[4]
    uint64_t image[IMAGE_CONTEXTS]
    uint64_t tag, markup, ind1, ind2
    Py_ssize_t cpos_at, ind1_at, ind2_at
    int64_t mslot, mold, mw_at
    double mw, py
    int blocks[16]
    int nb
    double* b                     # k
    int64_t* idx                  # n_orders + n_bias
    float* w                      # 16 blocks x k x 16
    float* cf                     # 256
    float* brows                  # n_bias x 16 blocks x 16
    uint8_t* seen                 # n_orders
    char* rows                    # n_orders x k int16 or float32
    double* other[3]              # the other set of scratch rows: a, h, p


ctypedef struct Net:
    # The model's arrays as pointers (see the module's docstring), for one chunk's call.
    float* E                      # the input rows in float32 (formats 1-12) ...
    int16_t* E16                  # ... or in fixed point, ROW_ONE a unit (format 13)
    uint8_t* seen
    double* Wt                    # the output layer in float64 (formats 1-4) ...
    double* c
    float* Wf                     # ... or in float32 (format 5; NULL before)
    float* cf
    double* b
    const int64_t* orders
    Py_ssize_t n_orders
    const double* lr
    uint64_t* ctx
    double* a                     # scratch rows: pre-activations, hidden values,
    double* h                     # probabilities (then their gradient), and the
    double* p                     # gradient at the pre-activations
    double* g
    int64_t* idx
    int64_t* mtab
    double* mw
    float* B                      # the output biases selected by context (format 4)
    const int64_t* bias_orders
    Py_ssize_t n_bias
    Py_ssize_t k
    double boosted[256]           # 1 + boost / (n + 1): an input row's rate factor when
                                  # it has been seen n times (divided once, not per row)
    uint64_t touched              # the rows' counts summed in _predict (never read: see
                                  # there)
    int64_t tracks                # what _advance keeps up beside the bytes (TRACK_*):
                                  # only what some context of the model reads
    Undo* undo                    # where _learn keeps what it writes (NULL: nowhere)


cdef Net _net(E, uint8_t[::1] seen, Wt, c, double[::1] b,
              const int64_t[::1] orders, const double[::1] lr, uint64_t[::1] ctx,
              double[:, ::1] scratch, int64_t[::1] idx, int64_t[::1] mtab, double[::1] mw,
              float[:, ::1] B,
              const int64_t[::1] bias_orders) except *:
    cdef Net m
    # The output layer's precision is its arrays' (float32: format 5)
    cdef double[:, ::1] Wd
    cdef double[::1] cd
    cdef float[:, ::1] Wf
    cdef float[::1] cf
    if np.asarray(Wt).dtype == np.float32:
        Wf = Wt
        cf = c
        m.Wf = &Wf[0, 0]
        m.cf = &cf[0]
        m.Wt = NULL
        m.c = NULL
    else:
        Wd = Wt
        cd = c
        m.Wt = &Wd[0, 0]
        m.c = &cd[0]
        m.Wf = NULL
        m.cf = NULL
    # The input rows' precision is theirs too (int16: format 13)
    cdef float[:, ::1] Ef
    cdef int16_t[:, ::1] Eq
    if np.asarray(E).dtype == np.int16:
        Eq = E
        m.E16 = &Eq[0, 0]
        m.E = NULL
    else:
        Ef = E
        m.E = &Ef[0, 0]
        m.E16 = NULL
    cdef Py_ssize_t k = Wt.shape[0], n_orders = orders.shape[0]
    cdef Py_ssize_t n_bias = bias_orders.shape[0]
    cdef Py_ssize_t i
    if (Wt.shape[1] != 256 or E.shape[1] != k or b.shape[0] != k or c.shape[0] != 256
            or seen.shape[0] != E.shape[0] or n_orders + n_bias != idx.shape[0]
            or n_orders == 0 or lr.shape[0] < LR_RATES + n_orders
            or ctx.shape[0] < CTX_SIZE
            or scratch.shape[0] < 4 or scratch.shape[1] < max(256, k) or mtab.shape[0] < 1
            or mw.shape[0] < 32 or E.shape[0] < 1 or B.shape[0] < 1 or B.shape[1] != 256):
        raise ValueError("model arrays have inconsistent shapes")
    # The hashes index the tables through these shifts: a mismatch would read outside them.
    cdef uint64_t shift = ctx[CTX_SHIFT], mshift = ctx[CTX_MSHIFT], bshift = ctx[CTX_BSHIFT]
    if (not 1 <= shift <= 63 or E.shape[0] != <int64_t>1 << (64 - shift)
            or ctx[CTX_MMIN] > 8 or (ctx[CTX_MMIN] and (
                not 1 <= mshift <= 63 or mtab.shape[0] != <int64_t>1 << (64 - mshift)))
            or (n_bias and (not 1 <= bshift <= 63
                            or B.shape[0] != <int64_t>1 << (64 - bshift)))):
        raise ValueError("the context array does not match the tables' sizes")
    for i in range(n_bias):
        if not 0 <= bias_orders[i] <= 8:
            raise ValueError("bias orders are byte orders 0..8")
    m.seen = &seen[0]
    m.b = &b[0]
    m.orders = &orders[0]
    m.n_orders = orders.shape[0]
    m.lr = &lr[0]
    m.ctx = &ctx[0]
    m.a = &scratch[0, 0]
    m.h = &scratch[1, 0]
    m.p = &scratch[2, 0]
    m.g = &scratch[3, 0]
    m.idx = &idx[0]
    m.mtab = &mtab[0]
    m.mw = &mw[0]
    m.B = &B[0, 0]
    m.bias_orders = &bias_orders[0] if n_bias else NULL
    m.n_bias = n_bias
    m.k = k
    for i in range(256):
        m.boosted[i] = 1.0 + lr[LR_BOOST] / (<double>i + 1.0)
    m.tracks = _tracks(orders)
    m.undo = NULL
    return m


cpdef enum:
    TRACK_MARKUP = 1              # the markup state (MARKUP, MARKUP_WORD)
    TRACK_INDIRECT = 2            # the indirect contexts' tables (INDIRECT_1, INDIRECT_2)
    TRACK_IMAGE = 4               # the image contexts' keys (IMAGE_*)


cdef int64_t _tracks(codes) except -1:
    """The state (TRACK_*) that contexts `codes` (None: none) read. A state no context
    reads is not kept: it costs every byte a few operations and, for the indirect tables,
    a write into 128 KiB."""
    cdef int64_t t = 0
    if codes is not None:
        for o in codes:
            if o == MARKUP or o == MARKUP_WORD:
                t |= TRACK_MARKUP
            elif o == INDIRECT_1 or o == INDIRECT_2:
                t |= TRACK_INDIRECT
            elif IMAGE_MCOLOR <= o <= IMAGE_WN:
                t |= TRACK_IMAGE
    return t


cdef inline uint64_t _mix(uint64_t key, uint64_t salt) noexcept nogil:
    """64-bit hash (splitmix64 finaliser) of a context key."""
    cdef uint64_t h = (key + salt) * <uint64_t>0x9E3779B97F4A7C15ULL
    h ^= h >> 30
    h *= <uint64_t>0xBF58476D1CE4E5B9ULL
    h ^= h >> 27
    h *= <uint64_t>0x94D049BB133111EBULL
    return h ^ (h >> 31)


cdef inline uint64_t _low_bytes(uint64_t x, int64_t n) noexcept nogil:
    """The last n bytes of x (n = 0..8)."""
    if n >= 8:
        return x
    return x & ((<uint64_t>1 << (8 * n)) - 1)


cdef inline int64_t _row(Net* m, uint64_t key, Py_ssize_t o) noexcept nogil:
    """The table row of context number o (in m.orders) whose key is `key`."""
    return <int64_t>(_mix(key, m.ctx[CTX_SEED] * <uint64_t>0x100 + <uint64_t>(o + 1))
                     >> m.ctx[CTX_SHIFT])


cdef inline int64_t _bias_row(Net* m, uint64_t hist, Py_ssize_t o) noexcept nogil:
    """The row of context biases number o (in m.bias_orders) after the bytes `hist`."""
    return <int64_t>(_mix(_low_bytes(hist, m.bias_orders[o]),
                          m.ctx[CTX_SEED] * <uint64_t>0x100 + <uint64_t>(0x80 + o))
                     >> m.ctx[CTX_BSHIFT])


cdef inline int64_t _match_bucket(int64_t length) noexcept nogil:
    """Match lengths 1..15 as they are, longer ones in steps of 8 up to 31."""
    if length < 16:
        return length
    return min(31, 16 + ((length - 16) >> 3))


cdef inline uint8_t _guess(Net* m, const uint8_t* history) noexcept nogil:
    return history[<int64_t>(m.ctx[CTX_MPTR] & m.ctx[CTX_WMASK])]


cdef inline uint64_t _column(Net* m, const uint8_t* history) noexcept nogil:
    """The COLUMN context's key: the position in the current line (up to 255) and the
    byte at that position in the line before (+ 1; 0 when that line is shorter, when
    there is none, or when it lies beyond the history): tables, aligned text, images
    stored a row per line."""
    cdef int64_t pos = <int64_t>m.ctx[CTX_POS], line = <int64_t>m.ctx[CTX_LINE]
    cdef int64_t col = pos - line, above = <int64_t>m.ctx[CTX_PREV_LINE] + col
    cdef uint64_t byte = 0
    if line > 0 and above < line and pos - above <= <int64_t>m.ctx[CTX_WDIST]:
        byte = <uint64_t>history[above & <int64_t>m.ctx[CTX_WMASK]] + 1
    # (tagged in its top byte: _mix adds the salt to the key, so small keys of two
    # contexts whose salts differ by their difference would share every row)
    return <uint64_t>min(col, 255) | (byte << 8) | (<uint64_t>0xC0 << 56)


cdef inline uint64_t _back(Net* m, const uint8_t* history, int64_t d) noexcept nogil:
    """The byte d back from the next one (+ 1), 0 where that lies before the input or
    beyond the history."""
    cdef int64_t pos = <int64_t>m.ctx[CTX_POS]
    if d < 1 or d > pos or d > <int64_t>m.ctx[CTX_WDIST]:
        return 0
    return <uint64_t>history[(pos - d) & <int64_t>m.ctx[CTX_WMASK]] + 1


cdef inline uint64_t _record_key(Net* m, const uint8_t* history, int64_t n) noexcept nogil:
    """The key of record context n (RECORD...): tagged, and without a record length
    the tag alone."""
    cdef int64_t r = <int64_t>m.ctx[CTX_RLEN]
    cdef uint64_t tag = <uint64_t>(0xC5 - 10 - n) << 56, rr = <uint64_t>r << 40
    if r == 0:
        return tag
    if n == RECORD:
        return tag | rr | _back(m, history, r) | (_back(m, history, 2 * r) << 9)
    if n == RECORD_LEFT:
        return tag | rr | _back(m, history, r) | ((m.ctx[CTX_HIST] & 0xFF) << 9)
    if n == RECORD_COL:
        return tag | rr | _back(m, history, r) | (<uint64_t>(m.ctx[CTX_POS] % <uint64_t>r) << 9)
    return (tag | rr | _back(m, history, r + 1) | (_back(m, history, r) << 9)
            | (_back(m, history, r - 1) << 18) | ((m.ctx[CTX_HIST] & 0xFF) << 27))


cdef inline void _records(uint64_t* ctx, const uint8_t* history, int64_t y) noexcept nogil:
    """After byte y: the record length, found as paq8's record model finds it: a byte
    value whose last occurrences lie r apart 4 times in a row (6 for r < 16) votes for
    r; one of two candidates that collects 16 votes becomes the length in use."""
    cdef int64_t t = <int64_t>ctx[CTX_POS]       # y's position + 1
    cdef uint64_t* cp = ctx + CTX_CPOS + 4 * y
    cdef int64_t r = t - <int64_t>cp[0], mask = <int64_t>ctx[CTX_WMASK]
    if (cp[3] and 1 < r <= RECORD_MAX and r == <int64_t>(cp[0] - cp[1])
            and r == <int64_t>(cp[1] - cp[2]) and r == <int64_t>(cp[2] - cp[3])
            and (r >= 16 or (t > 6 * r and 6 * r <= <int64_t>ctx[CTX_WDIST]
                             and history[(t - 1 - 5 * r) & mask] == y
                             and history[(t - 1 - 6 * r) & mask] == y))):
        if r == <int64_t>ctx[CTX_RLEN1]:
            ctx[CTX_RCOUNT1] += 1
        elif r == <int64_t>ctx[CTX_RLEN2]:
            ctx[CTX_RCOUNT2] += 1
        elif ctx[CTX_RCOUNT1] > ctx[CTX_RCOUNT2]:
            ctx[CTX_RLEN2] = <uint64_t>r
            ctx[CTX_RCOUNT2] = 1
        else:
            ctx[CTX_RLEN1] = <uint64_t>r
            ctx[CTX_RCOUNT1] = 1
    if ctx[CTX_RCOUNT1] > 15 and ctx[CTX_RLEN] != ctx[CTX_RLEN1]:
        ctx[CTX_RLEN] = ctx[CTX_RLEN1]
        ctx[CTX_RCOUNT1] = 0
        ctx[CTX_RCOUNT2] = 0
    if ctx[CTX_RCOUNT2] > 15 and ctx[CTX_RLEN] != ctx[CTX_RLEN2]:
        ctx[CTX_RLEN] = ctx[CTX_RLEN2]
        ctx[CTX_RCOUNT1] = 0
        ctx[CTX_RCOUNT2] = 0
    cp[3] = cp[2]
    cp[2] = cp[1]
    cp[1] = cp[0]
    cp[0] = <uint64_t>t


def code_filter(uint8_t[::1] buf, int64_t offset, const int64_t[::1] ranges,
                bint encode, bint arm64=False) -> None:
    """Format 10's x86 call filter, in place on `buf`, the input's bytes from `offset`:
    within the flat [start, end) pairs of `ranges` (file offsets; see code.py), each
    E8 or E9 byte (call, jump) is followed by 4 bytes, and when their top byte is 00 or
    FF (a target within 16 MiB: a call, most likely) they are the target relative to
    the next instruction; `encode` makes it absolute (mod 2^25, the top byte kept 00 or
    FF, as 7-Zip's BCJ filter does), else back. Both directions skip the same bytes (an
    E8 or E9 always takes its 4), so decoding undoes encoding exactly, whatever the
    bytes; windows never cross the ends of `buf`, which the codec calls per chunk.
    With `arm64` (format 12), the 64-bit ARM filter instead (_arm64_filter)."""
    cdef Py_ssize_t n = buf.shape[0], k, lo, hi
    if ranges.shape[0] % 2:
        raise ValueError("code ranges come in pairs")
    for k in range(0, ranges.shape[0], 2):
        lo = <Py_ssize_t>max(ranges[k] - offset, 0)
        hi = <Py_ssize_t>min(ranges[k + 1] - offset, <int64_t>n)
        if lo >= hi:
            continue
        if arm64:
            _arm64_filter(&buf[0], offset, lo, hi, encode)
        else:
            _x86_filter(&buf[0], offset, lo, hi, encode)


cdef void _x86_filter(uint8_t* buf, int64_t offset, Py_ssize_t lo, Py_ssize_t hi,
                      bint encode) noexcept nogil:
    """The x86 call filter (code_filter's) on buf[lo, hi), file offsets from `offset`."""
    cdef Py_ssize_t i = lo
    cdef int64_t pos
    cdef uint32_t v
    while i + 5 <= hi:
        if buf[i] == 0xE8 or buf[i] == 0xE9:
            if buf[i + 4] == 0 or buf[i + 4] == 0xFF:
                v = (<uint32_t>buf[i + 1] | (<uint32_t>buf[i + 2] << 8)
                     | (<uint32_t>buf[i + 3] << 16) | (<uint32_t>buf[i + 4] << 24))
                pos = offset + i + 5
                v = <uint32_t>((<int64_t>v + pos if encode else <int64_t>v - pos)
                               & 0x1FFFFFF)
                if v & 0x1000000:
                    v |= 0xFE000000U
                buf[i + 1] = v & 0xFF
                buf[i + 2] = (v >> 8) & 0xFF
                buf[i + 3] = (v >> 16) & 0xFF
                buf[i + 4] = v >> 24
            i += 5
        else:
            i += 1


cdef void _arm64_filter(uint8_t* buf, int64_t offset, Py_ssize_t lo, Py_ssize_t hi,
                        bint encode) noexcept nogil:
    """xz's ARM64 filter on buf[lo, hi) (file offsets from `offset`), on the 4-byte
    instructions at file offsets divisible by 4: a BL's 26-bit word offset made the
    target's word address (mod 2^26), an ADRP's 21-bit page offset the target's page
    (mod 2^18, sign-extended back to 21 bits) when it lies within +-512 MiB (its top
    bits all equal); every other word as it is. Each direction maps the words it
    changes to words it would change back (an ADRP's result lies in the range again),
    so decoding undoes encoding whatever the bytes."""
    cdef Py_ssize_t i = lo + ((-(offset + lo)) & 3)
    cdef uint32_t w, src, pc, dest
    while i + 4 <= hi:
        w = (<uint32_t>buf[i] | (<uint32_t>buf[i + 1] << 8) | (<uint32_t>buf[i + 2] << 16)
             | (<uint32_t>buf[i + 3] << 24))
        pc = <uint32_t>(offset + i)
        if (w >> 26) == 0x25:                              # BL
            pc >>= 2
            if not encode:
                pc = 0 - pc
            w = 0x94000000U | ((w + pc) & 0x03FFFFFFU)
        elif (w & 0x9F000000U) == 0x90000000U:             # ADRP
            src = ((w >> 29) & 3) | ((w >> 3) & 0x001FFFFCU)
            if (src + 0x00020000U) & 0x001C0000U:          # beyond +-512 MiB: as it is
                i += 4
                continue
            pc >>= 12
            if not encode:
                pc = 0 - pc
            dest = src + pc
            w = ((w & 0x9000001FU) | ((dest & 3) << 29) | ((dest & 0x0003FFFCU) << 3)
                 | ((0 - (dest & 0x00020000U)) & 0x00E00000U))
        else:
            i += 4
            continue
        buf[i] = w & 0xFF
        buf[i + 1] = (w >> 8) & 0xFF
        buf[i + 2] = (w >> 16) & 0xFF
        buf[i + 3] = w >> 24
        i += 4


def record_length(const uint8_t[::1] data) -> int:
    """The record length the model uses after `data` (0: none found), as `_records`
    finds it: for tests and for a look at what the model sees in a file."""
    ctx = np.zeros(CTX_SIZE, np.uint64)
    cdef uint64_t[::1] c = ctx
    c[CTX_WMASK] = NO_WINDOW
    c[CTX_WDIST] = NO_WINDOW
    cdef Py_ssize_t t
    for t in range(data.shape[0]):
        c[CTX_POS] += 1
        _records(&c[0], &data[0], data[t])
    return int(c[CTX_RLEN])


cpdef enum:
    MARKUP_CONTENT = 0            # outside tags (an element's content, or no markup)
    MARKUP_NAME = 1               # after '<': the tag's name
    MARKUP_TAG = 2                # in a tag after its name (its attributes)
    MARKUP_VALUE = 3              # in a quoted attribute value


cdef inline bint _name_byte(int64_t y) noexcept nogil:
    """A byte of a tag's name: letters, digits and / : - _ ! ? (closing tags, namespaces,
    comments, declarations)."""
    return ((48 <= y <= 58) or (65 <= y <= 90) or (97 <= y <= 122) or y == 47 or y == 45
            or y == 95 or y == 33 or y == 63)


cdef inline void _markup(uint64_t* ctx, int64_t y) noexcept nogil:
    """Byte y moves the markup state (format 9): '<' starts a tag's name, its first other
    byte ends it, '>' leaves the tag, double quotes open and close a value. The name stays
    after '>', so content reads with the tag it follows (a tokenizer's view, not a parser's:
    any input gives some state, never an error)."""
    cdef uint64_t state = ctx[CTX_MARKUP]
    if y == 60:                                  # '<'
        ctx[CTX_MARKUP] = MARKUP_NAME
        ctx[CTX_TAG] = 0
    elif state == MARKUP_NAME:
        if _name_byte(y):
            ctx[CTX_TAG] = (ctx[CTX_TAG] + <uint64_t>y + 1) * <uint64_t>0x100000001B3ULL
        else:
            ctx[CTX_MARKUP] = MARKUP_CONTENT if y == 62 else MARKUP_TAG
    elif state == MARKUP_TAG:
        if y == 62:                              # '>'
            ctx[CTX_MARKUP] = MARKUP_CONTENT
        elif y == 34:                            # '"'
            ctx[CTX_MARKUP] = MARKUP_VALUE
    elif state == MARKUP_VALUE and y == 34:
        ctx[CTX_MARKUP] = MARKUP_TAG


def markup_state(const uint8_t[::1] data) -> tuple[int, int]:
    """The markup state after `data` (MARKUP_*) and the hash of the last tag's name, as
    `_markup` finds them: for tests and for a look at what the model sees."""
    ctx = np.zeros(CTX_SIZE, np.uint64)      # (MARKUP_CONTENT, no tag yet)
    cdef uint64_t[::1] c = ctx
    cdef Py_ssize_t t
    for t in range(data.shape[0]):
        _markup(&c[0], data[t])
    return int(c[CTX_MARKUP]), int(c[CTX_TAG])


cdef inline uint64_t _tag_key(const uint64_t* ctx) noexcept nogil:
    """The markup contexts' common part: the last tag's name and where the input is."""
    return (ctx[CTX_TAG] * <uint64_t>0x9E3779B97F4A7C15ULL) ^ (ctx[CTX_MARKUP] << 8)


cdef inline uint64_t _ind2(const uint64_t* ctx) noexcept nogil:
    """The two bytes that followed the last two bytes the last two times."""
    cdef uint64_t pair = ctx[CTX_HIST] & 0xFFFF
    return (ctx[CTX_IND2 + (pair >> 2)] >> ((pair & 3) << 4)) & 0xFFFF


cdef inline void _indirect(uint64_t* ctx, int64_t y) noexcept nogil:
    """Before byte y is shifted into the context: y followed the last byte and the
    last two (the indirect contexts' tables)."""
    cdef uint64_t hist = ctx[CTX_HIST]
    cdef uint64_t* t = ctx + CTX_IND1 + (hist & 0xFF)
    t[0] = ((t[0] << 8) | <uint64_t>y) & 0xFFFF
    cdef uint64_t pair = hist & 0xFFFF
    cdef int shift = <int>((pair & 3) << 4)
    t = ctx + CTX_IND2 + (pair >> 2)
    cdef uint64_t old = (t[0] >> shift) & 0xFFFF
    t[0] = (t[0] & ~(<uint64_t>0xFFFF << shift)) | ((((old << 8) | <uint64_t>y) & 0xFFFF)
                                                     << shift)


cdef inline int64_t _pixel(Net* m, const uint8_t* history, int64_t d,
                           int64_t start) noexcept nogil:
    """The byte d back from the next one, 0 where that lies before the image's first
    byte (`start`) or beyond the history."""
    if d < 1 or <int64_t>m.ctx[CTX_POS] - d < start:
        return 0
    cdef int64_t v = <int64_t>_back(m, history, d)
    return v - 1 if v else 0


cdef inline int64_t _clip8(int64_t v) noexcept nogil:
    return 0 if v < 0 else (255 if v > 255 else v)


cdef inline void _image_keys(Net* m, const uint8_t* history) noexcept nogil:
    """The image contexts' keys (IMAGE_*) for the next byte, into CTX_IMAGE_KEYS: from
    its neighbours of the same channel, where it lies in the image (CTX_IMAGE); each
    context's tag alone elsewhere."""
    cdef uint64_t* ctx = m.ctx
    cdef uint64_t* key = ctx + CTX_IMAGE_KEYS
    cdef int64_t start = <int64_t>ctx[CTX_IMAGE], end = <int64_t>ctx[CTX_IMAGE + 1]
    cdef int64_t row = <int64_t>ctx[CTX_IMAGE + 2], px = <int64_t>ctx[CTX_IMAGE + 3]
    cdef int64_t pos = <int64_t>ctx[CTX_POS], i
    for i in range(IMAGE_CONTEXTS):
        key[i] = <uint64_t>(0xD0 + i) << 56
    if row == 0 or pos < start or pos >= end:
        return
    cdef int64_t c = ((pos - start) % row) % px
    cdef int64_t w = _pixel(m, history, px, start), n = _pixel(m, history, row, start)
    cdef int64_t nw = _pixel(m, history, row + px, start)
    cdef int64_t ne = _pixel(m, history, row - px, start)
    cdef int64_t ww = _pixel(m, history, 2 * px, start)
    cdef int64_t nn = _pixel(m, history, 2 * row, start)
    cdef int64_t nne = _pixel(m, history, 2 * row - px, start)
    cdef int64_t p1, pw, pn, moved, color, vcolor, mcolor
    if c > 0:
        p1 = _pixel(m, history, 1, start)   # the previous channel, here, left and above
        pw = _pixel(m, history, 1 + px, start)
        pn = _pixel(m, history, 1 + row, start)
        moved = _clip8(w + p1 - pw)         # W moved as the previous channel moved
        color = moved | (<int64_t>1 << 8)
        vcolor = _clip8(n + p1 - pn) | ((moved >> 3) << 8) | (<int64_t>1 << 16)
        mcolor = _clip8(((w + n + 1) >> 1) + p1 - ((pw + pn + 1) >> 1)) | (<int64_t>1 << 18)
        if c > 1:                           # the first channel's move from its W
            mcolor |= (_clip8(w + _pixel(m, history, 2, start)
                              - _pixel(m, history, 2 + px, start)) >> 2) << 8
    else:
        color = _clip8(n + ne - nne) | ((w >> 2) << 9)
        vcolor = _clip8(w + ne - n) | ((n >> 3) << 8)
        mcolor = w | ((n - nw + 256) << 8)
    cdef uint64_t ch = <uint64_t>c << 48
    key[0] |= ch | <uint64_t>(w | (n << 8))
    key[1] |= ch | <uint64_t>_clip8(w + n - nw)
    key[2] |= ch | <uint64_t>(w | (nw << 8))
    key[3] |= ch | <uint64_t>(n | (ne << 8))
    key[4] |= ch | <uint64_t>(((w + n + 1) >> 1) | (min((w - n if w > n else n - w) >> 2, 15) << 8))
    key[5] |= ch | <uint64_t>(_clip8(2 * n - nn) | ((_clip8(2 * w - ww) >> 2) << 8))
    key[6] |= ch | <uint64_t>color
    key[7] |= ch | <uint64_t>((w >> 5) | ((n >> 5) << 3) | ((nw >> 5) << 6) | ((ne >> 5) << 9))
    key[8] |= ch | <uint64_t>vcolor
    key[9] |= ch | <uint64_t>mcolor


cdef inline uint64_t _key(Net* m, const uint8_t* history, Py_ssize_t o) noexcept nogil:
    """The key of context number o (in m.orders) at the current position."""
    return _key_of(m, history, m.orders[o])


cdef inline uint64_t _key_of(Net* m, const uint8_t* history, int64_t n) noexcept nogil:
    """The key of the context whose code (a byte order, WORD, ...) is n, here."""
    cdef int64_t length
    if n == WORD:
        return m.ctx[CTX_WORD]
    if n == WORDS:
        return m.ctx[CTX_WORD] ^ (m.ctx[CTX_PREV_WORD] * <uint64_t>0x2545F4914F6CDD1DULL)
    if n == MATCH:
        # An input row per (guessed byte, match length): the network learns how far to
        # trust a guess of each length, and the guess reaches the output through the k
        # units like every other context.
        length = <int64_t>m.ctx[CTX_MLEN]
        if length > 0:
            return (<uint64_t>_guess(m, history) + 1) | (<uint64_t>_match_bucket(length) << 9)
        return 0
    if n == COLUMN:
        return _column(m, history)
    if n == WORD_SKIP:
        return m.ctx[CTX_WORD] ^ (m.ctx[CTX_PREV2_WORD] * <uint64_t>0x2545F4914F6CDD1DULL)
    # (each tagged in its top byte, as _column's key is)
    if n == SPARSE_23:
        return ((m.ctx[CTX_HIST] >> 8) & 0xFFFF) | (<uint64_t>0xC1 << 56)
    if n == SPARSE_13:
        return (m.ctx[CTX_HIST] & 0xFF00FF) | (<uint64_t>0xC2 << 56)
    if n == ALIGN:
        return (m.ctx[CTX_HIST] & 0xFF) | ((m.ctx[CTX_POS] & 3) << 8) | (<uint64_t>0xC4 << 56)
    if n == SPARSE_2:
        return ((m.ctx[CTX_HIST] >> 8) & 0xFF) | (<uint64_t>0xC3 << 56)
    if n == INDIRECT_1:
        return ((m.ctx[CTX_HIST] & 0xFF) | (m.ctx[CTX_IND1 + (m.ctx[CTX_HIST] & 0xFF)] << 8)
                | (<uint64_t>0xC8 << 56))
    if n == INDIRECT_2:
        return ((m.ctx[CTX_HIST] & 0xFFFF) | (<uint64_t>_ind2(m.ctx) << 16)
                | (<uint64_t>0xC9 << 56))
    if n == MARKUP:
        return _tag_key(m.ctx) ^ (m.ctx[CTX_HIST] & 0xFF)
    if n == MARKUP_WORD:
        return (_tag_key(m.ctx) ^ (m.ctx[CTX_WORD] * <uint64_t>0x2545F4914F6CDD1DULL)
                ^ <uint64_t>0xC6)
    if IMAGE_MCOLOR <= n <= IMAGE_WN:
        return m.ctx[CTX_IMAGE_KEYS + IMAGE_WN - n]
    if n <= RECORD:
        return _record_key(m, history, n)
    return _low_bytes(m.ctx[CTX_HIST], n)


cdef inline void _prefetch_row(Net* m, int64_t r) noexcept nogil:
    """Ask for input row r: two cache lines in float32 at k = 32, one in int16."""
    if m.E16 != NULL:
        _prefetch(m.E16 + r * m.k)
        _prefetch(m.E16 + r * m.k + m.k - 1)
    else:
        _prefetch(m.E + r * m.k)
        _prefetch(m.E + r * m.k + m.k - 1)


cdef inline void _prefetch_rows(Net* m, const uint8_t* history, bint match) noexcept nogil:
    """Ask for the table rows (and counts) of the contexts at the current position, the
    match model's (`match`) or all the others and the context biases: each is a likely
    cache miss, and the CPU fetches them side by side. Changes no result."""
    cdef Py_ssize_t o, i
    cdef int64_t r
    for o in range(m.n_orders):
        if (m.orders[o] == MATCH) == match:
            r = _row(m, _key(m, history, o), o)
            _prefetch_row(m, r)
            _prefetch(m.seen + r)
    if match:
        return
    for o in range(m.n_bias):
        r = _bias_row(m, m.ctx[CTX_HIST], o)
        for i in range(0, 256, 16):    # a row of 256 float32 is 16 cache lines
            _prefetch(m.B + r * 256 + i)


cdef void _predict(Net* m, const uint8_t* history, int64_t* freq) noexcept nogil:
    """Fill freq (int64, 256, sums to TOTAL) with the model's prediction of the next
    byte; leaves hidden values and probabilities in the scratch rows for `_learn`.
    `history` holds the bytes coded so far (the match model reads its guess there)."""
    cdef Py_ssize_t k = m.k, o, j, i
    cdef int64_t length
    # (the rows were asked for during the last byte's `_learn`, or are asked for here)
    for o in range(m.n_orders):
        m.idx[o] = _row(m, _key(m, history, o), o)
        _prefetch_row(m, m.idx[o])
    for o in range(m.n_bias):
        m.idx[m.n_orders + o] = _bias_row(m, m.ctx[CTX_HIST], o)
    # The rows' counts, read now beside the rows (their cache misses overlap) so that
    # `_learn` finds them in cache: there, each count's load waited behind the stores of
    # the row before it (45% of `_learn`'s samples under perf). Changes no result;
    # lcet10.txt compressed 6-9% faster in alternating runs (2026-12-07).
    cdef uint64_t touched = 0
    for o in range(m.n_orders):
        touched += m.seen[m.idx[o]]
    m.touched = touched
    cdef double* a = m.a
    cdef double* h = m.h
    cdef double* p = m.p
    cdef const float* row
    cdef const int16_t* row16
    if m.E16 != NULL:
        # Format 13: the rows' sum in whole steps (exact in float64 in any order), then
        # in units
        for j in range(k):
            a[j] = 0.0
        for o in range(m.n_orders):
            row16 = m.E16 + m.idx[o] * k
            for j in range(k):
                a[j] += <double>row16[j]
        for j in range(k):
            a[j] = m.b[j] + a[j] * (1.0 / ROW_ONE)
    else:
        for j in range(k):
            a[j] = m.b[j]
        for o in range(m.n_orders):
            row = m.E + m.idx[o] * k
            for j in range(k):
                a[j] += <double>row[j]
    for j in range(k):
        h[j] = _tanh(a[j])
    # Logits, summed over j in order for every output; a block of 32 outputs at a time
    # so their running sums stay in registers across the k units.
    cdef double acc[32]
    cdef float z[256]
    cdef Py_ssize_t ib, t
    cdef double hj
    cdef const double* w
    # Output biases selected by the last bytes (format 4): where the k units cannot tell
    # two contexts apart, these rows still can (a softmax layer's bias, one per context).
    # Added in float32 in format 5, in float64 in format 4.
    cdef const float* brow
    if m.Wf != NULL:
        _logits_f32(m.Wf, m.cf, h, k, z)
        for o in range(m.n_bias):
            brow = m.B + m.idx[m.n_orders + o] * 256
            for i in range(256):
                z[i] += brow[i]
    else:
        for ib in range(0, 256, 32):
            for t in range(32):
                acc[t] = m.c[ib + t]
            for j in range(k):
                hj = h[j]
                w = m.Wt + j * 256 + ib
                for t in range(32):
                    acc[t] += w[t] * hj
            for t in range(32):
                p[ib + t] = acc[t]
        for o in range(m.n_bias):
            brow = m.B + m.idx[m.n_orders + o] * 256
            for i in range(256):
                p[i] += <double>brow[i]
    length = <int64_t>m.ctx[CTX_MLEN]  # 0 without the match model: nothing sets it
    if length > 0:
        # The match model's direct connection: its guess's logit gets a learned weight
        # per match length (a one-hot input wired straight to the guessed output).
        if m.Wf != NULL:
            z[_guess(m, history)] += <float>m.mw[_match_bucket(length)]
        else:
            p[_guess(m, history)] += m.mw[_match_bucket(length)]
    # The largest logit (exact in any order: max does not round), in lanes; then the
    # exponentials (float32 in format 5).
    cdef double lane[8]
    cdef double zmax
    if m.Wf != NULL:
        _exp_f32(z, _max_f32(z), p)
    else:
        for t in range(8):
            lane[t] = p[t]
        for i in range(8, 256, 8):
            for t in range(8):
                lane[t] = p[i + t] if p[i + t] > lane[t] else lane[t]
        zmax = lane[0]
        for t in range(1, 8):
            zmax = lane[t] if lane[t] > zmax else zmax
        for i in range(256):
            p[i] = _exp_neg(p[i] - zmax)
    cdef double total = 0.0
    if m.Wf != NULL:
        # Format 5: in 8 lanes (lane t adds outputs t mod 8 in order), then pairwise
        for t in range(8):
            lane[t] = 0.0
        for i in range(0, 256, 8):
            for t in range(8):
                lane[t] += p[i + t]
        total = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + (
            (lane[4] + lane[5]) + (lane[6] + lane[7]))
    else:   # one sum in order (formats 1-4)
        for i in range(256):
            total += p[i]
    cdef double inv = 1.0 / total
    for i in range(256):
        p[i] *= inv
    _quantise(p, freq, 256)


cdef inline int64_t _match_slot_of(Net* m, uint64_t hist) noexcept nogil:
    """The match table's slot of the last CTX_MMIN bytes of `hist` (as CTX_HIST)."""
    cdef uint64_t key = _low_bytes(hist, <int64_t>m.ctx[CTX_MMIN])
    return <int64_t>(_mix(key, m.ctx[CTX_SEED] * <uint64_t>0x100 + <uint64_t>0xFF)
                     >> m.ctx[CTX_MSHIFT])


cdef inline int64_t _match_slot(Net* m) noexcept nogil:
    """The match table's slot of the last CTX_MMIN bytes."""
    return _match_slot_of(m, m.ctx[CTX_HIST])


cdef inline void _advance(Net* m, const uint8_t* history, int64_t y) noexcept nogil:
    """Shift byte y (already at history[pos]) into the context: the last bytes, the line
    starts, the words, and the match model's current match (extended or dropped); the
    match table is read later, in `_match_find` (its slot is a likely cache miss, asked
    for here)."""
    cdef uint64_t* ctx = m.ctx
    if m.tracks & TRACK_MARKUP:
        _markup(ctx, y)
    if m.tracks & TRACK_INDIRECT:
        _indirect(ctx, y)
    ctx[CTX_HIST] = (ctx[CTX_HIST] << 8) | <uint64_t>y
    if y == 10:                      # a new line starts after this byte
        ctx[CTX_PREV_LINE] = ctx[CTX_LINE]
        ctx[CTX_LINE] = ctx[CTX_POS] + 1
    cdef int64_t letter = y | 32
    if 97 <= letter <= 122:
        ctx[CTX_WORD] = (ctx[CTX_WORD] + <uint64_t>letter) * <uint64_t>0x100000001B3ULL
    elif ctx[CTX_WORD] != 0:         # a word just ended: it becomes the previous word
        ctx[CTX_PREV2_WORD] = ctx[CTX_PREV_WORD]
        ctx[CTX_PREV_WORD] = ctx[CTX_WORD]
        ctx[CTX_WORD] = 0
    cdef int64_t pos = <int64_t>ctx[CTX_POS] + 1
    ctx[CTX_POS] = <uint64_t>pos
    _records(ctx, history, y)
    if m.tracks & TRACK_IMAGE:
        _image_keys(m, history)
    cdef int64_t length = <int64_t>ctx[CTX_MLEN], ptr
    if length > 0:
        ptr = <int64_t>ctx[CTX_MPTR]
        if history[ptr & <int64_t>ctx[CTX_WMASK]] == y:
            ctx[CTX_MLEN] = <uint64_t>min(length + 1, <int64_t>MATCH_LONGEST)
            ctx[CTX_MPTR] = <uint64_t>(ptr + 1)
        else:
            ctx[CTX_MLEN] = 0
    if ctx[CTX_MMIN]:
        _prefetch(m.mtab + _match_slot(m))


cdef inline void _match_find(Net* m, const uint8_t* history) noexcept nogil:
    """After `_advance`: when there is no current match, look the last CTX_MMIN bytes up
    in the match table; a candidate is kept only when the bytes before it really match
    (the table is a hash). Then the table remembers this position for those bytes."""
    cdef uint64_t* ctx = m.ctx
    cdef int64_t pos = <int64_t>ctx[CTX_POS], mask = <int64_t>ctx[CTX_WMASK]
    cdef int64_t mmin = <int64_t>ctx[CTX_MMIN]
    if mmin == 0 or pos < mmin:
        return
    cdef int64_t slot = _match_slot(m)
    cdef int64_t cand, n
    if ctx[CTX_MLEN] == 0:
        cand = m.mtab[slot]
        if cand > 0 and pos - cand <= <int64_t>ctx[CTX_WDIST]:
            n = 0
            while n < MATCH_VERIFY and cand - 1 - n >= 0 and \
                    history[(cand - 1 - n) & mask] == history[(pos - 1 - n) & mask]:
                n += 1
            if n >= mmin:
                ctx[CTX_MLEN] = <uint64_t>n
                ctx[CTX_MPTR] = <uint64_t>cand
    if m.undo != NULL:
        m.undo.mslot = slot
        m.undo.mold = m.mtab[slot]
    m.mtab[slot] = pos


cdef void _learn(Net* m, const uint8_t* history, int64_t y) noexcept nogil:
    """One SGD step on -log p[y], and y shifted into the context. The context moves
    first (the step reads none of what moves, only the rows found by `_predict` and the
    match as it was), so that the next byte's table rows arrive while the step runs."""
    cdef int64_t length = <int64_t>m.ctx[CTX_MLEN]
    cdef int64_t guess = _guess(m, history) if length > 0 else 0
    _advance(m, history, y)
    _prefetch_rows(m, history, False)
    cdef Py_ssize_t k = m.k, j, i, o
    cdef double v
    cdef double* h = m.h
    cdef double* p = m.p
    cdef double* g = m.g
    cdef const double* lr = m.lr
    cdef uint64_t* ctx = m.ctx
    cdef double lr_in = lr[LR_INPUT], lr_out = lr[LR_OUTPUT], lr_b = lr[LR_HIDDEN_BIAS]
    cdef double clamp = lr[LR_CLAMP]
    cdef Undo* u = m.undo
    # The output layer's rate starts at lr[LR_OUTPUT_FIRST] and falls as 1 / position toward lr_out: the
    # first kilobytes are where a file's bits go fastest, and a rate that suits them
    # would keep the weights noisy for the rest of the file.
    lr_out += (lr[LR_OUTPUT_FIRST] - lr_out) * 1024.0 / (1024.0 + <double>ctx[CTX_STEPS])  # FIRST_BYTES
    ctx[CTX_STEPS] += 1
    p[y] -= 1.0                      # d loss / d logits = p - onehot(y)
    # d loss / d h[j] = sum_i p[i] Wt[j, i], summed in interleaved partial sums: a single
    # running sum is a 256-add dependency chain (the slowest part of a byte); fixed lanes
    # (8 in float64, 16 in float32) run in parallel and still add in an order fixed by
    # this code. Each weight is read for the sum before the same pass updates it; four
    # rows at a time, so four chains of sums run side by side.
    cdef float pf[256]
    cdef int blocks[16]
    cdef int nb = 0, q
    if m.Wf != NULL:
        # Format 5: float32, and only the blocks of 16 outputs where some |p| (the
        # gradient at the logits) reaches lr[LR_SKIP]; most of a byte's 256 outputs are
        # unlikely in every context that has been seen a few times.
        for i in range(256):
            pf[i] = <float>p[i]
        nb = _active_blocks(pf, <float>lr[LR_SKIP], blocks)
        if u != NULL:
            u.nb = nb
            memcpy(u.blocks, blocks, 16 * sizeof(int))
        j = 0
        while j + 4 <= k:
            _out_f32_4(m.Wf + j * 256, pf, lr_out, h + j, g + j, blocks, nb,
                       u.w + j * 16 if u != NULL else NULL, k)
            j += 4
        while j < k:
            _out_f32_1(m.Wf + j * 256, pf, lr_out, h + j, g + j, blocks, nb,
                       u.w + j * 16 if u != NULL else NULL, k)
            j += 1
        for q in range(nb):          # the output biases, in the same blocks
            if u != NULL:
                memcpy(u.cf + q * 16, m.cf + blocks[q] * 16, 16 * sizeof(float))
            for i in range(blocks[q] * 16, blocks[q] * 16 + 16):
                m.cf[i] = <float>(<double>m.cf[i] - lr_out * p[i])
    else:
        j = 0
        while j + 4 <= k:
            _out_step4(m.Wt + j * 256, p, lr_out, h + j, g + j)
            j += 4
        while j < k:
            _out_step1(m.Wt + j * 256, p, lr_out, h + j, g + j)
            j += 1
        for i in range(256):
            m.c[i] -= lr_out * p[i]
    for j in range(k):
        m.b[j] -= lr_b * g[j]
    cdef double lr_bias = lr[LR_BIAS]
    cdef float* brow
    for o in range(m.n_bias):
        brow = m.B + m.idx[m.n_orders + o] * 256
        if m.Wf != NULL:             # format 5: in the output layer's blocks
            for q in range(nb):
                if u != NULL:
                    memcpy(u.brows + (o * 16 + q) * 16, brow + blocks[q] * 16,
                           16 * sizeof(float))
                for i in range(blocks[q] * 16, blocks[q] * 16 + 16):
                    brow[i] = <float>(<double>brow[i] - lr_bias * p[i])
        else:
            for i in range(256):
                brow[i] = <float>(<double>brow[i] - lr_bias * p[i])
    if length > 0:
        m.mw[_match_bucket(length)] -= lr[LR_MATCH] * p[guess]
    _match_find(m, history)
    _prefetch_rows(m, history, True)
    cdef int64_t r
    cdef uint8_t n
    cdef double rate
    cdef float* row
    cdef int16_t* row16
    # Format 13's rows: each step rounded to the nearest 1/ROW_ONE (a half away from
    # zero rounds up: floor(x + 0.5), the same on every machine), within +-ROW_LIMIT
    cdef double limit = clamp * ROW_ONE if clamp * ROW_ONE < ROW_LIMIT else ROW_LIMIT
    for o in range(m.n_orders):
        r = m.idx[o]
        n = m.seen[r]
        rate = lr_in * m.boosted[n] * lr[LR_RATES + o]
        if n < 255:
            m.seen[r] = n + 1
        if m.E16 != NULL:
            row16 = m.E16 + r * k
            rate *= ROW_ONE
            for j in range(k):
                v = floor(<double>row16[j] - rate * g[j] + 0.5)
                v = v if v > -limit else -limit
                row16[j] = <int16_t>(v if v < limit else limit)
            continue
        row = m.E + r * k
        for j in range(k):
            v = <double>row[j] - rate * g[j]
            v = v if v > -clamp else -clamp
            row[j] = <float>(v if v < clamp else clamp)


# ---- secondary estimation (format 6) and the bit models (format 7) ---------------------
#
# With maps (Predictor.apm), a byte is coded as 8 binary decisions, from the top bit
# down: each bit's probability starts as the network's (the share of the node's
# quantised frequency that lies in its upper half) and is refined by three adaptive
# probability maps (lpaq1's APMs: the probability, stretched, interpolated between 24
# learnt values chosen by a context: the node with the last byte, with a hash of the
# last two bytes, and with the match model's expected bit and match length), then the
# four are mixed by a small online mixer (lpaq1's, weights chosen by the bit and the
# match expectation) and averaged with their plain mean. Integer arithmetic only
# (stretch and squash from paq8's table of 33 integers), so every machine computes the
# same numbers. Measured on the corpus: README (Compression, format 6).
#
# Format 7 adds bit models (Predictor.cm): for each of 8 contexts, a counter per tree
# node that learns the bit's probability by counting (its rate 1/(n + 1.5) after n bits,
# lpaq1's StateMap without the bit histories), kept in buckets of 64 bytes (a cache
# line: a check and one nibble's 15 counters; two buckets a byte, the second chosen by
# the first nibble). Their stretched probabilities join the network's and the maps' as
# the inputs of two mixers, one with weights chosen by how many of the 8 contexts were
# seen before, the match expectation and the bit, the other by the tree node (paq8's
# mixers by context); the mean of the two is refined by a final map (the last two bytes
# and the node) and averaged with it. The maps' contexts are laid out by nibble then
# (_map_blocks), so that a nibble's bits read neighbouring memory. The network is one
# model among several, as in paq8 each model is: where its softmax is sure the mixers
# follow it; where a context was seen only a few times, the counters, which learn from
# one occurrence, speak first. Measured on the corpus: README (Compression, format 7).
#
# Format 8 (README: format 8): each counter is read through a count map (its context,
# its count class and its last bit); a bucket may take 4 places (the least used is
# replaced); a third mixer (weights by the last byte) joins the two and a final mixer
# of the three replaces their mean; the first mixers learn faster at the input's start
# and only from errors above MIX_QUIET; the network's probability goes through the
# match map alone; and other data's bit models read the record contexts (_records).

cpdef enum:
    APM_STEPS = 24                # interpolation points per context
    APM_CONTEXTS = 1 << 16        # contexts per map (node x last byte: 255 x 256 fit)
    APM_SIZE = APM_STEPS * APM_CONTEXTS
    APM_MAPS = 3                  # node x last byte, node x last two, node x match
    MIX_INPUTS = 5                # the network's and the maps' probabilities, a bias
    MIX_SETS = 24                 # weight sets: 8 bits x 3 match expectations
    MIX_SHIFT = 12                # the mixer's learning rate: err x input / 2^12
    APM_RATE = 6                  # an entry moves 1/64 of the way to each coded bit
    P_LEAST = 32                  # a coded bit's least probability (of TOTAL): a byte
                                  # costs at most 8 x 11 bits
    CM_MAX = 12                   # the most bit models' contexts (Settings.cm_orders:
                                  # codes as in orders, chosen per profile; format 7:
                                  # always 8)
    CM_BUCKET = 16                # a bucket: its check, then a nibble's 15 counters
    CM_LIMIT = 1023               # a counter's rate stops falling after this many bits
    MIX_WIDE = MIX_INPUTS + 2 * CM_MAX   # the mixers' most inputs with the bit models
                                  # (format 10: two a context)
    MIX_KNOWN_SETS = 168          # the first mixer's weight sets: 7 counts of contexts
                                  # seen x 3 match expectations x 8 bits
    MIX_WIDE_SETS = MIX_KNOWN_SETS + 256   # ... and the second's, one per tree node
    MIX_BYTE_SETS = 256           # format 8: a third mixer's, one per last byte, ...
    MIX_FINAL_SETS = 168          # ... and the final mixer's, as the first's (rows of
                                  # MIX_WIDE_SETS's width, 3 inputs used)
    MIX_FINAL_RATE = 6            # the final mixer learns at 6/16 of the others' rate
    APM_WIDE_MAPS = APM_MAPS + 1  # the maps with the final one
    CM_CLASSES = 16               # format 8's count maps: a counter's bits seen, in
                                  # classes (0, 1, 2, 3, 4-7, 8-15, ..., 512-1023) ...
    CM_MAPS_SIZE = CM_MAX * CM_CLASSES * 2 * APM_STEPS   # ... a map per context, class
                                  # and last bit seen (kept in the counter's lowest bit)
    CM_MAP_RATE = 7               # an entry moves 1/128 of the way to each coded bit
    CM_TRUST = 6                  # format 10: a context's second input is its first
                                  # times (count class - CM_TRUST) / 8: against it while
                                  # the context is young (fewer than 16 bits seen),
                                  # for it after (the mixer learns one weight for both)
    FINAL_RATE_O1 = 7             # format 10: the final map by the last byte moves 1/128
    MIX_QUIET = 64                # format 8's first mixers learn only from errors above
                                  # 64/4096 (most bits of text are near sure: fewer
                                  # updates, and 0.06% smaller than learning from all)

cdef int16_t _STRETCH[4096]
cdef int _SQUASH[33]
_SQUASH_POINTS = (1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546, 2047,
                  2549, 2994, 3348, 3607, 3785, 3901, 3975, 4024, 4050, 4068, 4079, 4085,
                  4089, 4092, 4093, 4094)
# A counter's rate (of 2^16) after n bits: 1 / (n + 1.5), from 2/3 down to 1/1024.5;
# and its class in the count maps.
cdef int32_t _CM_RATE[CM_LIMIT + 1]
cdef uint8_t _CM_CLASS[CM_LIMIT + 1]


cdef int _squash(int d) noexcept nogil:
    """4096 / (1 + e^-d/256), in integers (paq8's table and interpolation)."""
    cdef int w
    cdef int* t = _SQUASH
    if d > 2047:
        return 4095
    if d < -2047:
        return 1
    w = d & 127
    d = (d >> 7) + 16
    return (t[d] * (128 - w) + t[d + 1] * w + 64) >> 7


def _make_tables() -> None:
    """_STRETCH[p] = the d whose squash first reaches p: squash's inverse; the
    counters' rates."""
    cdef int x, v, i, pi = 0
    for i in range(33):
        _SQUASH[i] = _SQUASH_POINTS[i]
    for x in range(-2047, 2048):
        v = _squash(x)
        for i in range(pi, v + 1):
            _STRETCH[i] = x
        pi = v + 1
    for i in range(pi, 4096):
        _STRETCH[i] = 2047
    for i in range(CM_LIMIT + 1):
        _CM_RATE[i] = 131072 // (2 * i + 3)
        _CM_CLASS[i] = i if i < 4 else int(i).bit_length() + 1


_make_tables()


def apm_table(bit_models: bool = False, final: bool = False,
              final_maps: int = 1) -> np.ndarray:
    """Fresh maps (the final one and the count maps too, with the bit models; with the
    `final` mixer, format 8, the match map and the final one alone; format 10's second
    final map with `final_maps` 2): every context starts as the identity map."""
    if final_maps not in (1, 2) or (final_maps == 2 and not final):
        raise ValueError("one or two final maps; the second goes with the final mixer")
    row = np.array([_squash((j * 4096) // (APM_STEPS - 1) - 2048) * 16
                    for j in range(APM_STEPS)], np.uint16)
    return np.tile(row, _apm_size(bit_models, final, final_maps == 2) // APM_STEPS)


cdef inline Py_ssize_t _apm_size(bint bit_models, bint final, bint order1) noexcept:
    if not bit_models:
        return APM_MAPS * APM_SIZE
    return ((2 + order1) if final else APM_WIDE_MAPS) * APM_SIZE + CM_MAPS_SIZE


def mixer_table(bit_models: int = 0, final: bool = False,
                confidence: bool = False) -> np.ndarray:
    """Fresh mixer weights: the mean of the four probabilities, stretched (the inputs of
    the bit models' contexts, `bit_models` of them, two each with `confidence`, format
    10, start at 0); with the `final` mixer (format 8), the third mixer's sets and the
    final one's, the mean of its three."""
    if not 0 <= bit_models <= CM_MAX or ((final or confidence) and not bit_models):
        raise ValueError(f"the bit models have 1 to {CM_MAX} contexts; the final mixer "
                         "and the confidence inputs go with them")
    if not bit_models:
        w = np.zeros((MIX_SETS, MIX_INPUTS), np.int64)
        w[:, :4] = 1 << 14
        return w.reshape(-1)
    w = np.zeros((_mixer_rows(final), MIX_INPUTS + bit_models * (1 + confidence)), np.int64)
    w[:, :4] = 1 << 14
    w[MIX_WIDE_SETS + MIX_BYTE_SETS:, :3] = 65536 // 3
    return w.reshape(-1)


cdef inline Py_ssize_t _mixer_rows(bint final) noexcept:
    return MIX_WIDE_SETS + (MIX_BYTE_SETS + MIX_FINAL_SETS if final else 0)


def cm_entries(bits: int, contexts: int) -> int:
    """The bit models' uint32 counters and checks: a table of 2**bits buckets (64 bytes
    each) per context; zero (a bucket whose check is 0) is a bucket never used."""
    return contexts * CM_BUCKET << bits


cdef inline int64_t _apm(const uint16_t* t, int64_t st, int64_t cx, int64_t* at) noexcept nogil:
    """The map's refinement (of 65536) of a probability whose stretch is st, in context
    cx; *at: the entry the update moves (the nearer of the two interpolated)."""
    cdef int64_t pr = (st + 2048) * (APM_STEPS - 1)
    cdef int64_t wt = pr & 0xFFF
    cdef int64_t base = cx * APM_STEPS + (pr >> 12)
    at[0] = base + (wt >> 11)
    return (<int64_t>t[base] * (4096 - wt) + <int64_t>t[base + 1] * wt) >> 12


cdef inline void _apm_update(uint16_t* t, int64_t at, int64_t bit) noexcept nogil:
    _apm_move(t, at, bit, APM_RATE)


cdef inline void _apm_move(uint16_t* t, int64_t at, int64_t bit, int rate) noexcept nogil:
    """Move a map's entry 1/2^rate of the way towards the coded bit."""
    cdef int64_t g = (bit << 16) + (bit << rate) - bit - bit
    t[at] = <uint16_t>(t[at] + ((g - <int64_t>t[at]) >> rate))


ctypedef struct Sse:
    # The secondary estimation's state for one call: the maps and the mixer's weights
    # (owned by the Predictor), and what the current bit's update needs.
    uint16_t* maps                # APM_MAPS maps of APM_SIZE entries (APM_WIDE_MAPS)
    uint16_t* map[APM_WIDE_MAPS]  # each map (format 8 keeps the match map and the
                                  # final one only: NULL for the others)
    int64_t* w                    # MIX_SETS sets of MIX_INPUTS weights (1.0 = 2^16), or
                                  # MIX_WIDE_SETS of MIX_WIDE with the bit models
    int64_t at[APM_MAPS]          # the entry of each map the update moves
    int64_t x[MIX_WIDE]           # the mixer's inputs (stretched probabilities, a bias)
    int64_t set                   # the weight set in use
    int64_t pm                    # the mixer's probability (of 4096)
    # format 7's bit models (cm NULL without them)
    uint32_t* cm                  # n_cm tables of buckets of CM_BUCKET entries
    uint64_t cm_mask              # buckets per table - 1
    const int64_t* cm_orders      # the code of each one's context (as in orders)
    Py_ssize_t n_cm               # how many (1..CM_MAX)
    Py_ssize_t wide               # the mixers' inputs: MIX_INPUTS + n_cm
    uint64_t cmh[CM_MAX]          # the byte's context hash for each
    uint32_t* slot[CM_MAX]        # the current nibble's bucket of each
    int64_t nib                   # the current bit's counter in the buckets (1..15)
    int64_t set2                  # the second mixer's weight set
    int64_t pm2                   # its probability (of 4096)
    int64_t at_final              # the final map's entry the update moves
    int64_t blk[3]                # the nibble's block of 16 contexts in the first two
                                  # maps and the final one
    uint16_t* cmap                # format 8's count maps (NULL: counters read as they
    int64_t cat[CM_MAX]           # are); the entry of each the update moves
    bint final                    # format 8: a third mixer (weights by the last byte)
    int64_t mix_boost             # format 8: the first mixers' extra rate at the start
    int64_t boost                 # (Settings.mixer_boost), and now (of 16)
    int64_t c1                    # and a final one of the three; the last byte, the
    int64_t set3                  # third's set and probability, the final's set,
    int64_t pm3                   # probability and inputs
    int64_t setf
    int64_t pf
    int64_t xf[3]
    int64_t ways                  # the places a context's bucket may take (format 8: 4)
    bint confidence               # format 10: a second input per context (CM_TRUST)
    uint16_t* map_o1              # format 10: the final map by the last byte and the
    int64_t at_o1                 # node (NULL without it); the entry the update moves


cdef inline uint32_t* _cm_at(Sse* e, Py_ssize_t i, uint64_t h) noexcept nogil:
    """Where table i keeps the bucket of hash h."""
    return e.cm + ((<uint64_t>i * (e.cm_mask + 1) + (h & e.cm_mask)) << 4)


cdef inline uint64_t _second_nibble(uint64_t h, int64_t high) noexcept nogil:
    """The hash of a context with the byte's first nibble (high = 16 + its value)."""
    return _mix(h, <uint64_t>(high - 15))


cdef inline void _cm_prefetch(Sse* e, Py_ssize_t i, uint64_t h) noexcept nogil:
    """Ask for the buckets where table i may keep hash h (e.ways side by side)."""
    cdef uint32_t* s = _cm_at(e, i, h & ~<uint64_t>(e.ways - 1))
    cdef int k
    for k in range(e.ways):
        _prefetch(s + CM_BUCKET * k)


cdef inline uint32_t* _cm_bucket(Sse* e, Py_ssize_t i, uint64_t h) noexcept nogil:
    """Table i's bucket for hash h: the one of its e.ways places (neighbours in one
    group of buckets) that holds it (its check, the hash's top 32 bits, is there), else
    the one least used (fewest bits seen at its first node; format 7 has one place),
    emptied: counters at 1/2, no bit seen. As paq8's hash tables, contexts seen often
    are kept when many seen once pass by."""
    cdef uint32_t* s = _cm_at(e, i, h)
    cdef uint32_t check = <uint32_t>(h >> 32) | 1
    cdef uint32_t* t
    cdef uint32_t* least = s
    cdef int j
    if s[0] == check:
        return s
    for j in range(1, e.ways):
        t = _cm_at(e, i, h ^ <uint64_t>j)
        if t[0] == check:
            return t
        if (t[1] & 1023) < (least[1] & 1023):
            least = t
    least[0] = check
    for j in range(1, CM_BUCKET):
        least[j] = <uint32_t>1 << 31
    return least


cdef inline uint64_t _cm_hash(Net* m, Sse* e, const uint8_t* history, int i) noexcept nogil:
    """Bit model i's context hash for the next byte."""
    return _mix(_key_of(m, history, e.cm_orders[i]), <uint64_t>(0xB1 + i))


cdef inline void _cm_hashes(Net* m, Sse* e, const uint8_t* history) noexcept nogil:
    """Each bit model's context hash for the next byte, and a request for its first
    bucket (called before the network's prediction, which gives the memory time to
    come)."""
    cdef uint64_t hist = m.ctx[CTX_HIST]
    cdef int i
    for i in range(e.n_cm):
        e.cmh[i] = _cm_hash(m, e, history, i)
        _cm_prefetch(e, i, e.cmh[i])
    _map_blocks(e, hist, 0)


cdef inline void _map_blocks(Sse* e, uint64_t hist, int64_t high) noexcept nogil:
    """With the bit models, the maps' contexts (but the match map's) are the nibble's:
    a block of 16 (a hash of the last byte, of the last two, with the nibble `high`,
    as in _cm_nibble), and the node within the nibble. A nibble's 4 bits then read 768
    bytes side by side, asked for here at once (with the node's hash, every bit's read
    was a cache miss: a third of the time of format 7's first version)."""
    cdef uint64_t h = <uint64_t>high << 16
    e.blk[0] = <int64_t>(_mix((hist & 0xFF) | h, <uint64_t>0xA8) >> 52) << 4
    e.blk[1] = <int64_t>(_mix((hist & 0xFFFF) | h, <uint64_t>0xA9) >> 52) << 4
    e.blk[2] = <int64_t>(_mix((hist & 0xFFFF) | h, <uint64_t>0xAB) >> 52) << 4
    cdef int j, k
    for j in range(0 if e.map[0] != NULL else 2, 3):   # (format 8: the final map's alone)
        for k in range(0, 16 * APM_STEPS * 2, 64):
            _prefetch(<const char*>(e.map[j if j < 2 else APM_MAPS]
                                    + e.blk[j] * APM_STEPS) + k)


cdef inline void _cm_nibble(Sse* e, int64_t high, uint64_t hist) noexcept nogil:
    """A nibble's buckets: the byte's first (high 0), or its second, chosen by the
    first nibble (high = 16 + its value)."""
    cdef int i
    if high:
        _map_blocks(e, hist, high)
    for i in range(e.n_cm):
        e.slot[i] = _cm_bucket(e, i, e.cmh[i] if high == 0 else
                               _second_nibble(e.cmh[i], high))
    e.nib = 1


cdef inline void _cm_ask(Sse* e, int64_t high) noexcept nogil:
    """Ask for the second nibble's buckets should the first be `high` (16 + its value):
    at the first nibble's last bit, for both of its values."""
    cdef int i
    for i in range(e.n_cm):
        _cm_prefetch(e, i, _second_nibble(e.cmh[i], high))


cdef inline int64_t _dot(const int64_t* x, const int64_t* w, int64_t n) noexcept nogil:
    """A mixer's probability (of 4096): squash of the weighted sum of its inputs."""
    cdef int64_t dot = 0
    cdef int i
    for i in range(n):
        dot += x[i] * w[i]
    dot >>= 16
    return _squash(<int>(2047 if dot > 2047 else (-2047 if dot < -2047 else dot)))


cdef inline int64_t _clamp(int64_t p) noexcept nogil:
    return P_LEAST if p < P_LEAST else (TOTAL - P_LEAST if p > TOTAL - P_LEAST else p)


cdef inline int64_t _bit_p(Net* m, Sse* e, const int64_t* cum, int64_t lo, int64_t size,
                           int64_t node, int64_t b, int64_t guess) noexcept nogil:
    """The probability (of TOTAL, P_LEAST..TOTAL - P_LEAST) that bit b (0: the top one)
    is 1, at tree node `node` (1..255) whose bytes are [lo, lo + size); `guess`: the
    match model's byte, -1 without a match."""
    cdef int64_t total = cum[lo + size] - cum[lo]
    cdef int64_t p = ((cum[lo + size] - cum[lo + (size >> 1)]) << 16) // total
    if p > 65535:
        p = 65535
    cdef uint64_t hist = m.ctx[CTX_HIST]
    # the match model's expectation here: its guess's bit where the guess's bits so far
    # are the node's (0 or 1), else 2; with the match length (up to 15)
    cdef int64_t expect = 2, length = 0
    if guess >= 0 and (guess | 256) >> (8 - b) == node:
        expect = (guess >> (7 - b)) & 1
        length = min(<int64_t>m.ctx[CTX_MLEN], 15)
    # the network's probability stretched once, for the three maps and the mixer
    e.x[0] = _STRETCH[p >> 4]
    cdef int64_t c1, c2
    if e.cm != NULL:
        c1 = e.blk[0] | e.nib
        c2 = e.blk[1] | e.nib
    else:
        c1 = (node << 8) | <int64_t>(hist & 0xFF)
        c2 = <int64_t>(_mix((hist & 0xFFFF) | (<uint64_t>node << 16), <uint64_t>0xA9) >> 48)
    cdef int64_t a1 = 0, a2 = 0
    if e.map[0] != NULL:
        a1 = _apm(e.map[0], e.x[0], c1, &e.at[0])
        a2 = _apm(e.map[1], e.x[0], c2, &e.at[1])
    cdef int64_t a3 = _apm(e.map[2], e.x[0],
                           ((length * 3 + expect) << 8) | node, &e.at[2])
    e.x[1] = _STRETCH[a1 >> 4] if e.map[0] != NULL else 0
    e.x[2] = _STRETCH[a2 >> 4] if e.map[0] != NULL else 0
    e.x[3] = _STRETCH[a3 >> 4]
    e.x[4] = 256
    if e.cm != NULL:
        e.c1 = <int64_t>(hist & 0xFF)
        # format 8: the first mixers learn faster at the input's start, (16 + boost -
        # KiB / 4) / 16 times, down to once from 4 x boost KiB on
        e.boost = 16 + max(0, e.mix_boost - (<int64_t>m.ctx[CTX_POS] >> 12))
        return _wide_p(e, node, b, expect)
    # A mixer (lpaq1's, in integers) of the four, stretched, with weights by bit and
    # expectation, averaged 5:3 with their plain mean (whose 16 bits keep the near-sure
    # bits of text cheaper than the mixer's 12).
    e.set = b * 3 + expect
    e.pm = _dot(e.x, e.w + e.set * MIX_INPUTS, MIX_INPUTS)
    return _clamp((3 * ((p + a1 + a2 + a3) >> 2) + 5 * (e.pm << 4)) >> 3)


cdef inline int64_t _wide_p(Sse* e, int64_t node, int64_t b, int64_t expect) noexcept nogil:
    """The bit probability with the bit models: their counters (format 8: through the
    count maps) join the four as inputs of the mixers; the mean of two (format 7) or the
    final mixer of three (format 8), refined by the final map, averaged with it."""
    cdef int i
    cdef int64_t seen = 0
    cdef uint32_t v
    cdef int64_t* trust = e.x + MIX_INPUTS + e.n_cm
    for i in range(e.n_cm):
        v = e.slot[i][e.nib]
        if e.cmap == NULL:
            e.x[MIX_INPUTS + i] = _STRETCH[v >> 20]
        else:
            # what the counter's probability, after so many bits and with this last
            # bit, has been worth (paq8 maps bit histories so, young contexts alike)
            e.x[MIX_INPUTS + i] = _STRETCH[_apm(
                e.cmap, _STRETCH[v >> 20],
                (i * CM_CLASSES + _CM_CLASS[v & 1023]) * 2 + ((v >> 10) & 1),
                &e.cat[i]) >> 4]
        if e.confidence:
            # how far to trust the context grows with the bits it has seen: the mixer's
            # weights for this input and the first make one weight per count class
            trust[i] = (e.x[MIX_INPUTS + i] * (<int64_t>_CM_CLASS[v & 1023] - CM_TRUST)) >> 3
        seen += (v & 1023) != 0
    e.set = (min(seen, 6) * 3 + expect) * 8 + b
    e.set2 = MIX_KNOWN_SETS + node
    e.pm = _dot(e.x, e.w + e.set * e.wide, e.wide)
    e.pm2 = _dot(e.x, e.w + e.set2 * e.wide, e.wide)
    cdef int64_t p
    if e.final:
        # paq8's second layer: a mixer of the mixers, in place of their mean
        e.set3 = MIX_WIDE_SETS + e.c1
        e.pm3 = _dot(e.x, e.w + e.set3 * e.wide, e.wide)
        e.xf[0] = _STRETCH[e.pm]
        e.xf[1] = _STRETCH[e.pm2]
        e.xf[2] = _STRETCH[e.pm3]
        e.setf = MIX_WIDE_SETS + MIX_BYTE_SETS + e.set
        e.pf = _dot(e.xf, e.w + e.setf * e.wide, 3)
        p = _clamp(e.pf << 4)
    else:
        p = _clamp(((e.pm + e.pm2 + 1) >> 1) << 4)
    cdef int64_t f = _apm(e.map[APM_MAPS], _STRETCH[p >> 4], e.blk[2] | e.nib,
                          &e.at_final)
    cdef int64_t g
    if e.map_o1 != NULL:
        # format 10: a second final map, by the last byte and the node (exact: 65536
        # contexts), weighed in as paq8 chains its APMs: 4:6:6 with the mixer and the first
        g = _apm(e.map_o1, _STRETCH[p >> 4], (e.c1 << 8) | node, &e.at_o1)
        return _clamp((4 * p + 6 * f + 6 * g) >> 4)
    return _clamp((p + f) >> 1)


cdef inline void _sse_update(Sse* e, int64_t bit) noexcept nogil:
    cdef int i
    for i in range(APM_MAPS):
        if e.map[i] != NULL:
            _apm_update(e.map[i], e.at[i], bit)
    if e.cm == NULL:
        _mixer_update(e.x, e.w + e.set * MIX_INPUTS, MIX_INPUTS, (bit << 12) - e.pm)
        return
    cdef int64_t err
    if e.final:
        err = (bit << 12) - e.pm
        if err > MIX_QUIET or err < -MIX_QUIET:
            _mixer_update(e.x, e.w + e.set * e.wide, e.wide, (err * e.boost) >> 4)
        err = (bit << 12) - e.pm2
        if err > MIX_QUIET or err < -MIX_QUIET:
            _mixer_update(e.x, e.w + e.set2 * e.wide, e.wide, (err * e.boost) >> 4)
        err = (bit << 12) - e.pm3
        if err > MIX_QUIET or err < -MIX_QUIET:
            _mixer_update(e.x, e.w + e.set3 * e.wide, e.wide, (err * e.boost) >> 4)
        _mixer_update(e.xf, e.w + e.setf * e.wide, 3,
                      (((bit << 12) - e.pf) * MIX_FINAL_RATE) >> 4)
    else:
        _mixer_update(e.x, e.w + e.set * e.wide, e.wide, (bit << 12) - e.pm)
        _mixer_update(e.x, e.w + e.set2 * e.wide, e.wide, (bit << 12) - e.pm2)
    _apm_update(e.map[APM_MAPS], e.at_final, bit)
    if e.map_o1 != NULL:
        _apm_move(e.map_o1, e.at_o1, bit, FINAL_RATE_O1)
    if e.cmap != NULL:
        for i in range(e.n_cm):
            _apm_move(e.cmap, e.cat[i], bit, CM_MAP_RATE)
    cdef uint32_t v
    cdef int64_t n, p
    for i in range(e.n_cm):
        v = e.slot[i][e.nib]
        n = v & 1023
        p = v >> 10
        p += (((bit << 22) - p) * _CM_RATE[n]) >> 16
        if e.cmap != NULL:
            p = (p & ~1) | bit    # format 8: the last bit in the probability's lowest
        e.slot[i][e.nib] = <uint32_t>((p << 10) | (n + 1 if n < CM_LIMIT else n))
    e.nib = 2 * e.nib + bit


cdef inline void _mixer_update(const int64_t* x, int64_t* w, int64_t n,
                               int64_t err) noexcept nogil:
    cdef int i
    for i in range(n):
        w[i] += (x[i] * err) >> MIX_SHIFT


cdef inline int64_t _match_guess(Net* m, const uint8_t* history) noexcept nogil:
    return <int64_t>_guess(m, history) if m.ctx[CTX_MLEN] > 0 else -1


cdef int64_t _bits(Net* m, Sse* e, const int64_t* cum, int64_t guess, int64_t y,
                   int64_t* st, uint8_t* out, const uint8_t* buf, Py_ssize_t n,
                   double* eff) noexcept nogil:
    """Walk a byte's 8 bits down the tree, top bit first, and let the maps and the mixer
    learn each: code byte y's (out not NULL), decode a byte (buf not NULL; y unused), or
    only learn y's (neither: bytes learnt and not coded, such as a block stored raw or
    the primer, which both sides take). Returns the byte; *eff (eff not NULL): TOTAL
    times the probability it was coded with."""
    cdef int64_t lo = 0, size = 256, node = 1, bit, p
    cdef int b
    for b in range(8):
        if e.cm != NULL and (b == 0 or b == 4):
            _cm_nibble(e, 0 if b == 0 else node, m.ctx[CTX_HIST])
        elif e.cm != NULL and b == 3:
            _cm_ask(e, 2 * node)
            _cm_ask(e, 2 * node + 1)
        p = _bit_p(m, e, cum, lo, size, node, b, guess)
        if buf != NULL:
            bit = _decode_bit(st, buf, n, p)
        else:
            bit = (y >> (7 - b)) & 1
            if out != NULL:
                _encode(st, out, TOTAL - p if bit else 0, p if bit else TOTAL - p)
        if eff != NULL:
            eff[0] *= (p if bit else TOTAL - p) / <double>TOTAL
        _sse_update(e, bit)
        size >>= 1
        lo += bit * size
        node = 2 * node + bit
    return lo


# ---- the encoder in two threads -------------------------------------------------------
#
# Where the bytes are known before they are coded (Predictor.encode, and .learn: the
# primer, a block stored raw), the network and the bit models need not wait for each
# other: the network's steps (the prediction, then the step on the byte) read nothing
# the bit models write, and the bit models read of the network only its prediction and
# a few words of its context. So the network runs up to PIPE_RING bytes ahead in the
# calling thread and hands each byte's prediction over (a Step); a second thread codes
# the bits from them. Every number is computed as in the loop of one thread, so the
# archives are the same bytes. The decoder cannot do this: the network's next step needs
# the byte the bits decode (it guesses the byte instead: _guessing, below).

cpdef enum:
    PIPE_RING = 16                # Steps the network may run ahead (a power of two)
    PIPE_CTX = CTX_STEPS + 1      # the context words a Step copies (the bit models
                                  # read CTX_HIST, CTX_MLEN and CTX_POS of them)
    PIPE_FROM = 4096              # shorter calls run in one thread (a thread's start
                                  # costs about what a few bytes do)

ctypedef struct Step:
    int64_t cum[257]              # the network's cumulative frequencies for the byte
    uint64_t ctx[PIPE_CTX]        # the context as the byte's bits are coded
    uint64_t cmh[CM_MAX]          # the bit models' context hashes (as _cm_hashes makes)
    int64_t guess                 # the match model's guess (_match_guess)
    int64_t y                     # the byte
    int64_t assumed               # the decoder's: the byte before, as the network guessed
                                  # it (-1: known; see _guessing)

ctypedef struct Pipe:
    Step* ring
    Py_ssize_t n                  # bytes in the call
    Net m                         # the network as _bits sees it (ctx: the Step's copy)
    Sse* e
    int64_t* st                   # the coder's state and output (NULL: learn only)
    uint8_t* out
    double* coded                 # each byte's coded frequency (NULL: learn only)
    int64_t pad0[8]
    int64_t made                  # Steps the network has filled (its thread writes)
    int64_t pad1[8]
    int64_t taken                 # Steps the bit models are done with (theirs)
    int64_t pad2[8]


cdef inline void _wait_until(const int64_t* counter, int64_t at_least) noexcept nogil:
    cdef int64_t turns = 0
    while _acquire(counter) < at_least:
        _spin(turns)
        turns += 1


cdef inline void _fetch_step(const Step* s, bint to_write) noexcept nogil:
    """Ask for a Step's lines at once. They move between the two threads' cores: the
    bits would read them one after another (each bit's node depends on the bit before),
    and the network's stores into them would wait for each line in turn (its cumulative
    frequencies were a third of the network thread's loop under perf, 2026-12-08)."""
    cdef const char* c = <const char*>s
    cdef Py_ssize_t k, size = sizeof(Step)
    for k in range(0, size, 64):
        if to_write:
            _prefetch_w(c + k)
        else:
            _prefetch(c + k)


cdef inline void _take_step(Net* m, Sse* e, Step* s, bint ask) noexcept nogil:
    """The bits' thread takes Step s: its lines asked for, its context for _bits, and
    the bit models' hashes (their buckets asked for too where `ask`: the first Step)."""
    cdef int j
    _fetch_step(s, False)
    m.ctx = s.ctx
    if e.cm != NULL:
        for j in range(e.n_cm):
            e.cmh[j] = s.cmh[j]
            if ask:
                _cm_prefetch(e, j, s.cmh[j])
        _map_blocks(e, s.ctx[CTX_HIST], 0)


cdef void* _bit_worker(void* arg) noexcept nogil:
    """The second thread: each Step's bits, in order (as the loop of one thread codes
    them after the network's prediction), and the next Step's first buckets asked for
    while this one is coded."""
    cdef Pipe* q = <Pipe*>arg
    cdef Sse* e = q.e
    cdef Step* s
    cdef Step* after
    cdef Py_ssize_t i
    cdef int j
    cdef double eff
    for i in range(q.n):
        _wait_until(&q.made, i + 1)
        s = &q.ring[i & (PIPE_RING - 1)]
        _take_step(&q.m, e, s, i == 0)
        if e.cm != NULL and i + 1 < q.n and _acquire(&q.made) >= i + 2:
            after = &q.ring[(i + 1) & (PIPE_RING - 1)]
            for j in range(e.n_cm):
                _cm_prefetch(e, j, after.cmh[j])
        if q.coded != NULL:
            eff = <double>TOTAL
            _bits(&q.m, e, s.cum, s.guess, s.y, q.st, q.out, NULL, 0, &eff)
            q.coded[i] = eff
        else:
            _bits(&q.m, e, s.cum, s.guess, s.y, NULL, NULL, NULL, 0, NULL)
        _release(&q.taken, i + 1)
    return NULL


cdef bint _pipelined(Net* m, Sse* e, const uint8_t* d, Py_ssize_t start, Py_ssize_t end,
                     int64_t* freq, int64_t* st, uint8_t* out,
                     double* coded) noexcept nogil:
    """Positions [start, end) of d, the network in this thread and the bits in a second
    one (coded into out with st, each byte's frequency into coded; neither: learnt
    only). False, having done nothing, where no second thread could start."""
    cdef Pipe q
    cdef Step* s
    cdef Py_ssize_t t, i
    cdef int j
    cdef int64_t mask = <int64_t>m.ctx[CTX_WMASK]
    q.ring = <Step*>malloc(PIPE_RING * sizeof(Step))
    if q.ring == NULL:
        return False
    q.n = end - start
    q.m = m[0]
    q.e = e
    q.st = st
    q.out = out
    q.coded = coded
    q.made = 0
    q.taken = 0
    cdef void* worker = _spawn(_bit_worker, &q)
    if worker == NULL:
        free(q.ring)
        return False
    for t in range(start, end):
        i = t - start
        _wait_until(&q.taken, i + 1 - PIPE_RING)
        s = &q.ring[i & (PIPE_RING - 1)]
        _fetch_step(s, True)
        if e.cm != NULL:
            for j in range(e.n_cm):
                s.cmh[j] = _cm_hash(m, e, d, j)
        _predict(m, d, freq)
        _cumulate(freq, s.cum, 256)
        memcpy(s.ctx, m.ctx, PIPE_CTX * sizeof(uint64_t))
        s.guess = _match_guess(m, d)
        s.y = d[t & mask]
        _release(&q.made, i + 1)
        _learn(m, d, s.y)
    _join(worker)
    free(q.ring)
    return True


# ---- the decoder in two threads -------------------------------------------------------
#
# The decoder cannot run the network ahead as the encoder does: the network's step on a
# byte needs the byte, and the bits decode it. So the network guesses it. While the
# second thread decodes byte t's bits, the network takes its step on its likeliest byte
# (its largest frequency) and predicts byte t + 1 from there; when the decoded byte is
# that guess (56-80% of the corpus files' bytes), byte t + 1's bits start at once.
# Otherwise the network puts back every value its step wrote (kept before it wrote them:
# _save, and _learn itself where m.undo is set; _restore), takes the step on the decoded
# byte and predicts t + 1 again. Either way every number is the one the loop of one
# thread computes, so no format changes. Taken on huge pages only (Predictor.guessing).

cpdef enum:
    SPEC_RING = 4                 # Steps in the ring (the network is at most one ahead)


cdef Undo* _undo_new(Net* m) noexcept nogil:
    """An Undo with room for network m (NULL where memory ran out); free it whole."""
    cdef Py_ssize_t k = m.k, n = m.n_orders + m.n_bias, width = max(256, k)
    cdef Py_ssize_t rb = 2 if m.E16 != NULL else 4
    cdef Py_ssize_t size = (sizeof(Undo) + 8 * (k + n + 3 * width) + 4 * (k * 256 + 256)
                            + 4 * m.n_bias * 256 + rb * m.n_orders * k + m.n_orders)
    cdef char* mem = <char*>malloc(size)
    if mem == NULL:
        return NULL
    cdef Undo* u = <Undo*>mem
    cdef char* at = mem + sizeof(Undo)
    u.other[0] = <double*>at
    u.other[1] = u.other[0] + width
    u.other[2] = u.other[1] + width
    at += 8 * 3 * width
    u.b = <double*>at
    at += 8 * k
    u.idx = <int64_t*>at
    at += 8 * n
    u.w = <float*>at
    at += 4 * k * 256
    u.cf = <float*>at
    at += 4 * 256
    u.brows = <float*>at
    at += 4 * m.n_bias * 256
    u.rows = at
    at += rb * m.n_orders * k
    u.seen = <uint8_t*>at
    return u


cdef inline void _swap_scratch(Net* m, Undo* u) noexcept nogil:
    """The network's scratch rows (a, h, p) and the other set change places."""
    cdef double* a = m.a
    cdef double* h = m.h
    cdef double* p = m.p
    m.a = u.other[0]
    m.h = u.other[1]
    m.p = u.other[2]
    u.other[0] = a
    u.other[1] = h
    u.other[2] = p


cdef void _save(Net* m, Undo* u, int64_t y) noexcept nogil:
    """Before _learn(m, history, y): keep what the step writes that _learn does not
    keep itself (see Undo), and have _learn keep the rest."""
    cdef uint64_t* ctx = m.ctx
    cdef uint64_t hist = ctx[CTX_HIST]
    cdef Py_ssize_t k = m.k, o, r
    cdef Py_ssize_t rb = 2 if m.E16 != NULL else 4
    cdef int64_t length = <int64_t>ctx[CTX_MLEN]
    memcpy(u.head, ctx, CTX_CPOS * sizeof(uint64_t))
    u.cpos_at = CTX_CPOS + 4 * y
    memcpy(u.cpos, ctx + u.cpos_at, 4 * sizeof(uint64_t))
    memcpy(u.image, ctx + CTX_IMAGE_KEYS, IMAGE_CONTEXTS * sizeof(uint64_t))
    u.tag = ctx[CTX_TAG]
    u.markup = ctx[CTX_MARKUP]
    u.ind1_at = CTX_IND1 + <Py_ssize_t>(hist & 0xFF)
    u.ind1 = ctx[u.ind1_at]
    u.ind2_at = CTX_IND2 + <Py_ssize_t>((hist & 0xFFFF) >> 2)
    u.ind2 = ctx[u.ind2_at]
    u.mslot = -1                     # (_match_find sets it where it writes)
    u.mw_at = _match_bucket(length) if length > 0 else -1
    if u.mw_at >= 0:
        u.mw = m.mw[u.mw_at]
    u.py = m.p[y]
    memcpy(u.b, m.b, k * sizeof(double))
    memcpy(u.idx, m.idx, (m.n_orders + m.n_bias) * sizeof(int64_t))
    for o in range(m.n_orders):
        r = m.idx[o]
        u.seen[o] = m.seen[r]
        if m.E16 != NULL:
            memcpy(u.rows + o * k * rb, m.E16 + r * k, k * rb)
        else:
            memcpy(u.rows + o * k * rb, m.E + r * k, k * rb)
    m.undo = u


cdef void _restore(Net* m, Undo* u, int64_t y) noexcept nogil:
    """Undo _learn's step on byte y and the prediction after it (made in the other set
    of scratch rows): every value kept goes back."""
    cdef uint64_t* ctx = m.ctx
    cdef Py_ssize_t k = m.k, j, o, q, r
    cdef Py_ssize_t rb = 2 if m.E16 != NULL else 4
    _swap_scratch(m, u)
    m.p[y] = u.py
    memcpy(m.idx, u.idx, (m.n_orders + m.n_bias) * sizeof(int64_t))
    for o in range(m.n_orders):
        r = m.idx[o]
        m.seen[r] = u.seen[o]
        if m.E16 != NULL:
            memcpy(m.E16 + r * k, u.rows + o * k * rb, k * rb)
        else:
            memcpy(m.E + r * k, u.rows + o * k * rb, k * rb)
    for q in range(u.nb):
        for j in range(k):
            memcpy(m.Wf + j * 256 + u.blocks[q] * 16, u.w + (q * k + j) * 16,
                   16 * sizeof(float))
        memcpy(m.cf + u.blocks[q] * 16, u.cf + q * 16, 16 * sizeof(float))
        # (_learn kept each bias row as it came to it: where two contexts share a row,
        # the first one's copy is the row before the step, so it goes back last)
        for o in range(m.n_bias - 1, -1, -1):
            memcpy(m.B + m.idx[m.n_orders + o] * 256 + u.blocks[q] * 16,
                   u.brows + (o * 16 + q) * 16, 16 * sizeof(float))
    memcpy(m.b, u.b, k * sizeof(double))
    if u.mw_at >= 0:
        m.mw[u.mw_at] = u.mw
    if u.mslot >= 0:
        m.mtab[u.mslot] = u.mold
    ctx[u.ind2_at] = u.ind2
    ctx[u.ind1_at] = u.ind1
    ctx[CTX_MARKUP] = u.markup
    ctx[CTX_TAG] = u.tag
    memcpy(ctx + CTX_IMAGE_KEYS, u.image, IMAGE_CONTEXTS * sizeof(uint64_t))
    memcpy(ctx + u.cpos_at, u.cpos, 4 * sizeof(uint64_t))
    memcpy(ctx, u.head, CTX_CPOS * sizeof(uint64_t))


ctypedef struct Guessing:
    Step* ring
    Step* fix                     # a Step predicted again after a wrong guess
    Py_ssize_t n
    Net m                         # the network as _bits sees it (ctx: the Step's copy)
    Sse* e
    int64_t* st
    const uint8_t* buf
    Py_ssize_t nbuf
    int64_t pad0[8]
    int64_t made                  # Steps the network has filled (its thread writes) ...
    int64_t fixed                 # ... and Step i is in fix when this is i + 1
    int64_t pad1[8]
    int64_t done                  # bytes decoded (the bits' thread writes) ...
    int64_t stop                  # ... 1: the stream ran out (see Predictor.decode)
    int64_t ys[SPEC_RING]         # ... and the last of them
    int64_t pad2[8]


# Tests only (guess_wrong_every): every n-th position's guess is made wrong on purpose,
# so that the undoing is exercised; 0 in use
cdef Py_ssize_t _WRONG_EVERY = 0


def guess_wrong_every(Py_ssize_t n) -> None:
    """Tests only: make the two-thread decoder's guess wrong at every n-th position
    (0: never), so that every undo path runs; the bytes decoded stay the same."""
    global _WRONG_EVERY
    _WRONG_EVERY = n


cdef void* _bit_decoder(void* arg) noexcept nogil:
    """The second thread: each byte's bits, from the network's Step for it (its fix
    where the Step assumed a byte before that is not the one decoded)."""
    cdef Guessing* q = <Guessing*>arg
    cdef Sse* e = q.e
    cdef Step* s
    cdef Py_ssize_t i
    cdef int64_t y = -1
    for i in range(q.n):
        _wait_until(&q.made, i + 1)
        s = &q.ring[i & (SPEC_RING - 1)]
        if s.assumed >= 0 and s.assumed != y:
            _wait_until(&q.fixed, i + 1)
            s = q.fix
        _take_step(&q.m, e, s, False)
        y = _bits(&q.m, e, s.cum, s.guess, 0, q.st, NULL, q.buf, q.nbuf, NULL)
        q.ys[i & (SPEC_RING - 1)] = y
        if q.st[POS] > q.nbuf + FLUSH_BYTES:
            _release(&q.stop, 1)
            _release(&q.done, i + 1)
            break
        _release(&q.done, i + 1)
    return NULL


cdef inline void _next_step(Net* m, Sse* e, const uint8_t* history, int64_t* freq, Step* s,
                            int64_t assumed) noexcept nogil:
    """The network's prediction of the next byte into Step s, with what the bits read
    of the context (and the bit models' buckets asked for)."""
    cdef int j
    if e.cm != NULL:
        for j in range(e.n_cm):
            s.cmh[j] = _cm_hash(m, e, history, j)
            _cm_prefetch(e, j, s.cmh[j])
    _predict(m, history, freq)
    _cumulate(freq, s.cum, 256)
    memcpy(s.ctx, m.ctx, PIPE_CTX * sizeof(uint64_t))
    s.guess = _match_guess(m, history)
    s.assumed = assumed


cdef inline int64_t _likeliest(const int64_t* freq) noexcept nogil:
    """The byte of the largest frequency (the first of equals): the largest found in
    lanes (no branch), then where it is."""
    cdef int64_t most = freq[0]
    cdef Py_ssize_t i
    for i in range(1, 256):
        most = freq[i] if freq[i] > most else most
    for i in range(256):
        if freq[i] == most:
            return i
    return 0


cdef bint _guessing(Net* m, Sse* e, uint8_t* history, Py_ssize_t start, Py_ssize_t end,
                    int64_t* freq, int64_t* st, const uint8_t* buf, Py_ssize_t nbuf,
                    int64_t* guessed) noexcept nogil:
    """Decode positions [start, end) into history, the network in this thread (guessing
    each byte, see above) and the bits in a second one; guessed[0], [1]: the guesses
    right and wrong. False, having done nothing, where no second thread could start."""
    cdef Guessing q
    cdef Undo* u = _undo_new(m)
    q.ring = <Step*>malloc((SPEC_RING + 1) * sizeof(Step))
    if q.ring == NULL or u == NULL:
        free(q.ring)
        free(u)
        return False
    q.fix = q.ring + SPEC_RING
    q.n = end - start
    q.m = m[0]
    q.e = e
    q.st = st
    q.buf = buf
    q.nbuf = nbuf
    q.made = 0
    q.fixed = 0
    q.done = 0
    q.stop = 0
    cdef int64_t mask = <int64_t>m.ctx[CTX_WMASK], y, g = 0
    cdef Py_ssize_t i, t
    cdef bint ahead
    cdef void* worker = _spawn(_bit_decoder, &q)
    if worker == NULL:
        free(q.ring)
        free(u)
        return False
    _next_step(m, e, history, freq, &q.ring[0], -1)
    _release(&q.made, 1)
    for i in range(q.n):
        t = start + i
        ahead = i + 1 < q.n
        if ahead:                    # the step on the likeliest byte, and the next Step
            _fetch_step(&q.ring[(i + 1) & (SPEC_RING - 1)], True)
            g = _likeliest(freq)
            if _WRONG_EVERY and t % _WRONG_EVERY == 0:
                g = (g + 1) & 255
            _save(m, u, g)
            history[t & mask] = <uint8_t>g
            _learn(m, history, g)
            m.undo = NULL
            _swap_scratch(m, u)
            _next_step(m, e, history, freq, &q.ring[(i + 1) & (SPEC_RING - 1)], g)
            _release(&q.made, i + 2)
        _wait_until(&q.done, i + 1)
        if _acquire(&q.stop):
            break
        y = q.ys[i & (SPEC_RING - 1)]
        if ahead and y == g:
            guessed[0] += 1
            continue
        if ahead:                    # a wrong guess: undone, and done again
            _fetch_step(q.fix, True)
            guessed[1] += 1
            _restore(m, u, g)
        history[t & mask] = <uint8_t>y
        _learn(m, history, y)
        if ahead:
            _next_step(m, e, history, freq, q.fix, -1)
            _release(&q.fixed, i + 2)
    _join(worker)
    free(q.ring)
    free(u)
    return True


# ---- the Predictor: the model's arrays and the coding loops ---------------------------

# Positions t are the input's; the bytes are at history[t & CTX_WMASK] (the whole input,
# or the ring of formats 3-5). coded_freq[t - start]: the frequency each byte was coded
# with.

def rate_array(double lr_input, double boost, double lr_output, double lr_hidden_bias,
               double clamp, double lr_match, double lr_output_first, double lr_bias,
               double skip, per_context) -> np.ndarray:
    """The model's float64 rate array: each rate in its slot (LR_*), then one factor on
    the input rate per context."""
    lr = np.empty(LR_RATES + len(per_context), np.float64)
    lr[LR_INPUT], lr[LR_BOOST], lr[LR_OUTPUT] = lr_input, boost, lr_output
    lr[LR_HIDDEN_BIAS], lr[LR_CLAMP], lr[LR_MATCH] = lr_hidden_bias, clamp, lr_match
    lr[LR_OUTPUT_FIRST], lr[LR_BIAS], lr[LR_SKIP] = lr_output_first, lr_bias, skip
    lr[LR_RATES:] = per_context
    return lr


cdef class Predictor:
    """The byte model: its arrays, owned (see the module's docstring; model.Model makes
    them and reads them by name), and the compiled steps over a chunk of positions:
    predict a byte, code it (or decode it), learn from it. What lpaq1's Predictor is to
    lpaq1. The arrays are checked to fit together when it is built and again at every
    call (a caller may change the context array in place between calls), so the loops
    never read outside them; a call names only the chunk and the coder's buffers."""

    cdef readonly object E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, B
    cdef readonly object bias_orders, apm, mixer, cm, cm_orders
    cdef readonly bint cm_map
    cdef readonly int cm_ways
    cdef readonly bint final_mixer
    cdef readonly int mixer_boost
    cdef readonly bint cm_confidence
    cdef readonly int final_maps
    # Whether encode and learn may code the bits in a second thread (_pipelined; the
    # same bytes either way). model.py sets it where two cores and huge pages are there.
    cdef public bint two_threads
    cdef readonly int64_t calls_in_two_threads    # (how many took that path)
    # Whether decode, with two_threads, guesses each byte in the second thread
    # (_guessing; the same bytes either way). model.py sets it where the tables have
    # huge pages: with 4 KiB pages each wrong guess's step touched rows of contexts
    # that never occur, fresh pages each, and small inputs decoded slower. The guesses,
    # right and wrong:
    cdef public bint guessing
    cdef readonly int64_t guesses_right, guesses_wrong

    def __init__(self, E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, B,
                 bias_orders, apm=None, mixer=None, cm=None, cm_orders=None, cm_map=False,
                 cm_ways=1, final_mixer=False, mixer_boost=0, cm_confidence=False,
                 final_maps=1):
        self.E, self.seen, self.Wt, self.c, self.b = E, seen, Wt, c, b
        self.orders, self.lr, self.ctx, self.scratch, self.idx = orders, lr, ctx, scratch, idx
        self.mtab, self.mw, self.B, self.bias_orders = mtab, mw, B, bias_orders
        # secondary estimation (format 6): apm_table()'s maps and mixer_table()'s
        # weights; both None: bytes coded whole (formats 1-5)
        self.apm, self.mixer = apm, mixer
        # format 7's bit models: cm_entries(bits, n) uint32 zeros (None: without them),
        # with apm_table(True) and mixer_table(n), and cm_orders: their n codes (1..CM_MAX;
        # 8 in format 7)
        self.cm, self.cm_orders = cm, cm_orders
        # format 8: the counters read through the count maps (in apm_table(True))
        self.cm_map, self.cm_ways = cm_map, cm_ways
        # format 8: the third mixer and the final one (their rows in mixer_table(n, True))
        self.final_mixer = final_mixer
        self.mixer_boost = mixer_boost   # with the final mixer: see _bit_p
        # format 10: a second input per bit model's context (CM_TRUST; its rows in
        # mixer_table(n, True, True)), a second final map (in apm_table(True, True, 2))
        self.cm_confidence, self.final_maps = cm_confidence, final_maps
        self._pointers()  # refused now when they do not fit together
        self._sse()

    cdef Sse _sse(self) except *:
        """The secondary estimation's arrays as pointers (maps NULL without them)."""
        cdef Sse e
        cdef uint16_t[::1] t
        cdef int64_t[::1] w
        cdef uint32_t[::1] cm
        cdef const int64_t[::1] codes
        cdef Py_ssize_t buckets, n_cm = 0
        cdef int i
        e.maps = NULL
        e.w = NULL
        e.cm = NULL
        e.cmap = NULL
        e.final = False
        e.confidence = False
        e.map_o1 = NULL
        if self.apm is None and self.mixer is None and self.cm is None:
            return e
        if self.apm is None or self.mixer is None:
            raise ValueError("the APM maps and the mixer's weights go together")
        if self.cm is not None:
            codes = self.cm_orders
            if codes is None or not 1 <= codes.shape[0] <= CM_MAX:
                raise ValueError(f"the bit models need 1 to {CM_MAX} context codes")
            n_cm = codes.shape[0]
            cm = self.cm
            buckets = cm.shape[0] // (n_cm * CM_BUCKET)
            if buckets < 1 or buckets & (buckets - 1) or cm.shape[0] != (
                    buckets * n_cm * CM_BUCKET):
                raise ValueError("the bit models' table has the wrong size")
            e.cm = &cm[0]
            e.cm_mask = <uint64_t>(buckets - 1)
            e.cm_orders = &codes[0]
            e.n_cm = n_cm
            e.confidence = self.cm_confidence
            e.wide = MIX_INPUTS + n_cm * (2 if e.confidence else 1)
            if self.cm_ways not in (1, 2, 4) or buckets < self.cm_ways:
                raise ValueError("a bucket has 1, 2 or 4 places")
            e.ways = self.cm_ways
        t = self.apm
        w = self.mixer
        if e.cm == NULL and (t.shape[0] != APM_MAPS * APM_SIZE
                             or w.shape[0] != MIX_SETS * MIX_INPUTS):
            raise ValueError("the APM maps or the mixer's weights have the wrong size")
        if self.final_maps not in (1, 2) or (self.final_maps == 2 and not self.final_mixer):
            raise ValueError("one or two final maps; the second goes with the final mixer")
        if e.cm != NULL and (t.shape[0] != _apm_size(True, self.final_mixer,
                                                     self.final_maps == 2)
                             or w.shape[0] != _mixer_rows(self.final_mixer) * e.wide):
            raise ValueError("with the bit models, the APM maps or the mixer's weights "
                             "have the wrong size")
        if (self.cm_map or self.final_mixer or self.cm_confidence) and e.cm == NULL:
            raise ValueError("the count maps, the final mixer and the confidence inputs go "
                             "with the bit models")
        e.final = self.final_mixer
        if not 0 <= self.mixer_boost <= 255:
            raise ValueError("the mixers' boost is 0..255")
        e.mix_boost = self.mixer_boost
        e.maps = &t[0]
        for i in range(APM_WIDE_MAPS):
            e.map[i] = e.maps + i * APM_SIZE if e.cm != NULL or i < APM_MAPS else NULL
        if self.final_mixer:
            # format 8 reads the network's probability through the match map alone (the
            # two by the last bytes made the archives larger beside the final mixer)
            e.map[0] = NULL
            e.map[1] = NULL
            e.map[2] = e.maps
            e.map[APM_MAPS] = e.maps + APM_SIZE
            if self.final_maps == 2:
                e.map_o1 = e.maps + 2 * APM_SIZE
        if self.cm_map:
            e.cmap = e.maps + _apm_size(True, self.final_mixer,
                                        self.final_maps == 2) - CM_MAPS_SIZE
        e.w = &w[0]
        return e

    cdef Net _pointers(self) except *:
        cdef Net m = _net(self.E, self.seen, self.Wt, self.c, self.b, self.orders, self.lr,
                          self.ctx, self.scratch, self.idx, self.mtab, self.mw, self.B,
                          self.bias_orders)
        if self.cm is not None:          # the bit models' contexts read the state too
            m.tracks |= _tracks(self.cm_orders)
        return m

    cdef Net _chunk(self, Py_ssize_t start, Py_ssize_t end, Py_ssize_t n_history,
                    Py_ssize_t n_freq) except *:
        """The arrays as pointers, once the positions [start, end) are known to lie in the
        history (read whole, or as a ring when its mask is shorter) and freq to hold 256."""
        cdef Net m = self._pointers()
        cdef int64_t mask = <int64_t>m.ctx[CTX_WMASK]
        if start < 0 or end < start or (end > n_history and mask >= n_history):
            raise ValueError("positions outside the history")
        if mask < n_history and n_history & (n_history - 1):
            raise ValueError("a ring history's length must be a power of two")
        if n_freq < 256:
            raise ValueError("freq is shorter than 256")
        return m

    def encode(self, const uint8_t[::1] data, Py_ssize_t start, Py_ssize_t end,
               int64_t[::1] state, uint8_t[::1] out, double[::1] coded_freq,
               int64_t[::1] freq, int64_t[::1] cum) -> None:
        """Code the bytes at positions [start, end) of `data` into `out` (the coder's
        `state` carries over); coded_freq[t - start]: the frequency each was coded with
        (TOTAL times its probability: with the APMs, the product of its bits')."""
        cdef Net m = self._chunk(start, end, data.shape[0], freq.shape[0])
        cdef int64_t mask = <int64_t>m.ctx[CTX_WMASK], y
        if coded_freq.shape[0] < end - start or cum.shape[0] < 257:
            raise ValueError("buffers too small for the chunk")
        cdef const uint8_t* d = &data[0] if data.shape[0] else NULL
        cdef Sse e = self._sse()
        cdef double eff
        cdef Py_ssize_t t
        cdef bint two = e.maps != NULL and self.two_threads and end - start >= PIPE_FROM
        if two:
            with nogil:
                two = _pipelined(&m, &e, d, start, end, &freq[0], &state[0], &out[0],
                                 &coded_freq[0])
        if two:
            self.calls_in_two_threads += 1
            return
        with nogil:
            for t in range(start, end):
                if e.cm != NULL:
                    _cm_hashes(&m, &e, d)
                _predict(&m, d, &freq[0])
                y = d[t & mask]
                if e.maps != NULL:
                    _cumulate(&freq[0], &cum[0], 256)
                    eff = <double>TOTAL
                    _bits(&m, &e, &cum[0], _match_guess(&m, d), y, &state[0], &out[0],
                          NULL, 0, &eff)
                    coded_freq[t - start] = eff
                else:
                    _encode(&state[0], &out[0], _sum_below(&freq[0], y), freq[y])
                    coded_freq[t - start] = <double>freq[y]
                _learn(&m, d, y)

    def decode(self, const uint8_t[::1] buf, Py_ssize_t start, Py_ssize_t end,
               int64_t[::1] state, uint8_t[::1] out, int64_t[::1] freq,
               int64_t[::1] cum) -> None:
        """Decode the bytes of positions [start, end) from `buf` into `out` (the history)."""
        cdef Net m = self._chunk(start, end, out.shape[0], freq.shape[0])
        cdef int64_t mask = <int64_t>m.ctx[CTX_WMASK], y
        if cum.shape[0] < 257:
            raise ValueError("buffers too small for the chunk")
        # Never NULL, even for an empty stream: _bits takes a NULL buf to mean "learn,
        # do not decode" (a damaged archive's empty coded block once decoded 700 KB
        # of zeros that way without reading a byte)
        cdef uint8_t nothing = 0
        cdef const uint8_t* bp = &buf[0] if buf.shape[0] else &nothing
        cdef Py_ssize_t nbuf = buf.shape[0]
        cdef uint8_t* o = &out[0] if out.shape[0] else NULL
        cdef Sse e = self._sse()
        cdef Py_ssize_t t
        cdef int64_t guessed[2]
        guessed[0] = 0
        guessed[1] = 0
        # In two threads (_guessing) with the bit models' coder (formats 6+) and format
        # 5's output layer, whose steps _save knows how to undo
        cdef bint two = (e.maps != NULL and m.Wf != NULL and self.two_threads
                         and self.guessing and end - start >= PIPE_FROM and o != NULL)
        if two:
            with nogil:
                two = _guessing(&m, &e, o, start, end, &freq[0], &state[0], bp, nbuf,
                                guessed)
        if two:
            self.calls_in_two_threads += 1
            self.guesses_right += guessed[0]
            self.guesses_wrong += guessed[1]
            return
        with nogil:
            for t in range(start, end):
                if e.cm != NULL:
                    _cm_hashes(&m, &e, o)
                _predict(&m, o, &freq[0])
                _cumulate(&freq[0], &cum[0], 256)
                if e.maps != NULL:
                    y = _bits(&m, &e, &cum[0], _match_guess(&m, o), 0, &state[0], NULL,
                              bp, nbuf, NULL)
                else:
                    y = _decode(&state[0], bp, nbuf, &freq[0], &cum[0], 256)
                o[t & mask] = <uint8_t>y
                _learn(&m, o, y)
                # Past the stream's end (and the flush bytes) the coder reads zeros, on
                # which a confident model can go on for a long time: stop here and let
                # the caller refuse the archive at once.
                if state[POS] > nbuf + FLUSH_BYTES:
                    break

    def learn(self, const uint8_t[::1] data, Py_ssize_t start, Py_ssize_t end,
              int64_t[::1] freq) -> None:
        """The model's steps over bytes that are not coded (a block stored raw, the
        primer): encoder and decoder both take them, so the model (the APMs too) stays
        the same on both sides."""
        cdef Net m = self._chunk(start, end, data.shape[0], freq.shape[0])
        cdef int64_t mask = <int64_t>m.ctx[CTX_WMASK]
        cdef const uint8_t* d = &data[0] if data.shape[0] else NULL
        cdef Sse e = self._sse()
        cdef int64_t cum[257]
        cdef Py_ssize_t t
        cdef bint two = e.maps != NULL and self.two_threads and end - start >= PIPE_FROM
        if two:
            with nogil:
                two = _pipelined(&m, &e, d, start, end, &freq[0], NULL, NULL, NULL)
        if two:
            self.calls_in_two_threads += 1
            return
        with nogil:
            for t in range(start, end):
                if e.cm != NULL:
                    _cm_hashes(&m, &e, d)
                _predict(&m, d, &freq[0])
                if e.maps != NULL:
                    _cumulate(&freq[0], cum, 256)
                    _bits(&m, &e, cum, _match_guess(&m, d), d[t & mask], NULL, NULL,
                          NULL, 0, NULL)
                _learn(&m, d, d[t & mask])

    def probe_hash(self, const uint8_t[::1] data, int64_t[::1] freq) -> int:
        """FNV-1a over every prediction the model makes while it learns `data`."""
        cdef Net m = self._chunk(0, data.shape[0], data.shape[0], freq.shape[0])
        cdef uint64_t h = <uint64_t>0xCBF29CE484222325ULL
        cdef Py_ssize_t t, i
        for t in range(data.shape[0]):
            _predict(&m, &data[0], &freq[0])
            for i in range(256):
                h = (h ^ <uint64_t>freq[i]) * <uint64_t>0x100000001B3ULL
            _learn(&m, &data[0], data[t])
        return <int64_t>(h & <uint64_t>0xFFFFFFFF)
