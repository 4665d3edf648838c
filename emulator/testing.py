"""An emulator for tests, from Python: one serving on a free port of 127.0.0.1 in a
background thread of this process (``ThreadedEmulator``), its seeded accounts, a
clouds.yaml for them, and a typed client of its control plane (``ControlPlane``).

The pytest plugin (``emulator.pytest_plugin``) is built on these; they work without
pytest too::

    with ThreadedEmulator() as cloud:
        cloud.control.set_clock("manual")
        ...  # point openstacksdk at cloud.url (cloud.sdk_arguments("member"))

A thread, not a process: the start is the app's (its database and seeded cloud), with
nothing to import again (``tests/test_pytest_plugin.py`` measures both). The server's
event loop is its own; every call here is plain blocking HTTP to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import uvicorn

from emulator.cli import CLOUD_NAMES, clouds_yaml
from emulator.config import Config, with_overrides
from emulator.control.requestlog import fault_in

#: The seeded accounts by role: member (``demo``), alt (``alt_demo``), admin (``admin``).
Role = Literal["member", "alt", "admin"]
ROLES: dict[Role, str] = {"member": "nova-emulator", "alt": "nova-emulator-alt",
                          "admin": "nova-emulator-admin"}


class ControlPlaneError(RuntimeError):
    """The emulator answered a control-plane call with an error (its status and message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class LoginFailed(ControlPlaneError):
    """The account the control plane was given could not log in."""


def fault_message(answer: Any) -> str:
    """The message of a fault body in any service's dialect, else the answer as text."""
    fault = fault_in(answer)
    return fault.message if fault is not None and fault.message else str(answer)


@dataclass(frozen=True)
class Account:
    """A seeded account: who it is, where it logs in."""

    auth_url: str
    username: str
    password: str
    project: str
    region: str

    def sdk_arguments(self) -> dict[str, Any]:
        """Arguments for ``openstack.connect`` (openstacksdk): this account only, whatever
        clouds.yaml or ``OS_*`` variables the environment has."""
        return {"auth_url": self.auth_url, "username": self.username,
                "password": self.password, "project_name": self.project,
                "user_domain_name": "Default", "project_domain_name": "Default",
                "region_name": self.region, "identity_api_version": "3",
                "load_yaml_config": False, "load_envvars": False}


def accounts_of(config: Config) -> dict[Role, Account]:
    """The seeded accounts of an emulator with ``config``, by role."""
    by_user = {a.user: a for a in config.accounts}
    found: dict[Role, Account] = {}
    for role, cloud in ROLES.items():
        seeded = by_user[CLOUD_NAMES[cloud]]
        found[role] = Account(f"{config.public_url}/identity/v3", seeded.user,
                              seeded.password, seeded.project, config.identity.region)
    return found


def _request(method: str, url: str, body: Any = None, token: str | None = None,
             upload: Path | None = None, download: Path | None = None,
             timeout: float = 600.0) -> tuple[int, dict[str, str], Any]:
    """One request: a JSON ``body``, or the file ``upload`` streamed as the body; the
    status, headers and decoded answer (``download``: a success's answer streamed to that
    file instead)."""
    request = urllib.request.Request(url, method=method)
    if token is not None:
        request.add_header("X-Auth-Token", token)
    with contextlib.ExitStack() as stack:
        if upload is not None:
            request.data = stack.enter_context(upload.open("rb"))
            request.add_header("Content-Type", "application/gzip")
            request.add_header("Content-Length", str(upload.stat().st_size))
        else:
            request.data = None if body is None else json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        try:
            response = stack.enter_context(urllib.request.urlopen(request, timeout=timeout))
            status, headers = response.status, dict(response.headers)
            if download is not None:
                with download.open("wb") as f:
                    shutil.copyfileobj(response, f, 1 << 20)
            raw = b"" if download is not None else response.read()
        except urllib.error.HTTPError as err:
            status, headers, raw = err.code, dict(err.headers), err.read()
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError:
        decoded = raw.decode(errors="replace")
    return status, {k.lower(): v for k, v in headers.items()}, decoded


class ControlPlane:
    """``/_emulator`` as the seeded admin: the clock, stage timings, hosts, fault rules, the
    request recorder and the reset (each method one request; a refusal raises
    ``ControlPlaneError``)."""

    def __init__(self, url: str, admin: Account) -> None:
        self.url = url.rstrip("/")
        self.admin = admin
        self._token: str | None = None

    def _call(self, method: str, path: str, body: Any = None, upload: Path | None = None,
              download: Path | None = None) -> Any:
        url = f"{self.url}/_emulator{path}"
        for attempt in (1, 2):  # a token the reset made stale is asked for again once
            status, _, answer = _request(method, url, body, self._login(), upload, download)
            if status == 401 and attempt == 1:
                self._token = None
                continue
            if status >= 400:
                raise ControlPlaneError(status, fault_message(answer))
            return answer
        raise AssertionError("unreachable")

    def _login(self) -> str:
        if self._token is None:
            auth = {"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": self.admin.username, "password": self.admin.password,
                    "domain": {"name": "Default"}}}},
                "scope": {"project": {"name": self.admin.project,
                                      "domain": {"name": "Default"}}}}}
            status, headers, answer = _request("POST", f"{self.url}/identity/v3/auth/tokens",
                                               auth)
            if status != 201 or "x-subject-token" not in headers:
                raise LoginFailed(status, fault_message(answer))
            self._token = headers["x-subject-token"]
        return self._token

    # -- the cloud ------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        status, _, answer = _request("GET", f"{self.url}/_emulator/health")
        if status != 200:
            raise ControlPlaneError(status, str(answer))
        return dict(answer)

    def reset(self, mode: str | None = None) -> None:
        """Forget every server and fault rule; on the simulated cloud also restore the
        configured stages and restart the clock at zero (in ``mode`` if given)."""
        self._call("POST", "/reset", {"mode": mode} if mode else None)

    def save_snapshot(self, target: Path | str) -> Path:
        """The whole cloud in the file ``target`` (a gzipped tar; the simulated backend's)."""
        path = Path(target)
        self._call("GET", "/snapshot", download=path)
        return path

    def load_snapshot(self, source: Path | str) -> None:
        """Make the cloud the one the snapshot file ``source`` holds (every token before it
        is gone: this client logs in again by itself)."""
        self._call("PUT", "/snapshot", upload=Path(source))
        self._token = None

    # -- time -----------------------------------------------------------------------------

    def clock(self) -> dict[str, Any]:
        return dict(self._call("GET", "/clock"))

    def set_clock(self, mode: Literal["immediate", "time", "manual"]) -> dict[str, Any]:
        return dict(self._call("PUT", "/clock", {"mode": mode}))

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the manual clock on, waking what waited for it."""
        return dict(self._call("POST", "/clock/advance", {"seconds": seconds}))

    def stages(self) -> dict[str, Any]:
        return dict(self._call("GET", "/stages"))

    def set_stage(self, verb: str, **stage: Any) -> dict[str, Any]:
        """Change a verb's simulated stage (``delay``, ``jitter``, ``fails``)."""
        return dict(self._call("PUT", f"/stages/{verb}", stage))

    # -- hosts and faults -----------------------------------------------------------------

    def hosts_down(self) -> list[str]:
        return list(self._call("GET", "/hosts")["down"])

    def set_host(self, host: str, up: bool) -> dict[str, Any]:
        """A simulated host goes down (its servers' host status too) or comes back."""
        return dict(self._call("PUT", f"/hosts/{host}", {"up": up}))

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults")["rules"])

    def add_fault(self, rule: dict[str, Any]) -> dict[str, Any]:
        """A fault rule (the body ``POST /_emulator/faults`` takes); the rule made."""
        return dict(self._call("POST", "/faults", rule))

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- the request recorder -------------------------------------------------------------

    def requests(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The requests the emulator answered (the last ``limit``), the newest last."""
        query = f"?limit={limit}" if limit is not None else ""
        return list(self._call("GET", f"/requests{query}")["requests"])

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")


class ServedEmulator(ABC):
    """What every emulator a test starts offers, in a thread or a process: its URL, the
    seeded accounts, the control plane, the reset, openstacksdk arguments, a clouds.yaml."""

    _control: ControlPlane | None = None

    @property
    @abstractmethod
    def config(self) -> Config:
        """The configuration it serves with (on its own port)."""

    @property
    def url(self) -> str:
        return self.config.public_url

    @property
    def accounts(self) -> dict[Role, Account]:
        return accounts_of(self.config)

    @property
    def control(self) -> ControlPlane:
        if self._control is None:
            self._control = ControlPlane(self.url, self.accounts["admin"])
        return self._control

    def reset(self) -> None:
        """Back to the cloud it started as: the control plane's reset, the simulated clock
        in its configured mode again (a test's manual clock does not leak to the next)."""
        simulated = self.config.compute.backend == "simulated"
        self.control.reset(self.config.simulated.progression.value if simulated else None)

    def sdk_arguments(self, role: Role = "member") -> dict[str, Any]:
        return self.accounts[role].sdk_arguments()

    def write_clouds_yaml(self, path: Path) -> Path:
        """A clouds.yaml for the seeded accounts (clouds ``nova-emulator``,
        ``nova-emulator-alt``, ``nova-emulator-admin``)."""
        path.write_text(clouds_yaml(self.config), encoding="utf-8")
        return path

    @abstractmethod
    def close(self) -> None:
        """Stop it, and remove what it made."""


class ThreadedEmulator(ServedEmulator):
    """The emulator's app on uvicorn, on a free port of 127.0.0.1, in a daemon thread with
    an event loop of its own (state in memory unless ``config`` says otherwise)."""

    def __init__(self, config: Config | None = None) -> None:
        self._given = config if config is not None else Config()
        self._config = self._given
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None

    @property
    def config(self) -> Config:
        return self._config

    def start(self, timeout: float = 60.0) -> ThreadedEmulator:
        from emulator.api.app import build_app  # the API's imports, once they are asked for
        from emulator.http_protocol import protocol_with
        from emulator.serving import listen

        sock = listen("127.0.0.1", 0)
        self._config = with_overrides(self._given, host="127.0.0.1",
                                      port=sock.getsockname()[1])
        server = self._server = uvicorn.Server(uvicorn.Config(
            build_app(self._config), log_config=None, log_level="warning", access_log=False,
            lifespan="on", timeout_keep_alive=75,
            http=protocol_with(self._config.server.header_timeout_seconds)))

        def serve() -> None:
            try:
                asyncio.run(server.serve(sockets=[sock]))
            except BaseException as exc:  # reported to start() or stop()
                self._failed = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=serve, name="nova-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the emulator stopped while starting: {self._failed!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start within {timeout} s")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Shut down (the app's lifespan stops its backend: QEMU guests too)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = self._thread = None

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> ThreadedEmulator:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
