"""The controllers of Nova's proxy APIs (until 2.35), built together over the network and
volume services (``emulator.api.app`` makes one ``ProxyControllers``)."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.api.compute.common import V
from emulator.api.compute.network_proxies import NetworkProxiesController
from emulator.api.compute.security_groups import SecurityGroupsController
from emulator.api.compute.volume_proxies import VolumeProxiesController
from emulator.compute.proxies.networks import NetworkProxy
from emulator.compute.proxies.security_groups import SecurityGroupProxy
from emulator.compute.proxies.volumes import VolumeProxy
from emulator.network.service import NetworkService
from emulator.volume.service import VolumeService

#: Nova's ``MAX_PROXY_API_SUPPORT_VERSION``: every proxy route is a 404 after it.
MAX_PROXY_VERSION = V(2, 35)


@dataclass(frozen=True)
class ProxyControllers:
    security_groups: SecurityGroupsController
    networks: NetworkProxiesController
    volumes: VolumeProxiesController

    @classmethod
    def build(cls, network: NetworkService, volumes: VolumeService) -> ProxyControllers:
        return cls(security_groups=SecurityGroupsController(SecurityGroupProxy(network)),
                   networks=NetworkProxiesController(NetworkProxy(network)),
                   volumes=VolumeProxiesController(VolumeProxy(volumes)))
