"""The playground's memory stays bounded however many settings one process is given
(issue: 183 learning rates in one tab reached Linux's 65,530 memory mappings and died)."""

import subprocess
import sys

import pytest

# The peak is read as VmHWM (this process's own high-water mark): getrusage's maxrss of a
# child process also counts what its parent held when it forked it (a pytest process of
# 2 GB made a 0.7 GB script read as 2.3 GB).
SCRIPT = r"""
from bottlenet.serve.engine import Session
from bottlenet.serve.settings import Settings

for n in range(5, 25):                                  # 20 sizes
    Session(Settings(symbols=n, population=8)).advance(3)
for i in range(150):                                    # 150 learning rates
    Session(Settings(symbols=11, population=8, lr=0.001 * (i + 1))).advance(3)
with open("/proc/self/maps") as f:
    maps = sum(1 for _ in f)
with open("/proc/self/status") as f:
    peak_kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(maps, peak_kib // 1024)
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_many_sizes_and_learning_rates_stay_within_bounds():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=900, check=True)
    maps, peak_mib = map(int, out.stdout.split())
    assert maps < 20_000, f"{maps} memory mappings"
    assert peak_mib < 2048, f"peak resident memory {peak_mib} MiB"
