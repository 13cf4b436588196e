"""Operator passwords: scrypt with a per-user salt (pure computation, no I/O)."""

from __future__ import annotations

import hashlib
import hmac

# scrypt cost: 2**14 * 8 * 128 bytes = 16 MiB and ~50 ms per hash on a laptop core,
# OWASP's recommended minimum for interactive logins.
COST = 2**14
_R, _P = 8, 1


def hash_password(password: str, salt: bytes, cost: int = COST) -> str:
    """Return ``scrypt$N$r$p$salt$hash`` (hex) for storage; ``salt`` must be random.

    ``cost`` is scrypt's N; the stored string carries it, so verifying needs no setting.
    Only simulations, whose passwords are throwaway, lower it.
    """
    digest = hashlib.scrypt(password.encode(), salt=salt, n=cost, r=_R, p=_P, dklen=32)
    return f"scrypt${cost}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a :func:`hash_password` string."""
    try:
        scheme, n, r, p_, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p_), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)
