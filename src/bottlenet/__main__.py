"""`python -m bottlenet`: the `bottlenet` command, for a checkout run from its source
(PYTHONPATH=src) where the package is not installed, as on a bare GPU machine."""

from bottlenet.cli import main

main()
