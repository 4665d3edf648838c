"""Server groups: the groups (``service``), their tables (``models``) and who is in which
(``membership``)."""

from emulator.compute.server_groups.membership import GroupRef
from emulator.compute.server_groups.service import (
    POLICIES,
    NewServerGroup,
    ServerGroupRecord,
    ServerGroupService,
)
from emulator.placement import GroupSpec

__all__ = ["POLICIES", "GroupRef", "GroupSpec", "NewServerGroup", "ServerGroupRecord",
           "ServerGroupService"]
