"""The ``ringlab`` command: every subcommand, the live progress line, seed sweeps."""
