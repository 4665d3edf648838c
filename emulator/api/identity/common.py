"""What every identity controller shares: the identity service and Keystone's policy."""

from __future__ import annotations

from emulator.api.routing import Call
from emulator.identity.records import Kind, Record
from emulator.identity.service import IdentityService


class Controller:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity

    def require_admin(self, call: Call, rule: str) -> None:
        """Keystone's default policy for ``identity:<rule>``: the admin role."""
        self.identity.require_admin(call.token, f"identity:{rule}")

    def target(self, call: Call, kind: Kind, rule: str, allowed: bool = False) -> Record:
        """The ``kind`` a call names (``{kind}_id``), then the policy check: Keystone's
        enforcer loads the target first, so an unknown id is a 404 even for callers the
        policy refuses; ``allowed`` is the policy's exception for the caller's own."""
        record = self.identity.directory.get(kind, call.params[f"{kind}_id"])
        if not allowed:
            self.require_admin(call, rule)
        return record
