"""Request bodies of ``POST /servers/{id}/action`` and ``/servers/{id}/remote-consoles``,
per microversion."""

from __future__ import annotations

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.compute.schemas.parameter_types import (
    ACCESS_IPV4,
    ACCESS_IPV6,
    ADMIN_PASSWORD,
    DESCRIPTION,
    DISK_CONFIG,
    FLAVOR_REF,
    FQDN,
    HOSTNAME,
    METADATA,
    NAME_OR_NONE,
    NULLABLE_USER_DATA,
    PERSONALITY,
    TRUSTED_CERTS,
    UUID,
    Schema,
    derive,
    inner,
    obj,
    wrapped,
)
from emulator.api.compute.schemas.versions import V, Versioned

# -- POST /servers/{id}/action (the actions of the servers controller) ---------------------

_REBUILD = wrapped("rebuild", obj({
    "name": types.NAME,
    "imageRef": UUID,
    "adminPass": ADMIN_PASSWORD,
    "metadata": METADATA,
    "preserve_ephemeral": types.BOOLEAN,
    "OS-DCF:diskConfig": DISK_CONFIG,
    "accessIPv4": ACCESS_IPV4,
    "accessIPv6": ACCESS_IPV6,
    "personality": PERSONALITY,
}, required=["imageRef"]))


def _rebuild(schema: Schema) -> Schema:
    return inner(schema, "rebuild")


def _rebuild_v257(schema: Schema) -> None:
    """personality goes; user_data arrives, nullable so that it can be cleared."""
    props = _rebuild(schema)
    del props["personality"]
    props["user_data"] = NULLABLE_USER_DATA


_REBUILD_V219 = derive(_REBUILD, lambda s: _rebuild(s).update(description=DESCRIPTION))
_REBUILD_V254 = derive(_REBUILD_V219, lambda s: _rebuild(s).update(key_name=NAME_OR_NONE))
_REBUILD_V257 = derive(_REBUILD_V254, _rebuild_v257)
_REBUILD_V263 = derive(
    _REBUILD_V257, lambda s: _rebuild(s).update(trusted_image_certificates=TRUSTED_CERTS))
_REBUILD_V290 = derive(_REBUILD_V263, lambda s: _rebuild(s).update(hostname=HOSTNAME))
_REBUILD_V294 = derive(_REBUILD_V290, lambda s: _rebuild(s).update(hostname=FQDN))

_RESIZE = wrapped("resize", obj({"flavorRef": FLAVOR_REF, "OS-DCF:diskConfig": DISK_CONFIG},
                                  required=["flavorRef"]))
_CREATE_IMAGE = wrapped("createImage", obj({"name": types.NAME, "metadata": METADATA},
                                             required=["name"]))
_CREATE_BACKUP = wrapped("createBackup", obj(
    {"name": types.NAME, "backup_type": {"type": "string"},
     "rotation": types.NON_NEGATIVE_INTEGER, "metadata": METADATA},
    required=["name", "backup_type", "rotation"]))
_REBOOT = wrapped("reboot", obj(
    {"type": {"type": "string", "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
    required=["type"]))


def _any_value(action: str) -> Schema:
    """``{"<action>": <anything>}``: Nova does not look at the value (yet)."""
    return obj({action: {}}, required=[action])


_CONFIRM_RESIZE = _any_value("confirmResize")
_REVERT_RESIZE = _any_value("revertResize")
_START = _any_value("os-start")
_STOP = _any_value("os-stop")
_TRIGGER_CRASH_DUMP = obj({"trigger_crash_dump": {"type": "null"}},
                           required=["trigger_crash_dump"])


# -- the actions of the other controllers (lock, admin password, admin actions, rescue,
# shelve, consoles) ---------------------------------------------------------------------

_LOCK_V273 = wrapped("lock", {
    "type": ["object", "null"],
    "properties": {"locked_reason": {"type": "string", "minLength": 1, "maxLength": 255}},
    "additionalProperties": False,
})
_CHANGE_PASSWORD = wrapped("changePassword", obj({"adminPass": ADMIN_PASSWORD},
                                                 required=["adminPass"]))
_RESET_STATE = wrapped("os-resetState", obj(
    {"state": {"type": "string", "enum": ["active", "error"]}}, required=["state"]))
_RESCUE = wrapped("rescue", {
    "type": ["object", "null"],
    "properties": {"adminPass": ADMIN_PASSWORD, "rescue_image_ref": UUID},
    "additionalProperties": False,
})
_UNSHELVE_V277 = wrapped("unshelve", {
    "type": ["object", "null"],
    "properties": {"availability_zone": types.NAME},
    "required": ["availability_zone"],
    "additionalProperties": False,
})
_UNSHELVE_V291 = wrapped("unshelve", {
    "type": ["object", "null"],
    "properties": {"availability_zone": {"type": ["string", "null"]},
                   "host": {"type": "string"}},
    "additionalProperties": False,
})
_CONSOLE_OUTPUT = wrapped("os-getConsoleOutput", obj({
    "length": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$", "minimum": -1},
}))


def _legacy_console(action: str, types_: list[str]) -> Schema:
    """``os-getVNCConsole`` and its kin (up to 2.5): a console type the protocol has."""
    return wrapped(action, obj({"type": {"type": "string", "enum": types_}},
                               required=["type"]))


def _remote_console(protocols: list[str], types_: list[str]) -> Schema:
    """``POST /servers/{id}/remote-consoles`` (2.6+)."""
    return wrapped("remote_console", obj(
        {"protocol": {"type": "string", "enum": protocols},
         "type": {"type": "string", "enum": types_}},
        required=["protocol", "type"]))


_V26_TYPES = ["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"]


# -- the table ----------------------------------------------------------------------------

_BASE = V(2, 1)

SCHEMAS: Versioned = {
    "rebuild": (
        (_BASE, _REBUILD),
        (V(2, 19), _REBUILD_V219),
        (V(2, 54), _REBUILD_V254),
        (V(2, 57), _REBUILD_V257),
        (V(2, 63), _REBUILD_V263),
        (V(2, 90), _REBUILD_V290),
        (V(2, 94), _REBUILD_V294),
    ),
    "resize": ((_BASE, _RESIZE),),
    "create_image": ((_BASE, _CREATE_IMAGE),),
    "create_backup": ((_BASE, _CREATE_BACKUP),),
    "confirm_resize": ((_BASE, _CONFIRM_RESIZE),),
    "revert_resize": ((_BASE, _REVERT_RESIZE),),
    "reboot": ((_BASE, _REBOOT),),
    "start": ((_BASE, _START),),
    "stop": ((_BASE, _STOP),),
    "trigger_crash_dump": ((V(2, 17), _TRIGGER_CRASH_DUMP),),
    # NOTE: before 2.73 Nova does not look at the lock body.
    "lock": ((V(2, 73), _LOCK_V273),),
    "change_password": ((_BASE, _CHANGE_PASSWORD),),
    "reset_state": ((_BASE, _RESET_STATE),),
    "rescue": ((_BASE, _RESCUE),),
    # NOTE: before 2.77 Nova does not look at the unshelve body.
    "unshelve": ((V(2, 77), _UNSHELVE_V277), (V(2, 91), _UNSHELVE_V291)),
    "console_output": ((_BASE, _CONSOLE_OUTPUT),),
    "get_vnc_console": ((_BASE, _legacy_console("os-getVNCConsole", ["novnc", "xvpvnc"])),),
    "get_spice_console": ((_BASE, _legacy_console("os-getSPICEConsole", ["spice-html5"])),),
    "get_serial_console": ((_BASE, _legacy_console("os-getSerialConsole", ["serial"])),),
    "remote_console": (
        (V(2, 6), _remote_console(["vnc", "spice", "serial", "rdp"], _V26_TYPES)),
        (V(2, 8), _remote_console(["vnc", "spice", "serial", "rdp", "mks"],
                                  [*_V26_TYPES, "webmks"])),
        (V(2, 99), _remote_console(["vnc", "spice", "serial", "rdp", "mks"],
                                   [*_V26_TYPES, "webmks", "spice-direct"])),
    ),
}
