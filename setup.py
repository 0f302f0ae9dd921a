"""Builds the compressor's compiled kernels (src/bottlenet/compress/kernels.pyx, Cython);
everything else about the package is in pyproject.toml."""

import os
import platform

from Cython.Build import cythonize
from setuptools import Extension, setup

# Decoding must be bit-exact on every machine: no fused multiply-add (an FMA rounds once,
# so machines with and without one would disagree) and no reordering of float sums
# (no -ffast-math); tests/test_compress.py checks the built module. Without traps and errno
# the compiler may vectorise floor(); neither changes a result. (-Wno-psabi: GCC's note
# that 64-byte vector arguments changed ABI in GCC 4.6 concerns only inline functions.)
FLAGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-trapping-math", "-fno-math-errno",
         "-Wno-psabi"]
# The kernels are built on the machine that runs them (an install from source), so they
# use all of its vector instructions: 2x faster here with AVX-512 than without (75 ->
# 150-180 KB/s), the same numbers (vector lanes round like scalars). BOTTLENET_PORTABLE=1
# builds for any x86-64, for a wheel that is copied to other machines (uv rebuilds when
# it changes).
if platform.machine().lower() in ("x86_64", "amd64") and not os.environ.get("BOTTLENET_PORTABLE"):
    FLAGS.append("-march=native")

setup(
    ext_modules=cythonize(
        [Extension("bottlenet.compress.kernels", ["src/bottlenet/compress/kernels.pyx"],
                   extra_compile_args=FLAGS)],
        compiler_directives={"language_level": "3"},
    )
)
