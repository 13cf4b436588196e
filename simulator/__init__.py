"""ringlab's simulator: virtual visitors and operators, links, scenarios, reports."""

import sys

# httpx imports its own command-line client on import whenever click and rich are installed
# (they are: ringlab's CLI uses them), and with it pygments and most of rich: 5.6 MB of every
# simulator process, which only ever uses httpx's AsyncClient. A None entry makes that import
# fail, which httpx expects (it then defines a stub `httpx.main`).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
