"""The demo account created on an empty database, so a fresh server is usable at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .core import Account, Button, Operator, Settings, hash_password
from .core.passwords import COST as PASSWORD_COST
from .store import Store

ACCOUNT = "demo"
BUTTON = "btn_main"
#: (login, display name, password, admin). Local demo only: change them for anything else.
OPERATORS = [
    ("alice", "Alice", "alice-demo", True),
    ("bob", "Bob", "bob-demo", False),
]


async def bootstrap_demo(
    store: Store,
    salt: Callable[[], bytes],
    blocking: Callable[[Callable[[], Any]], Awaitable[Any]],
    settings: Settings | None = None,
    cost: int = PASSWORD_COST,
) -> list[tuple[str, str]]:
    """Create account ``demo`` with two operators and one button; return the logins."""
    operators = []
    for login, name, password, admin in OPERATORS:

        def hashed_password(pw: str = password) -> str:
            return hash_password(pw, salt(), cost)

        hashed = await blocking(hashed_password)
        operators.append(Operator(f"op_{login}", ACCOUNT, login, name, hashed, admin))
    await store.add_account(
        Account(ACCOUNT, "Demo Shop", settings or Settings()),
        operators,
        [Button(BUTTON, ACCOUNT, "Main chat button")],
    )
    return [(login, password) for login, _, password, _ in OPERATORS]
