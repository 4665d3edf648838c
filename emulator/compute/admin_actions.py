"""The admin actions Nova keeps besides ``os-resetState`` (``injectNetworkInfo``); the
removed ``resetNetwork`` is the API's (a 410 before any lookup)."""

from __future__ import annotations

from emulator.compute.policy import authorize
from emulator.compute.records import check_lock, visible_instance
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import BackendFailure

INJECT_RULE = "os_compute_api:os-admin-actions:inject_network_info"
#: Nova's 500 for an exception its API does not expect (``NovaException``).
UNEXPECTED = ("Unexpected API Error. Please contact the administrator\n"
              "<class 'nova.exception.NovaException'>")


class AdminActions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def inject_network_info(self, ctx: RequestContext, server_id: str) -> None:
        """Nova's order: the server (404), the policy (403), the lock (409), then a cast to
        its host, whose driver has nothing to do (libvirt's default: no instance action,
        no state change). NOTE: a server with no host cannot be cast to: Nova's RPC
        layer raises and its API answers 500; copied."""
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, INJECT_RULE, row.project_id)
            check_lock(ctx, row)
            if not row.host:
                raise BackendFailure(UNEXPECTED)
