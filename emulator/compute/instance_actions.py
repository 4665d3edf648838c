"""Instance actions and their events (``os-instance-actions``): recorded as operations
start and finish, read back newest first with Nova's paging and change filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, String, bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from emulator.compute.models import InstanceAction, InstanceActionEvent
from emulator.compute.policy import authorize
from emulator.compute.records import (
    ActionDetail,
    ActionRecord,
    EventRecord,
    now,
    utc,
    visible_instance,
)
from emulator.context import RequestContext
from emulator.db import Database, table_of
from emulator.errors import InvalidInput
from emulator.reads import Prebuilt, Reader, connection_of


@dataclass(frozen=True)
class ActionQuery:
    """Paging and change filters of a server's action list (2.58+); None: no limit."""

    limit: int | None = None
    marker: str | None = None  # a request id
    changes_since: datetime | None = None
    changes_before: datetime | None = None


_ACTIONS, _EVENTS = table_of(InstanceAction), table_of(InstanceActionEvent)
_START = Prebuilt(insert(_ACTIONS))

#: The events of an action, as Core statements built once (every operation records two
#: a step: no object of the action or its events). The action is the server's of the
#: request (one; the oldest, were there several).
_ACTION_ID = sa_select(_ACTIONS.c.id).where(
    _ACTIONS.c.instance_uuid == bindparam("server"),
    _ACTIONS.c.request_id == bindparam("request")).order_by(_ACTIONS.c.id).limit(1)
_START_EVENT = Prebuilt(insert(_EVENTS).from_select(
    ["action_id", "event", "start_time", "host"],
    sa_select(_ACTIONS.c.id, bindparam("name", type_=String),
              bindparam("when", type_=DateTime), bindparam("on_host", type_=String))
    .where(_ACTIONS.c.id == _ACTION_ID.scalar_subquery())))
_TOUCH_ACTION = Prebuilt(update(_ACTIONS).where(
    _ACTIONS.c.id == _ACTION_ID.scalar_subquery()).values(updated_at=bindparam("when")))
_FINISH_EVENTS = Prebuilt(update(_EVENTS).where(
    _EVENTS.c.action_id == _ACTION_ID.scalar_subquery(), _EVENTS.c.event == bindparam("name"),
    _EVENTS.c.finish_time.is_(None)).values(
    finish_time=bindparam("when"), result=bindparam("outcome"),
    traceback=bindparam("trace")))
#: The action's end; a failed one says so (NOTE: Nova's word; the failure is the fault's).
_FINISH_ACTION = {
    failed: Prebuilt(update(_ACTIONS).where(_ACTIONS.c.id == _ACTION_ID.scalar_subquery())
                     .values(finish_time=bindparam("when"), updated_at=bindparam("when"),
                             **({"message": "Error"} if failed else {})))
    for failed in (False, True)}


def start_action(s: Reader, ctx: RequestContext, server_id: str, action: str,
                 when: datetime) -> None:
    """Record that ``ctx``'s request started ``action`` on the server (same transaction,
    after what it holds; a Core insert built once)."""
    _START(connection_of(s), {
        "request_id": ctx.request_id, "instance_uuid": server_id, "action": action,
        "project_id": ctx.project_id or "", "user_id": ctx.user_id, "start_time": when,
        "updated_at": when})


class InstanceActions:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- recording -----------------------------------------------------------------------

    def record(self, ctx: RequestContext, server_id: str, action: str) -> None:
        """Start an instance action that no API request made (a periodic task's)."""
        with self.db.session() as s:
            start_action(s, ctx, server_id, action, now())

    @staticmethod
    def _action(s: Session, server_id: str, request_id: str) -> InstanceAction | None:
        return s.exec(select(InstanceAction).where(
            InstanceAction.instance_uuid == server_id,
            InstanceAction.request_id == request_id)).first()

    def start_event(self, server_id: str, request_id: str, event: str,
                    host: str | None) -> None:
        """The event starts (nothing is recorded if the request started no action on the
        server)."""
        key = {"server": server_id, "request": request_id, "when": now()}
        with self.db.writing() as connection:
            if _START_EVENT(connection, {**key, "name": event, "on_host": host}):
                _TOUCH_ACTION(connection, key)

    def finish_event(self, server_id: str, request_id: str, event: str, result: str,
                     message: str | None = None, traceback: str | None = None) -> None:
        """The event's unfinished records end with ``result``, and the action with them."""
        # NOTE: Nova's failed event carries the formatted exception (admins see it); here
        # its message stands for the traceback.
        if traceback is None and result == "Error" and message:
            traceback = message
        key = {"server": server_id, "request": request_id, "when": now()}
        with self.db.writing() as connection:
            _FINISH_EVENTS(connection, {**key, "name": event, "outcome": result,
                                        "trace": traceback})
            _FINISH_ACTION[result == "Error"](connection, key)

    def discard(self, server_id: str, request_id: str) -> None:
        """Forget the action ``request_id`` started (an operation undone before it ran)."""
        with self.db.session() as s:
            action = self._action(s, server_id, request_id)
            if action is not None:
                for event in s.exec(select(InstanceActionEvent).where(
                        InstanceActionEvent.action_id == action.id)).all():
                    s.delete(event)
                s.delete(action)

    def latest_request_id(self, server_id: str) -> str | None:
        """The request id of the server's newest action (where Nova records the events of
        a periodic task whose context has no project)."""
        with self.db.session() as s:
            action = s.exec(select(InstanceAction)
                            .where(InstanceAction.instance_uuid == server_id)
                            .order_by(col(InstanceAction.start_time).desc(),
                                      col(InstanceAction.id).desc())).first()
            return action.request_id if action is not None else None

    def event_done(self, server_id: str, request_id: str, event: str,
                   host: str | None) -> None:
        """An event that starts and succeeds at once (an API-only action's)."""
        self.start_event(server_id, request_id, event, host)
        self.finish_event(server_id, request_id, event, "Success")

    # -- reading -------------------------------------------------------------------------

    def of_server(self, ctx: RequestContext, server_id: str, query: ActionQuery,
                  read_deleted: bool = False) -> list[ActionRecord]:
        """A server's actions, newest first, filtered and paged (Nova's ``actions_get``)."""
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id, read_deleted)
            authorize(ctx, "os_compute_api:os-instance-actions:list", row.project_id)
            if query.limit == 0:
                return []
            every = list(s.exec(select(InstanceAction)
                                .where(InstanceAction.instance_uuid == row.uuid)).all())

        def order(a: InstanceAction) -> tuple[datetime, int]:
            return utc(a.start_time), a.id or 0

        every.sort(key=order, reverse=True)
        found = [a for a in every
                 if (query.changes_since is None
                     or utc(a.updated_at or a.start_time) >= query.changes_since)
                 and (query.changes_before is None
                      or utc(a.updated_at or a.start_time) <= query.changes_before)]
        if query.marker is not None:
            marker = next((a for a in every if a.request_id == query.marker), None)
            if marker is None:
                # NOTE: Nova words the marker after replacing it with the failed lookup.
                raise InvalidInput("Marker None could not be found.")
            found = [a for a in found if order(a) < order(marker)]
        page = found if query.limit is None else found[: query.limit]
        return [ActionRecord.of(a) for a in page]

    def show(self, ctx: RequestContext, server_id: str, request_id: str,
             read_deleted: bool = False) -> ActionDetail | None:
        """The server's action for ``request_id`` with its events (newest first)."""
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id, read_deleted)
            authorize(ctx, "os_compute_api:os-instance-actions:show", row.project_id)
            action = s.exec(select(InstanceAction).where(
                InstanceAction.instance_uuid == row.uuid,
                InstanceAction.request_id == request_id,
            ).order_by(col(InstanceAction.start_time).desc(),
                       col(InstanceAction.id).desc())).first()
            if action is None:
                return None
            events = s.exec(select(InstanceActionEvent)
                            .where(InstanceActionEvent.action_id == action.id)
                            .order_by(col(InstanceActionEvent.id).desc())).all()
            return ActionDetail(server_project_id=row.project_id,
                                action=ActionRecord.of(action),
                                events=tuple(EventRecord.of(e) for e in events))
