"""Who is asking: the caller as the domain sees it (no HTTP, no tokens)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    user_id: str
    project_id: str | None
    roles: frozenset[str]
    request_id: str = ""

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles
