"""httpx without its command-line client.

httpx imports its own command-line client on import whenever click and rich are installed
(they are: ringlab's CLI uses them), and with it pygments and most of rich: megabytes of
every simulator process, which only ever uses httpx's AsyncClient. A None entry makes that import
fail, which httpx expects (it then defines a stub ``httpx.main``). It is set here, where
httpx is imported, and not when the package loads: the pytest plugin loads ``simulator``
in every test session of a machine where ringlab is installed.
"""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402  (after the entry above, which is the point)

__all__ = ["httpx"]
