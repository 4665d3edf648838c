"""The instance usage audit log (``/os-instance_usage_audit_log``): how Nova's periodic
usage audit fared on each compute host over its last completed period.

Nova reads the task log its computes write when ``[DEFAULT] instance_usage_audit`` is on;
it is off by default, and here no audit ever runs: every compute service's host is one
that has not run, for any period. The period is Nova's default ``month`` (from the 1st,
00:00 UTC, to the next 1st) most recently completed before the time asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from emulator.compute.policy import authorize
from emulator.compute.records import now
from emulator.compute.services import COMPUTE, Services
from emulator.context import RequestContext
from emulator.errors import InvalidInput


def _rule(name: str) -> str:
    return f"os_compute_api:os-instance-usage-audit-log:{name}"


def last_completed_month(before: datetime) -> tuple[datetime, datetime]:
    """Nova's ``last_completed_audit_period('month', before)`` (naive UTC times): the
    month that ended on the last 1st strictly before ``before``."""
    end = datetime(before.year, before.month, 1)
    if end >= before:
        end = datetime(end.year - (end.month == 1), (end.month - 2) % 12 + 1, 1)
    begin = datetime(end.year - (end.month == 1), (end.month - 2) % 12 + 1, 1)
    return begin, end


def parse_before(text: str) -> datetime:
    """The show's path: ``YYYY-MM-DD HH:MM:SS[.ffffff]``, else Nova's 400."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        raise InvalidInput(f"Invalid timestamp for date {text}") from None


@dataclass(frozen=True)
class AuditReport:
    """Nova's summary of the task logs of one period."""

    period_beginning: datetime
    period_ending: datetime
    hosts: tuple[str, ...]
    #: host -> its task log (state, instances, errors, message); none here.
    log: dict[str, dict[str, object]]
    done: int = 0
    running: int = 0
    total_instances: int = 0
    total_errors: int = 0

    @property
    def hosts_not_run(self) -> list[str]:
        return sorted(set(self.hosts) - set(self.log))

    @property
    def overall_status(self) -> str:
        hosts = "ALL" if self.done == len(self.hosts) else f"{self.done} of {len(self.hosts)}"
        return f"{hosts} hosts done. {self.total_errors} errors."


class InstanceUsageAuditLog:
    def __init__(self, services: Services) -> None:
        self.services = services

    def index(self, ctx: RequestContext) -> AuditReport:
        """The last period completed before now."""
        authorize(ctx, _rule("list"))
        return self._report(now().replace(tzinfo=None))

    def show(self, ctx: RequestContext, before: str) -> AuditReport:
        """The last period completed before ``before`` (the path's timestamp)."""
        authorize(ctx, _rule("show"))
        return self._report(parse_before(before))

    def _report(self, before: datetime) -> AuditReport:
        """Every compute service's host, disabled ones too (Nova counts them: they may
        have servers), none of them with a task log."""
        begin, end = last_completed_month(before)
        hosts = tuple(s.host for s in self.services.all() if s.binary == COMPUTE)
        return AuditReport(begin, end, hosts, log={})
