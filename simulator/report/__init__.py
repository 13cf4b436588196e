"""Reports of a run: raw log, summary, JUnit XML, charts and one self-contained HTML page.

Everything here is computed from the event log and the scenario; it can be run
again later (``ringlab report RUN_DIR``) and gives the same files.
"""

from .files import write_report

__all__ = ["write_report"]
