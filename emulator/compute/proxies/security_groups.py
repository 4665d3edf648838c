"""Nova's security group proxy over Neutron (``nova.network.security_group_api`` and the
``security_groups`` controller): Nova's shape of a group (its ingress rules only, ports a
port-less rule stands for, ``ip_range`` or ``group``), Nova's own rule checks before
Neutron sees the rule, and Neutron's refusals as Nova words them."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from emulator.compute.proxies.clients import Translations, neutron_errors
from emulator.compute.proxies.policy import SG, authorize
from emulator.context import RequestContext
from emulator.errors import Conflict, Forbidden, InvalidInput, NotFound
from emulator.network.attributes import is_uuid
from emulator.network.listing import Record
from emulator.network.service import NetworkService

GROUPS = "security_groups"
RULES = "security_group_rules"
ANY_CIDR = "0.0.0.0/0"
PORT_PROTOCOLS = ("TCP", "UDP")

#: What each call makes of Neutron's errors (``security_group_api``).
FOUND: Translations = {NotFound: NotFound}
CREATE: Translations = {InvalidInput: InvalidInput, Conflict: Forbidden}
#: NOTE: Nova lets Neutron's refusals of an update (renaming ``default``) end as a 500;
#: here they are the 400 Nova gives bad input.
UPDATE: Translations = {NotFound: NotFound, Conflict: InvalidInput, Forbidden: InvalidInput}
DELETE: Translations = {NotFound: NotFound, Conflict: InvalidInput}
ADD_RULES: Translations = {NotFound: NotFound, Conflict: Forbidden,
                           InvalidInput: InvalidInput}

#: A rule's group as Nova shows it (``{"name", "tenant_id"}``), None once it is gone.
GroupLookup = Callable[[str], dict[str, Any] | None]


def validate_id(group_id: str) -> str:
    if not is_uuid(group_id):
        raise InvalidInput("Security group id should be uuid")
    return group_id


def parse_cidr(cidr: Any) -> str:
    """A rule's ``cidr`` (URL-quoted or not); none means any IPv4 address."""
    if not cidr:
        return ANY_CIDR
    if not isinstance(cidr, str):
        raise InvalidInput(f"{cidr} is not a valid IP network.")
    text = unquote(cidr)
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidInput(f"{text} is not a valid IP network.") from None
    if not text.partition("/")[2]:
        raise InvalidInput(f"{text} is not a valid IP network.")
    return text


def _bad_range(from_port: int, to_port: int, why: str) -> InvalidInput:
    return InvalidInput(f"Invalid port range {from_port}:{to_port}. {why}")


def _ports(protocol: str, from_port: Any, to_port: Any) -> tuple[int, int]:
    """Nova's checks of a rule's protocol and ports, in Nova's order."""
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        reason = ("Type and Code must be integers for ICMP protocol type"
                  if protocol.upper() == "ICMP" else "To and From ports must be integers")
        raise InvalidInput(f"Invalid input received: {reason}") from None
    kind = protocol.upper()
    if kind not in (*PORT_PROTOCOLS, "ICMP"):
        raise InvalidInput(f"Invalid IP protocol {protocol}.")
    if kind in PORT_PROTOCOLS and low > high:
        raise _bad_range(low, high, "Former value cannot be greater than the later")
    if kind in PORT_PROTOCOLS and (low < 1 or high > 65535):
        raise _bad_range(low, high, f"Valid {kind} ports should be between 1-65535")
    if kind == "ICMP" and not (-1 <= low <= 255 and -1 <= high <= 255):
        raise _bad_range(low, high, "For ICMP, the type:code must be valid")
    return low, high


def new_ingress_rule(protocol: Any, from_port: Any, to_port: Any, group_id: str | None,
                     cidr: str | None) -> dict[str, Any] | None:
    """Nova's ``_new_ingress_rule``: the rule's values, or None when a CIDR rule lacks
    its protocol or a port."""
    values: dict[str, Any] = {}
    if group_id:
        values["group_id"] = group_id
        # Everything of the protocol when a group is the source and no ports are given.
        kind = str(protocol).upper() if protocol else ""
        if from_port is None and to_port is None and kind == "ICMP":
            from_port = to_port = -1
        elif from_port is None and to_port is None and kind in PORT_PROTOCOLS:
            from_port, to_port = 1, 65535
    elif cidr:
        values["cidr"] = cidr
    if protocol and from_port is not None and to_port is not None:
        protocol = str(protocol)
        values["from_port"], values["to_port"] = _ports(protocol, from_port, to_port)
        values["protocol"] = protocol
    elif cidr and not group_id:
        return None
    return values


def nova_rule(rule: Record) -> dict[str, Any]:
    """Neutron's rule in ``security_group_api``'s words (a port-less TCP/UDP rule is
    1-65535, any other protocol's -1; no prefix is any IPv4 address)."""
    protocol = rule["protocol"]
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if protocol and low is None and high is None:
        low, high = (1, 65535) if protocol.upper() in PORT_PROTOCOLS else (-1, -1)
    return {"id": rule["id"], "parent_group_id": rule["security_group_id"],
            "protocol": protocol, "from_port": low, "to_port": high,
            "group_id": rule["remote_group_id"],
            "cidr": parse_cidr(rule.get("remote_ip_prefix"))}


def rule_view(rule: dict[str, Any], group: dict[str, Any] | None) -> dict[str, Any]:
    """The API's rule: its source ``group`` (``{}`` for a CIDR rule) or ``ip_range``."""
    return {"id": rule["id"], "parent_group_id": rule["parent_group_id"],
            "ip_protocol": rule["protocol"], "from_port": rule["from_port"],
            "to_port": rule["to_port"], "group": group or {},
            "ip_range": {} if rule["group_id"] else {"cidr": rule["cidr"]}}


def _ingress(group: Record) -> list[dict[str, Any]]:
    return [nova_rule(r) for r in group.get("security_group_rules", [])
            if r["direction"] == "ingress"]


def group_view(group: Record, lookup: GroupLookup) -> dict[str, Any]:
    """The API's group; a rule whose source group the caller cannot see is left out."""
    rules = []
    for rule in _ingress(group):
        source = lookup(rule["group_id"]) if rule["group_id"] else None
        if rule["group_id"] and source is None:
            continue
        rules.append(rule_view(rule, source))
    return {"id": group["id"], "description": group["description"], "name": group["name"],
            "tenant_id": group["tenant_id"], "rules": rules}


class SecurityGroupProxy:
    """``/os-security-groups`` and ``/os-security-group-rules`` over ``NetworkService``."""

    def __init__(self, network: NetworkService) -> None:
        self.network = network

    def _show(self, ctx: RequestContext, group_id: str) -> Record:
        with neutron_errors(FOUND):
            return self.network.show(ctx, GROUPS, group_id, [])

    def _lookup(self, ctx: RequestContext, known: list[Record]) -> GroupLookup:
        """Source groups by id, each asked of Neutron once (those in ``known`` not)."""
        cache: dict[str, dict[str, Any] | None] = {
            g["id"]: {"name": g["name"], "tenant_id": g["tenant_id"]} for g in known}

        def lookup(group_id: str) -> dict[str, Any] | None:
            if group_id not in cache:
                try:
                    found = self._show(ctx, group_id)
                    cache[group_id] = {"name": found["name"], "tenant_id": found["tenant_id"]}
                except NotFound:
                    cache[group_id] = None
            return cache[group_id]
        return lookup

    def _view(self, ctx: RequestContext, group: Record) -> dict[str, Any]:
        return group_view(group, self._lookup(ctx, [group]))

    def list_groups(self, ctx: RequestContext, all_tenants: bool, offset: int,
                    limit: int) -> list[dict[str, Any]]:
        """The project's groups (every project's for an admin asking ``all_tenants``),
        the page cut before sorting by project and name, as Nova does."""
        authorize(ctx, f"{SG}:get")
        params = [] if ctx.is_admin and all_tenants else [("tenant_id", ctx.project_id or "")]
        found = self.network.index(ctx, GROUPS, params).items[offset:offset + limit]
        lookup = self._lookup(ctx, found)
        return sorted((group_view(g, lookup) for g in found),
                      key=lambda g: (g["tenant_id"], g["name"]))

    def get(self, ctx: RequestContext, group_id: str) -> dict[str, Any]:
        authorize(ctx, f"{SG}:show")
        return self._view(ctx, self._show(ctx, validate_id(group_id)))

    def create(self, ctx: RequestContext, name: str, description: str) -> dict[str, Any]:
        authorize(ctx, f"{SG}:create")
        body = {"security_group": {"name": name, "description": description}}
        with neutron_errors(CREATE):
            (group,) = self.network.create(ctx, GROUPS, body)
        return self._view(ctx, group)

    def update(self, ctx: RequestContext, group_id: str, name: str,
               description: str) -> dict[str, Any]:
        authorize(ctx, f"{SG}:update")
        self._show(ctx, validate_id(group_id))
        body = {"security_group": {"name": name, "description": description}}
        with neutron_errors(UPDATE):
            group = self.network.update(ctx, GROUPS, group_id, body)
        return self._view(ctx, group)

    def delete(self, ctx: RequestContext, group_id: str) -> None:
        authorize(ctx, f"{SG}:delete")
        self._show(ctx, validate_id(group_id))
        with neutron_errors(DELETE):
            self.network.delete(ctx, GROUPS, group_id)

    def create_rule(self, ctx: RequestContext, parent_group_id: str, group_id: str | None,
                    protocol: Any, from_port: Any, to_port: Any,
                    cidr: Any) -> dict[str, Any]:
        authorize(ctx, f"{SG}:rule:create")
        parent = self._show(ctx, parent_group_id)
        source = self._show(ctx, group_id) if group_id is not None else None
        new = new_ingress_rule(protocol, from_port, to_port, group_id,
                               None if group_id is not None else parse_cidr(cidr))
        if new is None:
            raise InvalidInput("Not enough parameters to build a valid rule.")
        new["parent_group_id"] = parent["id"]
        if "cidr" in new:
            net, _, prefix = new["cidr"].partition("/")
            if net not in ("0.0.0.0", "::") and prefix == "0":
                raise InvalidInput(f"Bad prefix for network in cidr {new['cidr']}")
        # NOTE: a rule from a group never matches here (Nova reads the existing one's cidr
        # as 0.0.0.0/0): its duplicate is Neutron's 409, Nova's 403.
        if _exists(_ingress(parent), new):
            raise InvalidInput(f"This rule already exists in group {parent['id']}")
        with neutron_errors(ADD_RULES):
            (rule,) = self.network.create(ctx, RULES, {RULES: [_neutron_rule(new)]})
        group = {"name": source["name"], "tenant_id": source["tenant_id"]} if source else None
        return rule_view(nova_rule(rule), group)

    def delete_rule(self, ctx: RequestContext, rule_id: str) -> None:
        authorize(ctx, f"{SG}:rule:delete")
        validate_id(rule_id)
        with neutron_errors(FOUND):
            rule = self.network.show(ctx, RULES, rule_id, [])
        self._show(ctx, rule["security_group_id"])
        with neutron_errors(FOUND):
            self.network.delete(ctx, RULES, rule_id)


def _exists(rules: list[dict[str, Any]], new: dict[str, Any]) -> bool:
    """Nova's ``_rule_exists``: an ingress rule alike in source, ports and protocol."""
    keys = ("group_id", "cidr", "from_port", "to_port", "protocol")
    return any(all(r.get(k) == new.get(k) for k in keys) for r in rules)


def _neutron_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """Nova's rule as the Neutron rule it asks for: always ingress; -1 ports left out.
    NOTE: a rule from a group is IPv4 only, as Nova's (which says so in a comment: its API
    has no ethertype, and two Neutron rules could not be deleted as one)."""
    cidr = rule.get("cidr")
    version = ipaddress.ip_network(cidr, strict=False).version if cidr else 4
    body: dict[str, Any] = {
        "direction": "ingress", "protocol": rule.get("protocol"),
        "ethertype": "IPv6" if version == 6 else "IPv4", "remote_ip_prefix": cidr,
        "security_group_id": rule["parent_group_id"], "remote_group_id": rule.get("group_id"),
    }
    for nova_key, neutron_key in (("from_port", "port_range_min"),
                                  ("to_port", "port_range_max")):
        if nova_key in rule and rule[nova_key] != -1:
            body[neutron_key] = rule[nova_key]
    return body
