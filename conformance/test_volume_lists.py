"""Volume lists: Cinder's filters (name, status, metadata, bootable), sorting, ``limit``/
``marker``/``offset`` paging with ``volumes_links``, ``with_count``, the summary, which
filters a non-admin may use at which microversion, and tenant isolation."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tempest.lib.api_schema.response.volume import volumes as schema

from conformance.client import ApiSession
from conformance.schemas import validate
from conformance.volume_client import (  # noqa: F401
    VolumeFactory,
    cinder,
    fault,
    make_volume,
    unique,
)


def listed(session: ApiSession, query: str, version: str | None = None,
           detail: bool = True) -> dict[str, Any]:
    path = "/volumes/detail" if detail else "/volumes"
    response = cinder(session, "GET", f"{path}?{query}", version=version)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [v["id"] for v in body["volumes"]]


def test_filter_by_name_status_and_metadata(member: ApiSession,
                                            make_volume: VolumeFactory) -> None:  # noqa: F811
    tag = unique("meta")
    first = make_volume(metadata={"group": tag, "n": "1"})
    second = make_volume(metadata={"group": tag, "n": "2"})
    assert ids(listed(member, f"name={first['name']}")) == [first["id"]]
    assert ids(listed(member, f"name={first['name']}", detail=False)) == [first["id"]]
    by_meta = listed(member, "metadata=" + json.dumps({"group": tag}))
    assert set(ids(by_meta)) == {first["id"], second["id"]}
    both = json.dumps({"group": tag, "n": "2"})
    assert ids(listed(member, f"metadata={both}")) == [second["id"]]
    available = ids(listed(member, f"status=available&name={first['name']}"))
    assert available == [first["id"]]
    assert listed(member, "status=nonsense")["volumes"] == []
    assert listed(member, "name=no-such-volume-name")["volumes"] == []


def test_filter_by_bootable(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    tag = unique("boot")
    plain = make_volume(metadata={"t": tag})
    boot = make_volume(metadata={"t": tag})
    cinder(member, "POST", f"/volumes/{boot['id']}/action",
           json={"os-set_bootable": {"bootable": "true"}})
    meta = "metadata=" + json.dumps({"t": tag})
    assert ids(listed(member, f"{meta}&bootable=true")) == [boot["id"]]
    assert ids(listed(member, f"{meta}&bootable=false")) == [plain["id"]]
    strict = cinder(member, "GET", f"/volumes?bootable=maybe&{meta}", version="3.2")
    assert fault(strict, 400, "badRequest") == "Invalid input received: 'bootable = maybe'"


def test_sort_and_page(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    tag = unique("page")
    made = [make_volume(name=f"{tag}-{i}", metadata={"p": tag}) for i in range(3)]
    meta = "metadata=" + json.dumps({"p": tag})
    by_name = ids(listed(member, f"{meta}&sort=name:asc"))
    assert by_name == [v["id"] for v in made]
    assert ids(listed(member, f"{meta}&sort_key=name&sort_dir=desc")) == by_name[::-1]
    newest_first = ids(listed(member, meta))
    assert newest_first == by_name[::-1], "created_at desc by default"
    page = validate(cinder(member, "GET", f"/volumes?{meta}&sort=name:asc&limit=2"),
                    schema.list_volumes_no_detail)
    assert ids(page) == by_name[:2]
    (link,) = page["volumes_links"]
    assert link["rel"] == "next"
    query = parse_qs(urlsplit(link["href"]).query)
    assert query["marker"] == [by_name[1]] and query["limit"] == ["2"]
    following = member.request("GET", link["href"]).json()
    assert ids(following) == by_name[2:]
    assert "volumes_links" not in following
    assert ids(listed(member, f"{meta}&sort=name:asc&offset=1&limit=1")) == by_name[1:2]
    both = cinder(member, "GET", "/volumes?sort=name&sort_key=name")
    assert "cannot be used with the 'sort' parameter" in fault(both, 400, "badRequest")
    wrong_dir = cinder(member, "GET", "/volumes?sort=name:up")
    assert fault(wrong_dir, 400, "badRequest") == \
        "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'."
    wrong_key = cinder(member, "GET", "/volumes?sort=nonsense")
    assert fault(wrong_key, 400, "badRequest") == "Invalid input received: Invalid sort key"
    assert fault(cinder(member, "GET", "/volumes?limit=-1"), 400, "badRequest") == \
        "limit param must be positive"
    missing = cinder(member, "GET", "/volumes?marker=a3a0e2b1-9f1e-4b41-8a3a-2b1f0f0c1d2e")
    fault(missing, 404, "itemNotFound")


def test_with_count_from_3_45(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    tag = unique("count")
    for _ in range(2):
        make_volume(metadata={"c": tag})
    meta = "metadata=" + json.dumps({"c": tag})
    counted = listed(member, f"{meta}&with_count=true&limit=1", version="3.45")
    assert counted["count"] == 2 and len(counted["volumes"]) == 1
    older = listed(member, f"{meta}&with_count=true", version="3.44")
    assert "count" not in older


def test_summary_from_3_12(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    make_volume(size=2, metadata={"summary": "yes"})
    fault(cinder(member, "GET", "/volumes/summary", version="3.11"), 404, "itemNotFound")
    summary = validate(cinder(member, "GET", "/volumes/summary", version="3.12"),
                       schema.show_volume_summary)["volume-summary"]
    assert summary["total_count"] >= 1 and summary["total_size"] >= 2
    assert "metadata" not in summary
    with_meta = cinder(member, "GET", "/volumes/summary", version="3.36").json()
    assert "yes" in with_meta["volume-summary"]["metadata"]["summary"]


def test_unknown_filters_are_a_400_for_members_from_3_31(member: ApiSession) -> None:
    assert cinder(member, "GET", "/volumes?host=x").status_code == 200
    new = cinder(member, "GET", "/volumes?host=x", version="3.31")
    assert fault(new, 400, "badRequest") == "Invalid filters host are found in query options."
    ignored = cinder(member, "GET", "/volumes?all_tenants=1", version="3.31")
    assert ignored.status_code == 200


# -- tenant isolation ---------------------------------------------------------------------


def test_another_projects_volume_is_not_found(member: ApiSession, alt: ApiSession,
                                              make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume()
    path = f"/volumes/{volume['id']}"
    message = f"Volume {volume['id']} could not be found."
    assert fault(cinder(alt, "GET", path), 404, "itemNotFound") == message
    assert fault(cinder(alt, "DELETE", path), 404, "itemNotFound") == message
    update = cinder(alt, "PUT", path, json={"volume": {"name": "stolen"}})
    assert fault(update, 404, "itemNotFound") == message
    extend = cinder(alt, "POST", f"{path}/action", json={"os-extend": {"new_size": 2}})
    fault(extend, 404, "itemNotFound")
    assert volume["id"] not in ids(listed(alt, "all_tenants=1"))
    assert cinder(member, "GET", path).json()["volume"]["name"] == volume["name"]


def test_admins_see_every_project_with_all_tenants(admin: ApiSession,
                                                   make_volume: VolumeFactory  # noqa: F811
                                                   ) -> None:
    volume = make_volume()
    assert volume["id"] not in ids(listed(admin, ""))
    everyone = listed(admin, "all_tenants=1")
    assert volume["id"] in ids(everyone)
    shown = cinder(admin, "GET", f"/volumes/{volume['id']}")
    assert shown.status_code == 200


def test_time_comparison_filters_from_3_60(member: ApiSession,
                                           make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume(metadata={"when": unique("t")})
    meta = "metadata=" + json.dumps(volume["metadata"])
    created = volume["created_at"]
    after = listed(member, f"{meta}&created_at=gte:{created}", version="3.60")
    assert ids(after) == [volume["id"]]
    future = listed(member, f"{meta}&created_at=gt:2999-01-01T00:00:00", version="3.60")
    assert future["volumes"] == []
    past_or_future = listed(member, f"{meta}&created_at=lt:2000-01-01T00:00:00,"
                                    "gt:2001-01-01T00:00:00", version="3.60")
    assert ids(past_or_future) == [volume["id"]], "Cinder ORs the terms"
    bad_op = cinder(member, "GET", "/volumes?created_at=after:2000-01-01", version="3.60")
    assert fault(bad_op, 400, "badRequest") == "Invalid after operator"
    bad_time = cinder(member, "GET", "/volumes?created_at=gt:yesterday", version="3.60")
    assert fault(bad_time, 400, "badRequest") == "Invalid yesterday value"
