"""Builds the compiled kernels (Cython): the compressor's (src/bottlenet/compress/
kernels.pyx) and the trainer's fused last layer (src/bottlenet/trainer/fused_kernel.pyx);
everything else about the package is in pyproject.toml.

Both are optional. Where no C compiler is found the build warns and goes on: `compress`
and `decompress` then say how to get their kernels, and the trainer takes its XLA step
(the same numbers to float32's rounding, slower). BOTTLENET_KERNELS_REQUIRED=1 makes a
failed build an error instead: CI sets it.

Which instructions they use:
- an editable install (`uv sync`, `uv run`, `pip install -e .`: a clone used on the
  machine that built it) compiles for that machine's own vector instructions
  (-march=native on x86-64: 1.5x the portable build's speed with AVX2, 2x with AVX-512);
- a wheel (`uv build`, `pip install .`, `pip wheel .`), which may be copied to another
  machine, is built for any x86-64;
- BOTTLENET_PORTABLE=1 or BOTTLENET_NATIVE=1 choose either way for any build.
Both write the same archives, byte for byte (vector lanes round like scalars);
`bottlenet.compress.kernels.BUILD` says which one is installed.
"""

import os
import platform
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

# Decoding must be bit-exact on every machine: no fused multiply-add (an FMA rounds once,
# so machines with and without one would disagree) and no reordering of float sums
# (no -ffast-math); tests/test_compress.py checks the built module. Without traps and errno
# the compiler may vectorise floor(); neither changes a result. (-Wno-psabi: GCC's note
# that 64-byte vector arguments changed ABI in GCC 4.6 concerns only inline functions.)
FLAGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-trapping-math", "-fno-math-errno",
         "-Wno-psabi"]


def native_build() -> bool:
    """Whether to compile for this machine only: asked for, or an editable install (PEP
    660: setuptools runs this file with the `editable_wheel` command) and not refused."""
    if os.environ.get("BOTTLENET_PORTABLE"):
        return False
    if os.environ.get("BOTTLENET_NATIVE"):
        return True
    return "editable_wheel" in sys.argv


MACROS = []
if native_build() and platform.machine().lower() in ("x86_64", "amd64"):
    FLAGS.append("-march=native")
    MACROS.append(("BN_NATIVE", "1"))

# The trainer's kernel need not be bit-exact anywhere (training is not decoding): FMAs are
# welcome, and GCC's vector extensions give 16 lanes where the machine has them.
TRAINER_FLAGS = ["-O3", "-Wno-psabi"] + [f for f in FLAGS if f == "-march=native"]

EXTENSIONS = cythonize(
    [Extension("bottlenet.compress.kernels", ["src/bottlenet/compress/kernels.pyx"],
               extra_compile_args=FLAGS, define_macros=MACROS),
     Extension("bottlenet.trainer.fused_kernel", ["src/bottlenet/trainer/fused_kernel.pyx"],
               extra_compile_args=TRAINER_FLAGS)],
    compiler_directives={"language_level": "3"},
)
for extension in EXTENSIONS:  # set after cythonize, which does not carry `optional` over
    extension.optional = not os.environ.get("BOTTLENET_KERNELS_REQUIRED")

setup(ext_modules=EXTENSIONS)
