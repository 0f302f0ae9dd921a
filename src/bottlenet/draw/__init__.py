"""Pictures of trained networks. One renderer per picture; each returns a matplotlib
Figure and `save` writes it as SVG or PNG by the file's suffix. Renderers read a
Population (or one network's weights) and never reach into the trainer.

Names load their module on first use, so drawing one picture (the compressor's bits
chart) does not import the renderers that need JAX."""

from importlib import import_module

_WHERE = {
    "animation_html": "animation", "bits_chart": "bits", "capacity_atlas": "capacity",
    "capacity_chart": "capacity",
    "save": "common", "diagram": "network", "diagram_layout": "network",
    "hidden_space": "space", "training_charts": "training", "walkthrough": "walk",
    "walkthrough_terms": "walk",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = import_module(f"{__name__}.{_WHERE[name]}")
    # Every name of that module is kept here. (No module is named like one of its
    # functions: importing the module would make the package's attribute the module.)
    globals().update({n: getattr(module, n) for n, m in _WHERE.items() if m == _WHERE[name]})
    return globals()[name]


def __dir__():
    return __all__
