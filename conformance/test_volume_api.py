"""The block storage (Cinder v3) service as a whole: its place in the catalog, version
discovery, microversion negotiation, URLs with and without the project, Cinder's fault
body, volume types, availability zones, limits and quotas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tempest.lib.api_schema.response.volume import limits as limits_schema
from tempest.lib.api_schema.response.volume import quotas as quotas_schema
from tempest.lib.api_schema.response.volume import versions as versions_schema
from tempest.lib.api_schema.response.volume import volume_types as types_schema

from conformance.client import ApiSession
from conformance.schemas import validate
from conformance.volume_client import VolumeFactory, cinder, fault, make_volume  # noqa: F401


def root(session: ApiSession) -> str:
    """The service's root: the endpoint without ``/v3/<project>``."""
    return session.endpoint("block-storage").rsplit("/v3", 1)[0]


# -- catalog and discovery --------------------------------------------------------------------


def test_catalog_lists_block_storage_and_volumev3_with_the_project(member: ApiSession) -> None:
    endpoint = member.endpoint("block-storage")
    assert endpoint == member.endpoint("volumev3")
    assert endpoint.endswith(f"/v3/{member.project_id}")


def test_auth_catalog_substitutes_the_project(member: ApiSession) -> None:
    catalog = member.identity("GET", "/auth/catalog").json()["catalog"]
    urls = {e["url"] for s in catalog if s["type"] == "block-storage" for e in s["endpoints"]}
    assert urls == {member.endpoint("block-storage")}


def test_root_lists_v3_with_its_microversions(member: ApiSession, http: httpx.Client) -> None:
    response = http.get(f"{root(member)}/")
    body = validate(response, versions_schema.list_versions)
    (version,) = body["versions"]
    assert version["id"] == "v3.0" and version["status"] == "CURRENT"
    assert version["min_version"] == "3.0"
    assert tuple(int(x) for x in version["version"].split(".")) >= (3, 70)
    self_link = next(link for link in version["links"] if link["rel"] == "self")
    assert self_link["href"] == f"{root(member)}/v3/"


def test_v3_root_needs_a_token_and_shows_the_same_version(member: ApiSession,
                                                          http: httpx.Client) -> None:
    assert http.get(f"{root(member)}/v3/").status_code == 401
    response = member.request("GET", f"{root(member)}/v3/")
    assert response.status_code == 200
    assert response.json()["versions"][0]["id"] == "v3.0"


def test_the_api_needs_a_token(member: ApiSession) -> None:
    response = cinder(member, "GET", "/volumes", token=None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401


# -- microversions --------------------------------------------------------------------------


def test_the_version_is_echoed_and_defaults_to_3_0(member: ApiSession) -> None:
    response = cinder(member, "GET", "/volumes")
    assert response.headers["OpenStack-API-Version"] == "volume 3.0"
    assert "OpenStack-API-Version" in response.headers["Vary"]
    response = cinder(member, "GET", "/volumes", version="3.27")
    assert response.headers["OpenStack-API-Version"] == "volume 3.27"


def test_latest_is_the_maximum(member: ApiSession, http: httpx.Client) -> None:
    maximum = http.get(f"{root(member)}/").json()["versions"][0]["version"]
    response = cinder(member, "GET", "/volumes", version="latest")
    assert response.headers["OpenStack-API-Version"] == f"volume {maximum}"


def test_an_unknown_version_is_a_406_and_still_echoed(member: ApiSession) -> None:
    response = cinder(member, "GET", "/volumes", version="3.999")
    assert "3.999 is not supported" in fault(response, 406, "computeFault")
    assert response.headers["OpenStack-API-Version"] == "volume 3.999"


def test_a_malformed_version_is_a_400(member: ApiSession) -> None:
    response = cinder(member, "GET", "/volumes", version="3.x")
    assert "is of invalid format" in fault(response, 400, "badRequest")


def test_a_route_below_its_version_is_a_404(member: ApiSession) -> None:
    fault(cinder(member, "GET", "/attachments", version="3.26"), 404, "itemNotFound")
    assert cinder(member, "GET", "/attachments", version="3.27").status_code == 200


# -- URLs -----------------------------------------------------------------------------------


def test_the_project_in_the_url_is_optional(member: ApiSession) -> None:
    without = f"{root(member)}/v3/volumes"
    response = member.request("GET", without)
    assert response.status_code == 200
    assert "volumes" in response.json()


def test_another_project_in_the_url_is_a_400(member: ApiSession, alt: ApiSession) -> None:
    response = member.request("GET", f"{root(member)}/v3/{alt.project_id}/volumes")
    assert fault(response, 400, "badRequest") == "Malformed request url"


def test_an_unknown_path_is_a_404_and_another_method_too(member: ApiSession) -> None:
    fault(cinder(member, "GET", "/nothing-here"), 404, "itemNotFound")
    fault(cinder(member, "PATCH", "/volumes"), 404, "itemNotFound")


def test_a_body_of_another_media_type_is_a_415(member: ApiSession) -> None:
    response = cinder(member, "POST", "/volumes", content=b"size=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    fault(response, 415, "badMediaType")


def test_malformed_json_is_a_400(member: ApiSession) -> None:
    response = cinder(member, "POST", "/volumes", content=b"{nope",
                      headers={"Content-Type": "application/json"})
    assert fault(response, 400, "badRequest") == "Malformed request body"


# -- types and zones ------------------------------------------------------------------------


def test_the_one_volume_type(member: ApiSession) -> None:
    listed = validate(cinder(member, "GET", "/types"), types_schema.list_volume_types)
    (vtype,) = listed["volume_types"]
    assert vtype["name"] == "__DEFAULT__"
    assert vtype["is_public"] is True
    assert vtype["description"] == "Default Volume Type"
    shown = validate(cinder(member, "GET", f"/types/{vtype['id']}"),
                     types_schema.show_volume_type)
    assert shown["volume_type"] == vtype
    default = cinder(member, "GET", "/types/default").json()["volume_type"]
    assert default["id"] == vtype["id"]
    assert "qos_specs_id" not in vtype


def test_admins_see_the_qos_specs_id(admin: ApiSession) -> None:
    (vtype,) = cinder(admin, "GET", "/types").json()["volume_types"]
    assert vtype["qos_specs_id"] is None


def test_an_unknown_type_is_a_404(member: ApiSession) -> None:
    message = fault(cinder(member, "GET", "/types/__DEFAULT__"), 404, "itemNotFound")
    assert message == "Volume type __DEFAULT__ could not be found."


def test_availability_zones(member: ApiSession) -> None:
    response = cinder(member, "GET", "/os-availability-zone")
    assert response.status_code == 200
    zones = response.json()["availabilityZoneInfo"]
    assert {"zoneName": "nova", "zoneState": {"available": True}} in zones


# -- limits and quotas -----------------------------------------------------------------------


def absolute(session: ApiSession) -> dict[str, Any]:
    body = validate(cinder(session, "GET", "/limits"), limits_schema.show_limits)
    assert body["limits"]["rate"] == []
    limits: dict[str, Any] = body["limits"]["absolute"]
    return limits


def test_limits_count_volumes_and_gigabytes(member: ApiSession,
                                            make_volume: VolumeFactory) -> None:  # noqa: F811
    before = absolute(member)
    assert before["maxTotalVolumes"] == 10 and before["maxTotalVolumeGigabytes"] == 1000
    make_volume(size=3)
    after = absolute(member)
    assert after["totalVolumesUsed"] == before["totalVolumesUsed"] + 1
    assert after["totalGigabytesUsed"] == before["totalGigabytesUsed"] + 3


def test_quota_set_show_defaults_and_usage(member: ApiSession,
                                           make_volume: VolumeFactory) -> None:  # noqa: F811
    project = member.project_id
    shown = validate(cinder(member, "GET", f"/os-quota-sets/{project}"),
                     quotas_schema.show_quota_set)["quota_set"]
    assert shown["id"] == project
    assert (shown["volumes"], shown["snapshots"], shown["gigabytes"]) == (10, 10, 1000)
    assert shown["volumes___DEFAULT__"] == -1
    defaults = validate(cinder(member, "GET", f"/os-quota-sets/{project}/defaults"),
                        quotas_schema.show_quota_set)["quota_set"]
    assert defaults["volumes"] == 10
    make_volume(size=2)
    usage = validate(cinder(member, "GET", f"/os-quota-sets/{project}?usage=true"),
                     quotas_schema.show_quota_set_usage)["quota_set"]
    assert usage["volumes"]["in_use"] >= 1 and usage["volumes"]["reserved"] == 0
    assert usage["gigabytes"]["in_use"] >= 2


def test_quotas_of_another_project_are_refused(member: ApiSession, alt: ApiSession) -> None:
    response = cinder(member, "GET", f"/os-quota-sets/{alt.project_id}")
    assert fault(response, 403, "forbidden") == \
        "Policy doesn't allow volume_extension:quotas:show to be performed."


def test_only_admins_update_quotas(member: ApiSession) -> None:
    response = cinder(member, "PUT", f"/os-quota-sets/{member.project_id}",
                      json={"quota_set": {"volumes": 20}})
    fault(response, 403, "forbidden")


@pytest.fixture
def alt_quota(admin: ApiSession, alt: ApiSession) -> Iterator[str]:
    """The alt project's quotas, set back to the defaults afterwards."""
    yield alt.project_id
    assert cinder(admin, "DELETE", f"/os-quota-sets/{alt.project_id}").status_code == 200


def test_quotas_are_enforced(admin: ApiSession, alt: ApiSession, alt_quota: str,
                             make_volume: VolumeFactory) -> None:  # noqa: F811
    updated = cinder(admin, "PUT", f"/os-quota-sets/{alt_quota}",
                     json={"quota_set": {"volumes": 1, "gigabytes": 5}})
    body = validate(updated, quotas_schema.update_quota_set)["quota_set"]
    assert (body["volumes"], body["gigabytes"]) == (1, 5)
    too_big = cinder(alt, "POST", "/volumes", json={"volume": {"size": 6}})
    message = fault(too_big, 413, "overLimit")
    assert message == ("VolumeSizeExceedsAvailableQuota: Requested volume or snapshot "
                       "exceeds allowed gigabytes quota. Requested 6G, quota is 5G and 0G "
                       "has been consumed.")
    assert too_big.json()["overLimit"]["retryAfter"] == "0"
    make_volume(session=alt, size=1)
    second = cinder(alt, "POST", "/volumes", json={"volume": {"size": 1}})
    assert fault(second, 413, "overLimit") == ("VolumeLimitExceeded: Maximum number of "
                                              "volumes allowed (1) exceeded for quota "
                                              "'volumes'.")
    listed = cinder(alt, "GET", "/volumes").json()["volumes"]
    assert len(listed) == 1, "nothing was half-created"


def test_a_quota_below_usage_or_unknown_is_a_400(admin: ApiSession, alt: ApiSession,
                                                 alt_quota: str,
                                                 make_volume: VolumeFactory  # noqa: F811
                                                 ) -> None:
    make_volume(session=alt, size=2)
    below = cinder(admin, "PUT", f"/os-quota-sets/{alt_quota}",
                   json={"quota_set": {"gigabytes": 1}})
    assert fault(below, 400, "badRequest") == (
        "Quota gigabytes limit must be equal or greater than existing resources. Current "
        "usage is 2 and the requested limit is 1.")
    unknown = cinder(admin, "PUT", f"/os-quota-sets/{alt_quota}",
                     json={"quota_set": {"floating_ips": 1}})
    assert fault(unknown, 400, "badRequest") == \
        "Invalid input received: Bad key(s) in quota set: floating_ips"


@pytest.mark.parametrize("body", [
    [], "volume", 1, None, {"volume": None}, {"volume": []}, {"volume": {"size": []}},
    {"volume": {"size": 1, "metadata": {"k": 1}}}, {"volume": {"size": 1, "name": 5}},
    {"volume": {"size": 1, "snapshot_id": "not-a-uuid"}},
    {"volume": {"size": 1, "imageRef": {"id": 1}}}, {"snapshot": {"volume_id": None}},
])
def test_garbage_bodies_are_400s_never_500s(member: ApiSession, body: object) -> None:
    for path in ("/volumes", "/snapshots", "/attachments"):
        response = cinder(member, "POST", path, json=body, version="3.44")
        assert 400 <= response.status_code < 500, (path, response.text)
        assert list(response.json()) in (["badRequest"], ["itemNotFound"])


@pytest.mark.parametrize("body", [[], {"os-extend": None}, {"os-extend": {"new_size": None}},
                                  {"os-retype": {}}, {"os-reset_status": None},
                                  {"os-attach": {"mountpoint": "/dev/vdb"}}, {"": {}}])
def test_garbage_actions_are_4xx(member: ApiSession, make_volume: VolumeFactory,  # noqa: F811
                                 body: object) -> None:
    volume = make_volume()
    response = cinder(member, "POST", f"/volumes/{volume['id']}/action", json=body)
    assert 400 <= response.status_code < 500, response.text
