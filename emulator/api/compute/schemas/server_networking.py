"""Request bodies of a server's network: ``os-interface`` (attach; 2.49 ``tag``), the
multinic, floating IP and security group actions (Nova's schemas)."""

from __future__ import annotations

from emulator.api.compute.schemas.parameter_types import (
    IP_ADDRESS,
    UUID,
    Schema,
    derive,
    obj,
    wrapped,
)
from emulator.api.compute.schemas.versions import V, Versioned

_ATTACH = obj({"interfaceAttachment": obj({
    "net_id": UUID,
    "port_id": UUID,
    "fixed_ips": {"type": "array", "minItems": 1, "maxItems": 1,
                  "items": obj({"ip_address": IP_ADDRESS}, required=["ip_address"])},
})})


def _tag(schema: Schema) -> None:
    schema["properties"]["interfaceAttachment"]["properties"]["tag"] = {
        "type": "string", "pattern": "^[^,/]*$", "minLength": 1, "maxLength": 60}


_NETWORK_ID: Schema = {"type": ["string", "number"], "minLength": 1, "maxLength": 36}

SCHEMAS: Versioned = {
    "interface_attach": ((V(2, 1), _ATTACH), (V(2, 49), derive(_ATTACH, _tag))),
    "add_fixed_ip": ((V(2, 1), wrapped("addFixedIp", obj(
        {"networkId": _NETWORK_ID}, required=["networkId"]))),),
    "remove_fixed_ip": ((V(2, 1), wrapped("removeFixedIp", obj(
        {"address": IP_ADDRESS}, required=["address"]))),),
    "add_floating_ip": ((V(2, 1), wrapped("addFloatingIp", obj(
        {"address": IP_ADDRESS, "fixed_address": IP_ADDRESS}, required=["address"]))),),
    "remove_floating_ip": ((V(2, 1), wrapped("removeFloatingIp", obj(
        {"address": IP_ADDRESS}, required=["address"]))),),
    "add_security_group": ((V(2, 1), wrapped("addSecurityGroup", obj(
        {"name": {"type": "string", "minLength": 1}}, required=["name"],
        additional=True))),),
    "remove_security_group": ((V(2, 1), wrapped("removeSecurityGroup", obj(
        {"name": {"type": "string", "minLength": 1}}, required=["name"],
        additional=True))),),
}
