#!/usr/bin/env bash
# The capacity atlas (README, Capacity, "The atlas") on one accelerator, its searches run
# side by side, each in its own process and results database, each stopped by its own
# time budget and a hard deadline, so that a short lease still brings back every
# trial that finished (each trial is stored the moment it ends).
#
#   benchmarks/atlas_device.sh OUT_DIR [SECONDS]
#
# SECONDS (default 3600) is the hard deadline of every search; the --time-budget of each
# is a fraction of it. BOTTLENET names the command (default: uv run bottlenet); where the
# project is not installed (a bare GPU machine with JAX, optax, typer, rich, matplotlib
# and scipy), BOTTLENET=source runs it from this checkout's src/ with python3. Every search writes
# OUT_DIR/NAME.db (read it with `bottlenet capacity --resume --db OUT_DIR/NAME.db`, which
# reuses every finished trial), NAME.json (the table, when the search ended in time)
# and NAME.log.
set -u
out=${1:?usage: atlas_device.sh OUT_DIR [SECONDS]}
deadline=${2:-3600}
mkdir -p "$out"
bottlenet=${BOTTLENET:-uv run bottlenet}
if [ "$bottlenet" = source ]; then
    export PYTHONPATH="$(cd "$(dirname "$0")/.." && pwd)/src${PYTHONPATH:+:$PYTHONPATH}"
    bottlenet="python3 -m bottlenet"
fi

# Several processes share one GPU: each takes a share of its memory instead of JAX's
# default 75% (the trainer sizes its passes and chunks from what its process may use).
small_share=${SMALL_SHARE:-0.06}
large_share=${LARGE_SHARE:-0.45}
regime="--seeds 8 --steps 10000 --json"

search() {  # NAME SHARE BUDGET_FRACTION ARGS...
    local name=$1 share=$2 fraction=$3
    shift 3
    local budget
    budget=$(python3 -c "print(int($deadline * $fraction))")
    ( export XLA_PYTHON_CLIENT_MEM_FRACTION=$share
      timeout -s INT -k 30 "$deadline" $bottlenet capacity "$@" $regime --time-budget "$budget" \
          --db "$out/$name.db" >"$out/$name.json" 2>"$out/$name.log"
      echo "$name: exit $? after $SECONDS s" >>"$out/summary.txt" ) &
}

# Trials of the small rows are bound by launches, not arithmetic: they share the GPU
# well. The k = 3 and 4 tanh searches start where the 2-core machine stopped.
search tanh-k2-f32 "$small_share" 0.6 --hidden 2 --activation tanh
search tanh-k2-f64 "$small_share" 0.6 --hidden 2 --activation tanh --dtype float64
search k1-f32 "$small_share" 0.3 --hidden 1 --activation tanh,relu
search k1-f64 "$small_share" 0.3 --hidden 1 --activation tanh,relu --dtype float64
search relu-f32 "$small_share" 0.25 --hidden 2,3,4 --activation relu
search relu-f64 "$small_share" 0.25 --hidden 2,3,4 --activation relu --dtype float64
search tanh-k34-f32 "$large_share" 0.4 --hidden 3,4 --activation tanh --start 16384
wait
cat "$out/summary.txt"
