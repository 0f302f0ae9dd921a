"""The online byte model: hashed contexts -> k tanh units -> softmax over 256 bytes.

This is the article's network with a different input: instead of one one-hot symbol,
each byte position switches on one input per context (the previous 1..6 bytes, the
current word, the current word with the previous one and with the one two back, the
column with the byte above), hashed into a table of input rows, so the hidden layer
sees the sum of their k-dimensional codes. It predicts the next byte,
then learns from it by one SGD step on the cross-entropy (encoder and decoder take the
same step, so no weights are stored in the archive). Departures from plain SGD, each
measured on the corpus: input rows seen for the first few times learn faster (the step
is scaled by 1 + boost / (times seen + 1), like a count-based model trusting fresh
evidence); input codes are clamped so a rarely-seen row cannot grow without bound; the
output layer's rate starts high and falls as 1/position (lr_output_first -> lr_output),
which made every file of the corpus smaller, small ones most.

The match model (context 'm') finds the last earlier occurrence of the last match_min
bytes and guesses the byte that followed it; the guess enters as an input row per
(guess, match length) and through a learned direct weight onto its own logit.

Format 4 adds, each measured on the corpus: output biases selected by the last 2-3 bytes
(a softmax bias per context, beside the bottleneck); a factor on the input rate per
context, and the rates chosen from the input's first bytes (PROFILES: text or other
data); for English prose, a primer (PRIMERS) the model learns before the input.

Format 5 computes the output layer (the 256 x k weights, most of a byte's arithmetic)
in float32, and its learning step leaves out the blocks of 16 outputs whose
probabilities are all below `skip` (2^-12): with the kernels' other speed work, 2-2.5x
the speed of format 4, archives 0.01% larger.

Format 6 codes each byte as 8 bits, the network's probability of each bit (from its
distribution over the bytes) refined by three adaptive probability maps and a mixer
(secondary estimation, kernels.pyx: `apm`), and adds sparse contexts (bytes 2-3 back, 1 and 3, 2,
the last byte with the position mod 4) to the default contexts of other data than
text. LEVELS are the presets of `compress --level`.

Format 7 makes the network one model among several, as paq8's models are: bit models
(kernels.pyx: counters per context and tree node, 8 contexts chosen per profile,
`cm_orders`) join the network's and the maps' probabilities as the inputs of two mixers,
and a final map refines their mean.

Format 8 reads each counter through a map by its context, count and last bit
(`cm_map`), lets a context's bucket take one of 4 places (`cm_ways`), mixes three
mixers (the third's weights by the last byte) by a final one (`final_mixer`), lets the
first mixers learn faster at the start of an input no primer came before
(`mixer_boost`), and finds fixed-length records in the data (kernels.pyx: `_records`):
other data's bit models read the bytes one and two records back and the byte above with
the last one (RECORD, RECORD_LEFT), 10 contexts.

Format 9 gives markup (XML, HTML: PROFILES["markup"], chosen by `profile_of`) the
markup contexts: the last tag's name and whether the input is in an element's content,
a tag or an attribute's value (kernels.pyx: `_markup`), with the last byte (a context of
the network and of the bit models) and with the current word (a bit model's); other
data's and markup's bit models read paq8's first indirect context (INDIRECT_1: the last
byte with the two bytes that followed it the last times).

Format 10 gives the mixers a second input per bit model's context, the first scaled by
how many bits the context has seen (`cm_confidence`: the mixers learn how far to trust a
context by its age, as paq8's context maps give several inputs a context), and refines
the final probability by a second map, by the last byte and the tree node, beside the
one by the last two bytes (`final_maps`, paq8's chain of APMs); and x86 code, where an
ELF, PE or COFF header names it, has its calls' targets made absolute before the model
reads it (`code_ranges`, code.py; the codec filters and unfilters).

Format 11 gives raster images whose header names their layout (uncompressed BMP, PGM,
PPM: image.py, `image`) a profile of their own (PROFILES["image"]): contexts of each
pixel's neighbours of the same channel, left, above and around (kernels.pyx:
`_image_keys`), in the bit models and the network, in place of the text contexts.
Bilevel images (1 bit a pixel: PBM, 1-bit BMP and TIFF, faxes and pages found without a
header; image.bilevel_layout) get PROFILES["bilevel"], read a byte at a time: an
encoder's choice, which a decoder of format 13 or later reads from the archive's
settings. Format 14 reads UTF-16 text as two planes (planes.py, `planes`). Format 15
adds a second primer, the first's licence and then excerpts of four novels (PRIMERS[2]),
for long prose and for any prose at --level max.

This file holds the settings and the weights; the compiled predict/learn step, and the
arithmetic rules that make it identical on every IEEE-754 machine, are in kernels.pyx.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import mmap
import os
from pathlib import Path

import numpy as np

from bottlenet import checks
from bottlenet.compress import code, image, kernels, planes
from bottlenet.compress.kernels import (
    ALIGN,
    COLUMN,
    IMAGE_AVG,
    IMAGE_COLOR,
    IMAGE_EXT,
    IMAGE_GRAD,
    IMAGE_MCOLOR,
    IMAGE_NNE,
    IMAGE_QUANT,
    IMAGE_VCOLOR,
    IMAGE_WN,
    IMAGE_WNW,
    INDIRECT_1,
    INDIRECT_2,
    MARKUP,
    MARKUP_WORD,
    MATCH,
    RECORD,
    RECORD_COL,
    RECORD_IMAGE,
    RECORD_LEFT,
    SPARSE_2,
    SPARSE_13,
    SPARSE_23,
    WORD,
    WORD_SKIP,
    WORDS,
)
from bottlenet.errors import SpecError

MAX_ORDER = 8
MATCH_MIN_MOST = 8      # the match table is keyed by the last match_min bytes, one uint64
WINDOW_MIN, WINDOW_MAX = 17, 25    # history windows of 128 KiB (two chunks) to 32 MiB
# The tables ask for huge pages only with a history of at least 2**HUGE_PAGES_FROM bytes
# (an input of 512 KiB or more, or one of unknown length). A huge page is zeroed whole at
# its first touch, and a small input touches little of its tables: on the 2-core machine
# (a VM, whose fresh memory the host backs at first touch) a default model's huge pages
# cost a process 0.8-1.6 s of system time. `bottlenet compress` processes there, three
# runs each: sum (38 KB) 1.5-2.0 s with huge pages, 0.7-1.0 s without; alice29.txt
# 3.3-3.4 s and 1.9-2.1 s; lcet10.txt about even (4.5-5.2 s and 4.2-4.9 s compressing,
# 3.5-3.8 and 4.3-4.8 decompressing just after, on the pages the compress gave back).
# Past that the fewer TLB misses pay (book1 decoded in 4.7-5.2 s against 6.2-6.8).
HUGE_PAGES_FROM = 21


def _two_threads() -> bool:
    """Whether the model works in two threads (Predictor.two_threads: the encoder's bits
    beside the network, the primer's too, and on huge pages the decoder's network a
    guessed byte ahead of the bits: Predictor.guessing): where the process may use two
    cores (Linux). BOTTLENET_THREADS=1 keeps one thread."""
    if os.environ.get("BOTTLENET_THREADS", "") == "1":
        return False
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:                  # not Linux
        return False


def _huge_pages() -> bool:
    """Whether the system gives transparent huge pages to a mapping that asks."""
    try:
        thp = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    return "[always]" in thp or "[madvise]" in thp


TWO_THREADS = _two_threads()
HUGE_PAGES = _huge_pages()

# The model's memory when --memory is not given, so that a `compress` or `decompress`
# process of a file up to 4 MiB stays under 250 MB (the process itself takes about 35
# MB, the maps 9 MiB; bible.txt peaks at 245 MB): 2**21 rows at k = 32 (130 MiB in format
# 13's int16; 2**20 in float32 before) with the history of a file up to 4 MiB and the
# bit models' 36 MiB (2**16 buckets for each of text's 9 contexts; other data's and
# markup's 11 take 44 MiB; they take at most a quarter of the memory). Twice the rows
# made the corpus 0.1% smaller, bible.txt 0.15%. (184 MiB from format 9, 182 before:
# with format 9's eleventh bit model, other data of 1-4 MiB keeps its rows.)
DEFAULT_MEMORY = 184 << 20
# A longer input, or one of unknown length (a pipe), has the 2**21 rows as well beside
# its history of up to 32 MiB: its process stays under 300 MB (a source tree's 8.9 MB tar
# 254 MB, 36 MB of Python's library 279 MB; zpaq -m5 took 284 and 820 MB on them). In
# 184 MiB it had 2**20 rows, and the tar was 5.8% larger (1,536,317 bytes against
# 1,452,625; zpaq -m5 1,491,711): such inputs meet more contexts than the rows hold.
LARGE_INPUT = 4 << 20
LARGE_MEMORY = 230 << 20


def default_memory(n_bytes: int | None) -> int:
    """The model's memory for an input of n_bytes (None: not known) when --memory is
    not given: DEFAULT_MEMORY, or LARGE_MEMORY for a long input or a pipe."""
    return DEFAULT_MEMORY if n_bytes is not None and n_bytes <= LARGE_INPUT else LARGE_MEMORY


DEFAULT_ORDERS = (1, 2, 3, 4, 5, 6, WORD, WORDS, MATCH, COLUMN, WORD_SKIP)
# Format 8: the first mixers learn up to 5x faster at the start of an input that no
# primer came before (down to once from 256 KiB on): the mixed files 60,358 -> 59,672
# bytes (obj1 -1.7%, sum -3.2%, progp -2.1%); after the primer the mixers have learnt
# already, and the boost made the prose 0.2% larger.
MIXER_BOOST = 64


@dataclasses.dataclass(frozen=True)
class Settings:
    """Model settings; all of them travel in the archive header."""

    hidden: int = 32                                   # k, the bottleneck
    orders: tuple[int, ...] = DEFAULT_ORDERS           # other data adds its profile's
    table_bits: int = 0                                # 0: chosen from the input size
    lr_input: float = 0.0                              # 0: chosen from the data (PROFILES)
    boost: float = 5.0
    lr_output: float = 0.003                           # ... after the first bytes:
    lr_output_first: float = 0.33                      # at byte 0, falling as 1/position
    lr_hidden_bias: float = 0.001
    clamp: float = 8.0
    init_scale: float = 0.5
    seed: int = 1
    match_min: int = 0                                 # bytes a match must share (MATCH);
    #   0: chosen from the data (PROFILES; archives always name it: 6 before 2026-12-07)
    lr_match: float = 0.05                             # learning rate of the match weights
    window_bits: int = 0                               # the match model's history: a ring
    #   of 2**window_bits bytes (formats 3-6, which stream); 0 = the whole input (1 and 2)
    rates: tuple[float, ...] = ()                      # per context, a factor on lr_input;
    #   () = chosen from the data (PROFILES); archives of formats 1-3 read as all 1.0
    bias_orders: tuple[int, ...] | None = None         # output biases selected by these
    bias_bits: int = 0                                 # byte orders (None: chosen from the
    #   data): 2**bias_bits rows of 256 output biases (float32); 0: chosen from --memory
    lr_bias: float = 0.0                               # 0: chosen from the data (PROFILES)
    primer: int = -1                                   # text the model learns first: 0 none,
    #   1 or 2 PRIMERS[n]; -1: chosen from the data (prose: 2 from LONG_PRIMER_FROM
    #   bytes, else 1; other data 0); -2: chosen, 2 for any prose (--level max; format 15)
    output_bits: int = 32                              # the output layer's floats: 32
    #   (formats 5-6) or 64 (formats 1-4)
    row_bits: int = 16                                 # the input rows' numbers: 16,
    #   fixed point in steps of 1/4096 (format 13), or 32, float32 (formats 1-12)
    planes: int = 0                                    # 2: each chunk read as its even
    #   bytes, then its odd ones (UTF-16 text: planes.py, format 14); 1: as it is
    #   (formats 1-13); 0: chosen from the data
    skip: float = 2.0**-12                             # the output layer learns only the
    #   blocks of 16 outputs where some probability reaches this (from format 5; 0 before)
    apm: int = 1                                       # 1: bytes coded as 8 bits, each
    #   refined by three adaptive probability maps and a mixer (format 6); 0: whole
    cm_bits: int = 16                                  # bit models (format 7; with apm
    #   only): 2**cm_bits buckets of 64 bytes for each of their contexts; 0: none
    cm_orders: tuple[int, ...] = ()                    # the bit models' contexts, 1 to
    #   CM_MAX (codes as in orders; 8 in format 7); () = chosen from the data (PROFILES)
    cm_map: int = 1                                    # 1: each counter read through a
    #   map by context, count and last bit (format 8); 0: as it is (format 7)
    cm_ways: int = 4                                   # the places a context's bucket
    #   may take, the least used replaced (format 8: 4; format 7: 1)
    final_mixer: int = 1                               # 1: a third mixer (weights by the
    #   last byte) and a final mixer of the three (format 8); 0: the mean of two
    mixer_boost: int = -1                              # with the final mixer, the first
    #   mixers learn (16 + mixer_boost - KiB / 4) / 16 times faster at the input's start;
    #   -1: chosen (MIXER_BOOST: none after a primer, whose bytes the mixers learnt)
    cm_confidence: int = 1                             # 1: each bit model's context gives
    #   the mixers a second input, its first scaled by the bits it has seen (format 10);
    #   0: one input (formats 7-9)
    final_maps: int = 2                                # with the final mixer: 2, the final
    #   probability refined by a map by the last two bytes and one by the last byte
    #   (format 10); 1: the first alone (formats 7-9)
    code_ranges: tuple[int, ...] | None = None         # x86 code's file offsets, flat
    #   [start, end) pairs, whose call targets are made absolute (format 10, code.py);
    #   None: from the input's own header (ELF, PE, COFF); (): none
    code_arch: str = "x86"                             # the code in code_ranges: "x86"
    #   (formats 10-11) or "arm64" (format 12); with code_ranges None, from the header
    image: tuple[int, ...] | None = None               # a raster image's pixels: (start,
    #   end, bytes a row, bytes a pixel), read by the image contexts (format 11, image.py);
    #   None: from the input's own header (BMP, PGM, PPM); (): none

    def suited_to(self, sample: bytes, size: int | None = None,
                  kind: str | None = None) -> Settings:
        """The rates left at 0 (or rates left empty) chosen for data of `size` bytes
        (None: not known) that starts with `sample`: an image's profile where its header
        names one (image.py), a bilevel image's where it is one (with or without a
        header), else the text profile, markup's or other data's (PROFILES,
        profile_of; or `kind`'s, when the caller knows better: segments.py); and where
        it holds x86 or ARM code (code.py)."""
        split = self.planes or (2 if looks_like_utf16(sample) else 1)
        if split == 2:      # UTF-16 text: its profile and primer are its characters'
            sample, size = planes.text_plane(sample), None if size is None else size // 2
            layout: tuple[int, ...] = ()
            bilevel: tuple[int, ...] = ()
        else:
            layout = image.image_layout(sample, size) if self.image is None else self.image
            bilevel = () if self.image is not None or layout else image.bilevel_layout(
                sample, size)
            layout = bilevel or layout
        profile = PROFILES["bilevel" if bilevel else "image" if layout
                           else kind or profile_of(sample)]
        # the profile's own contexts join the default ones (orders given otherwise stay)
        orders = ((profile.orders or self.orders) + profile.added_orders
                  if self.orders == DEFAULT_ORDERS and not self.rates else self.orders)
        rates = self.rates or tuple(profile.rates.get(o, 1.0) for o in orders)
        primer = self.primer
        if primer < 0:
            prose = not layout and kind in (None, "text") and looks_like_prose(sample)
            long = primer == -2 or (size is not None and size >= LONG_PRIMER_FROM)
            primer = (2 if long else 1) if prose else 0
        boost = self.mixer_boost if self.mixer_boost >= 0 else 0 if primer else MIXER_BOOST
        return dataclasses.replace(
            self, orders=orders, lr_input=self.lr_input or profile.lr_input,
            lr_bias=self.lr_bias or profile.lr_bias, rates=rates, primer=primer,
            match_min=self.match_min or profile.match_min,
            mixer_boost=boost,
            bias_orders=profile.bias_orders if self.bias_orders is None else self.bias_orders,
            cm_orders=(self.cm_orders or profile.cm_orders) if self.cm_bits else (),
            code_ranges=(code.code_ranges(sample, size) if self.code_ranges is None
                         else self.code_ranges),
            code_arch=code.code_arch(sample) if self.code_ranges is None else self.code_arch,
            image=layout, planes=split)

    def suited(self) -> bool:
        return bool(self.lr_input and self.lr_bias and self.rates and self.primer >= 0
                    and self.match_min > 0
                    and self.mixer_boost >= 0
                    and self.bias_orders is not None and self.code_ranges is not None
                    and self.image is not None and self.planes > 0
                    and (self.cm_orders or not self.has_bit_models()))

    def has_bit_models(self) -> bool:
        return bool(self.apm and self.cm_bits)

    def bilevel(self) -> bool:
        """Whether these settings read a bilevel image (its layout, PROFILES["bilevel"]'s
        bit models)."""
        return bool(self.image) and self.cm_orders == PROFILES["bilevel"].cm_orders

    def check(self) -> Settings:
        checks.whole("hidden units (--hidden)", self.hidden, 1, 1024)
        if not self.orders:
            raise SpecError("at least one context order is needed")
        for o in self.orders:
            if isinstance(o, bool) or not isinstance(o, int) or (
                    o not in _NAMES and not 0 <= o <= MAX_ORDER):
                raise SpecError(f"context orders are 0..{MAX_ORDER} or one of "
                                f"{', '.join(_NAMES.values())}, got {o!r}")
        if len(set(self.orders)) != len(self.orders):
            raise SpecError(f"context orders repeat: {format_orders(self.orders)}")
        if self.rates and len(self.rates) != len(self.orders):
            raise SpecError(f"{len(self.rates)} context rates for {len(self.orders)} contexts")
        for r in self.rates:
            checks.real("context rate", r, 0.0, 1e3)
        if self.bias_orders is not None and (len(self.bias_orders) > 4 or any(
                isinstance(o, bool) or not isinstance(o, int) or not 0 <= o <= MAX_ORDER
                for o in self.bias_orders)):
            raise SpecError(f"bias orders are up to 4 byte orders 0..{MAX_ORDER}, got "
                            f"{self.bias_orders!r}")
        if self.output_bits not in (32, 64) or isinstance(self.output_bits, bool):
            raise SpecError(f"output bits are 32 or 64, got {self.output_bits!r}")
        if self.row_bits not in (16, 32) or isinstance(self.row_bits, bool):
            raise SpecError(f"row bits are 16 or 32, got {self.row_bits!r}")
        if self.planes not in (0, 1, 2) or isinstance(self.planes, bool):
            raise SpecError(f"planes are 1 or 2 (0: chosen from the data), got {self.planes!r}")
        if self.planes == 2 and (self.image or self.code_ranges):
            raise SpecError("two planes are for UTF-16 text: not with an image or code ranges")
        checks.real("skip threshold", self.skip, 0.0, 1.0)
        if self.apm not in (0, 1) or isinstance(self.apm, bool):
            raise SpecError(f"apm is 0 or 1, got {self.apm!r}")
        checks.whole("bit model bits (cm_bits)", self.cm_bits, 0, 24)
        if self.cm_bits and (self.cm_bits < 10 or not self.apm):
            raise SpecError(f"bit model bits are 0 or 10..24, with apm=1; got "
                            f"cm_bits={self.cm_bits}, apm={self.apm}")
        if self.cm_map not in (0, 1) or isinstance(self.cm_map, bool):
            raise SpecError(f"cm_map is 0 or 1, got {self.cm_map!r}")
        if self.final_mixer not in (0, 1) or isinstance(self.final_mixer, bool):
            raise SpecError(f"final_mixer is 0 or 1, got {self.final_mixer!r}")
        checks.whole("mixer boost (mixer_boost)", self.mixer_boost, -1, 255)
        if self.cm_confidence not in (0, 1) or isinstance(self.cm_confidence, bool):
            raise SpecError(f"cm_confidence is 0 or 1, got {self.cm_confidence!r}")
        if self.final_maps not in (1, 2) or isinstance(self.final_maps, bool):
            raise SpecError(f"final_maps is 1 or 2, got {self.final_maps!r}")
        if self.code_ranges is not None and not _ranges_ok(self.code_ranges):
            raise SpecError(f"code ranges are up to {code.MAX_RANGES} sorted, apart "
                            f"[start, end) pairs of offsets below 2^60, flat; got "
                            f"{self.code_ranges!r}")
        if self.code_arch not in code.ARCHES:
            raise SpecError(f"the code's architecture is one of {', '.join(code.ARCHES)}; "
                            f"got {self.code_arch!r}")
        if self.image is not None and not _image_ok(self.image):
            raise SpecError("an image is (start, end, bytes a row, bytes a pixel), start < "
                            f"end < 2^60, 1-4 bytes a pixel, at most {image.MAX_ROW_BYTES} "
                            f"a row; or none: (); got {self.image!r}")
        if self.cm_ways not in (1, 2, 4) or isinstance(self.cm_ways, bool):
            raise SpecError(f"cm_ways is 1, 2 or 4, got {self.cm_ways!r}")
        if self.cm_orders and (
                len(self.cm_orders) > kernels.CM_MAX or not self.cm_bits
                or len(set(self.cm_orders)) != len(self.cm_orders)
                or any(isinstance(o, bool) or not isinstance(o, int)
                       or (o not in _NAMES and not 0 <= o <= MAX_ORDER)
                       for o in self.cm_orders)):
            raise SpecError(f"the bit models take 1 to {kernels.CM_MAX} different contexts "
                            f"(codes as in orders), with cm_bits; got {self.cm_orders!r}")
        if self.output_bits == 64 and self.skip:
            raise SpecError("the float64 output layer (formats 1-4) learns every output: "
                            "give skip=0 with output_bits=64")
        checks.whole("bias table bits", self.bias_bits, 0, 24)
        if self.bias_bits and self.bias_bits < 8:
            raise SpecError(f"bias table bits must be 0 or 8..24, got {self.bias_bits}")
        checks.whole("table bits (--table-bits; 0 = from the file size)", self.table_bits,
                     0, 28)
        if self.table_bits and self.table_bits < 10:
            raise SpecError(f"table bits must be 10..28, got {self.table_bits}")
        for name in ("lr_output", "lr_output_first", "clamp", "init_scale", "lr_match"):
            checks.positive(name.replace("_", " "), getattr(self, name))
        for name in ("lr_input", "lr_bias"):   # 0: chosen from the data
            checks.real(name.replace("_", " "), getattr(self, name), 0.0)
        checks.real("boost", self.boost, 0.0, 1e6)
        checks.real("hidden-bias learning rate", self.lr_hidden_bias, 0.0)
        checks.seeds("seed (--seed)", self.seed)
        checks.whole("match length (match_min; 0 chosen)", self.match_min, 0,
                     MATCH_MIN_MOST)
        checks.whole("primer (-1 or -2 chosen, 0 none, or a primer's number)", self.primer,
                     -2, max(PRIMERS))
        if self.window_bits and not WINDOW_MIN <= self.window_bits <= WINDOW_MAX:
            raise SpecError(f"window bits must be 0 or {WINDOW_MIN}..{WINDOW_MAX}, got "
                            f"{self.window_bits}")
        return self

    def sized_for(self, n_bytes: int | None, memory: int | None = None) -> Settings:
        """Pick the table size when left at 0: about one row per context seen, 2**12 to
        2**22 rows (2**22 rows x 32 units x 2 bytes = 256 MiB; the largest when the
        length is not known, n_bytes None), and no more rows than fit in `memory` bytes
        (--memory; default_memory(n_bytes) when None). A table size given explicitly
        must fit in `memory` when it is given. The history window (when streaming, see
        window_for) is counted in the memory. The context biases' table (bias_bits 0:
        chosen here) takes at most a sixteenth of the memory, 2**8 to 2**12 rows of 1 KiB;
        the bit models at most a quarter (fewer buckets when cm_bits asks for more, none
        when the fewest do not fit)."""
        budget = default_memory(n_bytes) if memory is None else memory
        if memory is not None:
            checks.whole("--memory", memory, 1, 2**62)
        if self.bit_models_memory() > budget // 4:
            fewer = self.cm_bits - 1 if self.cm_bits > 10 else 0
            return dataclasses.replace(
                self, cm_bits=fewer, cm_orders=self.cm_orders if fewer else ()).sized_for(
                n_bytes, memory)
        if self.has_biases() and not self.bias_bits:
            bits = (budget // 16 // 1024).bit_length() - 1
            return dataclasses.replace(self, bias_bits=min(12, max(8, bits))).sized_for(
                n_bytes, memory)
        if memory is not None and self.rows_memory(10) > memory:
            window = (f" and a history of 2^{self.window_bits} bytes"
                      if self.window_bits else "")
            raise SpecError(f"--memory {memory:,} bytes is too small: the smallest table "
                            f"(2^10 rows at k={self.hidden}){window} needs "
                            f"{self.rows_memory(10):,} bytes")
        if self.table_bits:
            if memory is not None and self.memory_bytes() > memory:
                raise SpecError(f"--table-bits {self.table_bits} needs "
                                f"{self.memory_bytes() / 2**20:,.0f} MiB, more than --memory")
            return self
        need = 1 << 22 if n_bytes is None else max(1, n_bytes * len(self.orders))
        bits = min(22, max(12, math.ceil(math.log2(need))))
        while bits > 10 and self.rows_memory(bits) > budget:
            bits -= 1
        return dataclasses.replace(self, table_bits=bits)

    def rows_memory(self, bits: int) -> int:
        """Bytes of a table of 2**bits rows (k codes, int16 or float32, and a count per
        row), of the match model's table beside it, of the history window when there is
        one, of the context biases and of the bit models. (The probability maps' 12 MiB,
        a fixed size, count with the process.)"""
        window = 1 << self.window_bits if self.window_bits else 0
        return ((1 << bits) * (self.row_bits // 8 * self.hidden + 1)
                + 8 * (1 << self.match_bits(bits)) + window
                + self.bias_memory() + self.bit_models_memory())

    def bias_memory(self) -> int:
        return 4 * 256 << self.bias_bits if self.has_biases() else 0

    def has_biases(self) -> bool:
        """Whether the model has context biases (or may have: bias_orders still None)."""
        return self.bias_orders is None or bool(self.bias_orders)

    def window_for(self, n_bytes: int | None, memory: int | None = None) -> Settings:
        """With a history window sized for n_bytes (None: not known): at least twice the
        input when it is known, so every match that formats 1-2 would find is found (a
        match reaches half the window back), at most 2**WINDOW_MAX bytes and at most a
        quarter of `memory` (the table gets the rest). A window given explicitly is kept.
        (Only the part of the window that the input fills is ever resident.)"""
        if self.window_bits:
            return self
        if n_bytes is None:
            bits = WINDOW_MAX
        else:
            bits = (2 * n_bytes + 2 * kernels.MATCH_VERIFY - 1).bit_length()
        bits = min(WINDOW_MAX, max(WINDOW_MIN, bits))
        while memory is not None and bits > WINDOW_MIN and 4 << bits > memory:
            bits -= 1
        return dataclasses.replace(self, window_bits=bits)

    def match_bits(self, bits: int) -> int:
        """The match table: a quarter of the context table's rows (one entry per
        position, where the context table has one row per context and position)."""
        return max(10, bits - 2) if MATCH in self.orders else 0

    def memory_bytes(self) -> int:
        return self.rows_memory(self.table_bits)

    def bit_models_memory(self) -> int:
        if not self.has_bit_models():
            return 0
        return 4 * kernels.cm_entries(self.cm_bits, self.cm_contexts())

    def cm_contexts(self) -> int:
        """How many contexts the bit models have (before the profile chooses them: as
        many as the text profile's)."""
        return len(self.cm_orders or PROFILES["text"].cm_orders)

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {key: list(getattr(self, key) or ())
                                           for key in _LISTS}

    @classmethod
    def from_json(cls, d: dict) -> Settings:
        """Settings as an archive wrote them, in the current format's fields (the
        container brings an older format's to them: container.upgrade_settings)."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(d, dict) or set(d) != names:
            raise ValueError("settings fields do not match this version")
        for key in _LISTS:
            if not isinstance(d[key], list):
                raise ValueError(f"{key} are not a list")
        s = cls(**(d | {key: tuple(d[key]) for key in _LISTS})).check()
        if s.match_min < 1:   # 0 asks the encoder to choose; an archive names its choice
            raise ValueError(f"match length (match_min) must be 1..{MATCH_MIN_MOST}")
        return s


_LISTS = ("orders", "rates", "bias_orders", "cm_orders", "code_ranges",   # JSON's lists
          "image")


def _ranges_ok(r: tuple[int, ...]) -> bool:
    return (len(r) % 2 == 0 and len(r) <= 2 * code.MAX_RANGES
            and all(isinstance(x, int) and not isinstance(x, bool) for x in r)
            and all(0 <= a < b for a, b in zip(r, r[1:], strict=False))
            and (not r or r[-1] < 2**60))


def _image_ok(i: tuple[int, ...]) -> bool:
    if not i:
        return True
    if len(i) != 4 or not all(isinstance(x, int) and not isinstance(x, bool) for x in i):
        return False
    start, end, row, pixel = i
    return 0 <= start < end < 2**60 and 1 <= pixel <= 4 and pixel <= row <= image.MAX_ROW_BYTES


_NAMES = {WORD: "w", WORDS: "ww", MATCH: "m", COLUMN: "c", WORD_SKIP: "w2", SPARSE_2: "s2",
          SPARSE_23: "s23", SPARSE_13: "s13", ALIGN: "a", RECORD: "r", RECORD_LEFT: "rl",
          RECORD_COL: "rc", RECORD_IMAGE: "ri", MARKUP: "x", MARKUP_WORD: "xw",
          INDIRECT_1: "i1", INDIRECT_2: "i2", IMAGE_WN: "pwn", IMAGE_GRAD: "pg",
          IMAGE_WNW: "pww", IMAGE_NNE: "pne", IMAGE_AVG: "pa", IMAGE_EXT: "pe",
          IMAGE_COLOR: "pc", IMAGE_QUANT: "pq", IMAGE_VCOLOR: "pv",
          IMAGE_MCOLOR: "pm"}


@dataclasses.dataclass(frozen=True)
class Profile:
    """The rates that suit a kind of data; the encoder picks one from the data's first
    bytes and writes the numbers into the archive (so the decoder never guesses)."""

    lr_input: float
    lr_bias: float
    rates: dict[int, float]          # a factor on lr_input per context kind; others 1
    bias_orders: tuple[int, ...]
    added_orders: tuple[int, ...] = ()   # contexts added to the default ones (format 6)
    cm_orders: tuple[int, ...] = ()      # the bit models' contexts (format 7)
    orders: tuple[int, ...] = ()         # in place of the default ones (format 11)
    match_min: int = 6                   # bytes a match must share (Settings.match_min)


# The bit models' contexts of text and markup: the last 1-4 and 6 bytes, the word, the
# word with the one before, the column (text's alone in formats 7-15 until 2026-12-07)
WORDS_CM_ORDERS = (1, 2, 3, 4, 6, WORD, WORDS, COLUMN)

# Measured on the corpus (format 4). Text: slower input rows, but word rows 2-2.5x
# faster and the match model's rows 4x slower, gentle context biases by the last 2 and
# 3 bytes. Other data (binaries, transcripts with escape codes): the rates of format 3,
# and context biases by the last 1-3 bytes that learn 5x faster (obj1 -2.4%, sum -2.8%).
# Format 6 gives other data the sparse contexts (benchmarks/compress_corpus.py): obj1
# 9,450 -> 8,960 bytes, sum 10,334 -> 9,878, trans (text with escape codes) 14,025 ->
# 14,169; on the texts each of them made archives 0.0-0.3% larger, so text does not
# get them.
PROFILES = {"text": Profile(0.04, 0.03, {WORD: 2.5, WORDS: 2.0, MATCH: 0.25}, (2, 3),
                            cm_orders=WORDS_CM_ORDERS + (8,), match_min=8),
            "other": Profile(0.07, 0.25, {}, (1, 2, 3),
                             (SPARSE_2, SPARSE_23, SPARSE_13, ALIGN),
                             cm_orders=(1, 2, 3, 4, 6, WORD, SPARSE_23, ALIGN,
                                        RECORD, RECORD_LEFT, INDIRECT_1))}
# Text's bit models read the last 8 bytes as well (a ninth context from 2026-12-07, a
# setting every archive names): the corpus's texts 987,944 -> 985,895 bytes (-0.21%;
# bible.txt -0.30%), and English held apart -0.01 to -0.04% (Paradise Lost, A Room with a
# View, The Great Gatsby), world192.txt -0.30%, C source -0.5%, a 4 KB man page 2 bytes
# larger; its 4 MiB of counters (36 MiB for text's nine) take bible.txt's process from
# 241 to 245 MB. The word two back as a tenth: texts -0.18% again (nearly all of it
# bible.txt's), and 4 MiB more on that process: left out. Markup keeps its eleven (with
# the order-8 context an XML table of languages -0.5%, an HTML page +0.03%; twelve would
# leave the bit models more than a quarter of the memory, and fewer buckets each).
# Text's matches start at 8 shared bytes (6 until 2026-12-07: a setting, which every
# archive names, so format 15 stays): the corpus's texts 996,325 -> 992,882 bytes
# (-0.35%: bible.txt -0.49%, book1 -0.05%, no text larger), world192.txt -0.35%, prose
# kept apart -0.01 to -0.03%. Markup (an XML file +1.0%), a spreadsheet and a database
# (+2.1%, +2.4%) and CJK text (+0.56%) lose, so markup and other data keep 6. One match
# model is best at 8 (at 10 and 12, verified that far back: +0.1% and +0.3% on book1
# and bible.txt's first 1.5 MB).
# Format 9: other data's bit models read the first indirect context as well (obj1, sum,
# trans and three x86-64 machine-code files: 251,504 -> 250,058 bytes, -0.57%; the
# second one too, -0.54%; in place of the word, -0.36%). On English it made the
# archives 0.03% larger.
# Format 9: markup is text with the markup contexts. On markup files of this machine
# (the XML specification in XML, an X keyboard database, a table of languages, the Rust
# book as one HTML page; 2.2 MB) 2.2% smaller than format 8, with the tag and the last
# byte alone 1.6%; with the first indirect context as well (a table of languages
# -2.5%) 3.1%; a freedesktop MIME database kept apart (2.4 MB, 8% of its bytes UTF-8:
# other data for format 8) 5.5%. On the corpus's texts the markup contexts made the
# archives 0.17% larger, so text without markup does not get them.
PROFILES["markup"] = dataclasses.replace(
    PROFILES["text"], added_orders=(MARKUP,), match_min=6,
    cm_orders=WORDS_CM_ORDERS + (MARKUP, MARKUP_WORD, INDIRECT_1))

# Format 11: raster images whose header names their layout (image.py) read their
# pixels' neighbours: 10 image contexts and the last 1 and 2 bytes in the bit models, 5
# of the image contexts beside the last 1 and 2 bytes and the match model in the
# network. On three photographs (a grey PGM, a BGR and a grey BMP; 1.57 MB) 808,933 ->
# 599,581 bytes (-25.9%); with the first 8 image contexts alone 634,497 (the two colour
# contexts took the BGR photograph from 321,285 to 286,956 bytes); the network with
# other data's 19 contexts as well: 0.1% smaller and 20% slower; the bit models without
# the last bytes +0.7%, with the record and indirect contexts too +0.1%; the third
# mixer and the second final map by a prediction of the pixel (W + N - NW, or the mean
# of W and N) in place of the last byte: within 0.05%.
PROFILES["image"] = dataclasses.replace(
    PROFILES["other"], orders=(1, 2, MATCH),
    added_orders=(IMAGE_WN, IMAGE_GRAD, IMAGE_AVG, IMAGE_COLOR, IMAGE_QUANT),
    cm_orders=(IMAGE_WN, IMAGE_GRAD, IMAGE_WNW, IMAGE_NNE, IMAGE_AVG, IMAGE_EXT,
               IMAGE_COLOR, IMAGE_QUANT, 1, 2, IMAGE_VCOLOR, IMAGE_MCOLOR))


@dataclasses.dataclass(frozen=True)
class Level:
    """A preset of `compress --level`: the settings it starts from and the memory the
    context table may take (None: default_memory). Options given beside it win."""

    settings: Settings
    memory: int | None
    about: str


# Measured on the corpus (benchmarks/compress_ablation.py: the texts and the mixed
# files, one warm process on the 2-core machine; format 8, without bible.txt): fast 7.1%
# larger on the texts (13.7% on the mixed files) at 2.1x the speed (16 units, and bytes
# coded whole: most of a byte's arithmetic is the 256 x k output layer, then the bit
# models and the maps; its learning step skips blocks below 2^-10 instead of 2^-12); max
# 0.6% smaller (0.4%; format 7 with bible.txt: 1.2%) at 0.6x (64 units, tables of
# 2^21-2^22 rows where the file's contexts fill them: at k = 64 the default memory would
# hold only 2^19 rows, and 96 units were no better; bit models of 2^18 buckets). Format
# 15 gives max the long primer before any prose: texts 2.06% smaller than the default
# (0.55% before), mixed files 0.30%, at 0.44x the default's speed (beside a fuzzer).
# Since the default reads the novels before prose of 64 KiB (2026-12-07), max is 0.62%
# smaller on the texts and ran at 42-48 KB/s, under issue 31's 50 KB/s floor: 48 units
# instead of 64 run at 55-57 KB/s (three rounds alternating, the other core idle) for
# 0.07% of the texts (332,727 -> 332,945 bytes; mixed files 58,637 -> 58,661;
# alice29.txt 1.727 -> 1.728 bpc).
LEVELS = {
    "fast": Level(Settings(hidden=16, skip=2.0**-10, apm=0, cm_bits=0), None,
                  "16 units, bytes coded whole: about 2-2.6x the speed, 4-14% larger"),
    "default": Level(Settings(), None, f"32 units, {DEFAULT_MEMORY >> 20} MiB "
                     f"({LARGE_MEMORY >> 20} MiB beyond {LARGE_INPUT >> 20} MiB)"),
    "max": Level(Settings(hidden=48, cm_bits=18, primer=-2), 700 << 20,
                 "48 units, up to 0.7 GB for the tables (decompressing too) and the "
                 "novels before any prose: about 0.7x the speed, 0.3-0.6% smaller "
                 "(English prose under 64 KiB 8-14%)"),
}

# Bilevel images (image.bilevel_layout): the image profile, but in the bit models the
# three bytes around the one above with the last byte (RECORD_IMAGE: the pixels above
# and around each of the byte's 8, and those to its left) in place of the gradient, and
# the bytes one and two rows above and the row above with the last byte (RECORD,
# RECORD_LEFT) in place of the colour contexts (which move one channel as another
# moved: nothing at 1 bit a pixel); in the network the neighbours above-left and
# above-right and those two as well. On a fax (ptt5), a rendered page and a plot (1.3
# MB; a dithered photograph is not found): 45,932 -> 43,118 bytes (-6.1%; -2.3%,
# -11.7%, -8.5%) against the image profile as it is; 51,900 read as other data.
PROFILES["bilevel"] = dataclasses.replace(
    PROFILES["image"],
    added_orders=PROFILES["image"].added_orders + (IMAGE_WNW, IMAGE_NNE, RECORD, RECORD_LEFT),
    cm_orders=(IMAGE_WN, RECORD_IMAGE, IMAGE_WNW, IMAGE_NNE, IMAGE_AVG, IMAGE_EXT, IMAGE_COLOR,
               IMAGE_QUANT, 1, 2, RECORD, RECORD_LEFT))


def _first_bytes_counts(sample: bytes) -> np.ndarray:
    """How often each byte value occurs in the first 64 KiB (what the profile and the
    primer are chosen from)."""
    return np.bincount(np.frombuffer(sample[:1 << 16], np.uint8), minlength=256)


def _ascii_text(counts: np.ndarray) -> int:
    """Of byte counts, the printable ASCII, tabs and line ends."""
    return int(counts[32:127].sum() + counts[[9, 10, 13]].sum())


def looks_like_prose(sample: bytes) -> bool:
    """At least 85% of the first 64 KiB letters and spaces (English prose has 90-96%;
    program source, tables and markup 50-80%)."""
    counts = _first_bytes_counts(sample)
    letters = counts[65:91].sum() + counts[97:123].sum() + counts[32]
    return bool(counts.sum()) and bool(letters >= 0.85 * counts.sum())


# Texts a model can learn before the input (Settings.primer), by number: the files'
# bytes one after another; part of the format, so each is checked against its SHA-256
# before use. 1: the GNU General Public License, version 3 (English prose that anyone may
# copy verbatim; bottlenet's own licence is MIT): a prose file starts as if it had read
# 35 KB of English (alice29.txt 2%, lcet10.txt 1.8% smaller). 2 (format 15): the licence,
# then 127 KB of novels in the public domain (novels.txt: about 32 KB from a quarter of
# the way into each of Pride and Prejudice, Moby-Dick, Frankenstein and Little Women, the
# Project Gutenberg eBooks 1342, 2701, 84 and 37106 without Project Gutenberg's header
# and licence, typographic quotes and dashes as ASCII): book1 2.001 -> 1.957 bpc; at
# --level max alice29.txt 1.838 -> 1.730, and two novels not looked at while choosing
# (The Great Gatsby, A Room with a View) 4.1% and 3.8% smaller. (Chosen among seven
# variants on alice29.txt, asyoulik.txt, lcet10.txt, book1 and Paradise Lost,
# docs/compression-formats.md: four novels' 128 KB did better than 200 KB of one of
# them, the licence before them better than after; 200 KB of three novels was 0.4%
# smaller again, for 60% more time.)
PRIMERS = {1: (("gpl-3.txt",),
               "3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986"),
           2: (("gpl-3.txt", "novels.txt"),
               "9ed1e8c556080d39ea0eece5480335dab17bd2606df03d8fec6966d6173e22c5")}
# Learning a primer takes as long as coding as many bytes (about 1 s for primer 2 on the
# 2-core machine), so the default gives the long one only to prose of LONG_PRIMER_FROM
# bytes or more (--level max to all prose). From 2026-12-07 that is 64 KiB (660,072 bytes
# before: four times the primer's length). English held apart, the default's archives
# with primer 1 and with primer 2 (sizes from 20,000 bytes into each file; the time of a
# compress call here, in s): A Room with a View, The Great Gatsby and Paradise Lost at
# 32 KiB -8.3 to -13.7% (0.8-0.9 s -> 2.1-2.3 s), at 64 KiB -6.4 to -10.6% (1.1-1.3 s ->
# 2.0-2.3 s), at 128 KiB -4.4 to -7.6% (1.3-1.9 s -> 2.2-2.9 s); on the corpus
# alice29.txt -5.6%, asyoulik.txt -5.1%, lcet10.txt -1.5%. Below 64 KiB the primer would
# take more than twice the input's time, and a 10 KB file's process would pass a second.
LONG_PRIMER_FROM = 64 << 10


def _primer_files(number: int) -> list[bytes]:
    from importlib import resources

    folder = resources.files("bottlenet.compress").joinpath("primers")
    return [folder.joinpath(name).read_bytes() for name in PRIMERS[number][0]]


@functools.cache
def primer_length(number: int) -> int:
    """The bytes of primer `number` (what the tables are sized for; primer_bytes, which
    the model reads, checks them)."""
    return sum(map(len, _primer_files(number)))


def primer_bytes(number: int) -> bytes:
    """The text of primer `number`, checked."""
    import hashlib

    names, sha = PRIMERS[number]
    data = b"".join(_primer_files(number))
    if hashlib.sha256(data).hexdigest() != sha:
        raise SpecError(f"the primer {number} of this installation ({', '.join(names)}) is "
                        "not the one the format defines (its SHA-256 differs); reinstall "
                        "bottlenet")
    return data


def looks_like_markup(sample: bytes) -> bool:
    """At least one '<' and one '>' in 300 bytes of the first 64 KiB (XML and HTML have
    0.8-5% of each; the corpus's texts and programs at most 0.2%), and text: at least 75%
    printable ASCII, tabs and line ends, and with the bytes from 128 up (UTF-8 and other
    encodings of the languages in it: a freedesktop MIME database has 8% of them) 95%.
    (Random bytes have 0.4% of each of '<' and '>', but 37% ASCII text.)"""
    counts = _first_bytes_counts(sample)
    ascii_text = _ascii_text(counts)
    return bool(min(counts[60], counts[62]) * 300 >= counts.sum() > 0
                and ascii_text >= 0.75 * counts.sum()
                and ascii_text + counts[128:].sum() >= 0.95 * counts.sum())


def looks_like_utf16(sample: bytes) -> bool:
    """UTF-16 text (format 14 reads it as two planes: planes.py): zeros at every other
    byte, and the characters' plane text or markup."""
    return planes.zeros_alternate(sample) and profile_of(
        planes.text_plane(sample[:planes.SAMPLE])) != "other"


def profile_of(sample: bytes) -> str:
    """The profile (PROFILES) of data that starts with `sample`."""
    if looks_like_markup(sample):
        return "markup"
    return "text" if looks_like_text(sample) else "other"


def looks_like_text(sample: bytes) -> bool:
    """At least 95% of the first 64 KiB printable ASCII, tabs and line ends (an empty
    input counts as text)."""
    counts = _first_bytes_counts(sample)
    return bool(_ascii_text(counts) >= 0.95 * counts.sum())


def parse_orders(text: str) -> tuple[int, ...]:
    """'1-6,w,ww,m' or '1,2,3,w' -> (1, ..., 6, WORD, WORDS, MATCH)."""
    out: list[int] = []
    codes = {name: code for code, name in _NAMES.items()}
    for part in text.split(","):
        part = part.strip().lower()
        try:
            if part in codes:
                out.append(codes[part])
            elif "-" in part:
                lo, hi = (int(x) for x in part.split("-"))
                if not 0 <= lo <= hi <= MAX_ORDER:
                    raise SpecError(f"--orders: a range must lie in 0-{MAX_ORDER}, got {part!r}")
                out.extend(range(lo, hi + 1))
            elif part:
                out.append(int(part))
        except ValueError:
            raise SpecError(
                f"--orders takes numbers, ranges like 1-5 and {', '.join(_NAMES.values())}, "
                f"got {text!r}"
            ) from None
    return tuple(out)


def format_orders(orders: tuple[int, ...]) -> str:
    return ",".join(_NAMES.get(o, str(o)) for o in orders)


class Model:
    """One model of the bytes: its settings and its compiled Predictor (kernels.pyx),
    which owns the arrays made here (sizes from the settings, the large tables backed by
    pages of their own, every rate in its named slot)."""

    def __init__(self, s: Settings):
        s.check()
        if not s.table_bits or (s.bias_orders and not s.bias_bits) or not s.suited():
            raise SpecError("the tables' sizes and the rates must be chosen "
                            "(Settings.sized_for, suited_to) before building")
        k = s.hidden
        self.settings = s
        output = np.float32 if s.output_bits == 32 else np.float64
        ctx = np.zeros(kernels.CTX_SIZE, np.uint64)
        ctx[kernels.CTX_SEED] = s.seed
        ctx[kernels.CTX_SHIFT] = 64 - s.table_bits
        bias_orders = s.bias_orders or ()
        match_bits = s.match_bits(s.table_bits)
        if bias_orders:
            ctx[kernels.CTX_BSHIFT] = 64 - s.bias_bits
        if s.image:
            ctx[kernels.CTX_IMAGE:kernels.CTX_IMAGE + 4] = s.image
        if match_bits:
            ctx[kernels.CTX_MMIN] = s.match_min
            ctx[kernels.CTX_MSHIFT] = 64 - match_bits
        if s.window_bits:
            # The encoder holds up to a chunk of bytes ahead in the ring, so a match may
            # reach half the window back (its check reads MATCH_VERIFY bytes more).
            ctx[kernels.CTX_WMASK] = (1 << s.window_bits) - 1
            ctx[kernels.CTX_WDIST] = (1 << (s.window_bits - 1)) - kernels.MATCH_VERIFY
        else:
            ctx[kernels.CTX_WMASK] = kernels.NO_WINDOW
            ctx[kernels.CTX_WDIST] = kernels.NO_WINDOW
        # the parts that go with the bit models (formats 8 and 10), off without them
        final = s.has_bit_models() and bool(s.final_mixer)
        confidence = s.has_bit_models() and bool(s.cm_confidence)
        final_maps = s.final_maps if final else 1
        huge = s.window_bits >= HUGE_PAGES_FROM
        self.predictor = kernels.Predictor(
            E=_zeros((1 << s.table_bits, k),                 # pages on first touch
                     np.int16 if s.row_bits == 16 else np.float32, huge),
            seen=_zeros((1 << s.table_bits,), np.uint8, huge),
            Wt=_init_output(k, s.init_scale, s.seed).astype(output),
            c=np.zeros(256, output),
            b=np.zeros(k),
            orders=np.array(s.orders, np.int64),
            lr=kernels.rate_array(
                lr_input=s.lr_input, boost=s.boost, lr_output=s.lr_output,
                lr_hidden_bias=s.lr_hidden_bias, clamp=s.clamp, lr_match=s.lr_match,
                lr_output_first=s.lr_output_first, lr_bias=s.lr_bias, skip=s.skip,
                per_context=s.rates),
            ctx=ctx,
            scratch=np.zeros((4, max(256, k))),             # a, h, p, grad
            idx=np.zeros(len(s.orders) + len(bias_orders), np.int64),
            mtab=_zeros((1 << match_bits if match_bits else 1,), np.int64, huge),
            mw=np.zeros(32),
            B=_zeros((1 << s.bias_bits if bias_orders else 1, 256), np.float32, huge),
            bias_orders=np.array(bias_orders, np.int64),
            apm=kernels.apm_table(s.has_bit_models(), final, final_maps)
            if s.apm else None,
            mixer=kernels.mixer_table(len(s.cm_orders) if s.has_bit_models() else 0,
                                      final, confidence)
            if s.apm else None,
            cm=_zeros((kernels.cm_entries(s.cm_bits, len(s.cm_orders)),), np.uint32,
                      huge)
            if s.has_bit_models() else None,
            cm_orders=np.array(s.cm_orders, np.int64) if s.has_bit_models() else None,
            cm_map=bool(s.cm_map) and s.has_bit_models(), cm_ways=s.cm_ways,
            final_mixer=final, mixer_boost=s.mixer_boost, cm_confidence=confidence,
            final_maps=final_maps)
        self.predictor.two_threads = TWO_THREADS
        self.predictor.guessing = huge and HUGE_PAGES

    def prime(self) -> None:
        """Learn the primer (Settings.primer) as if it came before the input, then forget
        where it was: the weights keep what they learnt, the contexts and the match model
        start from nothing (the input's positions start at 0)."""
        if not self.settings.primer:
            return
        text = np.frombuffer(primer_bytes(self.settings.primer), np.uint8)
        p = self.predictor
        freq = np.zeros(256, np.int64)
        window = 1 << self.settings.window_bits if self.settings.window_bits else len(text)
        if len(text) <= window:
            p.learn(text, 0, len(text), freq)
        else:   # a long primer in a short history (formats 15+): through a ring, as an
            ring = np.zeros(window, np.uint8)      # input is, half a window at a time
            for start in range(0, len(text), window // 2):
                end = min(len(text), start + window // 2)
                ring[start % window:start % window + end - start] = text[start:end]
                p.learn(ring, start, end, freq)
        keep = [kernels.CTX_SEED, kernels.CTX_SHIFT, kernels.CTX_MMIN, kernels.CTX_MSHIFT,
                kernels.CTX_WMASK, kernels.CTX_WDIST, kernels.CTX_BSHIFT, kernels.CTX_STEPS,
                *range(kernels.CTX_IMAGE, kernels.CTX_IMAGE + 4)]
        kept = p.ctx[keep]
        p.ctx[:] = 0
        p.ctx[keep] = kept
        p.mtab[:] = 0


def _zeros(shape: tuple[int, ...], dtype, huge_pages: bool) -> np.ndarray:
    """Zeros for a table, in memory of its own (a mapping: aligned to pages, so each row
    of a table at k = 32 fills exactly two cache lines, and given on first touch). Where
    `huge_pages` (HUGE_PAGES_FROM) and the system has them, a private mapping it is asked
    to back with huge pages: each row the model reads lies anywhere in up to 256 MiB, and
    with 4 KiB pages nearly every read also misses the TLB. Otherwise a shared one (of
    this process alone): there a page read first is given at that read, where a private
    mapping first maps the shared zero page and copies it at the first write, a second
    fault, and with the model's two threads on two cores a TLB flush sent to the other
    core (a 200 KB input spent 3x the system time in two threads and ran slower than in
    one, 2026-12-08; with shared pages alice29.txt compressed in 1.0-1.5 s instead of
    1.7-2.1)."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes < 1 << 21 or not hasattr(mmap, "MAP_PRIVATE"):
        return np.zeros(shape, dtype)
    huge = huge_pages and HUGE_PAGES and hasattr(mmap, "MADV_HUGEPAGE")
    region = mmap.mmap(-1, nbytes, flags=(mmap.MAP_PRIVATE if huge else mmap.MAP_SHARED)
                       | mmap.MAP_ANONYMOUS)
    if huge:
        region.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(region, dtype).reshape(shape)


@functools.lru_cache(maxsize=16)
def _init_output(k: int, scale: float, seed: int) -> np.ndarray:
    """Uniform(-scale, scale) from a xorshift generator written out here: NumPy keeps
    its bit generators' streams stable but not the methods that turn them into floats,
    and the decoder must start from exactly the encoder's weights. Kept for the next
    model with the same settings (read-only; the caller copies it): the loop takes ~4 ms
    in Python, and an archive of many small members builds a model for each."""
    x = (seed * 2654435761 + 1) & (2**64 - 1)
    vals = np.empty(k * 256)
    for i in range(k * 256):
        x ^= (x << 13) & (2**64 - 1)
        x ^= x >> 7
        x ^= (x << 17) & (2**64 - 1)
        vals[i] = ((x >> 11) / 2.0**53 - 0.5) * 2.0 * scale
    vals.flags.writeable = False
    return vals.reshape(k, 256)
