"""Pictures of trained networks. One renderer per picture; each returns a matplotlib
Figure and `save` writes it as SVG or PNG by the file's suffix. Renderers read a
Population (or one network's weights) and never reach into the trainer."""

from bottlenet.draw.capacity import capacity_atlas, capacity_chart
from bottlenet.draw.common import save
from bottlenet.draw.diagram import diagram, diagram_layout
from bottlenet.draw.space import hidden_space
from bottlenet.draw.training import training_charts
from bottlenet.draw.walk import walkthrough, walkthrough_terms

__all__ = ["capacity_atlas", "capacity_chart", "diagram", "diagram_layout", "hidden_space",
           "save", "training_charts", "walkthrough", "walkthrough_terms"]
