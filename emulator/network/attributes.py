"""Attribute definitions as data, as ``neutron_lib.api.definitions`` writes them: each
attribute's name, whether a create (POST) or an update (PUT) may set it, its default, its
converter and validator, whether it is visible, a filter or a sort key, and who may set or
see it. The validators answer a message (or None) in neutron-lib's words; the converters
raise Neutron's ``InvalidInput``.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from emulator.network.errors import invalid_input

Converter = Callable[[Any], Any]
Validator = Callable[[Any], "str | None"]


class Unset(Enum):
    """neutron-lib's sentinels: an attribute with no default is required in a create;
    ``NOT_SPECIFIED`` (``ATTR_NOT_SPECIFIED``) lets the operation choose."""

    REQUIRED = "required"
    NOT_SPECIFIED = "not specified"


REQUIRED = Unset.REQUIRED
NOT_SPECIFIED = Unset.NOT_SPECIFIED


class Rule(Enum):
    """Who a policy rule on an attribute lets through (Neutron's default policies)."""

    ANYONE = "anyone"
    ADMIN = "admin_only"
    ADMIN_OR_NETWORK_OWNER = "admin_or_network_owner"


@dataclass(frozen=True)
class Attribute:
    name: str
    post: bool = False
    put: bool = False
    default: Any = REQUIRED
    convert: Converter | None = None
    validate: Validator | None = None
    visible: bool = True
    filter: bool = False
    sort: bool = False
    #: Who may set it in a create or an update (``create_<resource>:<name>``).
    set_by: Rule = Rule.ANYONE
    #: Who sees it in a response (``get_<resource>:<name>``).
    seen_by: Rule = Rule.ANYONE


def table(*attributes: Attribute) -> dict[str, Attribute]:
    """A resource's attribute map, by name."""
    return {a.name: a for a in attributes}


# -- converters (neutron_lib.api.converters) ---------------------------------------------------

_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})


def to_boolean(data: Any) -> bool:
    """oslo's ``bool_from_string(strict=True)``."""
    if isinstance(data, bool):
        return data
    text = str(data).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid_input(f"'{data}' cannot be converted to boolean")


def to_int(data: Any) -> int:
    try:
        return int(data)
    except (ValueError, TypeError):
        raise invalid_input(f"'{data}' is not an integer") from None


def none_to_empty_list(data: Any) -> Any:
    return [] if data is None else data


def canonical_ip(data: Any) -> Any:
    """An IPv6 address in its compressed form; anything else as it is."""
    if isinstance(data, str) and ":" in data:
        try:
            return str(ipaddress.IPv6Address(data))
        except ValueError:
            return data
    return data


def canonical_cidr(data: Any) -> Any:
    """``fe80:0::0/64`` -> ``fe80::/64`` (IPv4 unchanged); a non-CIDR is refused."""
    if not isinstance(data, str):
        return data
    address, slash, prefix = data.partition("/")
    if not slash:
        return data
    return f"{canonical_ip(address)}/{prefix}"


def sanitized_mac(data: Any) -> Any:
    """``FA-16-3E-00-00-01`` -> ``fa:16:3e:00:00:01``; a non-MAC as it is."""
    if isinstance(data, str) and _MAC.fullmatch(data):
        return ":".join(re.split(r"[:-]", data.lower()))
    return data


# -- validators (neutron_lib.api.validators) -----------------------------------------------


def is_uuid(data: Any) -> bool:
    """oslo's ``is_uuid_like``: any spelling ``uuid.UUID`` reads back to the same hex."""
    if not isinstance(data, str):
        return False
    try:
        parsed = uuid.UUID(data)
    except ValueError:
        return False
    spelled = data.lower().replace("urn:", "").replace("uuid:", "")
    return parsed.hex == spelled.strip("{}").replace("-", "")


def valid_uuid(data: Any) -> str | None:
    return None if is_uuid(data) else f"'{data}' is not a valid UUID"


def valid_uuid_or_none(data: Any) -> str | None:
    return None if data is None else valid_uuid(data)


def valid_string(max_len: int | None) -> Validator:
    def check(data: Any) -> str | None:
        if not isinstance(data, str):
            return f"'{data}' is not a valid string"
        if max_len is not None and len(data) > max_len:
            return f"'{data}' exceeds maximum length of {max_len}"
        return None

    return check


def valid_values(values: Sequence[Any]) -> Validator:
    def check(data: Any) -> str | None:
        return None if data in values else f"{data} is not in {list(values)}"

    return check


def valid_non_negative(data: Any) -> str | None:
    if not isinstance(data, int) or isinstance(data, bool):
        return f"'{data}' is not an integer"
    return None if data >= 0 else f"'{data}' should be non-negative"


def valid_ip_address(data: Any) -> str | None:
    if not isinstance(data, str) or data != data.strip() or not data:
        return f"'{data}' is not a valid IP address"
    try:
        address = ipaddress.ip_address(data)
    except ValueError:
        return f"'{data}' is not a valid IP address"
    if address.version == 4 and str(address) != data:
        return f"'{data}' is not an accepted IP address, '{address}' is recommended"
    return None


def valid_ip_address_or_none(data: Any) -> str | None:
    return None if data is None else valid_ip_address(data)


def valid_subnet(data: Any) -> str | None:
    """A CIDR (host bits allowed, as netaddr reads it)."""
    try:
        if not isinstance(data, str) or "/" not in data or data != data.strip():
            raise ValueError
        network = ipaddress.ip_network(data, strict=False)
        address = data.split("/", 1)[0]
        if network.version == 4 and str(ipaddress.ip_address(address)) != address:
            raise ValueError
    except ValueError:
        return f"'{data}' is not a valid IP subnet"
    return None


def valid_subnet_or_none(data: Any) -> str | None:
    return None if data is None else valid_subnet(data)


_MAC = re.compile(r"[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}")
#: Addresses a port may not have (neutron_lib.constants.INVALID_MAC_ADDRESSES).
INVALID_MACS = frozenset({"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"})


def valid_mac_address(data: Any) -> str | None:
    if not isinstance(data, str) or not _MAC.fullmatch(data) or \
            sanitized_mac(data) in INVALID_MACS:
        return f"'{data}' is not a valid MAC address"
    return None


def _dict_keys(expected: Sequence[str], data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"Invalid input. '{data}' must be a dictionary with keys: {list(expected)}"
    provided = set(data)
    if provided != set(expected):
        return (f"Validation of dictionary's keys failed. Expected keys: "
                f"{set(expected)} Provided keys: {provided}")
    return None


def valid_fixed_ips(data: Any) -> str | None:
    if not isinstance(data, list):
        return f"Invalid data format for fixed IP: '{data}'"
    seen: list[str] = []
    for fixed_ip in data:
        if not isinstance(fixed_ip, dict):
            return f"Invalid data format for fixed IP: '{fixed_ip}'"
        if "ip_address" in fixed_ip:
            address = fixed_ip["ip_address"]
            message = (f"Duplicate IP address '{address}'" if address in seen
                       else valid_ip_address(address))
            if message:
                return message
            seen.append(address)
        if "subnet_id" in fixed_ip:
            message = valid_uuid(fixed_ip["subnet_id"])
            if message:
                return message
    return None


def valid_ip_pools(data: Any) -> str | None:
    if not isinstance(data, list):
        return f"Invalid data format for IP pool: '{data}'"
    for pool in data:
        message = _dict_keys(("start", "end"), pool)
        if message:
            return message
        for key in ("start", "end"):
            message = valid_ip_address(pool[key])
            if message:
                return message
    return None


def valid_nameservers(data: Any) -> str | None:
    if not isinstance(data, list | tuple):
        return f"Invalid data format for nameserver: '{data}'"
    hosts: list[Any] = []
    for host in data:
        message = valid_ip_address(host)
        if message:
            return f"'{host}' is not a valid nameserver. {message}"
        if host in hosts:
            return f"Duplicate nameserver '{host}'"
        hosts.append(host)
    return None


def valid_route_cidr(data: Any) -> str | None:
    try:
        if not isinstance(data, str) or "/" not in data:
            raise ValueError
        network = ipaddress.ip_network(data, strict=True)
    except ValueError:
        return f"'{data}' is not a valid CIDR"
    if network.is_loopback:
        return f"'{data}' is not a routable CIDR"
    return None


def valid_hostroutes(data: Any) -> str | None:
    if not isinstance(data, list):
        return f"Invalid data format for hostroute: '{data}'"
    routes: list[Any] = []
    for route in data:
        message = (_dict_keys(("destination", "nexthop"), route)
                   or valid_route_cidr(route["destination"])
                   or valid_ip_address(route["nexthop"]))
        if message:
            return message
        if route in routes:
            return f"Duplicate hostroute '{route}'"
        routes.append(route)
    return None


def valid_uuid_list(data: Any) -> str | None:
    if not isinstance(data, list):
        return f"'{data}' is not a list"
    for item in data:
        message = valid_uuid(item)
        if message:
            return message
    if len(set(data)) != len(data):
        duplicates = sorted({item for item in data if data.count(item) > 1})
        return f"Duplicate items in the list: '{', '.join(duplicates)}'"
    return None


def valid_list_of_strings(max_len: int) -> Validator:
    string = valid_string(max_len)

    def check(data: Any) -> str | None:
        if not isinstance(data, list):
            return f"'{data}' is not a list"
        for item in data:
            message = string(item)
            if message:
                return message
        return None

    return check


def valid_dict_or_none(data: Any) -> str | None:
    if data is None or isinstance(data, dict):
        return None
    return f"'{data}' is not a dictionary"


def valid_dict_or_nodata(keys: dict[str, tuple[bool, Validator]]) -> Validator:
    """A dict (or nothing) whose keys are among ``keys``: (required, validator)."""
    def check(data: Any) -> str | None:
        if not data:
            return None
        if not isinstance(data, dict):
            return f"'{data}' is not a dictionary"
        missing = [key for key, (required, _check) in keys.items()
                   if required and key not in data]
        if missing:
            return (f"Validation of dictionary's keys failed. Expected keys: "
                    f"{set(missing)} Provided keys: {set(data)}")
        unexpected = sorted(set(data) - set(keys))
        if unexpected:
            return f"Unexpected keys supplied: {', '.join(unexpected)}"
        for key, value in data.items():
            message = keys[key][1](value)
            if message:
                return message
        return None

    return check


#: neutron_lib.db.constants
NAME_FIELD_SIZE = 255
DESCRIPTION_FIELD_SIZE = 255
PROJECT_ID_FIELD_SIZE = 255
DEVICE_ID_FIELD_SIZE = 255
DEVICE_OWNER_FIELD_SIZE = 255
TAG_MAX_LEN = 255


def standard_attributes(*, description: bool = True) -> tuple[Attribute, ...]:
    """What every standard-attribute resource adds: project, description, tags,
    revision number and timestamps (the ``standard-attr-*`` and ``project-id``
    extensions)."""
    extra = (Attribute("description", post=True, put=True, default="",
                       validate=valid_string(DESCRIPTION_FIELD_SIZE), filter=True,
                       sort=True),) if description else ()
    return (
        Attribute("tenant_id", post=True, validate=valid_string(PROJECT_ID_FIELD_SIZE),
                  filter=True, sort=True, default=NOT_SPECIFIED),
        Attribute("project_id", post=True, validate=valid_string(PROJECT_ID_FIELD_SIZE),
                  filter=True, sort=True, default=NOT_SPECIFIED),
        *extra,
        Attribute("tags", post=True, default=NOT_SPECIFIED,
                  validate=valid_list_of_strings(TAG_MAX_LEN)),
        Attribute("created_at", filter=True, sort=True),
        Attribute("updated_at", filter=True, sort=True),
        Attribute("revision_number", filter=True, sort=True, convert=to_int),
    )
