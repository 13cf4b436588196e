"""Virtual actors: operators and visitors that speak the wire protocol over links."""

from .console import ConsoleModel, Policy, Step, Tab, step

__all__ = ["ConsoleModel", "Policy", "Step", "Tab", "step"]
