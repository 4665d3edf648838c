"""Raw HTTP access to an OpenStack cloud (the emulator or a real one) as one account.

Tests use this to see the wire: status codes, headers and bodies exactly as sent. URLs
come from the token's service catalog, so the same tests run against any cloud.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx


@dataclass(frozen=True)
class Account:
    auth_url: str  # the Keystone v3 URL, e.g. http://127.0.0.1:8774/identity/v3
    username: str
    password: str
    project_name: str
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    region: str = "RegionOne"

    def password_auth(self, scoped: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.username,
                            "domain": {"name": self.user_domain_name},
                            "password": self.password,
                        }
                    },
                }
            }
        }
        if scoped:
            body["auth"]["scope"] = {
                "project": {"name": self.project_name,
                            "domain": {"name": self.project_domain_name}}
            }
        return body

    def sdk_kwargs(self) -> dict[str, Any]:
        """Arguments for ``openstack.connect``."""
        return {
            "auth_url": self.auth_url,
            "username": self.username,
            "password": self.password,
            "project_name": self.project_name,
            "user_domain_name": self.user_domain_name,
            "project_domain_name": self.project_domain_name,
            "region_name": self.region,
            "identity_api_version": "3",
        }

    def os_environ(self) -> dict[str, str]:
        """``OS_*`` variables for the ``openstack`` CLI."""
        return {
            "OS_AUTH_URL": self.auth_url,
            "OS_USERNAME": self.username,
            "OS_PASSWORD": self.password,
            "OS_PROJECT_NAME": self.project_name,
            "OS_USER_DOMAIN_NAME": self.user_domain_name,
            "OS_PROJECT_DOMAIN_NAME": self.project_domain_name,
            "OS_REGION_NAME": self.region,
            "OS_IDENTITY_API_VERSION": "3",
            "OS_INTERFACE": "public",
        }


class ApiSession:
    """A project-scoped token for ``account`` and requests made with it."""

    def __init__(self, account: Account, http: httpx.Client) -> None:
        self.account = account
        self.http = http

    @cached_property
    def _token_response(self) -> httpx.Response:
        response = self.http.post(f"{self.account.auth_url}/auth/tokens",
                                  json=self.account.password_auth())
        assert response.status_code == 201, response.text
        return response

    @property
    def token(self) -> str:
        return self._token_response.headers["X-Subject-Token"]

    @property
    def token_body(self) -> dict[str, Any]:
        body: dict[str, Any] = self._token_response.json()["token"]
        return body

    @property
    def user_id(self) -> str:
        return str(self.token_body["user"]["id"])

    @property
    def project_id(self) -> str:
        return str(self.token_body["project"]["id"])

    def endpoint(self, service_type: str, interface: str = "public") -> str:
        for service in self.token_body["catalog"]:
            if service["type"] != service_type:
                continue
            for endpoint in service["endpoints"]:
                if endpoint["interface"] == interface and (
                    endpoint.get("region_id") or endpoint.get("region")
                ) == self.account.region:
                    return str(endpoint["url"]).rstrip("/")
        raise LookupError(f"no {interface} {service_type} endpoint in the catalog")

    @property
    def compute_url(self) -> str:
        return self.endpoint("compute")

    @property
    def compute_root(self) -> str:
        """The compute URL without its version segment (where the versions list lives)."""
        return self.compute_url.rsplit("/", 1)[0]

    def request(
        self,
        method: str,
        url: str,
        *,
        token: str | bool | None = True,
        version: str | None = None,
        standard_header: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request; ``token=True`` uses this session's token, a string another one.

        ``version`` is sent as ``X-OpenStack-Nova-API-Version`` (as Tempest does), and also
        as ``OpenStack-API-Version`` when ``standard_header`` is set.
        """
        sent = dict(headers or {})
        if token is True:
            sent["X-Auth-Token"] = self.token
        elif isinstance(token, str):
            sent["X-Auth-Token"] = token
        if version is not None:
            sent["X-OpenStack-Nova-API-Version"] = version
            if standard_header:
                sent["OpenStack-API-Version"] = f"compute {version}"
        return self.http.request(method, url, headers=sent, **kwargs)

    def compute(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(method, f"{self.compute_url}{path}", **kwargs)

    def identity(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(method, f"{self.account.auth_url}{path}", **kwargs)
