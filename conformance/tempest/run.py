"""Run OpenStack's Tempest compute interop tests against nova-emulator.

The runner caches a venv with Tempest, starts an emulator (or uses the one
given by ``--url``), provisions the accounts Tempest needs, writes a Tempest
workspace, runs the 89 interop 2022.11 compute tests (or a ``--regex``
subset) and prints a summary ending in ``tempest: N passed, N failed, N
skipped``. Standard library only; see README.md next to this file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import tomli_w

TEMPEST_SPEC = "tempest==47.0.0"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_INCLUDE_LIST = HERE / "interop-2022.11-compute.txt"
PASSWORD = "secret"
PROJECTS = ("demo1", "demo2")  # one member/reader pair per project
PLACEHOLDER_FLAVORS = ("1", "2")
PLACEHOLDER_IMAGES = (
    "11111111-1111-1111-1111-111111111111",
    "22222222-2222-2222-2222-222222222222",
)
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RunnerError(Exception):
    """The tooling broke (venv, emulator, workspace): exit code 2."""


class Terminated(Exception):
    """The runner itself received SIGTERM."""


def log(message: str) -> None:
    print(f"[tempest-runner] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# HTTP (urllib, no proxies)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any


def http(
    method: str,
    url: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = 10.0,
) -> Response:
    """Send a JSON request; HTTP error statuses are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Auth-Token", token)
    try:
        with HTTP.open(request, timeout=timeout) as reply:
            status, headers, raw = reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, dict(error.headers), error.read()
    except OSError as error:  # refused, reset, timed out
        raise RunnerError(f"{method} {url}: {error}") from error
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Response(status, {k.lower(): v for k, v in headers.items()}, parsed)


@dataclass
class Token:
    id: str
    catalog: list[dict[str, Any]]


def get_token(url: str, user: str, password: str, project: str) -> Token:
    scope = {"project": {"name": project, "domain": {"name": "Default"}}}
    identity = {
        "methods": ["password"],
        "password": {"user": {"name": user, "password": password, "domain": {"name": "Default"}}},
    }
    reply = http(
        "POST",
        f"{url}/identity/v3/auth/tokens",
        {"auth": {"identity": identity, "scope": scope}},
    )
    token_id = reply.headers.get("x-subject-token")
    if reply.status != 201 or not token_id or not isinstance(reply.body, dict):
        raise RunnerError(
            f"token for {user}@{project} failed: HTTP {reply.status} {reply.body!r:.300}"
        )
    return Token(token_id, reply.body.get("token", {}).get("catalog") or [])


# --------------------------------------------------------------------------
# Tempest venv


def ensure_venv(venv: Path) -> Path:
    """Create (or reuse) the Tempest venv; return its ``tempest`` script."""
    tempest = venv / "bin" / "tempest"
    marker = venv / ".nova-emulator-tempest"
    if tempest.exists() and marker.exists() and marker.read_text().strip() == TEMPEST_SPEC:
        log(f"reusing Tempest venv {venv}")
        return tempest
    log(f"creating Tempest venv {venv} ({TEMPEST_SPEC}, takes ~30 s)")
    marker.unlink(missing_ok=True)
    try:
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", TEMPEST_SPEC],
            check=True,
        )
        version = subprocess.run(
            [str(tempest), "--version"], check=True, capture_output=True, text=True
        )
    except (OSError, subprocess.CalledProcessError) as error:
        raise RunnerError(f"cannot build the Tempest venv in {venv}: {error}") from error
    log(version.stdout.strip() or version.stderr.strip())
    marker.write_text(TEMPEST_SPEC + "\n")
    return tempest


# --------------------------------------------------------------------------
# Accounts


@dataclass(frozen=True)
class Account:
    user: str
    project: str
    role: str
    password: str = PASSWORD
    #: Roles held besides ``role`` on the same project.
    more_roles: tuple[str, ...] = ()

    @property
    def roles(self) -> list[str]:
        return [self.role, *self.more_roles]


#: What a test asking for ``['service_user', 'admin', 'service']`` gets (the external
#: events test; Nova's default policy lets the service role call what Neutron and Cinder
#: call). Two: the same test's plain ``admin`` may be handed either of them.
SERVICE_USERS = tuple(Account(f"service-user{n}", "service", "admin", more_roles=("service",))
                      for n in (1, 2))


def tempest_accounts(extra_roles: Sequence[str] = ()) -> list[Account]:
    roles = dict.fromkeys(("member", "reader", *extra_roles))
    return [*(Account(f"{p}-{role}", p, role) for p in PROJECTS for role in roles),
            *SERVICE_USERS]


#: --backend qemu: the QEMU backend's settings for a Tempest run (as the conformance
#: suite's: guests stop quickly, the inventory holds what Tempest keeps at once).
QEMU_SETTINGS = {"shutdown_timeout": 5.0, "vcpus": 64}
#: The free guest the QEMU backend seeds (``emulator.qemu.GUEST_IMAGE_NAME``): the image
#: that boots and answers SSH, so Tempest's ``image_ref`` where the cloud has it.
GUEST_IMAGE_NAME = "nova-emulator-guest"


def emulator_config(accounts: Sequence[Account], backend: str = "simulated",
                    validation: bool = False) -> str:
    """The config of the emulator the runner starts. With ``validation`` on the simulated
    cloud, its public network is a /24 of 127.0.0.0/8 of this run's own, where its guests
    answer SSH (the QEMU backend's default public network is there already)."""
    config: dict[str, Any] = {"identity": {"token_ttl_seconds": 3600, "accounts": [
        {"user": a.user, "password": a.password, "project": a.project, "roles": a.roles}
        for a in accounts]}}
    if validation and backend == "simulated":
        net = f"127.{random.randrange(30, 250)}.{random.randrange(1, 250)}"
        config["network"] = {"public_cidr": f"{net}.0/24"}
    if backend != "simulated":
        config["compute"] = {"backend": backend}
    if backend == "qemu":
        config["qemu"] = dict(QEMU_SETTINGS)
        if os.environ.get("NOVA_EMULATOR_GUEST_CACHE"):
            config["qemu"]["cache"] = os.environ["NOVA_EMULATOR_GUEST_CACHE"]
    return tomli_w.dumps(config)


def accounts_yaml(accounts: Sequence[Account]) -> str:
    out = []
    for a in accounts:
        out += [
            f"- username: '{a.user}'",
            f"  project_name: '{a.project}'",
            f"  password: '{a.password}'",
            "  user_domain_name: 'Default'",
            "  project_domain_name: 'Default'",
            f"  roles: {a.roles!r}",
        ]
    return "\n".join(out) + "\n"


def provision_accounts(url: str, admin: Account, accounts: Sequence[Account]) -> None:
    """Create projects, users and role assignments idempotently (Keystone v3 admin API)."""
    token = get_token(url, admin.user, admin.password, admin.project).id
    base = f"{url}/identity/v3"

    def call(method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        reply = http(method, base + path, body, token)
        if reply.status not in ok:
            raise RunnerError(f"{method} {base}{path}: HTTP {reply.status} {reply.body!r:.300}")
        return reply.body

    domains = call("GET", "/domains?name=Default").get("domains") or []
    domain_id = domains[0]["id"] if domains else "default"

    def find_or_create(kind: str, name: str, extra: dict[str, Any]) -> str:
        found = call("GET", f"/{kind}s?name={quote(name)}").get(f"{kind}s") or []
        if found:
            return str(found[0]["id"])
        created = call("POST", f"/{kind}s", {kind: {"name": name, **extra}}, ok=(200, 201))
        log(f"created {kind} {name}")
        return str(created[kind]["id"])

    for account in accounts:
        project_id = find_or_create("project", account.project, {"domain_id": domain_id})
        user_id = find_or_create(
            "user",
            account.user,
            {
                "domain_id": domain_id,
                "password": account.password,
                "default_project_id": project_id,
            },
        )
        # the user may pre-exist with another password: make it ours
        call("PATCH", f"/users/{user_id}", {"user": {"password": account.password}})
        for role in account.roles:
            role_id = find_or_create("role", role, {})
            call("PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}",
                 ok=(200, 201, 204))


# --------------------------------------------------------------------------
# Emulator process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def emulator_command() -> list[str]:
    script = Path(sys.executable).parent / "nova-emulator"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "emulator"]


def identity_ready(url: str) -> bool:
    try:
        return http("GET", f"{url}/identity/v3", timeout=2).status == 200
    except RunnerError:
        return False


@contextlib.contextmanager
def running_emulator(config: Path, log_path: Path, startup_timeout: float) -> Iterator[str]:
    """Start ``nova-emulator serve`` on a free port; always stop it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        *emulator_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--config",
        str(config),
    ]
    log(f"starting emulator: {' '.join(cmd)} (log: {log_path})")
    with open(log_path, "wb") as out:
        try:
            proc = subprocess.Popen(
                cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        except OSError as error:
            raise RunnerError(f"cannot start the emulator: {error}") from error
    try:
        deadline = time.monotonic() + startup_timeout
        while not identity_ready(url):
            if proc.poll() is not None:
                raise RunnerError(f"emulator exited with code {proc.returncode}:\n{tail(log_path)}")
            if time.monotonic() > deadline:
                raise RunnerError(
                    f"emulator did not answer GET {url}/identity/v3 with 200 "
                    f"within {startup_timeout:.0f} s:\n{tail(log_path)}"
                )
            time.sleep(0.2)
        log(f"emulator ready at {url} (pid {proc.pid})")
        yield url
        if proc.poll() is not None:
            log(f"emulator died during the run (code {proc.returncode}); see {log_path}")
    finally:
        stop(proc, "emulator")


def stop(proc: subprocess.Popen[bytes], what: str, grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        log(f"{what} ignored SIGTERM; killing it")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --------------------------------------------------------------------------
# Discovery and Tempest configuration


@dataclass
class Cloud:
    url: str
    region: str = "RegionOne"
    services: set[str] = field(default_factory=set)
    volume_type: str = "block-storage"
    flavors: tuple[str, str] = PLACEHOLDER_FLAVORS
    images: tuple[str, str] = PLACEHOLDER_IMAGES
    #: Neutron's external network (floating IPs) and the shared one servers boot on.
    #: Whether ``images[0]`` is the free guest (a QEMU cloud's image that boots an OS).
    guest: bool = False
    public_network: tuple[str, str] | None = None
    fixed_network: str | None = None

    @property
    def glance(self) -> bool:
        return "image" in self.services

    @property
    def neutron(self) -> bool:
        return "network" in self.services

    @property
    def cinder(self) -> bool:
        return self.volume_type in self.services


def discover(url: str, account: Account) -> Cloud:
    token = get_token(url, account.user, account.password, account.project)
    cloud = Cloud(url, services={str(s.get("type")) for s in token.catalog})
    if "block-storage" not in cloud.services and "volumev3" in cloud.services:
        cloud.volume_type = "volumev3"
    for service in token.catalog:
        if service.get("type") == "compute":
            for endpoint in service.get("endpoints") or []:
                region = endpoint.get("region_id") or endpoint.get("region")
                if endpoint.get("interface") == "public" and region:
                    cloud.region = str(region)
                    break
    cloud.flavors = pick_flavors(url, token.id)
    cloud.images, cloud.guest = pick_images(url, token.id, cloud.glance)
    if cloud.neutron:
        pick_networks(cloud, token.id)
    return cloud


def pick_networks(cloud: Cloud, token: str) -> None:
    """The external network (Tempest's ``public_network_id``) and a shared one to boot
    servers on (``fixed_network_name``: pre-provisioned accounts come without a network)."""
    try:
        reply = http("GET", f"{cloud.url}/network/v2.0/networks", token=token)
    except RunnerError as error:
        log(f"{error}; no networks configured")
        return
    found = reply.body.get("networks") if isinstance(reply.body, dict) else None
    for network in found or []:
        if network.get("router:external") and cloud.public_network is None:
            cloud.public_network = (str(network["id"]), str(network["name"]))
        elif network.get("shared") and cloud.fixed_network is None:
            cloud.fixed_network = str(network["name"])


def pick_flavors(url: str, token: str) -> tuple[str, str]:
    try:
        reply = http("GET", f"{url}/compute/v2.1/flavors/detail", token=token)
    except RunnerError as error:
        log(f"{error}; using placeholder flavors")
        return PLACEHOLDER_FLAVORS
    flavors = reply.body.get("flavors") if isinstance(reply.body, dict) else None
    if reply.status != 200 or not flavors:
        log(f"flavors/detail: HTTP {reply.status}; using placeholder flavors")
        return PLACEHOLDER_FLAVORS

    def size(f: dict[str, Any]) -> tuple[int, int, int]:
        return (int(f.get("ram") or 0), int(f.get("vcpus") or 0), int(f.get("disk") or 0))

    flavors = sorted(flavors, key=lambda f: (*size(f), str(f["id"])))
    smallest = flavors[0]
    bigger = [f for f in flavors[1:] if size(f) != size(smallest)] or flavors[1:] or [smallest]
    return str(smallest["id"]), str(bigger[0]["id"])


def pick_images(url: str, token: str, glance: bool) -> tuple[tuple[str, str], bool]:
    """Tempest's image_ref and image_ref_alt, and whether the first is the free guest."""
    sources = [f"{url}/image/v2/images"] if glance else []
    sources.append(f"{url}/compute/v2.1/images")  # Nova's image proxy
    for source in sources:
        try:
            reply = http("GET", source, token=token)
        except RunnerError:
            continue
        images = reply.body.get("images") if isinstance(reply.body, dict) else None
        if reply.status != 200 or not images:
            continue
        active = [i for i in images if str(i.get("status", "active")).lower() == "active"]
        # The free guest first: the one image of a QEMU cloud that boots an OS.
        ordered = sorted(active or images, key=lambda i: i.get("name") != GUEST_IMAGE_NAME)
        ids = list(dict.fromkeys(str(i["id"]) for i in ordered))
        if len(ids) == 1:
            log("only one image found: image_ref_alt = image_ref (2 list tests will fail)")
        guest = ordered[0].get("name") == GUEST_IMAGE_NAME
        return (ids[0], ids[1] if len(ids) > 1 else ids[0]), guest
    log("no image list available; using placeholder images")
    return PLACEHOLDER_IMAGES, False


def raw_http(method: str, url: str, token: str, data: bytes | None = None) -> bytes:
    """A request with (or for) a body of bytes: an image's data."""
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("X-Auth-Token", token)
    if data is not None:
        request.add_header("Content-Type", "application/octet-stream")
    try:
        with HTTP.open(request, timeout=120) as reply:
            return bytes(reply.read())
    except OSError as error:
        raise RunnerError(f"{method} {url}: {error}") from error


def ensure_alt_guest(cloud: Cloud, token: str) -> None:
    """Where ``image_ref`` is the free guest (a QEMU cloud), a public copy of it under
    another name (made once, as an operator uploads a second image) is ``image_ref_alt``:
    the cloud's other images are placeholders it refuses to boot (ImageUnacceptable), and
    with validation Tempest logs into servers rebuilt from ``image_ref_alt`` too."""
    images = f"{cloud.url}/image/v2/images"
    found = http("GET", f"{images}?name={GUEST_IMAGE_NAME}-alt", token=token).body
    copies = found.get("images") if isinstance(found, dict) else None
    if copies:
        cloud.images = (cloud.images[0], str(copies[0]["id"]))
        return
    data = raw_http("GET", f"{images}/{cloud.images[0]}/file", token)
    made = http("POST", images, {"name": f"{GUEST_IMAGE_NAME}-alt", "disk_format": "qcow2",
                                 "container_format": "bare", "visibility": "public"},
                token=token)
    if made.status != 201:
        raise RunnerError(f"POST {images}: HTTP {made.status} {made.body!r:.300}")
    image_id = str(made.body["id"])
    raw_http("PUT", f"{images}/{image_id}/file", token, data)
    log(f"uploaded {GUEST_IMAGE_NAME}-alt ({len(data)} bytes) as image_ref_alt")
    cloud.images = (cloud.images[0], image_id)


def network_settings(cloud: Cloud) -> list[Setting]:
    """What Tempest needs to know of the cloud's networks, where Neutron has some."""
    settings: list[Setting] = []
    if cloud.fixed_network:
        settings += [("compute", "fixed_network_name", cloud.fixed_network),
                     ("validation", "network_for_ssh", cloud.fixed_network)]
    if cloud.public_network:
        settings += [("network", "public_network_id", cloud.public_network[0]),
                     ("network", "floating_network_name", cloud.public_network[1])]
    return settings


def tempest_conf(cloud: Cloud, ws: Path, admin: Account) -> str:
    def flag(value: bool) -> str:
        return "true" if value else "false"

    return f"""\
# Generated by conformance/tempest/run.py; rewritten on every run.
[DEFAULT]
log_dir = {ws / "logs"}
log_file = tempest.log

[oslo_concurrency]
lock_path = {ws / "tempest_lock"}

[auth]
use_dynamic_credentials = false
test_accounts_file = {ws / "etc" / "accounts.yaml"}
# The classes that force tenant isolation (the admin quota tests) make their own projects
# and users with these credentials, whatever use_dynamic_credentials says.
admin_username = {admin.user}
admin_password = {admin.password}
admin_project_name = {admin.project}
admin_domain_name = Default
default_credentials_domain_name = Default
create_isolated_networks = false

[identity]
uri_v3 = {cloud.url}/identity/v3
auth_version = v3
region = {cloud.region}
v3_endpoint_type = public

[identity-feature-enabled]
trust = false
security_compliance = false
api_extensions =

[compute]
image_ref = {cloud.images[0]}
image_ref_alt = {cloud.images[1]}
flavor_ref = {cloud.flavors[0]}
flavor_ref_alt = {cloud.flavors[1]}
endpoint_type = publicURL
max_microversion = latest
build_interval = 1
build_timeout = 60

[compute-feature-enabled]
resize = true
snapshot = true
enable_instance_password = true
disk_config = true
console_output = false
change_password = false
pause = true
suspend = true
shelve = true
rescue = false
live_migration = false
cold_migration = false
interface_attach = {flag(cloud.neutron)}
vnc_console = false
serial_console = false
spice_console = false
personality = false
config_drive = false
attach_encrypted_volume = false

[image]
build_interval = 1
build_timeout = 60

[image-feature-enabled]
api_v2 = true

[network]
build_interval = 1
build_timeout = 60

[network-feature-enabled]
floating_ips = {flag(cloud.neutron)}
ipv6 = false
port_security = false

[volume]
catalog_type = {cloud.volume_type}
build_interval = 1
build_timeout = 60
volume_size = 1

[volume-feature-enabled]
backup = false

[service_available]
nova = true
glance = {flag(cloud.glance)}
neutron = {flag(cloud.neutron)}
cinder = {flag(cloud.cinder)}
swift = false
horizon = false

[validation]
run_validation = false
"""


Setting = tuple[str, str, str]  # (section, option, value) of tempest.conf


def parse_setting(text: str) -> Setting:
    """``SECTION.OPTION=VALUE`` (``--set``) as a tempest.conf setting."""
    key, equals, value = text.partition("=")
    section, dot, option = key.strip().partition(".")
    if not (equals and dot and section and option.strip()):
        raise argparse.ArgumentTypeError(f"expected SECTION.OPTION=VALUE, got {text!r}")
    return section, option.strip(), value.strip()


def with_settings(conf: str, settings: Sequence[Setting]) -> str:
    """``conf`` with each setting replacing its option's line, or added at the top of its
    section (a new section at the end)."""
    lines = conf.splitlines()
    for section, option, value in settings:
        line = f"{option} = {value}"
        try:
            start = lines.index(f"[{section}]") + 1
        except ValueError:
            lines += ["", f"[{section}]", line]
            continue
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")),
                   len(lines))
        found = [i for i in range(start, end) if lines[i].split("=")[0].strip() == option]
        if found:
            lines[found[0]] = line
        else:
            lines.insert(start, line)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Profile:
    """What a wider selection of Tempest tests needs beyond the interop configuration:
    tempest.conf settings, and roles each project gets an account of."""

    settings: tuple[str, ...]
    roles: tuple[str, ...] = ()


#: --profile NAME. admin: the multinode admin tests (migrations, live migration, servers on
#: several hosts): two hosts at least, the moves, pause/suspend (a paused server migrates,
#: a suspended one may not), the scheduler filters the emulator has, and Nova's new policy
#: defaults with a project manager (those classes ask for one; its live migration workflow
#: runs only with them).
PROFILES = {
    "admin": Profile(settings=(
        "compute.min_compute_nodes=2",
        "compute-feature-enabled.cold_migration=true",
        "compute-feature-enabled.live_migration=true",
        "compute-feature-enabled.block_migration_for_live_migration=true",
        "compute-feature-enabled.volume_backed_live_migration=false",
        "compute-feature-enabled.pause=true",
        "compute-feature-enabled.suspend=true",
        "compute-feature-enabled.scheduler_enabled_filters=all",
        "compute-feature-enabled.nova_policy_roles=admin,manager,member,reader",
        "enforce_scope.nova=true",
    ), roles=("manager",)),
    # validation: Tempest logs into its servers over SSH (a floating IP, the key pair it
    # makes, the guest's user): the guests of both backends answer (README, "SSH into a
    # guest"; the simulated cloud's public network is then put in 127/8); TCG boots are
    # slow, hence the timeouts.
    "validation": Profile(settings=(
        "validation.run_validation=true",
        "validation.connect_method=floating",
        "validation.auth_method=keypair",
        "validation.image_ssh_user=cirros",
        "validation.image_alt_ssh_user=cirros",
        "validation.ip_version_for_ssh=4",
        "validation.ssh_timeout=300",
        "validation.connect_timeout=30",
        "compute.build_timeout=300",
    )),
    # dynamic: Tempest makes a project, user and (isolated) network, subnet and router of
    # its own per test class through the emulator's Keystone and Neutron, instead of the
    # pre-provisioned accounts (the fixed-IP interface tests run only so).
    "dynamic": Profile(settings=(
        "auth.use_dynamic_credentials=true",
        "auth.create_isolated_networks=true",
    )),
}


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages/tempest"))
    if not found:
        raise RunnerError(f"tempest package not found in {venv}")
    return found[-1].parent


def prepare_workspace(ws: Path, venv: Path) -> None:
    for sub in ("etc", "logs", "tempest_lock", "home"):
        (ws / sub).mkdir(parents=True, exist_ok=True)
    top = site_packages(venv)
    # What `tempest init` writes; regenerated so a new --venv is picked up.
    (ws / ".stestr.conf").write_text(
        f"[DEFAULT]\ntest_path={top / 'tempest' / 'test_discover'}\n"
        f"top_dir={top}\ngroup_regex=([^\\.]*\\.)*\n"
    )
    if not (ws / ".stestr").is_dir():
        subprocess.run(
            [str(venv / "bin" / "stestr"), "init"], cwd=ws, check=True, capture_output=True
        )


def tempest_env(ws: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOME=str(ws / "home"),
        TEMPEST_CONFIG_DIR=str(ws / "etc"),
        TEMPEST_CONFIG="tempest.conf",
        PYTHONUNBUFFERED="1",
    )
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(proxy, None)
    return env


def selection_args(args: argparse.Namespace) -> list[str]:
    if args.regex:
        return ["--regex", args.regex]
    return ["--include-list", str(Path(args.include_list).resolve())]


def list_tests(tempest: Path, ws: Path, selection: list[str]) -> list[str]:
    proc = subprocess.run(
        [str(tempest), "run", "--list-tests", *selection],
        cwd=ws,
        env=tempest_env(ws),
        capture_output=True,
        text=True,
    )
    tests = sorted(line for line in proc.stdout.splitlines() if TEST_ID.match(line))
    if proc.returncode != 0 or not tests:
        raise RunnerError(
            f"`tempest run --list-tests` selected no tests (rc={proc.returncode}):\n"
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return tests


TEST_ID = re.compile(r"^[A-Za-z_][\w.]*\.\w+(\[[^\]]*\])?$")


# --------------------------------------------------------------------------
# Subunit v2 stream decoding (the format of `tempest run --subunit`)

SUBUNIT_SIGNATURE = 0xB3
STATUSES = ("", "exists", "inprogress", "success", "uxsuccess", "skip", "fail", "xfail")
FINAL = {"success", "uxsuccess", "skip", "fail", "xfail"}


@dataclass
class Packet:
    test_id: str | None
    status: str
    timestamp: float | None
    file_name: str | None
    file_bytes: bytes


class SubunitDecoder:
    """Incremental subunit v2 decoder; bytes that are not packets are skipped."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Packet]:
        buf = self.buffer
        buf += data
        packets = []
        while buf:
            start = buf.find(SUBUNIT_SIGNATURE)
            if start < 0:
                buf.clear()
                break
            del buf[:start]
            if len(buf) < 4:
                break
            flags = int.from_bytes(buf[1:3], "big")
            extra = buf[3] >> 6
            if flags >> 12 != 2 or extra == 3:
                del buf[:1]
                continue
            if len(buf) < 4 + extra:
                break
            length = int.from_bytes(buf[3 : 4 + extra], "big") & ~(0xC0 << (8 * extra))
            if length < 8 + extra:
                del buf[:1]
                continue
            if len(buf) < length:
                break
            raw = bytes(buf[:length])
            if zlib.crc32(raw[:-4]) != int.from_bytes(raw[-4:], "big"):
                del buf[:1]
                continue
            del buf[:length]
            try:
                packets.append(self._decode(raw[4 + extra : -4], flags))
            except (IndexError, UnicodeDecodeError):
                continue
        return packets

    @staticmethod
    def _decode(body: bytes, flags: int) -> Packet:
        pos = 0

        def varint() -> int:
            nonlocal pos
            extra = body[pos] >> 6
            value = int.from_bytes(body[pos : pos + 1 + extra], "big") & ~(0xC0 << (8 * extra))
            pos += 1 + extra
            return value

        def utf8() -> str:
            nonlocal pos
            size = varint()
            text = body[pos : pos + size].decode()
            pos += size
            return text

        timestamp = test_id = file_name = None
        file_bytes = b""
        if flags & 0x0200:
            seconds = int.from_bytes(body[pos : pos + 4], "big")
            pos += 4
            timestamp = seconds + varint() / 1e9
        if flags & 0x0800:
            test_id = utf8()
        if flags & 0x0080:
            for _ in range(varint()):
                utf8()
        if flags & 0x0020:
            utf8()
        if flags & 0x0040:
            file_name = utf8()
            size = varint()
            file_bytes = body[pos : pos + size]
            pos += size
        return Packet(test_id, STATUSES[flags & 0x7], timestamp, file_name, file_bytes)


@dataclass
class Result:
    test_id: str
    status: str  # passed | failed | skipped
    reason: str = ""
    seconds: float | None = None


CLASS_FIXTURE = re.compile(r"^(setUpClass|tearDownClass|setUpModule|tearDownModule) \((.+)\)$")


class Collector:
    """Turns subunit packets into per-test results, printing progress."""

    def __init__(self) -> None:
        self.results: dict[str, Result] = {}
        self.files: dict[str, dict[str, bytearray]] = {}
        self.started: dict[str, float] = {}

    def handle(self, packet: Packet) -> None:
        test_id = packet.test_id
        if test_id is None:
            return
        if packet.file_name is not None:
            chunks = self.files.setdefault(test_id, {})
            chunks.setdefault(packet.file_name, bytearray()).extend(packet.file_bytes)
        if packet.status == "inprogress" and packet.timestamp is not None:
            self.started[test_id] = packet.timestamp
        if packet.status not in FINAL:
            return
        files = {
            k: bytes(v).decode(errors="replace") for k, v in self.files.pop(test_id, {}).items()
        }
        status = {"success": "passed", "xfail": "passed", "skip": "skipped"}.get(
            packet.status, "failed"
        )
        if status == "skipped":
            reason = one_line(files.get("reason", ""))
        elif packet.status == "uxsuccess":
            reason = "unexpected success"
        elif status == "failed":
            reason = failure_reason(files)
        else:
            reason = ""
        start = self.started.pop(test_id, None)
        seconds = packet.timestamp - start if start and packet.timestamp else None
        result = Result(test_id, status, reason, seconds)
        self.results[test_id] = result
        took = f" ({seconds:.2f}s)" if seconds is not None else ""
        label = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[status]
        print(f"{label} {test_id}{took}", flush=True)


def one_line(text: str, limit: int = 240) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def failure_reason(files: dict[str, str]) -> str:
    """The exception line(s) at the end of the last traceback."""
    text = files.get("traceback") or next(
        (v for k, v in files.items() if "traceback" in k.lower()), ""
    )
    if not text:
        return "failed (no traceback)"
    lines = text.rstrip().splitlines()
    last_frame = max((i for i, line in enumerate(lines) if line.startswith("  File ")), default=-1)
    tail_lines = lines[last_frame + 1 :]
    while tail_lines and tail_lines[0].startswith("    "):
        tail_lines = tail_lines[1:]  # source line(s) and carets of the last frame
    return one_line(" ".join(tail_lines) or lines[-1])


def tally(selected: Sequence[str], results: dict[str, Result], missing_reason: str) -> list[Result]:
    """One result per selected test; class-level fixture results fan out to their tests."""
    final: dict[str, Result] = {t: results[t] for t in selected if t in results}
    extras: list[Result] = []
    for test_id, result in results.items():
        if test_id in final:
            continue
        match = CLASS_FIXTURE.match(test_id)
        owned = []
        if match:
            prefix = match.group(2) + "."
            owned = [t for t in selected if t.startswith(prefix) and t not in final]
        if not owned:
            if result.status != "passed":  # e.g. tearDownClass errors, import errors
                extras.append(result)
            continue
        why = f"{match.group(1) if match else ''} {result.status}: {result.reason}".strip()
        for owned_id in owned:
            final[owned_id] = Result(owned_id, result.status, why)
    for test_id in selected:
        final.setdefault(test_id, Result(test_id, "failed", missing_reason))
    return [final[t] for t in selected] + extras


# --------------------------------------------------------------------------
# Running Tempest


def run_tempest(
    tempest: Path, ws: Path, selection: list[str], timeout: float
) -> tuple[int | None, dict[str, Result], list[str], bool]:
    """Run Tempest with a subunit stream on stdout.

    Returns the exit code, the results, the tests still running and whether it timed out.
    """
    cmd = [str(tempest), "run", "--serial", "--subunit", *selection]
    log(f"running: {' '.join(cmd)} (cwd {ws}, timeout {timeout:.0f} s)")
    decoder, collector = SubunitDecoder(), Collector()
    proc = subprocess.Popen(
        cmd, cwd=ws, env=tempest_env(ws), stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        with open(ws / "last.subunit", "wb") as raw:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 and not timed_out:
                    timed_out = True
                    log(f"timeout after {timeout:.0f} s: stopping Tempest")
                    stop(proc, "tempest", grace=15)
                    break
                ready, _, _ = select.select([fd], [], [], min(max(remaining, 0.05), 1.0))
                if not ready:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                raw.write(chunk)
                for packet in decoder.feed(chunk):
                    collector.handle(packet)
        proc.wait()
    finally:
        stop(proc, "tempest", grace=5)
        proc.stdout.close()
    return proc.returncode, collector.results, list(collector.started), timed_out


def report(results: Sequence[Result], ws: Path) -> tuple[int, int, int]:
    counts = {s: sum(r.status == s for r in results) for s in ("passed", "failed", "skipped")}
    (ws / "results.json").write_text(
        json.dumps([r.__dict__ for r in results], indent=1, ensure_ascii=False) + "\n"
    )
    print()
    for status, label in (("failed", "FAILED "), ("skipped", "SKIPPED")):
        for r in results:
            if r.status == status:
                print(f"{label} {r.test_id}: {r.reason}")
    print(
        f"tempest: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped",
        flush=True,
    )
    return counts["passed"], counts["failed"], counts["skipped"]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="use this running emulator (e.g. http://127.0.0.1:8774)")
    parser.add_argument(
        "--backend", default="simulated", choices=("simulated", "qemu"),
        help="the backend of the emulator the runner starts (without --url)")
    admin = "Tempest's admin, and with --url the account that provisions the others"
    parser.add_argument("--admin-user", default="admin", help=f"{admin} (default: admin)")
    parser.add_argument("--admin-password", default="admin", help=f"{admin} (default: admin)")
    parser.add_argument("--admin-project", default="admin", help=f"{admin} (default: admin)")
    parser.add_argument(
        "--venv",
        type=Path,
        default=REPO / ".tempest" / "venv",
        help="Tempest venv, cached (default: <repo>/.tempest/venv)",
    )
    parser.add_argument(
        "--workspace",
        type=Path,
        default=REPO / ".tempest" / "workspace",
        help="Tempest workspace (default: <repo>/.tempest/workspace)",
    )
    parser.add_argument(
        "--include-list",
        default=str(DEFAULT_INCLUDE_LIST),
        help="test regexes, one per line (default: the 89 interop tests)",
    )
    parser.add_argument("--regex", help="run the tests matching this regex instead of the list")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds (default: 1800)")
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=60,
        help="seconds to wait for the emulator (default: 60)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if any test failed")
    parser.add_argument(
        "--assume-service", action="append", default=[], choices=sorted(_ASSUMABLE),
        help="tell Tempest a service is available though the catalog lacks it "
             "(neutron: runs the server classes gated on it without any network call)",
    )
    parser.add_argument(
        "--profile", action="append", default=[], choices=sorted(PROFILES),
        help="settings and accounts for a wider selection (admin: migrations, live "
             "migration, multinode; validation: SSH into the guests; dynamic: a project "
             "and isolated network per test class)")
    parser.add_argument(
        "--set", action="append", default=[], type=parse_setting, dest="settings",
        metavar="SECTION.OPTION=VALUE",
        help="a tempest.conf setting, after the profiles' (repeatable), e.g. "
             "compute-feature-enabled.shelve=true")
    return parser.parse_args(argv)


#: --assume-service NAME -> the catalog type it stands for.
_ASSUMABLE = {"neutron": "network", "glance": "image", "cinder": "block-storage"}


def execute(args: argparse.Namespace) -> int:
    venv, ws = args.venv.resolve(), args.workspace.resolve()
    tempest = ensure_venv(venv)
    prepare_workspace(ws, venv)
    selection = selection_args(args)
    selected = list_tests(tempest, ws, selection)
    log(f"{len(selected)} tests selected")
    profiles = [PROFILES[name] for name in args.profile]
    settings = [parse_setting(t) for p in profiles for t in p.settings] + args.settings
    accounts = tempest_accounts([role for p in profiles for role in p.roles])
    # The admin (the emulator's seeded one unless --admin-* say otherwise) is Tempest's
    # admin account too: its admin tests (aggregates, ...) need one, and Tempest never
    # hands an account with the admin role to a test that did not ask for an admin.
    admin = Account(args.admin_user, args.admin_project, "admin", args.admin_password)
    (ws / "etc" / "accounts.yaml").write_text(accounts_yaml([*accounts, admin]))

    with contextlib.ExitStack() as stack:
        if args.url:
            url = args.url.rstrip("/")
            provision_accounts(url, admin, accounts)
        else:
            config = ws / "emulator.toml"
            config.write_text(emulator_config(accounts, args.backend,
                                              validation="validation" in args.profile))
            url = stack.enter_context(
                running_emulator(config, ws / "emulator.log", args.startup_timeout)
            )
        cloud = discover(url, accounts[0])
        # NOTE: Tempest gates most server classes on neutron=true even though, with
        # pre-provisioned accounts and no fixed_network_name, they make no Neutron call.
        cloud.services |= {_ASSUMABLE[name] for name in args.assume_service}
        if cloud.glance and cloud.guest:
            ensure_alt_guest(cloud, get_token(url, admin.user, admin.password,
                                              admin.project).id)
        log(f"catalog: {sorted(cloud.services)}; flavors {cloud.flavors}; images {cloud.images}")
        conf = with_settings(tempest_conf(cloud, ws, admin), network_settings(cloud))
        (ws / "etc" / "tempest.conf").write_text(with_settings(conf, settings))
        rc, results, running, timed_out = run_tempest(tempest, ws, selection, args.timeout)

    if not results and rc and not timed_out:
        raise RunnerError(f"Tempest exited with code {rc} without reporting any test")
    missing = f"no result: timed out after {args.timeout:.0f} s" if timed_out else "no result"
    for test_id in running:  # started but never finished
        results.setdefault(test_id, Result(test_id, "failed", missing + " (was running)"))
    _, failed, _ = report(tally(selected, results, missing), ws)
    return 1 if args.strict and failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def on_sigterm(signum: int, frame: object) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return execute(args)
    except RunnerError as error:
        print(f"run.py: error: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated):
        print("run.py: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
