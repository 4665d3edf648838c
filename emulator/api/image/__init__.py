"""The Image (Glance v2) API: ``service`` (the route table and request path), one
controller module per resource (``images``, ``data``, ``tags``, ``members``), and what
they share (``bodies``, ``patch``, ``queries``, ``schemas``, ``views``, ``faults``,
``versions``)."""

from emulator.api.image.service import ImageAPI

__all__ = ["ImageAPI"]
