"""The Block Storage (Cinder v3) API: ``service`` (the route table and request path), one
controller module per resource (``volumes``, ``volume_actions``, ``metadata``,
``snapshots``, ``attachments``, ``types``, ``quotas``), and what they share (``common``,
``schemas``, ``volume_views``, ``faults``, ``microversion``, ``versions``)."""

from emulator.api.volume.service import VolumeAPI

__all__ = ["VolumeAPI"]
