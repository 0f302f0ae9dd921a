"""The names a user can choose from, in one JAX-free place.

The command line lists them in its help and the engine validates against them; keeping
them here lets `bottlenet --help` answer without importing JAX (activations.py checks at
import that its built-in registry matches ACTIVATIONS)."""

ACTIVATIONS = ("arctan", "leaky_relu", "linear", "normcdf", "relu", "sigmoid", "sinh",
               "softplus", "tanh")  # built-ins
HEADS = ("softmax", "tanh", "sigmoid")
OPTIMIZERS = ("adam", "sgd", "momentum", "nesterov", "rmsprop")
SCHEDULES = ("constant", "cosine")
# "each": every network stops learning at its first solve and keeps the weights it solved
# with; the run ends when all have stopped. "solved": the run ends once every network
# has solved, the solved ones learning on meanwhile (their final weights then depend on
# the slowest network of the population). "never": every network runs every step.
STOPS = ("each", "solved", "never")
PICTURE_FORMATS = (".svg", ".png")  # by suffix; draw.save writes either
# The loss each step computes: every output ("full"), or each pair's strongest
# competitors and a few outputs drawn ("sampled", trainer/sampled.py).
SOFTMAXES = ("full", "sampled")
DTYPES = ("float32", "float64")  # training precision (float64: JAX's x64 mode, that run only)
TASKS = ("shift", "identity", "permutation", "random")  # built-in tasks
