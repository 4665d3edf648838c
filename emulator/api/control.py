"""The emulator's own control plane at ``/_emulator`` (not an OpenStack API).

Every route but ``/health`` needs an admin token (401 without one, 403 for others),
bodies are JSON checked against the schemas below (400), and faults are worded in Nova's
dialect. What the routes do lives in ``emulator.control``; this module parses, checks
and renders, and hooks fault rules into the compute API (``FaultHooks``).

| route | what |
|---|---|
| ``GET /health`` | liveness, no token needed |
| ``GET/PUT /clock``, ``POST /clock/advance`` | progression mode; move the manual clock |
| ``GET /stages``, ``PUT /stages/{verb}`` | the simulated stage table |
| ``POST /reset`` | destroy and forget every server, fault rules and recorded requests;
  clock to zero |
| ``GET/POST/DELETE /faults``, ``GET/DELETE /faults/{rule_id}`` | fault rules |
| ``GET/PUT/DELETE /ratelimits`` | the rate limiter (``emulator.api.control_ratelimits``) |
| ``GET/PUT /snapshot`` | the cloud as one file (``emulator.api.control_snapshots``) |
| ``GET/DELETE /requests``, ``GET /requests.jsonl`` | the request recorder
  (``emulator.api.control_requests``) |
| ``GET /dashboard``, ``GET /static/{name}`` | the dashboard's data and files
  (``emulator.api.control_dashboard``) |
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator import __version__
from emulator.api.compute.common import COMPUTE_PREFIX
from emulator.api.control_dashboard import DashboardControl
from emulator.api.control_openapi import OpenAPIControl
from emulator.api.control_ratelimits import RateLimitControl
from emulator.api.control_requests import RequestLogControl
from emulator.api.control_routes import RouteListing
from emulator.api.control_snapshots import RAW_BODIES, SnapshotControl
from emulator.api.faults import Fault
from emulator.api.metrics import CONTENT_TYPE, Metrics
from emulator.api.microversion import APIVersion
from emulator.api.requests import validate_body
from emulator.api.routing import Call, Handler, Route, empty_response, json_response
from emulator.api.service import Service
from emulator.clock import Progression
from emulator.compute.plans import BuildPlan, Outcome
from emulator.compute.servers import Servers
from emulator.context import RequestContext
from emulator.control.dashboard import Dashboard
from emulator.control.faults import (
    Action,
    Build,
    Fail,
    FaultRules,
    Hang,
    Latency,
    Match,
    RequestFacts,
    Rule,
)
from emulator.control.requestlog import RequestLog
from emulator.control.simulation import ClockState, Simulation, Stage
from emulator.errors import NotFound
from emulator.identity.service import IdentityService
from emulator.ratelimit.settings import RateLimiting

_MODES = [p.value for p in Progression]
_SECONDS = {"type": "number", "minimum": 0, "maximum": 1e9}
_VERSION = {"type": "string", "pattern": r"^([1-9]\d*)\.([1-9]\d*|0)$"}
_TEXT = {"type": "string", "maxLength": 4096}

#: Request bodies, by route.
CLOCK_SCHEMA = {"type": "object", "properties": {"mode": {"enum": _MODES}},
                "required": ["mode"], "additionalProperties": False}
ADVANCE_SCHEMA = {"type": "object", "properties": {"seconds": _SECONDS},
                  "required": ["seconds"], "additionalProperties": False}
STAGE_SCHEMA = {"type": "object", "minProperties": 1, "additionalProperties": False,
                "properties": {"delay": _SECONDS, "jitter": _SECONDS,
                               "fails": {"type": "boolean"}}}
RESET_SCHEMA = {"type": ["object", "null"], "properties": {"mode": {"enum": _MODES}},
                "additionalProperties": False}
HOST_SCHEMA = {"type": "object", "required": ["up"], "additionalProperties": False,
               "properties": {"up": {"type": "boolean"}}}
MATCH_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "method": {"type": "string", "pattern": "^[A-Za-z]{1,16}$"},
        "path": {"type": "string", "minLength": 1, "maxLength": 1024},
        "project_id": {"type": "string", "minLength": 1, "maxLength": 255},
        "server_name": {"type": "string", "minLength": 1, "maxLength": 1024},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        "min_version": _VERSION,
        "max_version": _VERSION,
    },
}
RULE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "match": MATCH_SCHEMA,
        "fail": {"type": "object", "required": ["status"], "additionalProperties": False,
                 "properties": {"status": {"type": "integer", "minimum": 400, "maximum": 599},
                                "message": _TEXT, "create": {"type": "boolean"}}},
        "latency": {"type": "number", "minimum": 0, "maximum": 300},
        "build": {"enum": [o.value for o in Outcome if o is not Outcome.NORMAL]},
        "hang": {"type": "boolean", "enum": [True]},
        "message": _TEXT,
        "times": {"type": ["integer", "null"], "minimum": 1},
    },
}
ACTIONS = ("fail", "latency", "build", "hang")


def _finite(body: dict[str, Any], *names: str) -> None:
    """JSON as Python reads it admits NaN and Infinity; no number here may be either."""
    for name in names:
        value = body.get(name)
        if isinstance(value, float) and not math.isfinite(value):
            raise Fault(400, f"Invalid input for field/attribute {name}. Value: {value}. "
                             "Not a finite number")


def _version(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    version = APIVersion.parse(text)
    return (version.major, version.minor)


# -- views ----------------------------------------------------------------------------------


def clock_view(state: ClockState) -> dict[str, Any]:
    return {"mode": state.mode.value, "now": state.now, "waiting": state.waiting}


def stage_view(stage: Stage) -> dict[str, Any]:
    return {"delay": stage.delay, "jitter": stage.jitter, "fails": stage.fails}


def match_view(match: Match) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for name in ("method", "path", "project_id", "server_name"):
        if getattr(match, name) is not None:
            view[name] = getattr(match, name)
    if match.metadata:
        view["metadata"] = dict(match.metadata)
    for name in ("min_version", "max_version"):
        version = getattr(match, name)
        if version is not None:
            view[name] = f"{version[0]}.{version[1]}"
    return view


def rule_view(rule: Rule) -> dict[str, Any]:
    view: dict[str, Any] = {"id": rule.id, "match": match_view(rule.match)}
    action = rule.action
    if isinstance(action, Fail):
        fail: dict[str, Any] = {"status": action.status, "create": action.create}
        if action.message is not None:
            fail["message"] = action.message
        view["fail"] = fail
    elif isinstance(action, Latency):
        view["latency"] = action.seconds
    elif isinstance(action, Hang):
        view["hang"] = True
    else:
        view["build"] = action.outcome.value
        view["message"] = action.message
    view.update(times=rule.remaining, hits=rule.hits,
                created=rule.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return view


def parse_rule(body: Any) -> tuple[Match, Action, int | None]:
    """A validated rule body as domain objects (400 for anything off)."""
    validate_body(RULE_SCHEMA, body)
    given = [name for name in ACTIONS if name in body]
    if len(given) != 1:
        raise Fault(400, "A fault rule needs exactly one action: fail, latency, build "
                         "or hang.")
    if "message" in body and "build" not in body:
        raise Fault(400, "message belongs to a build rule (a failure has its own message).")
    _finite(body, "latency")
    raw = dict(body.get("match", {}))
    try:
        match = Match(
            method=raw["method"].upper() if "method" in raw else None,
            path=raw.get("path"), project_id=raw.get("project_id"),
            server_name=raw.get("server_name"), metadata=dict(raw.get("metadata", {})),
            min_version=_version(raw.get("min_version")),
            max_version=_version(raw.get("max_version")),
        )
    except ValueError:
        raise Fault(400, "Invalid microversion in match.") from None
    action: Action
    if "hang" in body:
        action = Hang()
    elif "fail" in body:
        fail = body["fail"]
        action = Fail(status=fail["status"], message=fail.get("message"),
                      create=fail.get("create", False))
    elif "latency" in body:
        action = Latency(float(body["latency"]))
    else:
        action = Build(Outcome(body["build"]),
                       body.get("message", BuildPlan.message))
    return match, action, body.get("times")


# -- the service ------------------------------------------------------------------------------


class ControlAPI(Service):
    prefix = "/_emulator"
    dialect = "nova"
    #: A snapshot upload may be large; a JSON body's size is checked as it is read.
    limit_declared_size = False

    def __init__(self, identity: IdentityService, public_url: str, max_body: int,
                 simulation: Simulation, faults: FaultRules, limiting: RateLimiting,
                 metrics: Metrics, requests: RequestLog, dashboard: Dashboard,
                 route_listing: RouteListing,
                 metrics_unauthenticated: bool = False,
                 snapshots: SnapshotControl | None = None) -> None:
        self.simulation = simulation
        self.faults = faults
        self.ratelimits = RateLimitControl(limiting)
        self.requests = RequestLogControl(requests)
        self.dashboard = DashboardControl(dashboard, self.ratelimits, requests)
        self.snapshots = snapshots
        self.route_listing = route_listing
        self.openapi = OpenAPIControl(route_listing.entries)
        self.metrics = metrics
        self.metrics_unauthenticated = metrics_unauthenticated
        super().__init__(identity, public_url, max_body)

    def _simulated_only(self) -> None:
        """The clock and stages drive only the simulated cloud (409 elsewhere), checked
        before the body as ever."""
        self.simulation.require_simulated()

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/health", self.health, authenticated=False),
            Route("GET", "/metrics", self.show_metrics,
                  authenticated=not self.metrics_unauthenticated),
            Route("GET", "/clock", self.show_clock),
            Route("PUT", "/clock", self.set_clock),
            Route("POST", "/clock/advance", self.advance),
            Route("GET", "/stages", self.list_stages),
            Route("PUT", "/stages/{verb}", self.set_stage),
            Route("POST", "/reset", self.reset),
            Route("GET", "/hosts", self.list_hosts),
            Route("PUT", "/hosts/{host}", self.set_host),
            Route("GET", "/faults", self.list_rules),
            Route("POST", "/faults", self.create_rule),
            Route("DELETE", "/faults", self.clear_rules),
            Route("GET", "/faults/{rule_id}", self.show_rule),
            Route("DELETE", "/faults/{rule_id}", self.delete_rule),
            Route("GET", "/ratelimits", self.ratelimits.show),
            Route("PUT", "/ratelimits", self.ratelimits.replace),
            Route("DELETE", "/ratelimits", self.ratelimits.disable),
            Route("GET", "/requests", self.requests.show),
            Route("GET", "/requests.jsonl", self.requests.download),
            Route("DELETE", "/requests", self.requests.clear),
            Route("GET", "/dashboard", self.dashboard.show),
            Route("GET", "/static/{name}", self.dashboard.static, authenticated=False),
            Route("GET", "/routes", self.route_listing.show),
            Route("GET", "/openapi.json", self.openapi.show),
            *([Route("GET", "/snapshot", self.snapshots.download),
               Route("PUT", "/snapshot", self.snapshots.upload)]
              if self.snapshots is not None else []),
        ]

    async def dispatch(self, request: Request, subpath: str) -> Response:
        """Nova's order: the token (and the admin role) before routing, then the body."""
        try:
            route, params = self.table.match(request.method, subpath)
        except Fault:
            route, params = None, {}
        call = Call(request=request, params=params)
        if route is None or route.authenticated:
            call.auth = self.authenticate(request)
            if not call.auth.is_admin:
                raise Fault(403, "Policy doesn't allow emulator:control to be performed.")
        if route is None:
            route, params = self.table.match(request.method, subpath)
        if (request.method, route.template) not in RAW_BODIES:
            call.body = await self.read_json(request)
        return await route.handler(call)

    # -- health and clock --------------------------------------------------------------------

    async def show_metrics(self, call: Call) -> Response:
        """Prometheus' text format (an admin's, unless ``[server] metrics_unauthenticated``)."""
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    async def health(self, call: Call) -> Response:
        health = self.simulation.health()
        body: dict[str, object] = {"status": "ok", "backend": health.backend,
                                   "guest_agent": health.guest_agent, "version": __version__}
        if health.progression is not None:
            body.update(progression=health.progression.value, hosts=health.hosts)
        return json_response(body)

    async def show_clock(self, call: Call) -> Response:
        self._simulated_only()
        return json_response(clock_view(self.simulation.clock()))

    async def set_clock(self, call: Call) -> Response:
        self._simulated_only()
        validate_body(CLOCK_SCHEMA, call.body)
        state = await self.simulation.set_mode(Progression(call.body["mode"]))
        return json_response(clock_view(state))

    async def advance(self, call: Call) -> Response:
        self._simulated_only()
        validate_body(ADVANCE_SCHEMA, call.body)
        _finite(call.body, "seconds")
        state, woken = await self.simulation.advance(float(call.body["seconds"]))
        return json_response({**clock_view(state), "woken": woken})

    # -- stages -------------------------------------------------------------------------------

    async def list_stages(self, call: Call) -> Response:
        self._simulated_only()
        stages = self.simulation.stages()
        return json_response({"stages": {verb: stage_view(s) for verb, s in stages.items()}})

    async def set_stage(self, call: Call) -> Response:
        self._simulated_only()
        verb = call.params["verb"]
        if verb not in self.simulation.stages():
            raise Fault(404, f"Stage {verb} could not be found.")
        validate_body(STAGE_SCHEMA, call.body)
        _finite(call.body, "delay", "jitter")
        changes = {k: float(v) if k != "fails" else v for k, v in call.body.items()}
        stage = self.simulation.set_stage(verb, **changes)
        return json_response({"verb": verb, **stage_view(stage)})

    # -- hosts --------------------------------------------------------------------------------

    async def list_hosts(self, call: Call) -> Response:
        return json_response({"down": self.simulation.hosts_down()})

    async def set_host(self, call: Call) -> Response:
        validate_body(HOST_SCHEMA, call.body)
        host = call.params["host"]
        self.simulation.set_host_up(host, bool(call.body["up"]))
        return json_response({"host": host, "up": bool(call.body["up"])})

    # -- reset --------------------------------------------------------------------------------

    async def reset(self, call: Call) -> Response:
        validate_body(RESET_SCHEMA, call.body)
        mode = (call.body or {}).get("mode")
        await self.simulation.reset(Progression(mode) if mode else None)
        self.requests.log.clear()
        return empty_response(204)

    # -- fault rules --------------------------------------------------------------------------

    async def list_rules(self, call: Call) -> Response:
        return json_response({"rules": [rule_view(r) for r in self.faults.all()]})

    async def create_rule(self, call: Call) -> Response:
        match, action, times = parse_rule(call.body)
        rule = self.faults.add(match, action, times)
        return json_response(rule_view(rule), status=201)

    async def clear_rules(self, call: Call) -> Response:
        self.faults.clear()
        return empty_response(204)

    async def show_rule(self, call: Call) -> Response:
        return json_response(rule_view(self.faults.get(call.params["rule_id"])))

    async def delete_rule(self, call: Call) -> Response:
        self.faults.delete(call.params["rule_id"])
        return empty_response(204)


# -- fault rules in the compute API -----------------------------------------------------------

#: Who looks servers up to match rules on their name or metadata.
_RULES_CONTEXT = RequestContext(user_id="nova-emulator", project_id=None,
                                roles=frozenset({"admin"}))
_API_ROOT = f"{COMPUTE_PREFIX}/v2.1"


class FaultHooks:
    """Where fault rules act on compute: around each handler, and in each build's plan."""

    def __init__(self, rules: FaultRules, servers: Servers) -> None:
        self.rules = rules
        self.servers = servers

    def facts(self, call: Call) -> RequestFacts:
        path = call.request.scope["path"]
        path = path[len(_API_ROOT):] if path.startswith(_API_ROOT) else path
        if call.url_project_id and path.startswith(f"/{call.url_project_id}/"):
            path = path[len(call.url_project_id) + 1:]
        auth = call.auth
        facts = RequestFacts(method=call.request.method, path=path,
                             project_id=auth.project.id if auth and auth.project else None,
                             version=(call.version.major, call.version.minor))
        server_id = call.params.get("server_id")
        if server_id is not None and self.rules.needs_server:
            try:
                record = self.servers.get(_RULES_CONTEXT, server_id)
            except NotFound:
                return facts
            return replace(facts, server_name=record.instance.display_name,
                           metadata=record.metadata)
        server = call.body.get("server") if isinstance(call.body, dict) else None
        if isinstance(server, dict):
            name = server.get("name")
            metadata = server.get("metadata")
            return replace(facts, server_name=name.strip() if isinstance(name, str) else None,
                           metadata={k: v for k, v in metadata.items() if isinstance(v, str)}
                           if isinstance(metadata, dict) else {})
        return facts

    async def intercept(self, call: Call, handler: Handler) -> Response:
        """Run ``handler`` under the rules: latency, then a failure before or after it."""
        if not self.rules:
            return await handler(call)
        facts = self.facts(call)
        with self.rules.facts_of(facts):
            delay = sum(r.action.seconds for r in self.rules.matching(facts, Latency)
                        if isinstance(r.action, Latency) and self.rules.fire(r))
            if delay:
                await asyncio.sleep(delay)
            failing = next(iter(self.rules.matching(facts, Fail)), None)
            if failing is not None:
                assert isinstance(failing.action, Fail)
                if not failing.action.create and self.rules.fire(failing):
                    raise self._fault(failing, failing.action)
            response = await handler(call)
            if failing is not None and isinstance(failing.action, Fail) \
                    and failing.action.create and response.status_code < 400 \
                    and self.rules.fire(failing):
                raise self._fault(failing, failing.action)
            return response

    @staticmethod
    def _fault(rule: Rule, fail: Fail) -> Fault:
        return Fault(fail.status, fail.message or f"Injected fault (fault rule {rule.id}).")
