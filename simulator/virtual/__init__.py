"""The virtual world of ``clock = "virtual"``: an in-memory network the real server stack
(Hypercorn's own connection handling serving the Quart-trio app) and the same actors run
on, in one process, under trio's ``MockClock``."""

from .net import VirtualNetwork
from .serve import serve_virtual

__all__ = ["VirtualNetwork", "serve_virtual"]
