"""Fuzzing every endpoint that takes a body or a query: never a 5xx, always the right dialect.

Bodies are valid requests with a few parts broken (wrong types, missing or extra keys,
huge strings, unicode oddities, lone surrogates, NaN and 1e400, deep nesting) or raw junk;
compute requests also get arbitrary microversion headers, path segments and query strings.
Every answer must be below 500 and, for an error, a JSON body in the service's dialect:
one Nova fault name on compute (keystonemiddleware's ``{"error": ...}`` for its 401s),
Keystone's ``{"error": {"code", "title", "message"}}`` on identity.

Whatever a request manages to create is deleted afterwards (names start with ``fuzz-``).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.client import ApiSession

PREFIX = "fuzz-"

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")

#: Nova's fault names (nova.api.openstack.wsgi.Fault._fault_names, plus the fallback).
NOVA_FAULTS = frozenset({
    "badRequest", "unauthorized", "forbidden", "itemNotFound", "badMethod",
    "conflictingRequest", "overLimit", "badMediaType", "notImplemented",
    "serviceUnavailable", "computeFault",
})


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# -- what every answer must look like -----------------------------------------------------


def _describe(response: httpx.Response) -> str:
    request = response.request
    sent = request.content[:300] if not request.stream or request.content else b"<stream>"
    return (f"{request.method} {request.url} headers={dict(request.headers)} body={sent!r} "
            f"-> {response.status_code} {response.text[:500]!r}")


def check(response: httpx.Response, dialect: str) -> None:
    status = response.status_code
    assert status < 500, _describe(response)
    if response.request.method == "HEAD" or status in (204, 304):
        return
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
    assert media_type == "application/json", _describe(response)
    body = response.json()
    assert isinstance(body, dict), _describe(response)
    if status < 400:
        return
    if dialect == "nova" and status != 401:
        assert len(body) == 1 and next(iter(body)) in NOVA_FAULTS, _describe(response)
        inner = next(iter(body.values()))
        assert set(inner) <= {"code", "message", "retryAfter"}, _describe(response)
    else:
        assert list(body) == ["error"], _describe(response)
        inner = body["error"]
        assert isinstance(inner.get("title"), str), _describe(response)
    assert inner["code"] == status, _describe(response)
    assert isinstance(inner["message"], str), _describe(response)


# -- strategies ---------------------------------------------------------------------------

ODD_STRINGS = [
    "", " ", "  padded  ", "\x00", "nul\x00inside", "\u202eevil\u202c", "\u200f\u05d0\u05d1",
    "\ufeffbom", "\ud800", "lone \udfff low", "\ud83d", "\U0001f600", "名前", "e\u0301",
    "\t\n\r", "\u0085\u2028\u2029", "' OR 1=1 --", "%s%n%x", "{0}", "../../etc/passwd",
    "\\", '"', "null", "true", "1e400", "NaN", "-0", "0x10", "٣", "x" * 256, "x" * 65536,
    "é" * 40000, "\x00" * 1000,
]
NUMBERS = st.sampled_from([
    0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, float("inf"), float("-inf"), float("nan"),
    1e-320, 0.5, -0.0,
])
#: Any code point, lone surrogates, controls and format characters included.
WILD_TEXT = st.text(st.characters(categories=["Cs", "Cc", "Cf", "Co", "Zs", "Zl", "Mn", "Lo",
                                              "Ll", "Nd", "Sm", "Po"]), max_size=20)
TEXT = st.text(max_size=40) | WILD_TEXT | st.sampled_from(ODD_STRINGS)
SCALARS = st.none() | st.booleans() | st.integers() | NUMBERS | st.floats() | TEXT
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)

#: Bodies no JSON encoder writes.
RAW_BODIES = [
    b"", b" ", b"{", b"}", b"[", b"{]", b"nul\x00l", b"\xff\xfe\xfd", b"\xc3\x28",
    b'{"a": 1}{"b": 2}', b"[" * 10000, b"[" * 10000 + b"]" * 10000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000, b"1e400", b"-1e400", b"NaN", b"Infinity",
    b"1" * 5000, b"9" * 100000, b'"' + b"x" * 100000 + b'"', b'{"k": "\\ud800"}',
    b'{"\\udfff": 1}', b"\xef\xbb\xbf{}", '{"a": 1}'.encode("utf-16"), b"{'a': 1}",
    b"{\"a\": 1,}", b"\x00" * 64, b"true", b"null", b"[]", b"{}",
]


def encode(value: Any, ascii_only: bool) -> bytes:
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def broken(draw: st.DrawFn, template: Any) -> Any:
    """``template`` with a few of its parts replaced, removed or joined by junk.

    "restring" keeps the shape and swaps one string for odd text, which is what reaches
    encoders and databases; the other actions break the shape.
    """
    value = copy.deepcopy(template)
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
        paths = list(_paths(value))
        action = draw(st.sampled_from(["restring", "restring", "replace", "replace",
                                       "delete", "add", "deep"]))
        if action == "restring":
            paths = [p for p in paths if p and isinstance(_at(value, p), str)] or paths
        path = draw(st.sampled_from(paths))
        if not path:
            value = draw(JSON_VALUES) if action != "deep" else _deep(draw(st.integers(2, 150)))
            continue
        parent = _at(value, path[:-1])
        last = path[-1]
        if action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent[last], dict):
            parent[last][draw(TEXT)] = draw(JSON_VALUES)
        elif action == "deep":
            parent[last] = _deep(draw(st.integers(2, 150)))
        elif action == "restring":
            parent[last] = draw(TEXT)
        else:
            parent[last] = draw(TEXT | JSON_VALUES)
    return value


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def bodies(draw: st.DrawFn, template: Any) -> bytes:
    """Raw request bodies: mostly broken templates, sometimes raw junk."""
    kind = draw(st.sampled_from(["broken", "broken", "broken", "json", "raw", "binary"]))
    if kind == "raw":
        return draw(st.sampled_from(RAW_BODIES))
    if kind == "binary":
        return draw(st.binary(max_size=200))
    value = draw(broken(template)) if kind == "broken" else draw(JSON_VALUES)
    # Mostly ASCII with escapes, which carry lone surrogates intact; raw UTF-8 otherwise (where a
    # surrogate becomes bytes that are not UTF-8 at all).
    return encode(value, draw(st.sampled_from([True, True, True, False])))


def _segment(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


#: Text for URLs, which clients cap at 64 kB.
SHORT_TEXT = st.text(max_size=40) | st.sampled_from([s for s in ODD_STRINGS if len(s) < 300])
SEGMENTS = st.sampled_from([
    "flavors", "detail", "1", "42", "os-extra_specs", "os-flavor-access", "action",
    "os-keypairs", "os-availability-zone", "servers", "", "v2.1", "%", "..%2F",
    "x" * 300, "deadbeef",
]) | SHORT_TEXT.map(_segment).filter(lambda s: s not in (".", ".."))

QUERY_VALUES = st.sampled_from([
    "", "1", "0", "-1", "1e400", "NaN", "true", "False", "x" * 5000, "%zz", "%00", "%ff",
    "%ed%a0%80", "\u202e", "1,2", "asc", "desc", "flavorid", "memory_mb", "2" * 500,
]) | SHORT_TEXT
QUERY_KEYS = st.sampled_from([
    "limit", "marker", "minRam", "minDisk", "is_public", "sort_key", "sort_dir", "name",
    "user_id", "all_tenants", "enabled", "domain_id", "user.id", "scope.project.id",
    "role.id", "effective", "include_names", "nocatalog", "",
]) | st.text(max_size=10)


def _query_part(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="%")


@st.composite
def queries(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=5))
    query = "&".join(f"{_query_part(k)}={_query_part(v)}" for k, v in pairs)
    return draw(st.sampled_from(["", "?", "?&&=&", "?" + query, "?" + query + "&" + query]))


#: Header values h11 lets through: no control characters, no edge whitespace.
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                           exclude_characters="\x7f"), max_size=30,
).map(str.strip)
VERSIONS = st.sampled_from([
    "2.1", "2.0", "latest", "Latest", "2.", "2.x", "2.01", "2.1.1", "3.0", "2.99999999999",
    "2." + "9" * 5000, "compute 2.1", "", "-2.1", "2.10", "2.55", "2.85", "2.104", "1.1",
]) | HEADER_TEXT


@st.composite
def version_headers(draw: st.DrawFn) -> dict[str, bytes]:
    headers: dict[str, bytes] = {}
    if draw(st.booleans()):
        headers["X-OpenStack-Nova-API-Version"] = draw(VERSIONS).encode("latin-1")
    if draw(st.booleans()):
        service = draw(st.sampled_from(["compute", "COMPUTE", "identity", "", "compute,"]))
        value = f"{service} {draw(VERSIONS)}".strip()
        headers["OpenStack-API-Version"] = value.encode("latin-1")
    return headers


CONTENT_TYPES = st.sampled_from([
    None, "application/json", "application/json; charset=utf-8", "text/plain",
    "application/xml", "application/vnd.openstack.compute+json", "", "*/*",
    "multipart/form-data; boundary=x", "application/json; charset=latin-1",
])


def _post(http: httpx.Client, method: str, url: str, body: bytes, token: str | None,
          content_type: str | None = "application/json",
          headers: dict[str, bytes] | None = None) -> httpx.Response:
    sent: dict[str, Any] = dict(headers or {})
    if token is not None:
        sent["X-Auth-Token"] = token
    if content_type is not None:
        sent["Content-Type"] = content_type
    return http.request(method, url, content=body, headers=sent)


# -- what the fuzzing creates, and its removal --------------------------------------------


@dataclass
class Created:
    """Resources created during fuzzing, deleted (in a safe order) at the end."""

    admin: ApiSession
    identity: dict[str, list[str]] = field(default_factory=lambda: {
        "users": [], "projects": [], "roles": [], "domains": []})
    flavors: list[str] = field(default_factory=list)

    def note(self, response: httpx.Response) -> None:
        if response.status_code not in (200, 201):
            return
        body = response.json()
        for key, bucket in (("user", "users"), ("project", "projects"), ("role", "roles"),
                            ("domain", "domains")):
            if isinstance(body.get(key), dict) and "id" in body[key]:
                ident = body[key]["id"]
                if ident not in self.identity[bucket]:
                    self.identity[bucket].append(ident)
        flavor = body.get("flavor")
        if isinstance(flavor, dict) and "id" in flavor and flavor["id"] not in self.flavors:
            self.flavors.append(flavor["id"])

    def remove(self) -> None:
        for flavor_id in self.flavors:
            self.admin.compute("DELETE", f"/flavors/{quote(flavor_id, safe='')}")
        for bucket in ("users", "projects", "roles"):
            for ident in self.identity[bucket]:
                self.admin.identity("DELETE", f"/{bucket}/{ident}")
        for ident in self.identity["domains"]:
            self.admin.identity("PATCH", f"/domains/{ident}", json={"domain": {"enabled": False}})
            self.admin.identity("DELETE", f"/domains/{ident}")
        self._sweep()

    def _sweep(self) -> None:
        """Anything else named with the prefix (from an earlier, interrupted run)."""
        for bucket, key in (("users", "users"), ("projects", "projects"), ("roles", "roles")):
            listed = self.admin.identity("GET", f"/{bucket}")
            if listed.status_code != 200:
                continue
            for item in listed.json()[key]:
                if str(item.get("name", "")).startswith(PREFIX):
                    self.admin.identity("DELETE", f"/{bucket}/{item['id']}")


@dataclass
class Targets:
    """Entities the fuzzing may update: its own, never the seeded ones."""

    domain_id: str
    project_id: str
    user_id: str
    role_id: str


@pytest.fixture(scope="module")
def created(admin: ApiSession) -> Iterator[Created]:
    record = Created(admin)
    try:
        yield record
    finally:
        record.remove()


@pytest.fixture(scope="module")
def targets(admin: ApiSession, created: Created) -> Targets:
    def make(path: str, key: str, entity: dict[str, Any]) -> str:
        response = admin.identity("POST", path, json={key: entity})
        assert response.status_code == 201, response.text
        created.note(response)
        return str(response.json()[key]["id"])

    # Unique names: the fuzzing itself may already have created "fuzz-project".
    tag = uuid.uuid4().hex[:8]
    return Targets(
        domain_id=make("/domains", "domain", {"name": f"{PREFIX}domain-{tag}"}),
        project_id=make("/projects", "project", {"name": f"{PREFIX}project-{tag}"}),
        user_id=make("/users", "user", {"name": f"{PREFIX}user-{tag}", "password": "fuzz-pw"}),
        role_id=make("/roles", "role", {"name": f"{PREFIX}role-{tag}"}),
    )


# -- identity -----------------------------------------------------------------------------

NAMES = (st.text(min_size=1, max_size=20) | WILD_TEXT).map(lambda s: PREFIX + s)


@st.composite
def token_requests(draw: st.DrawFn, member: ApiSession) -> bytes:
    template: dict[str, Any] = member.account.password_auth()
    if draw(st.booleans()):
        template["auth"]["identity"]["methods"] = ["token"]
        template["auth"]["identity"]["token"] = {"id": member.token}
        del template["auth"]["identity"]["password"]
    if draw(st.booleans()):
        template["auth"]["scope"] = draw(st.sampled_from([
            "unscoped", {"project": {"id": member.project_id}}, {"domain": {"id": "default"}},
            {"system": {"all": True}}, {"project": {"name": member.account.project_name}},
        ]))
    return draw(bodies(template))


def test_token_issue(member: ApiSession, http: httpx.Client) -> None:
    url = f"{member.account.auth_url}/auth/tokens"

    @fuzz_settings(150)
    @given(body=token_requests(member), content_type=CONTENT_TYPES)
    def run(body: bytes, content_type: str | None) -> None:
        check(_post(http, "POST", url, body, None, content_type), "keystone")

    run()


def _entity(kind: str, name: str) -> dict[str, Any]:
    entities: dict[str, dict[str, Any]] = {
        "project": {"name": name, "description": "fuzzed", "enabled": True,
                    "domain_id": "default", "tags": [], "options": {}},
        "user": {"name": name, "password": "fuzz-pw", "domain_id": "default",
                 "enabled": True, "email": None, "description": "fuzzed", "options": {}},
        "role": {"name": name, "description": "fuzzed", "options": {}},
        "domain": {"name": name, "description": "fuzzed", "enabled": True},
    }
    return {kind: entities[kind]}


@st.composite
def entity_bodies(draw: st.DrawFn, kind: str) -> bytes:
    return draw(bodies(_entity(kind, draw(NAMES))))


@pytest.mark.parametrize("kind", ["project", "user", "role", "domain"])
def test_admin_create(admin: ApiSession, http: httpx.Client, created: Created,
                      kind: str) -> None:
    url = f"{admin.account.auth_url}/{kind}s"

    @fuzz_settings(50)
    @given(body=entity_bodies(kind))
    def run(body: bytes) -> None:
        response = _post(http, "POST", url, body, admin.token)
        created.note(response)
        check(response, "keystone")

    run()


@pytest.mark.parametrize("kind", ["project", "user", "role", "domain"])
def test_admin_update(admin: ApiSession, http: httpx.Client, created: Created,
                      targets: Targets, kind: str) -> None:
    ident = {"project": targets.project_id, "user": targets.user_id,
             "role": targets.role_id, "domain": targets.domain_id}[kind]

    @fuzz_settings(40)
    @given(body=entity_bodies(kind), own=st.booleans(), other=SEGMENTS)
    def run(body: bytes, own: bool, other: str) -> None:
        target = ident if own else other
        url = f"{admin.account.auth_url}/{kind}s/{target}"
        response = _post(http, "PATCH", url, body, admin.token)
        check(response, "keystone")

    run()


def test_role_assignment(admin: ApiSession, http: httpx.Client, targets: Targets) -> None:
    @fuzz_settings(60)
    @given(project=st.sampled_from([targets.project_id]) | SEGMENTS,
           user=st.sampled_from([targets.user_id]) | SEGMENTS,
           role=st.sampled_from([targets.role_id]) | SEGMENTS,
           method=st.sampled_from(["PUT", "GET", "HEAD"]),
           body=st.sampled_from([b"", b"{}", b"[", b"null"]))
    def run(project: str, user: str, role: str, method: str, body: bytes) -> None:
        url = f"{admin.account.auth_url}/projects/{project}/users/{user}/roles/{role}"
        check(_post(http, method, url, body, admin.token), "keystone")

    run()


def test_identity_queries(admin: ApiSession, member: ApiSession, http: httpx.Client) -> None:
    @fuzz_settings(60)
    @given(path=st.sampled_from(["/projects", "/users", "/roles", "/domains",
                                 "/role_assignments", "/auth/projects", "/auth/catalog",
                                 f"/users/{member.user_id}/projects"]),
           query=queries(), as_admin=st.booleans())
    def run(path: str, query: str, as_admin: bool) -> None:
        session = admin if as_admin else member
        check(session.identity("GET", f"{path}{query}"), "keystone")

    run()


def test_identity_tokens_and_paths(member: ApiSession, http: httpx.Client) -> None:
    @fuzz_settings(60)
    @given(segments=st.lists(SEGMENTS, max_size=4), query=queries(),
           method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH"]),
           token=st.sampled_from([None, "", "garbage", member.token]) | HEADER_TEXT,
           subject=st.sampled_from([None, "garbage", member.token]) | HEADER_TEXT)
    def run(segments: list[str], query: str, method: str, token: str | None,
            subject: str | None) -> None:
        url = f"{member.account.auth_url}/{'/'.join(segments)}{query}"
        headers: dict[str, bytes] = {}
        if token is not None:
            headers["X-Auth-Token"] = token.encode("latin-1")
        if subject is not None:
            headers["X-Subject-Token"] = subject.encode("latin-1")
        check(http.request(method, url, headers=headers), "keystone")

    run()


# -- compute ------------------------------------------------------------------------------


def test_compute_paths_versions_and_queries(member: ApiSession, http: httpx.Client) -> None:
    @fuzz_settings(200)
    @given(segments=st.lists(SEGMENTS, max_size=4), query=queries(),
           versions=version_headers(), method=st.sampled_from(["GET", "GET", "HEAD"]),
           with_project=st.booleans(), content_type=CONTENT_TYPES)
    def run(segments: list[str], query: str, versions: dict[str, bytes], method: str,
            with_project: bool, content_type: str | None) -> None:
        project = f"/{member.project_id}" if with_project else ""
        url = f"{member.compute_url}{project}/{'/'.join(segments)}{query}"
        headers: dict[str, Any] = {**versions, "X-Auth-Token": member.token}
        if content_type is not None:
            headers["Content-Type"] = content_type
        check(http.request(method, url, headers=headers), "nova")

    run()


COMPUTE_BODY_PATHS = [
    "/flavors", "/flavors/1/action", "/flavors/1/os-extra_specs", "/flavors/1",
    "/flavors/1/os-extra_specs/key", "/os-keypairs", "/servers", "/os-no-such-resource",
]
FLAVOR = {"flavor": {"name": "fuzz-flavor", "ram": 64, "vcpus": 1, "disk": 1,
                     "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 0, "rxtx_factor": 1.0,
                     "os-flavor-access:is_public": True, "description": "fuzzed"}}


@st.composite
def compute_bodies(draw: st.DrawFn) -> bytes:
    template = draw(st.sampled_from([
        FLAVOR,
        {"addTenantAccess": {"tenant": "deadbeef"}},
        {"removeTenantAccess": {"tenant": "deadbeef"}},
        {"extra_specs": {"hw:cpu_policy": "dedicated"}},
        {"key": "value"},
        {"flavor": {"description": "fuzzed"}},
        {"keypair": {"name": "x", "public_key": "ssh-rsa AAAA"}},
    ]))
    return draw(bodies(template))


def test_compute_bodies_as_member(member: ApiSession, http: httpx.Client) -> None:
    """A member can change none of these (flavors are admin-only, keypairs are left out)."""
    @fuzz_settings(150)
    @given(path=st.sampled_from([p for p in COMPUTE_BODY_PATHS if p != "/os-keypairs"]),
           method=st.sampled_from(["POST", "PUT"]), body=compute_bodies(),
           versions=version_headers(), content_type=CONTENT_TYPES)
    def run(path: str, method: str, body: bytes, versions: dict[str, bytes],
            content_type: str | None) -> None:
        response = _post(http, method, f"{member.compute_url}{path}", body, member.token,
                         content_type, versions)
        check(response, "nova")

    run()


@st.composite
def flavor_bodies(draw: st.DrawFn) -> bytes:
    template = copy.deepcopy(FLAVOR)
    template["flavor"]["name"] = draw(NAMES)
    return draw(bodies(template))


def test_flavor_create_as_admin(admin: ApiSession, http: httpx.Client,
                                created: Created) -> None:
    @fuzz_settings(80)
    @given(body=flavor_bodies(), versions=version_headers())
    def run(body: bytes, versions: dict[str, bytes]) -> None:
        response = _post(http, "POST", f"{admin.compute_url}/flavors", body, admin.token,
                         "application/json", versions)
        created.note(response)
        check(response, "nova")

    run()


def _keypair_names(member: ApiSession) -> set[str] | None:
    listed = member.compute("GET", "/os-keypairs")
    if listed.status_code != 200:
        return None
    return {item["keypair"]["name"] for item in listed.json()["keypairs"]}


def test_keypair_bodies(member: ApiSession, http: httpx.Client) -> None:
    before = _keypair_names(member)
    assert before is not None, "GET /os-keypairs must answer"

    @st.composite
    def keypair_bodies(draw: st.DrawFn) -> bytes:
        template = {"keypair": {"name": draw(NAMES), "type": "ssh"}}
        return draw(bodies(template))

    @fuzz_settings(60)
    @given(body=keypair_bodies(), versions=version_headers())
    def run(body: bytes, versions: dict[str, bytes]) -> None:
        response = _post(http, "POST", f"{member.compute_url}/os-keypairs", body,
                         member.token, "application/json", versions)
        check(response, "nova")

    try:
        run()
    finally:
        after = _keypair_names(member) or set()
        for name in after - before:
            member.compute("DELETE", f"/os-keypairs/{quote(name, safe='')}")
