"""``python -m simulator.cli``: the ``ringlab`` command without its console script."""

from .main import main

main()
