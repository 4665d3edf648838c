"""A third party's scheduler policies, as the README shows them: a filter that keeps
servers off the hosts an operator is draining (listed in an environment variable) and a
weigher that fills the hosts with the most servers first. ``tests/test_scheduler_plugins.py``
loads them by dotted path and by entry point, and serves an emulator that uses them."""

from __future__ import annotations

import os

from emulator.placement import Decision, Provider, Weigher


def not_draining(provider: Provider, decision: Decision) -> bool:
    """A filter: False keeps the instance off ``provider``."""
    draining = os.environ.get("EXAMPLE_DRAINING_HOSTS", "").split(",")
    return provider.name not in draining


#: A weigher: higher is better; ``static`` (it reads only the provider) lets the candidate
#: index sort by it. Its multiplier comes from ``[scheduler.weighers]``.
most_servers = Weigher("most_servers", lambda provider, _decision: provider.consumers)
