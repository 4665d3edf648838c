"""``/os-volumes_boot``: Nova's old alias of ``/servers`` (until 2.102), every server
route but with only the actions its controller kept (``VolumesBootController``): resize
and its confirm and revert, reboot, rebuild, createImage, start, stop, and (2.17) the
crash dump trigger. Any other action is Nova's 400 ``There is no such action``."""

from __future__ import annotations

from starlette.responses import Response

from emulator.api.compute.common import V
from emulator.api.compute.servers import ServersController
from emulator.api.faults import Fault
from emulator.api.routing import Call

#: The last version of the alias (2.103 removed it).
MAX_VOLUMES_BOOT_VERSION = V(2, 102)
#: The server actions the alias answers.
ACTIONS = frozenset({"confirmResize", "revertResize", "reboot", "resize", "rebuild",
                     "createImage", "os-start", "os-stop", "trigger_crash_dump"})


class VolumesBootController:
    def __init__(self, servers: ServersController) -> None:
        self.servers = servers

    async def action(self, call: Call) -> Response:
        body = call.body
        if isinstance(body, dict) and len(body) == 1:
            (name,) = body
            if name not in ACTIONS:
                raise Fault(400, f"There is no such action: {name}")
        return await self.servers.action(call)
