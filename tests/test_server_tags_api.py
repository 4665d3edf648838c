"""Server tags through the whole API, in process: a non-ASCII tag gets a percent-encoded
``Location``; a tag with a control character is a 400 and is not stored (no 500, no
dropped connection). Emulator-only: Nova's own pattern lets control characters through."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from emulator.api.app import build_app
from emulator.config import Config

_AUTH = {"auth": {
    "identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"name": "Default"}, "password": "demo"}}},
    "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}},
}}
#: Path segment as sent -> the tag it names.
BAD = {"a%0Ab": "a\nb", "a%0D%0AX-Injected:%201": "a\r\nX-Injected: 1", "nul%00": "nul\x00"}


async def _tag_calls() -> dict[str, Any]:
    transport = httpx.ASGITransport(app=build_app(Config()))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        token = (await client.post("/identity/v3/auth/tokens", json=_AUTH)).headers[
            "X-Subject-Token"]
        headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.52"}
        image = (await client.get("/image/v2/images", headers=headers)).json()["images"][0]
        created = await client.post("/compute/v2.1/servers", headers=headers, json={
            "server": {"name": "tagged", "flavorRef": "1", "imageRef": image["id"],
                       "networks": "none"}})
        server = f"/compute/v2.1/servers/{created.json()['server']['id']}"
        for _ in range(200):  # the build runs in the background (immediate stages)
            status = (await client.get(server, headers=headers)).json()["server"]["status"]
            if status != "BUILD":
                break
            await asyncio.sleep(0.01)
        found: dict[str, Any] = {"status": status}
        found["unicode"] = await client.put(f"{server}/tags/日", headers=headers)
        for segment in BAD:
            found[segment] = await client.put(f"{server}/tags/{segment}", headers=headers)
        found["all"] = await client.put(f"{server}/tags", headers=headers,
                                        json={"tags": ["fine", "x\ny"]})
        found["tags"] = (await client.get(f"{server}/tags", headers=headers)).json()
        found["server"] = server
        return found


def test_tags_with_unsafe_characters() -> None:
    found = asyncio.run(_tag_calls())
    assert found["status"] == "ACTIVE"
    unicode = found["unicode"]
    assert unicode.status_code == 201
    assert unicode.headers["location"] == f"http://emulator{found['server']}/tags/%E6%97%A5"
    for segment, tag in BAD.items():
        refused = found[segment]
        assert refused.status_code == 400, segment
        assert refused.json()["badRequest"]["message"] == (
            f"Tag '{tag}' is invalid. It must be a non empty string without characters '/' "
            f"and ','. Validation error message: {tag!r} contains a control character")
    assert found["all"].status_code == 400
    assert found["tags"] == {"tags": ["日"]}
