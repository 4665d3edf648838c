"""The same replay through the HTTP API of a running emulator (``--via-api URL``).

As an admin (by default the seeded one), the replay reads the compute hosts and their
zones (``os-availability-zone/detail``), makes the flavors the trace needs that the
emulator lacks and a server group per trace group (2.64: policy and rules), then, one
request at a time: a create is ``POST /servers`` (the flavor, ``networks: none``, the
zone, the ``group``/``same_host``/``different_host`` hints) polled until ACTIVE or ERROR
(the fault's message is the failure's reason); a delete is ``DELETE`` polled until the
server is gone; a resize is the ``resize`` action polled until VERIFY_RESIZE, then
``confirmResize``. A decision's latency is from the request until its outcome shows.
Host shapes cannot be read through Nova's API: usage figures take ``--host-shape`` and
the allocation ratios as the emulator's. Everything made is deleted at the end.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from emulator.bench.engine import Refused, ReplayFailed, Request, Unplaceable
from emulator.bench.layout import Layout, Policy
from emulator.bench.replay import Progress, Replay, Result
from emulator.bench.trace import Event, Trace

MICROVERSION = "2.64"
#: Seconds a server may take to reach the state a replay waits for.
WAIT = 120.0


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    project: str


class Http:
    """JSON over one keep-alive connection per host (the standard library's)."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.connections: dict[str, http.client.HTTPConnection] = {}
        self.headers: dict[str, str] = {}

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        key = f"{scheme}://{netloc}"
        if key not in self.connections:
            kind = http.client.HTTPSConnection if scheme == "https" else \
                http.client.HTTPConnection
            self.connections[key] = kind(netloc, timeout=self.timeout)
        return self.connections[key]

    def call(self, method: str, url: str, body: Any = None
             ) -> tuple[int, Any, http.client.HTTPMessage]:
        """(status, decoded body or None, headers); ``ReplayFailed`` if unreachable."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {**self.headers, "Content-Type": "application/json",
                   "Accept": "application/json"}
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more
            connection = self._connection(parts.scheme, parts.netloc)
            try:
                connection.request(method, path, data, headers)
                response = connection.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError) as exc:
                connection.close()
                del self.connections[f"{parts.scheme}://{parts.netloc}"]
                if attempt == 2 or not isinstance(exc, http.client.RemoteDisconnected
                                                  | BrokenPipeError | ConnectionResetError):
                    raise ReplayFailed(f"cannot reach {url}: {exc}") from None
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode(errors="replace")
        return response.status, decoded, response.headers

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()


def _message(body: Any) -> str:
    """The message of a Nova or Keystone fault body, else the body."""
    try:
        return str(next(iter(body.values()))["message"])
    except (AttributeError, StopIteration, TypeError, KeyError):
        return str(body)


@dataclass
class Session:
    """A logged-in admin and the endpoints of its catalog."""

    client: Http
    compute: str
    image: str

    def call(self, method: str, path: str, body: Any = None, ok: Sequence[int] = (200,),
             ) -> tuple[Any, http.client.HTTPMessage]:
        status, answer, headers = self.client.call(method, self.compute + path, body)
        if status not in ok:
            raise ReplayFailed(f"{method} {path}: {status} {_message(answer)}")
        return answer, headers


def login(url: str, credentials: Credentials) -> Session:
    client = Http()
    auth = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": credentials.username, "password": credentials.password,
            "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": credentials.project, "domain": {"name": "Default"}}}}}
    status, body, headers = client.call("POST", f"{url.rstrip('/')}/identity/v3/auth/tokens",
                                       auth)
    token = headers.get("X-Subject-Token")
    if status != 201 or token is None:
        raise ReplayFailed(f"login as {credentials.username} failed: {status} "
                           f"{_message(body)}")
    endpoints = {entry["type"]: e["url"] for entry in body["token"]["catalog"]
                 for e in entry["endpoints"] if e["interface"] == "public"}
    if "compute" not in endpoints or "image" not in endpoints:
        raise ReplayFailed(f"the catalog of {url} has no compute or image endpoint")
    client.headers = {"X-Auth-Token": token,
                     "OpenStack-API-Version": f"compute {MICROVERSION}"}
    return Session(client, endpoints["compute"].rstrip("/"), endpoints["image"].rstrip("/"))


def read_layout(session: Session, shapes: Layout) -> Layout:
    """The emulator's compute hosts by zone, with the shapes (and nothing else) of
    ``shapes``."""
    body, _ = session.call("GET", "/os-availability-zone/detail")
    zones: list[tuple[str, list[str]]] = []
    for zone in body["availabilityZoneInfo"]:
        hosts = sorted(h for h, services in (zone.get("hosts") or {}).items()
                       if "nova-compute" in services)
        if hosts:
            zones.append((zone["zoneName"], hosts))
    if not zones:
        raise ReplayFailed("the emulator shows no compute host (os-availability-zone)")
    return Layout(tuple((z, len(h)) for z, h in zones), shapes.shapes,
                  names=tuple(h for _, hosts in zones for h in hosts))


def _wait(what: str, poll: Callable[[], Any]) -> Any:
    """``poll()`` until it answers something, sleeping a little longer each time."""
    deadline, pause = time.monotonic() + WAIT, 0.001
    while True:
        answer = poll()
        if answer is not None:
            return answer
        if time.monotonic() > deadline:
            raise ReplayFailed(f"{what} took longer than {WAIT:g}s")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


FlavorKey = tuple[tuple[tuple[str, int], ...], tuple[tuple[str, str], ...]]


def _key(resources: Mapping[str, int], extra_specs: Mapping[str, str]) -> FlavorKey:
    return tuple(sorted(resources.items())), tuple(sorted(extra_specs.items()))


@dataclass
class ApiEngine:
    """Decisions made by the emulator: the engine seam over its API."""

    session: Session
    image: str = ""
    flavors: dict[FlavorKey, str] = field(default_factory=dict)
    made_flavors: list[str] = field(default_factory=list)
    #: Trace group -> the emulator's uuid (None: it refused to make it).
    groups: dict[str, str | None] = field(default_factory=dict)
    uuids: dict[str, str] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)
    refusals: dict[str, str] = field(default_factory=dict)

    def prepare(self, trace: Trace) -> None:
        status, body, _ = self.session.client.call(
            "GET", f"{self.session.image}/v2/images?status=active")
        if status != 200 or not body.get("images"):
            raise ReplayFailed(f"no active image to boot from: {status} {_message(body)}")
        self.image = min(body["images"], key=lambda i: i.get("size") or 0)["id"]
        existing, _ = self.session.call("GET", "/flavors/detail?is_public=None")
        by_name = {f["name"]: f for f in existing["flavors"]}
        specs: dict[str, Mapping[str, str]] = {}  # a resize keeps its create's extra specs
        for event in trace.events:
            if event.event == "create":
                specs[event.server] = event.extra_specs
            if event.event != "delete":
                self._flavor(event, specs[event.server], by_name)

    def _flavor(self, event: Event, extra_specs: Mapping[str, str],
                by_name: Mapping[str, Any]) -> None:
        key = _key(event.resources, extra_specs)
        if key in self.flavors:
            return
        vcpus, ram, disk = (event.resources.get(rc, 0) for rc in (
            "VCPU", "MEMORY_MB", "DISK_GB"))
        found = by_name.get(event.flavor or "")
        if found is not None and not extra_specs:
            if (found["vcpus"], found["ram"], found["disk"]) != (vcpus, ram, disk):
                raise ReplayFailed(
                    f"flavor {event.flavor} is {found['vcpus']} VCPU, {found['ram']} MB, "
                    f"{found['disk']} GB in the emulator, not {vcpus}, {ram}, {disk}")
            self.flavors[key] = found["id"]
            return
        name = f"bench-{len(self.made_flavors) + 1}-{vcpus}c-{ram}m-{disk}g"
        made, _ = self.session.call("POST", "/flavors", {"flavor": {
            "name": name, "vcpus": vcpus, "ram": ram, "disk": disk}})
        flavor_id = made["flavor"]["id"]
        self.made_flavors.append(flavor_id)
        if extra_specs:
            self.session.call("POST", f"/flavors/{flavor_id}/os-extra_specs",
                              {"extra_specs": dict(extra_specs)})
        self.flavors[key] = flavor_id

    def _group(self, request: Request) -> str:
        """The emulator's uuid of the request's group, made at its first member;
        ``Refused`` if the emulator would not make it (e.g. Nova's quota of 10)."""
        group = request.group
        assert group is not None
        if group.name not in self.groups:
            body: dict[str, Any] = {"name": group.name, "policy": group.policy}
            if group.max_server_per_host is not None:
                body["rules"] = {"max_server_per_host": group.max_server_per_host}
            status, made, _ = self.session.client.call(
                "POST", f"{self.session.compute}/os-server-groups", {"server_group": body})
            self.groups[group.name] = made["server_group"]["id"] if status == 200 else None
            if status != 200:
                self.refusals[group.name] = f"server group: {status}: {_message(made)}"
        uuid = self.groups[group.name]
        if uuid is None:
            raise Refused(self.refusals[group.name])
        return uuid

    def _server(self, uuid: str) -> dict[str, Any] | None:
        status, body, _ = self.session.client.call("GET", f"{self.session.compute}/servers/{uuid}")
        if status == 404:
            return None
        if status != 200:
            raise ReplayFailed(f"GET /servers/{uuid}: {status} {_message(body)}")
        server: dict[str, Any] = body["server"]
        return server

    def place(self, servers: Sequence[str], request: Request) -> list[str]:
        [server] = servers
        body: dict[str, Any] = {"name": server, "imageRef": self.image, "networks": "none",
                                "flavorRef": self.flavors[_key(request.resources,
                                                               request.extra_specs)]}
        if request.zone is not None:
            body["availability_zone"] = request.zone
        hints: dict[str, Any] = {}
        if request.group is not None:
            hints["group"] = self._group(request)
        for hint, ids in (("same_host", request.same_host),
                          ("different_host", request.different_host)):
            known = [self.uuids[i] for i in ids if i in self.uuids]  # not the refused
            if known:
                hints[hint] = known
        status, answer, _ = self.session.client.call(
            "POST", f"{self.session.compute}/servers",
            {"server": body, **({"os:scheduler_hints": hints} if hints else {})})
        if status != 202:
            raise Refused(f"{status}: {_message(answer)}")
        uuid = answer["server"]["id"]
        self.uuids[server] = uuid
        self.live.add(uuid)
        shown = _wait(f"server {server}'s build", lambda: self._settled(uuid, {"BUILD"}))
        if shown["status"] != "ACTIVE":
            raise Unplaceable((shown.get("fault") or {}).get("message")
                              or f"server {server} is {shown['status']}")
        return [shown["OS-EXT-SRV-ATTR:host"]]

    def _settled(self, uuid: str, passing: set[str]) -> dict[str, Any] | None:
        shown = self._server(uuid)
        if shown is None:
            raise ReplayFailed(f"server {uuid} went away")
        busy = shown["status"] in passing or shown.get("OS-EXT-STS:task_state")
        return None if busy else shown

    def resize(self, server: str, resources: Mapping[str, int],
               extra_specs: Mapping[str, str]) -> str:
        """Resize to the new flavor and wait for VERIFY_RESIZE (its new host)."""
        uuid = self.uuids[server]
        flavor = self.flavors[_key(resources, extra_specs)]
        status, answer, headers = self.session.client.call(
            "POST", f"{self.session.compute}/servers/{uuid}/action",
            {"resize": {"flavorRef": flavor}})
        if status != 202:
            raise Refused(f"{status}: {_message(answer)}")
        shown = _wait(f"server {server}'s resize", lambda: self._settled(uuid, {"RESIZE"}))
        if shown["status"] == "VERIFY_RESIZE":
            return str(shown["OS-EXT-SRV-ATTR:host"])
        request_id = headers.get("x-openstack-request-id", "")
        action, _ = self.session.call("GET", f"/servers/{uuid}/os-instance-actions/"
                                             f"{request_id}")
        errors = [e.get("traceback") for e in action["instanceAction"].get("events", [])
                  if e.get("result") == "Error"]
        raise Unplaceable(next((e for e in errors if e), f"resize of {server} failed"))

    def confirm(self, server: str) -> None:
        uuid = self.uuids[server]
        self.session.call("POST", f"/servers/{uuid}/action", {"confirmResize": None},
                          ok=(204,))
        _wait(f"server {server}'s confirm", lambda: self._settled(uuid, set()))

    def hold(self, consumer: str, host: str, resources: Mapping[str, int]) -> None:
        raise NotImplementedError("the emulator holds a resize's resources itself")

    def release(self, consumer: str) -> None:
        uuid = self.uuids.get(consumer)
        if uuid is None or uuid not in self.live:
            return
        self.session.call("DELETE", f"/servers/{uuid}", ok=(204, 404))
        self._gone(uuid)
        self.live.discard(uuid)

    def _gone(self, uuid: str) -> None:
        _wait(f"the delete of server {uuid}",
              lambda: True if self._server(uuid) is None else None)

    def clean(self) -> None:
        """Delete what the replay made and left (servers, groups, flavors)."""
        for uuid in self.live:
            self.session.call("DELETE", f"/servers/{uuid}", ok=(204, 404))
        for uuid in self.live:
            self._gone(uuid)
        for group in self.groups.values():
            if group is not None:
                self.session.call("DELETE", f"/os-server-groups/{group}", ok=(204, 404))
        for flavor in self.made_flavors:
            self.session.call("DELETE", f"/flavors/{flavor}", ok=(202, 204, 404))


class ApiReplay(Replay):
    """The replay with the emulator deciding: resizes are its own, and a server whose
    create failed is deleted too (it exists, in ERROR)."""

    engine: ApiEngine

    def resize(self, event: Event) -> None:
        if event.server not in self.placed:
            self.result.skipped += 1
            return
        host = self._decide("resize", event.server, lambda: self.engine.resize(
            event.server, event.resources, self.servers[event.server].extra_specs))
        if host is None:
            return
        self.engine.confirm(event.server)
        self._freed(event.server)
        self._claimed(event.server, host, event.resources)

    def delete(self, event: Event) -> None:
        failed = event.server not in self.placed
        super().delete(event)
        if failed:
            self.engine.release(event.server)

    def _claimed(self, server: str, host: str, resources: Mapping[str, int]) -> None:
        if host not in self.usage.index:
            raise ReplayFailed(f"the emulator chose host {host}, which it did not show "
                               f"in os-availability-zone/detail")
        super()._claimed(server, host, resources)


def replay_via_api(trace: Trace, layout: Layout, policy: Policy, url: str,
                   credentials: Credentials, *, heat: bool = False,
                   progress: Progress | None = None) -> Result:
    """Replay ``trace`` through the emulator at ``url``; ``layout`` gives host shapes."""
    session = login(url, credentials)
    engine = ApiEngine(session)
    try:
        hosts = read_layout(session, layout)
        engine.prepare(trace)
        run = ApiReplay(trace, hosts, policy, engine, f"api {url}", heat)
        return run.run(progress)
    finally:
        try:
            engine.clean()
        finally:
            session.client.close()
