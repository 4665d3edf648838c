"""How a server looks at each microversion (Nova's server view builder, as our code).

``ServerView.show`` takes the same switches Nova's does, so the detail list, show,
update (before and after 2.75) and rebuild responses are one function with flags.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.microversion import APIVersion
from emulator.api.routing import Call
from emulator.compute.policy import allowed
from emulator.compute.records import ServerRecord

#: Statuses that show ``progress`` and those that show ``fault`` (Nova's view builder).
PROGRESS_STATUSES = frozenset({"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE",
                               "MIGRATING"})
FAULT_STATUSES = frozenset({"ERROR", "DELETED"})


def iso_z(value: datetime | None) -> str | None:
    """``2026-11-28T05:22:42Z``: server ``created``/``updated`` and fault ``created``."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def naive(value: datetime | None) -> str | None:
    """``2026-11-28T05:22:42.123456``: timestamps Nova serialises straight from a datetime."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f")


def host_id(project_id: str, host: str | None) -> str:
    """Nova's ``hostId``: an opaque per-project name for the host ("" when unscheduled)."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


@dataclass(frozen=True)
class ShowFlags:
    """Which parts of the full view to include (Nova's ``show`` keyword switches)."""

    extend_address: bool = True
    show_az: bool = True
    show_config_drive: bool = True
    show_keypair: bool = True
    show_srv_usg: bool = True
    show_sec_grp: bool = True
    show_extended_status: bool = True
    show_extended_volumes: bool = True
    show_server_groups: bool = False
    #: None: decided by policy; False: never.
    show_extended_attr: bool | None = None
    show_host_status: bool | None = None
    show_user_data: bool = True


FULL = ShowFlags()

#: What each microversion adds to a server's view (the gates of Nova's view builder):
#: name -> the first microversion that shows it.
SHOWN_FROM: dict[str, APIVersion] = {
    "more_extended_attributes": V(2, 3),  # and each volume's delete_on_termination
    "locked": V(2, 9),
    "host_status": V(2, 16),
    "description": V(2, 19),
    "tags": V(2, 26),
    "embedded_flavor": V(2, 47),  # with its extra_specs where policy allows
    "trusted_image_certificates": V(2, 63),
    "locked_reason": V(2, 73),
    "hostname": V(2, 90),
    "pinned_availability_zone": V(2, 96),
    "image_properties": V(2, 98),
    "scheduler_hints": V(2, 100),
}


def shown(call: Call) -> dict[str, bool]:
    """``SHOWN_FROM`` at the call's microversion (made once a call: a page asks for each
    server)."""
    made = call.extra.get("server view gates")
    if made is None:
        made = call.extra["server view gates"] = {
            name: call.version >= since for name, since in SHOWN_FROM.items()}
    return made


def allowed_for(call: Call, rule: str, project_id: str) -> bool:
    """``allowed`` for the call's context on a server of ``project_id`` (remembered for
    the call: a page's servers share a few projects)."""
    key = f"policy {rule} {project_id}"
    made: bool | None = call.extra.get(key)
    if made is None:
        made = call.extra[key] = allowed(common.context(call), rule, project_id)
    return made


class ServerView:
    def links(self, call: Call, record: ServerRecord) -> list[dict[str, str]]:
        return common.links(call, "servers", record.uuid)

    def basic(self, call: Call, record: ServerRecord) -> dict[str, Any]:
        return {"id": record.uuid, "name": record.instance.display_name,
                "links": self.links(call, record)}

    def addresses(self, record: ServerRecord, extended: bool) -> dict[str, list[dict[str, Any]]]:
        if record.instance.vm_state == "building":
            return {}
        networks: dict[str, list[dict[str, Any]]] = {}
        for address in record.addresses:
            entry: dict[str, Any] = {"version": address.version, "addr": address.address}
            if extended:
                entry["OS-EXT-IPS:type"] = address.kind
                entry["OS-EXT-IPS-MAC:mac_addr"] = address.mac_address
            networks.setdefault(address.network_name, []).append(entry)
        return networks

    def flavor(self, call: Call, record: ServerRecord, extra_specs: bool) -> dict[str, Any]:
        i = record.instance
        if shown(call)["embedded_flavor"]:
            flavor: dict[str, Any] = {"vcpus": i.vcpus, "ram": i.memory_mb, "disk": i.root_gb,
                                      "ephemeral": i.ephemeral_gb, "swap": i.swap,
                                      "original_name": i.flavor_name}
            if extra_specs:
                flavor["extra_specs"] = dict(i.flavor_extra_specs)
            return flavor
        return {"id": i.flavor_id,
                "links": [{"rel": "bookmark", "href": common.bookmark(call, "flavors",
                                                                      i.flavor_id)}]}

    def image(self, call: Call, record: ServerRecord) -> dict[str, Any] | str:
        image_ref = record.instance.image_ref
        if not image_ref:
            return ""
        image: dict[str, Any] = {
            "id": image_ref,
            "links": [{"rel": "bookmark", "href": common.bookmark(call, "images", image_ref)}],
        }
        if shown(call)["image_properties"]:
            image["properties"] = {}
        return image

    def fault(self, call: Call, record: ServerRecord) -> dict[str, Any] | None:
        fault = record.fault
        if fault is None:
            return None
        view: dict[str, Any] = {"code": fault.code, "created": iso_z(fault.created_at),
                                "message": fault.message}
        if fault.details and (common.context(call).is_admin or fault.code != 500):
            view["details"] = fault.details
        return view

    def show(self, call: Call, record: ServerRecord, flags: ShowFlags = FULL,
             extra_specs: bool | None = None) -> dict[str, Any]:
        ctx = common.context(call)
        gates = shown(call)
        i = record.instance
        if extra_specs is None:
            extra_specs = gates["embedded_flavor"] and allowed_for(
                call, "os_compute_api:servers:show:flavor-extra-specs", i.project_id)
        server: dict[str, Any] = {
            "accessIPv4": i.access_ip_v4 or "",
            "accessIPv6": i.access_ip_v6 or "",
            "addresses": self.addresses(record, flags.extend_address),
            "created": iso_z(i.created_at),
            "flavor": self.flavor(call, record, extra_specs),
            "hostId": host_id(i.project_id, i.host),
            "id": i.uuid,
            "image": self.image(call, record),
            "links": self.links(call, record),
            "metadata": dict(record.metadata),
            "name": i.display_name,
            "status": record.status,
            "tenant_id": i.project_id,
            "user_id": i.user_id,
            "updated": iso_z(i.updated_at or i.created_at),
            "OS-DCF:diskConfig": i.disk_config,
        }
        if record.status in FAULT_STATUSES:
            fault = self.fault(call, record)
            if fault is not None:
                server["fault"] = fault
        if record.status in PROGRESS_STATUSES:
            server["progress"] = i.progress
        if flags.show_az:
            server["OS-EXT-AZ:availability_zone"] = (
                i.availability_zone or i.requested_availability_zone or "")
        if flags.show_config_drive:
            server["config_drive"] = i.config_drive
        if flags.show_keypair:
            server["key_name"] = i.key_name
        if flags.show_srv_usg:
            server["OS-SRV-USG:launched_at"] = naive(i.launched_at)
            server["OS-SRV-USG:terminated_at"] = naive(i.terminated_at)
        if flags.show_sec_grp and i.security_groups:
            server["security_groups"] = [{"name": name} for name in i.security_groups]
        extended = flags.show_extended_attr
        if extended is None:
            extended = allowed_for(call, "os_compute_api:os-extended-server-attributes",
                                   i.project_id)
        if extended:
            server["OS-EXT-SRV-ATTR:host"] = i.host
            server["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{i.id or 0:08x}"
            server["OS-EXT-SRV-ATTR:hypervisor_hostname"] = i.node
            if gates["more_extended_attributes"]:
                server["OS-EXT-SRV-ATTR:hostname"] = i.hostname
                server["OS-EXT-SRV-ATTR:kernel_id"] = ""
                server["OS-EXT-SRV-ATTR:launch_index"] = i.launch_index
                server["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
                server["OS-EXT-SRV-ATTR:reservation_id"] = i.reservation_id
                server["OS-EXT-SRV-ATTR:root_device_name"] = i.root_device_name
                if flags.show_user_data:
                    server["OS-EXT-SRV-ATTR:user_data"] = i.user_data
        if flags.show_extended_status:
            server["OS-EXT-STS:task_state"] = i.task_state
            server["OS-EXT-STS:vm_state"] = i.vm_state
            server["OS-EXT-STS:power_state"] = i.power_state
        if flags.show_extended_volumes:
            # 2.3: each volume's ``delete_on_termination`` too.
            server["os-extended-volumes:volumes_attached"] = [
                {"id": volume_id, "delete_on_termination": delete}
                if gates["more_extended_attributes"] else {"id": volume_id}
                for volume_id, delete in record.volumes]
        if gates["locked"]:
            server["locked"] = bool(i.locked)
        if gates["host_status"] and flags.show_host_status is not False and allowed_for(
                call, "os_compute_api:servers:show:host_status", i.project_id):
            server["host_status"] = record.host_status
        if gates["description"]:
            server["description"] = i.display_description
        if gates["tags"]:
            server["tags"] = list(record.tags)
        if gates["trusted_image_certificates"]:
            server["trusted_image_certificates"] = (
                list(i.trusted_certs) if i.trusted_certs else None)
        if flags.show_server_groups:
            server["server_groups"] = record.server_groups(ctx)
        if gates["locked_reason"]:
            server["locked_reason"] = i.locked_reason
        if gates["hostname"] and not extended:
            server["OS-EXT-SRV-ATTR:hostname"] = i.hostname
        if flags.show_az and gates["pinned_availability_zone"]:
            server["pinned_availability_zone"] = i.pinned_availability_zone
        if gates["scheduler_hints"]:
            server["scheduler_hints"] = dict(i.scheduler_hints)
        return server

    def rebuild(self, call: Call, record: ServerRecord,
                admin_pass: str | None) -> dict[str, Any]:
        """Rebuild response: the update's view plus ``key_name`` (2.54), ``adminPass``
        (Nova's ``enable_instance_password``, on by default) and top-level ``user_data``
        (2.57)."""
        everything = call.version >= V(2, 75)
        flags = ShowFlags(
            extend_address=everything, show_az=everything, show_config_drive=everything,
            show_keypair=call.version >= V(2, 54), show_srv_usg=everything,
            show_sec_grp=everything, show_extended_status=everything,
            show_extended_volumes=everything, show_server_groups=call.version >= V(2, 71),
            show_extended_attr=None if everything else False,
            show_host_status=None if everything else False, show_user_data=False,
        )
        server = self.show(call, record, flags)
        if admin_pass is not None:
            server["adminPass"] = admin_pass
        if call.version >= V(2, 57):
            server["user_data"] = record.instance.user_data
        return server

    def update(self, call: Call, record: ServerRecord) -> dict[str, Any]:
        """PUT response: a reduced view until 2.74, the full one from 2.75."""
        everything = call.version >= V(2, 75)
        flags = ShowFlags(
            extend_address=everything, show_az=everything, show_config_drive=everything,
            show_keypair=everything, show_srv_usg=everything, show_sec_grp=everything,
            show_extended_status=everything, show_extended_volumes=everything,
            show_server_groups=call.version >= V(2, 71),
            show_extended_attr=None if everything else False,
            show_host_status=None if everything else False,
        )
        return self.show(call, record, flags)
