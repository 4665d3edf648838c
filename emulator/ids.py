"""The ids the emulator makes: random, or drawn from a seed (``[server] seed``).

With a seed, the same requests in the same order give the same ids every run: servers,
ports and their MAC addresses, networks, flavors, images, request ids, and the seeded
accounts', services' and zones' own. Secrets (tokens, salts, admin passwords) stay random.

Request ids come from a stream of their own: a client that polls more or less often (its
requests' ids) does not shift the ids of what it creates next.

NOTE: one set of generators per process: emulators started in one process (threads) share
it; the last one made sets it.
"""

from __future__ import annotations

import os
import random
import uuid

_resources: random.Random | None = None
_requests: random.Random | None = None


def seed(value: int | None, salt: str = "") -> None:
    """Draw ids from ``value`` from now on (None: at random, the default). ``salt`` starts
    other streams of the same seed (a cloud loaded from a snapshot made with this seed
    must not draw the ids its servers already have)."""
    global _resources, _requests
    _resources = None if value is None else random.Random(f"{value}:{salt}:resources")
    _requests = None if value is None else random.Random(f"{value}:{salt}:requests")


def random_bytes(count: int) -> bytes:
    return os.urandom(count) if _resources is None else _resources.randbytes(count)


def new_uuid() -> str:
    """A version-4 UUID, as ``str(uuid.uuid4())``."""
    return str(uuid.UUID(bytes=random_bytes(16), version=4))


def new_hex(count: int) -> str:
    """``count`` random bytes as hex (a reservation id's ``r-<8 hex>``)."""
    return random_bytes(count).hex()


def new_request_id() -> str:
    """A request id, ``req-<uuid>``."""
    raw = os.urandom(16) if _requests is None else _requests.randbytes(16)
    return f"req-{uuid.UUID(bytes=raw, version=4)}"
