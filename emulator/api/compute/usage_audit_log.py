"""The instance usage audit log (``/os-instance_usage_audit_log``), admin only: the index
for the last completed period, the show for the last one before the path's timestamp
(``YYYY-MM-DD HH:MM:SS[.ffffff]``); unknown query parameters are refused from 2.102."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.routing import Call, json_response
from emulator.compute.audit_log import AuditReport, InstanceUsageAuditLog


def _view(report: AuditReport) -> dict[str, Any]:
    """Nova's shape; the period's bounds as ``str(datetime)`` (a space, no zone)."""
    return {
        "period_beginning": str(report.period_beginning),
        "period_ending": str(report.period_ending),
        "num_hosts": len(report.hosts),
        "num_hosts_done": report.done,
        "num_hosts_running": report.running,
        "num_hosts_not_run": len(report.hosts_not_run),
        "hosts_not_run": report.hosts_not_run,
        "total_instances": report.total_instances,
        "total_errors": report.total_errors,
        "overall_status": report.overall_status,
        "log": report.log,
    }


class AuditLogController:
    def __init__(self, audit_log: InstanceUsageAuditLog) -> None:
        self.audit_log = audit_log

    async def index(self, call: Call) -> Response:
        common.check_query(call, "audit_log_query")
        report = self.audit_log.index(common.context(call))
        return json_response({"instance_usage_audit_logs": _view(report)})

    async def show(self, call: Call) -> Response:
        common.check_query(call, "audit_log_query")
        report = self.audit_log.show(common.context(call), call.params["before"])
        return json_response({"instance_usage_audit_log": _view(report)})
