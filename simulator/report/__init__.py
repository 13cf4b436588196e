"""What a finished run comes to: its metrics and verdicts (pure functions of its log), and
every file of its folder: raw log, summary, JUnit XML, charts, one self-contained HTML
page; across runs, the sweep and seed-sweep files and the comparison of two runs.

Everything here is computed from the event log and the scenario; it can be run
again later (``ringlab report RUN_DIR``) and gives the same files.
"""
