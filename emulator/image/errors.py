"""Errors Glance has and Nova's vocabulary lacks; the image API maps each to its status."""

from __future__ import annotations

from emulator.errors import EmulatorError, NotFound


class LimitExceeded(EmulatorError):
    """A count or size limit (properties, tags, members, image size): Glance's 413."""


class PropertyLimitExceeded(LimitExceeded):
    """More properties than ``image_property_quota`` (Glance's ``ImagePropertyLimitExceeded``).

    A snapshot or backup meets it when the user's metadata and the properties Nova adds
    exceed the quota; Nova's API does not translate Glance's 413 there (see the compute
    side for what it answers).
    """


class InvalidImageData(EmulatorError):
    """The uploaded data is not in the image's disk format: Glance's 415."""


class Gone(EmulatorError):
    """The image was deleted while its data was being uploaded: Glance's 410."""


class TagNotFound(NotFound):
    """The image exists but does not carry the tag."""
