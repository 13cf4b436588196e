"""ringlab's simulator: scenario files played by virtual operators and visitors over
emulated links, and the reports of their runs.

Each wing is a package that imports only the wings below it:

- ``cli`` (the ``ringlab`` command) and ``pytest_plugin`` (scenario files as tests);
- ``play`` (one run: the runner, the actors, the server under test) and ``report``
  (what a run's log comes to: metrics, verdicts, the files of its folder), side by side;
- ``scenario`` (the file format);
- ``network`` (links, the virtual network, the TCP proxy) and ``record`` (the event log).
"""
