"""Servers API schemas: the version table, and Nova's 400 messages for typical mistakes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
import pytest

from emulator.api.compute.schemas import SCHEMAS, kept_query, schema_for
from emulator.api.compute.schemas.parameter_types import MAX_TAG_COUNT
from emulator.api.compute.schemas.servers import SERVER_LIST_IGNORED_SORT_KEYS
from emulator.api.faults import Fault
from emulator.api.formats import FORMAT_CHECKER, parse_isotime
from emulator.api.microversion import APIVersion
from emulator.api.requests import validate_body, validate_query

UUID = "9b2b3f6a-4f6e-4b8e-9d4c-0c4a2b0e6f11"
NAME_RULE = ("An invalid 'name' value was provided. The name must be: printable characters. "
             "Can not start or end with whitespace.")


def v(text: str) -> APIVersion:
    return APIVersion.parse(text)


def schema(name: str, version: str) -> Mapping[str, Any]:
    found = schema_for(name, v(version))
    assert found is not None, f"{name} has no schema at {version}"
    return found


def body_error(name: str, version: str, body: Any) -> str | None:
    """The 400 message for ``body``, or None when it is valid."""
    try:
        validate_body(schema(name, version), body)
    except Fault as fault:
        assert fault.status == 400
        return fault.message
    return None


def query_error(name: str, version: str, query: dict[str, list[str]]) -> str | None:
    try:
        validate_query(schema(name, version), query)
    except Fault as fault:
        assert fault.status == 400
        return fault.message
    return None


def server(**fields: Any) -> dict[str, Any]:
    """A create body: name and flavor plus ``fields`` (``networks`` only when given)."""
    return {"server": {"name": "vm", "flavorRef": "1", **fields}}


def create_error(version: str, **fields: Any) -> str | None:
    """Create at ``version``; from 2.37 ``networks`` defaults to "none" unless given."""
    if v(version) >= v("2.37"):
        fields.setdefault("networks", "none")
    return body_error("create", version, server(**fields))


def unexpected(body: dict[str, Any], key: str) -> str:
    """Nova's message for an unknown property of the ``server`` object."""
    return (f"Invalid input for field/attribute server. Value: {body['server']}. "
            f"Additional properties are not allowed ('{key}' was unexpected)")


# -- the table ----------------------------------------------------------------------------


def test_every_schema_is_a_valid_draft4_schema() -> None:
    for name, entries in SCHEMAS.items():
        for since, entry in entries:
            jsonschema.Draft4Validator.check_schema(entry)
            assert since >= v("2.1"), name


def test_versions_ascend_and_schema_for_picks_the_newest_not_above() -> None:
    for name, entries in SCHEMAS.items():
        versions = [since for since, _ in entries]
        assert versions == sorted(set(versions)), name
        for index, (since, entry) in enumerate(entries):
            assert schema_for(name, since) is entry
            if index + 1 < len(entries):
                before_next = APIVersion(2, entries[index + 1][0].minor - 1)
                assert schema_for(name, before_next) is entry


def test_operations_that_did_not_exist_yet_have_no_schema() -> None:
    assert schema_for("trigger_crash_dump", v("2.16")) is None
    assert schema_for("trigger_crash_dump", v("2.17")) is not None
    for name in ("tags_update", "tags_update_all", "tags_index_query", "tags_show_query"):
        assert schema_for(name, v("2.25")) is None
        assert schema_for(name, v("2.26")) is not None
    assert schema_for("create", v("2.0")) is None
    with pytest.raises(KeyError):
        schema_for("no_such_operation", v("2.1"))


def test_the_table_names_nova_version_windows() -> None:
    windows = {name: [str(since) for since, _ in entries] for name, entries in SCHEMAS.items()}
    assert windows["create"] == ["2.1", "2.19", "2.32", "2.33", "2.37", "2.42", "2.52",
                                 "2.57", "2.63", "2.67", "2.74", "2.90", "2.94"]
    assert windows["update"] == ["2.1", "2.19", "2.90", "2.94", "2.104"]
    assert windows["rebuild"] == ["2.1", "2.19", "2.54", "2.57", "2.63", "2.90", "2.94"]
    assert windows["index_query"] == ["2.1", "2.26", "2.66", "2.73", "2.75"]
    assert SCHEMAS["detail_query"] == SCHEMAS["index_query"]
    assert windows["instance_actions_index_query"] == ["2.1", "2.58", "2.66"]
    for name in ("show_query", "metadata_index_query", "metadata_show_query",
                 "ips_index_query", "ips_show_query", "instance_actions_show_query"):
        assert windows[name] == ["2.1", "2.102"], name


def test_derived_schemas_leave_their_bases_alone() -> None:
    v21 = schema("create", "2.1")["properties"]["server"]
    assert "description" not in v21["properties"]
    assert v21["required"] == ["name", "flavorRef"]
    assert "tag" not in v21["properties"]["block_device_mapping_v2"]["items"]["properties"]
    assert "personality" in schema("create", "2.56")["properties"]["server"]["properties"]


# -- POST /servers ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.1", "2.19", "2.36", "2.37", "2.57", "2.74", "2.94",
                                     "2.104"])
def test_minimal_create_is_valid(version: str) -> None:
    assert create_error(version) is None


def test_a_full_create_body_at_the_latest_version_is_valid() -> None:
    body = {
        "server": {
            "name": "web-1", "imageRef": UUID, "flavorRef": "http://nova/flavors/42",
            "adminPass": "", "metadata": {"role": "web", "a:b.c d_e-f": ""},
            "networks": [{"uuid": UUID, "tag": "nic1"}, {"port": UUID},
                         {"uuid": UUID, "fixed_ip": "2001:db8::1"}],
            "OS-DCF:diskConfig": "AUTO", "accessIPv4": "192.0.2.1",
            "accessIPv6": "2001:db8::2", "availability_zone": "nova:host1",
            "block_device_mapping_v2": [{
                "boot_index": "0", "uuid": UUID, "source_type": "image",
                "destination_type": "volume", "volume_size": "10", "tag": "root",
                "volume_type": None, "delete_on_termination": "yes",
            }],
            "config_drive": True, "key_name": "key", "min_count": "1", "max_count": 3,
            "return_reservation_id": "false", "security_groups": [{"name": "default"}],
            "user_data": "IyEvYmluL3NoCmVjaG8gaGkK", "description": None,
            "tags": ["a", "b"], "trusted_image_certificates": ["c1", "c2"],
            "host": "compute-1.example.org", "hypervisor_hostname": "node_1",
            "hostname": "web-1.example.org",
        },
        "os:scheduler_hints": {"group": UUID, "same_host": [UUID], "different_host": UUID,
                               "query": '[">=", "$free_ram_mb", 1024]', "cidr": "/24",
                               "build_near_host_ip": "192.0.2.9", "anything": {"goes": 1}},
    }
    assert body_error("create", "2.94", body) is None


def test_missing_flavor_ref() -> None:
    assert body_error("create", "2.1", {"server": {"name": "vm"}}) == (
        "Invalid input for field/attribute server. Value: {'name': 'vm'}. "
        "'flavorRef' is a required property")


def test_missing_server() -> None:
    assert body_error("create", "2.1", {}) == "'server' is a required property"
    assert body_error("create", "2.1", None) == "None is not of type 'object'"


@pytest.mark.parametrize("ref", ["abc", f"http://glance/v2/images/{UUID}", " ", UUID + "0"])
def test_image_ref_must_be_a_uuid(ref: str) -> None:
    # NOTE: Nova takes no image href here (only flavorRef may be one).
    assert create_error("2.1", imageRef=ref) == (
        f"Invalid input for field/attribute imageRef. Value: {ref}. "
        f"'{ref}' is not valid under any of the given schemas")


def test_image_ref_may_be_empty_or_an_upper_case_uuid() -> None:
    assert create_error("2.1", imageRef="") is None
    assert create_error("2.1", imageRef=UUID.upper()) is None
    assert create_error("2.1", imageRef=UUID.replace("-", "")) is None


def test_flavor_ref_type_and_length() -> None:
    assert create_error("2.1", flavorRef=7) is None
    assert create_error("2.1", flavorRef="") == (
        "Invalid input for field/attribute flavorRef. Value: . '' should be non-empty")
    assert create_error("2.1", flavorRef=None) == (
        "Invalid input for field/attribute flavorRef. Value: None. "
        "None is not of type 'string', 'integer'")


def test_name_too_long() -> None:
    long = "x" * 256
    assert create_error("2.1", name=long) == (
        f"Invalid input for field/attribute name. Value: {long}. '{long}' is too long")
    assert create_error("2.1", name="x" * 255) is None


def test_name_blank() -> None:
    assert create_error("2.1", name="") == (
        "Invalid input for field/attribute name. Value: . '' should be non-empty")
    assert create_error("2.1", name="   ") == NAME_RULE


@pytest.mark.parametrize("name", [" vm", "vm ", "\tvm", "v\x00m", "vm\u2028"])
def test_name_with_outer_whitespace_or_control_characters(name: str) -> None:
    assert create_error("2.1", name=name) == NAME_RULE


def test_name_rule_applies_to_key_name_az_and_security_groups() -> None:
    assert create_error("2.1", key_name=" k") == NAME_RULE
    assert create_error("2.1", availability_zone="az ") == NAME_RULE
    assert create_error("2.1", security_groups=[{"name": " sg"}]) == NAME_RULE
    assert create_error("2.1", security_groups=[{"name": "sg", "id": 1}]) == (
        "Invalid input for field/attribute 0. Value: {'name': 'sg', 'id': 1}. "
        "Additional properties are not allowed ('id' was unexpected)")


def test_metadata_value_too_long() -> None:
    long = "v" * 256
    assert create_error("2.1", metadata={"k": long}) == (
        f"Invalid input for field/attribute k. Value: {long}. '{long}' is too long")
    assert create_error("2.1", metadata={"k": "v" * 255}) is None


def test_metadata_keys_and_value_types() -> None:
    assert create_error("2.1", metadata={"k/x": "v"}) == (
        "Invalid input for field/attribute metadata. Value: {'k/x': 'v'}. "
        "'k/x' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'")
    assert create_error("2.1", metadata={"k": 1}) == (
        "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'")
    assert create_error("2.1", metadata={"k" * 256: "v"}) is not None


@pytest.mark.parametrize("data", ["abc$", "not base64!", "QUJDQ", "QQ", "é"])
def test_user_data_must_be_base64(data: str) -> None:
    assert create_error("2.1", user_data=data) == (
        f"Invalid input for field/attribute user_data. Value: {data}. "
        f"'{data}' is not a 'base64'")


@pytest.mark.parametrize("data", ["", "QUJD", "QUI=", "QUJD\nQUJD", "abcd$", "QUJD=", "=",
                                  "%%%"])
def test_user_data_base64_is_decoded_leniently(data: str) -> None:
    assert create_error("2.1", user_data=data) is None


def test_user_data_size_limit() -> None:
    assert create_error("2.1", user_data="QUJD" * 16383) is None  # 65532 characters
    too_big = "QUJD" * 16384  # 65536
    assert create_error("2.1", user_data=too_big) == (
        f"Invalid input for field/attribute user_data. Value: {too_big}. "
        f"'{too_big}' is too long")


def test_user_data_null_is_refused_at_create() -> None:
    assert create_error("2.1", user_data=None) == (
        "Invalid input for field/attribute user_data. Value: None. "
        "None is not of type 'string'")


@pytest.mark.parametrize(("field", "value", "fmt"), [
    ("accessIPv4", "1.2.3", "ipv4"), ("accessIPv4", "256.1.1.1", "ipv4"),
    ("accessIPv4", "2001:db8::1", "ipv4"), ("accessIPv6", "::g", "ipv6"),
    ("accessIPv6", "192.0.2.1", "ipv6"), ("accessIPv6", "fe80::1%eth0", "ipv6"),
])
def test_invalid_access_ips(field: str, value: str, fmt: str) -> None:
    assert create_error("2.1", **{field: value}) == (
        f"Invalid input for field/attribute {field}. Value: {value}. "
        f"'{value}' is not a '{fmt}'")


def test_valid_access_ips() -> None:
    assert create_error("2.1", accessIPv4="10.0.0.1", accessIPv6="::1") is None


def test_networks_optional_until_2_36_required_from_2_37() -> None:
    assert body_error("create", "2.36", server()) is None
    assert body_error("create", "2.37", server()) == (
        "Invalid input for field/attribute server. Value: {'name': 'vm', 'flavorRef': '1'}. "
        "'networks' is a required property")


def test_networks_auto_and_none_from_2_37() -> None:
    assert create_error("2.36", networks="auto") == (
        "Invalid input for field/attribute networks. Value: auto. "
        "'auto' is not of type 'array'")
    assert create_error("2.37", networks="auto") is None
    assert create_error("2.37", networks="none") is None
    assert create_error("2.37", networks="all") == (
        "Invalid input for field/attribute networks. Value: all. "
        "'all' is not valid under any of the given schemas")


def test_network_uuid_must_be_a_uuid_from_2_37() -> None:
    assert create_error("2.36", networks=[{"uuid": "net-1"}]) is None
    assert create_error("2.37", networks=[{"uuid": "net-1"}]) == (
        "Invalid input for field/attribute networks. Value: [{'uuid': 'net-1'}]. "
        "[{'uuid': 'net-1'}] is not valid under any of the given schemas")
    assert create_error("2.37", networks=[{"uuid": UUID}]) is None


def test_network_port_and_fixed_ip_formats() -> None:
    assert create_error("2.1", networks=[{"port": "p"}]) == (
        "Invalid input for field/attribute port. Value: p. 'p' is not a 'uuid'")
    assert create_error("2.1", networks=[{"port": None}]) is None
    assert create_error("2.1", networks=[{"fixed_ip": "10.0.0"}]) == (
        "Invalid input for field/attribute fixed_ip. Value: 10.0.0. "
        "'10.0.0' is not valid under any of the given schemas")


@pytest.mark.parametrize(("version", "network_tag", "bdm_tag"), [
    ("2.31", False, False), ("2.32", True, True), ("2.33", True, False),
    ("2.36", True, False), ("2.37", False, False), ("2.41", False, False),
    ("2.42", True, True), ("2.94", True, True),
])
def test_device_tags(version: str, network_tag: bool, bdm_tag: bool) -> None:
    network = [{"uuid": UUID, "tag": "t"}]
    bdm = [{"uuid": UUID, "source_type": "image", "tag": "t"}]
    assert (create_error(version, networks=network) is None) == network_tag
    assert (create_error(version, block_device_mapping_v2=bdm) is None) == bdm_tag


def test_bdm_fields() -> None:
    bdm = {"source_type": "volume", "uuid": UUID, "boot_index": None, "device_name": "vda"}
    assert create_error("2.1", block_device_mapping_v2=[bdm]) is None
    assert create_error("2.1", block_device_mapping_v2=[{**bdm, "boot_index": "x"}]) == (
        "Invalid input for field/attribute boot_index. Value: x. "
        "'x' does not match '^-?[0-9]+$'")
    assert create_error("2.1", block_device_mapping_v2=[{**bdm, "source_type": "nfs"}]) == (
        "Invalid input for field/attribute source_type. Value: nfs. "
        "'nfs' is not one of ['volume', 'image', 'snapshot', 'blank']")
    assert create_error("2.1", block_device_mapping_v2=[{**bdm, "device_name": "v da"}]) == (
        "Invalid input for field/attribute device_name. Value: v da. "
        "'v da' does not match '^[a-zA-Z0-9._/-]*$'")
    assert create_error("2.1", block_device_mapping_v2=[{**bdm, "volume_size": 0}]) == (
        "Invalid input for field/attribute volume_size. Value: 0. "
        "0 is less than the minimum of 1")
    assert create_error("2.66", block_device_mapping_v2=[{**bdm, "volume_type": "ssd"}]) == (
        "Invalid input for field/attribute 0. Value: "
        f"{ {**bdm, 'volume_type': 'ssd'} }. "
        "Additional properties are not allowed ('volume_type' was unexpected)")
    assert create_error("2.67", block_device_mapping_v2=[{**bdm, "volume_type": "ssd"}]) is None


def test_legacy_bdm() -> None:
    legacy = {"volume_id": UUID, "device_name": "vda", "delete_on_termination": "0"}
    assert create_error("2.1", block_device_mapping=[legacy]) is None
    assert create_error("2.1", block_device_mapping=[{**legacy, "uuid": UUID}]) is not None
    assert create_error("2.1", block_device_mapping=[{"volume_id": "v"}]) == (
        "Invalid input for field/attribute volume_id. Value: v. 'v' is not a 'uuid'")


def test_min_count_above_max_count_passes_the_schema() -> None:
    # NOTE: Nova's handler answers 400 "min_count must be <= max_count" for this.
    assert create_error("2.1", min_count=3, max_count=1) is None
    assert create_error("2.1", min_count="3", max_count="1") is None


def test_counts_must_be_positive_integers() -> None:
    assert create_error("2.1", min_count=0) == (
        "Invalid input for field/attribute min_count. Value: 0. "
        "0 is less than the minimum of 1")
    assert create_error("2.1", max_count="-1") == (
        "Invalid input for field/attribute max_count. Value: -1. "
        "'-1' does not match '^[0-9]*$'")
    assert create_error("2.1", min_count="") == (
        "Invalid input for field/attribute min_count. Value: . '' should be non-empty")


@pytest.mark.parametrize("field", ["config_drive", "return_reservation_id"])
def test_boolean_like_fields(field: str) -> None:
    assert create_error("2.1", **{field: "On"}) is None
    assert create_error("2.1", **{field: "maybe"}) is not None


def test_disk_config_enum() -> None:
    assert create_error("2.1", **{"OS-DCF:diskConfig": "auto"}) == (
        "Invalid input for field/attribute OS-DCF:diskConfig. Value: auto. "
        "'auto' is not one of ['AUTO', 'MANUAL']")


def test_tags_refused_at_2_51_accepted_at_2_52() -> None:
    body = server(networks="none", tags=["a"])
    assert body_error("create", "2.51", body) == unexpected(body, "tags")
    assert body_error("create", "2.52", body) is None


def test_tag_rules_at_create() -> None:
    assert create_error("2.52", tags=["a,b"]) == (
        "Invalid input for field/attribute 0. Value: a,b. 'a,b' does not match '^[^,/]*$'")
    assert create_error("2.52", tags=["x" * 61]) is not None
    assert create_error("2.52", tags=["x" * 60]) is None
    assert create_error("2.52", tags=[str(i) for i in range(MAX_TAG_COUNT)]) is None
    assert create_error("2.52", tags=[str(i) for i in range(MAX_TAG_COUNT + 1)]) is not None


def test_hostname_refused_at_2_89_accepted_at_2_90() -> None:
    body = server(networks="none", hostname="web-1")
    assert body_error("create", "2.89", body) == unexpected(body, "hostname")
    assert body_error("create", "2.90", body) is None


def test_hostname_is_a_label_at_2_90_and_an_fqdn_from_2_94() -> None:
    assert create_error("2.90", hostname="web.example.org") == (
        "Invalid input for field/attribute hostname. Value: web.example.org. "
        "'web.example.org' does not match '^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$'")
    label = "a" * 64
    assert create_error("2.90", hostname=label) == (
        f"Invalid input for field/attribute hostname. Value: {label}. '{label}' is too long")
    assert create_error("2.90", hostname="a") is not None  # two characters at least
    assert create_error("2.94", hostname="web.example.org") is None
    assert create_error("2.94", hostname="a") is None
    assert create_error("2.94", hostname="bad host") is not None


def test_personality_until_2_56_refused_from_2_57() -> None:
    files = [{"path": "/etc/motd", "contents": "aGkK"}]
    assert create_error("2.56", personality=files) is None
    body = server(networks="none", personality=files)
    assert body_error("create", "2.57", body) == unexpected(body, "personality")
    assert create_error("2.1", personality=[{"path": "/x", "contents": "QUJDQ"}]) == (
        "Invalid input for field/attribute contents. Value: QUJDQ. 'QUJDQ' is not a 'base64'")


def test_description_from_2_19() -> None:
    body = server(description="d")
    assert body_error("create", "2.18", body) == unexpected(body, "description")
    assert create_error("2.19", description="d") is None
    assert create_error("2.19", description=None) is None
    assert create_error("2.19", description="x" * 256) is not None
    assert create_error("2.19", description="bad\x07") == (
        "Invalid input for field/attribute description. Value: bad\x07. "
        "'bad\\x07' is not a 'description'")


def test_trusted_certificates_from_2_63() -> None:
    assert create_error("2.62", trusted_image_certificates=["a"]) is not None
    assert create_error("2.63", trusted_image_certificates=["a"]) is None
    assert create_error("2.63", trusted_image_certificates=None) is None
    assert create_error("2.63", trusted_image_certificates=["a", "a"]) == (
        "Invalid input for field/attribute trusted_image_certificates. Value: ['a', 'a']. "
        "['a', 'a'] has non-unique elements")
    assert create_error("2.63", trusted_image_certificates=[]) is not None


def test_host_and_hypervisor_hostname_from_2_74() -> None:
    body = server(networks="none", host="compute1")
    assert body_error("create", "2.73", body) == unexpected(body, "host")
    assert create_error("2.74", host="compute1", hypervisor_hostname="node.1_a") is None
    assert create_error("2.74", host="") is not None


def test_unknown_property_refused() -> None:
    body = server(flavor="1")
    assert body_error("create", "2.1", body) == unexpected(body, "flavor")
    assert body_error("create", "2.1", {**server(), "extra": 1}) == (
        "Additional properties are not allowed ('extra' was unexpected)")


def test_scheduler_hints() -> None:
    for key in ("os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"):
        assert body_error("create", "2.1", {**server(), key: {"custom": [1]}}) is None
    assert body_error("create", "2.1", {**server(), "os:scheduler_hints": {"group": "g"}}) == (
        "Invalid input for field/attribute group. Value: g. "
        "'g' is not valid under any of the given schemas")
    assert body_error("create", "2.1", {**server(),
                                        "os:scheduler_hints": {"same_host": "not-a-uuid"}}) is None
    assert body_error("create", "2.1", {**server(),
                                        "os:scheduler_hints": {"cidr": "24"}}) == (
        "Invalid input for field/attribute cidr. Value: 24. '24' does not match '^/[0-9a-f.:]+$'")


# -- PUT /servers/{id} and the actions ------------------------------------------------------


def test_update_fields_per_version() -> None:
    assert body_error("update", "2.1", {"server": {}}) is None
    assert body_error("update", "2.1", {"server": {"name": " x"}}) == NAME_RULE
    assert body_error("update", "2.18", {"server": {"description": "d"}}) is not None
    assert body_error("update", "2.19", {"server": {"description": "d"}}) is None
    assert body_error("update", "2.89", {"server": {"hostname": "h1"}}) is not None
    assert body_error("update", "2.90", {"server": {"hostname": "h1"}}) is None
    assert body_error("update", "2.93", {"server": {"hostname": "h.example"}}) is not None
    assert body_error("update", "2.94", {"server": {"hostname": "h.example"}}) is None


def test_update_pinned_availability_zone_from_2_104() -> None:
    body = {"server": {"pinned_availability_zone": "az1"}}
    assert body_error("update", "2.103", body) == unexpected(body, "pinned_availability_zone")
    assert body_error("update", "2.104", body) is None
    assert body_error("update", "2.104", {"server": {"pinned_availability_zone": None}}) is None
    assert body_error("update", "2.104", {"server": {"pinned_availability_zone": ""}}) == (
        "Invalid input for field/attribute pinned_availability_zone. Value: . "
        "'' is not valid under any of the given schemas")


def test_rebuild_per_version() -> None:
    assert body_error("rebuild", "2.1", {"rebuild": {}}) == (
        "Invalid input for field/attribute rebuild. Value: {}. "
        "'imageRef' is a required property")
    assert body_error("rebuild", "2.1", {"rebuild": {"imageRef": ""}}) == (
        "Invalid input for field/attribute imageRef. Value: . '' is not a 'uuid'")
    image = {"imageRef": UUID}
    assert body_error("rebuild", "2.53", {"rebuild": {**image, "key_name": None}}) is not None
    assert body_error("rebuild", "2.54", {"rebuild": {**image, "key_name": None}}) is None
    assert body_error("rebuild", "2.56", {"rebuild": {**image, "user_data": None}}) is not None
    assert body_error("rebuild", "2.57", {"rebuild": {**image, "user_data": None}}) is None
    assert body_error("rebuild", "2.57", {"rebuild": {**image, "personality": []}}) is not None
    assert body_error("rebuild", "2.90", {"rebuild": {**image, "hostname": "h1"}}) is None


def test_simple_actions() -> None:
    assert body_error("reboot", "2.1", {"reboot": {"type": "Soft"}}) is None
    assert body_error("reboot", "2.1", {"reboot": {"type": "WARM"}}) == (
        "Invalid input for field/attribute type. Value: WARM. "
        "'WARM' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']")
    assert body_error("resize", "2.1", {"resize": {}}) is not None
    assert body_error("resize", "2.1", {"resize": {"flavorRef": 2}}) is None
    assert body_error("create_image", "2.1", {"createImage": {"name": "snap"}}) is None
    for name, key in (("confirm_resize", "confirmResize"), ("revert_resize", "revertResize"),
                      ("start", "os-start"), ("stop", "os-stop")):
        assert body_error(name, "2.1", {key: {"anything": 1}}) is None
        assert body_error(name, "2.1", {key: None, "x": 1}) is not None
    assert body_error("trigger_crash_dump", "2.17", {"trigger_crash_dump": None}) is None
    assert body_error("trigger_crash_dump", "2.17", {"trigger_crash_dump": {}}) == (
        "Invalid input for field/attribute trigger_crash_dump. Value: {}. "
        "{} is not of type 'null'")


# -- metadata, tags -----------------------------------------------------------------------


def test_metadata_bodies() -> None:
    assert body_error("metadata_create", "2.1", {"metadata": {"a": "1"}}) is None
    assert body_error("metadata_update_all", "2.1", {"metadata": {}}) is None
    assert body_error("metadata_create", "2.1", {"meta": {"a": "1"}}) is not None
    assert body_error("metadata_update", "2.1", {"meta": {"a": "1"}}) is None
    assert body_error("metadata_update", "2.1", {"meta": {"a": "1", "b": "2"}}) == (
        "Invalid input for field/attribute meta. Value: {'a': '1', 'b': '2'}. "
        "{'a': '1', 'b': '2'} has too many properties")
    assert body_error("metadata_update", "2.1", {"meta": {}}) == (
        "Invalid input for field/attribute meta. Value: {}. {} should be non-empty")
    long = "v" * 256
    assert body_error("metadata_update_all", "2.1", {"metadata": {"a": long}}) == (
        f"Invalid input for field/attribute a. Value: {long}. '{long}' is too long")


def test_tag_bodies() -> None:
    assert body_error("tags_update", "2.26", None) is None
    assert body_error("tags_update", "2.26", {}) == "{} is not of type 'null'"
    assert body_error("tags_update_all", "2.26", {"tags": []}) is None
    assert body_error("tags_update_all", "2.26", {"tags": ["a/b"]}) == (
        "Invalid input for field/attribute 0. Value: a/b. 'a/b' does not match '^[^,/]*$'")
    assert body_error("tags_update_all", "2.26", {"tags": [""]}) == (
        "Invalid input for field/attribute 0. Value: . '' should be non-empty")
    too_many = [str(i) for i in range(MAX_TAG_COUNT + 1)]
    assert body_error("tags_update_all", "2.26", {"tags": too_many}) == (
        f"Invalid input for field/attribute tags. Value: {too_many}. {too_many} is too long")


# -- GET /servers, /servers/detail --------------------------------------------------------


@pytest.mark.parametrize("name", ["index_query", "detail_query"])
@pytest.mark.parametrize("version", ["2.1", "2.75", "2.104"])
def test_bad_limit(name: str, version: str) -> None:
    assert query_error(name, version, {"limit": ["-1"]}) == (
        "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'")
    assert query_error(name, version, {"limit": ["abc"]}) == (
        "Invalid input for query parameters limit. Value: abc. "
        "'abc' does not match '^[0-9]*$'")
    assert query_error(name, version, {"limit": [""]}) == (
        "Invalid input for query parameters limit. Value: . '' should be non-empty")
    assert query_error(name, version, {"limit": ["0"], "marker": [UUID]}) is None


def test_bad_changes_since() -> None:
    assert query_error("detail_query", "2.1", {"changes-since": ["notadate"]}) == (
        "Invalid input for query parameters changes-since. Value: notadate. "
        "'notadate' is not a 'date-time'")


@pytest.mark.parametrize("stamp", ["2024-05-01T10:20:30Z", "2024-05-01T10:20:30.123456+02:00",
                                   "2024-05-01", "2024", "20240501T102030", "2024-05-01 10:20"])
def test_good_changes_since(stamp: str) -> None:
    assert query_error("detail_query", "2.1", {"changes-since": [stamp]}) is None


def test_changes_before_from_2_66() -> None:
    # Unknown before 2.66, so not checked (and dropped by the handler).
    assert query_error("detail_query", "2.65", {"changes-before": ["notadate"]}) is None
    assert query_error("detail_query", "2.66", {"changes-before": ["notadate"]}) == (
        "Invalid input for query parameters changes-before. Value: notadate. "
        "'notadate' is not a 'date-time'")


@pytest.mark.parametrize("name", ["index_query", "detail_query"])
def test_unknown_query_parameter_ignored_at_2_74_refused_at_2_75(name: str) -> None:
    assert query_error(name, "2.74", {"foo": ["1"]}) is None
    # The schema has patternProperties, so jsonschema words it this way.
    assert query_error(name, "2.75", {"foo": ["1"]}) == (
        "'foo' does not match any of the regexes: '^_'")
    assert query_error(name, "2.75", {"foo": ["1"], "bar": ["2"]}) == (
        "'bar', 'foo' do not match any of the regexes: '^_'")


def test_internal_and_joined_table_filters_pass_the_schema() -> None:
    query = {"_secret": ["1"], "metadata": ["x"], "pci_devices": ["y"]}
    assert query_error("detail_query", "2.1", query) is None
    assert query_error("detail_query", "2.75", query) is None


def test_kept_query_drops_unknown_parameters_only_while_they_are_tolerated() -> None:
    query = {"foo": ["1"], "name": ["a"], "_x": ["2"], "limit": ["3"]}
    assert kept_query(schema("detail_query", "2.74"), query) == {
        "name": ["a"], "_x": ["2"], "limit": ["3"]}
    assert kept_query(schema("detail_query", "2.1"), {"tags": ["t"]}) == {}
    assert kept_query(schema("detail_query", "2.26"), {"tags": ["t"]}) == {"tags": ["t"]}
    assert kept_query(schema("show_query", "2.1"), {"x": ["1"]}) == {}
    strict = {"name": ["a"]}
    assert kept_query(schema("detail_query", "2.75"), strict) == strict


def test_regex_filters_must_compile_and_not_be_empty() -> None:
    assert query_error("detail_query", "2.1", {"name": ["web-.*"]}) is None
    assert query_error("detail_query", "2.1", {"name": ["("]}) == (
        "Invalid input for query parameters name. Value: (. '(' is not a 'regex'")
    assert query_error("detail_query", "2.1", {"name": [""]}) == (
        "Invalid input for query parameters name. Value: . '' is not a 'regex'")
    # Plain string filters take anything, including the empty string.
    assert query_error("detail_query", "2.1", {"all_tenants": [""], "status": [""]}) is None


def test_tag_filters_from_2_26_and_locked_from_2_73() -> None:
    assert query_error("detail_query", "2.25", {"tags": ["("]}) is None  # unknown, ignored
    assert query_error("detail_query", "2.26", {"tags": ["("]}) is not None
    for name in ("tags", "tags-any", "not-tags", "not-tags-any"):
        assert query_error("detail_query", "2.75", {name: ["a,b"]}) is None
    assert query_error("detail_query", "2.75", {"locked": ["true"]}) is None
    assert kept_query(schema("detail_query", "2.72"), {"locked": ["true"]}) == {}


def test_sort_keys_per_version() -> None:
    for key in ("display_name", "created_at", "vcpus", "locked"):
        assert query_error("detail_query", "2.1", {"sort_key": [key]}) is None
        assert query_error("detail_query", "2.74", {"sort_key": [key]}) is None
    assert query_error("detail_query", "2.1", {"sort_key": ["bogus"]}) is not None
    assert query_error("detail_query", "2.75", {"sort_key": ["locked", "uuid"]}) is None
    for junk in SERVER_LIST_IGNORED_SORT_KEYS:
        if junk != "locked":
            message = query_error("detail_query", "2.75", {"sort_key": [junk]})
            assert message is not None
            assert message.startswith(
                f"Invalid input for query parameters sort_key. Value: {junk}. "
                f"'{junk}' is not one of ['access_ip_v4', ")


def test_show_query_tolerates_unknown_parameters_until_2_101() -> None:
    for name in ("show_query", "metadata_index_query", "metadata_show_query",
                 "ips_index_query", "ips_show_query", "instance_actions_show_query"):
        assert query_error(name, "2.101", {"x": ["1"]}) is None, name
        assert query_error(name, "2.102", {"x": ["1"]}) == (
            "Additional properties are not allowed ('x' was unexpected)"), name
        assert query_error(name, "2.102", {}) is None


def test_tag_queries_never_became_strict() -> None:
    assert query_error("tags_index_query", "2.104", {"x": ["1"]}) is None
    assert query_error("tags_show_query", "2.104", {"x": ["1"]}) is None


# -- GET /servers/{id}/os-instance-actions -------------------------------------------------


def test_instance_actions_query() -> None:
    name = "instance_actions_index_query"
    assert query_error(name, "2.57", {"limit": ["-1"], "x": ["y"]}) is None
    assert query_error(name, "2.58", {"limit": ["2"], "marker": ["req-1"]}) is None
    assert query_error(name, "2.58", {"limit": ["-1"]}) == (
        "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'")
    assert query_error(name, "2.58", {"limit": ["1", "2"]}) == (
        "Invalid input for query parameters limit. Value: ['1', '2']. "
        "['1', '2'] is too long")
    assert query_error(name, "2.58", {"changes-since": ["yesterday"]}) == (
        "Invalid input for query parameters changes-since. Value: yesterday. "
        "'yesterday' is not a 'date-time'")
    assert query_error(name, "2.58", {"changes-before": ["2024-01-01"]}) == (
        "Additional properties are not allowed ('changes-before' was unexpected)")
    assert query_error(name, "2.66", {"changes-before": ["2024-01-01"]}) is None
    assert query_error(name, "2.66", {"x": ["1"]}) == (
        "Additional properties are not allowed ('x' was unexpected)")


# -- formats added for these schemas -------------------------------------------------------


@pytest.mark.parametrize(("text", "valid"), [
    ("2024-05-01T10:20:30Z", True), ("2024-05-01T10:20:30,5-05:30", True),
    ("2024-5-1", True), ("2024-05", True), ("2024", True), ("20240501", True),
    ("202405", False), ("2024-13-01", False), ("2024-02-30", False),
    ("2024-05-01T24:00:00", False), ("2024-05-01T10:20:30+24:00", False),
    ("2024-05-01t10:20", False), ("0000-01-01", False), ("", False), ("24-05-01", False),
    ("\uff12\uff10\uff12\uff14", False),  # full-width digits
])
def test_date_time_format(text: str, valid: bool) -> None:
    assert FORMAT_CHECKER.conforms(text, "date-time") is valid


def test_parse_isotime_defaults_to_utc_and_keeps_offsets() -> None:
    assert parse_isotime("2024-05-01").isoformat() == "2024-05-01T00:00:00+00:00"
    assert parse_isotime("2024-05-01T10:20:30.5+0530").isoformat() == (
        "2024-05-01T10:20:30.500000+05:30")
    with pytest.raises(ValueError):
        parse_isotime("notadate")


@pytest.mark.parametrize(("text", "valid"), [
    (UUID, True), (UUID.upper(), True), (UUID.replace("-", ""), True), ("{" + UUID + "}", True),
    ("urn:uuid:" + UUID, True), ("+" + UUID.replace("-", "")[1:], False),
    (UUID.replace("-", "")[:-1] + "_1", False), (" " + UUID, False), (UUID[:-1], False),
])
def test_uuid_format_is_oslo_is_uuid_like(text: str, valid: bool) -> None:
    assert FORMAT_CHECKER.conforms(text, "uuid") is valid
