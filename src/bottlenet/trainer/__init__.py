"""The population trainer: P independent networks of one shape in one compiled program.

Every network has its own seed (network i of a run with first seed s uses seed s+i, so
a network does not depend on the population size), its own optimizer state and its own
loss. The rooms, each importing only those above it:

    parametrize   training parameters against a network's own weights (the logit scale)
    step          one step of every network, segments of steps, the one rollback
    run           a whole run: plan, passes, compaction, the Population at the end
    live          a population advanced call by call and edited by hand (the playground)
"""

from bottlenet.trainer.live import Live, release_live_programs
from bottlenet.trainer.parametrize import effective_params, with_logit_scale
from bottlenet.trainer.run import train
from bottlenet.trainer.step import compiled_segments, make_optimizer, release_compiled

__all__ = ["Live", "compiled_segments", "effective_params", "make_optimizer",
           "release_compiled", "release_live_programs", "train", "with_logit_scale"]
