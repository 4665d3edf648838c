"""Glance's limits: how many properties, tags and members an image may have, how large its
data may be, the integer ranges its columns hold, and the checks that enforce them."""

from __future__ import annotations

from emulator.errors import InvalidInput
from emulator.image.errors import LimitExceeded, PropertyLimitExceeded

#: Glance's ``image_property_quota``, ``image_tag_quota``, ``image_member_quota``.
PROPERTY_QUOTA = 128
TAG_QUOTA = 128
MEMBER_QUOTA = 128
#: Glance's ``image_size_cap`` (1 TiB).
SIZE_CAP = 1 << 40

#: The database's integer range (BIGINT); min_ram and min_disk are 32-bit (INTEGER).
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1


def check_quota(kind: str, count: int, maximum: int) -> None:
    """Glance's message when an image would carry more ``kind`` than ``maximum``."""
    if count > maximum:
        error = PropertyLimitExceeded if kind == "properties" else LimitExceeded
        raise error(f"The limit has been exceeded on the number of allowed image {kind}. "
                    f"Attempted: {count}, Maximum: {maximum}")


def check_non_negative(name: str, value: int) -> None:
    """``min_disk`` and ``min_ram``: 0 up to a 32-bit integer."""
    if value < 0:
        raise InvalidInput(
            f"Invalid value '{value}' for parameter '{name}': Cannot be a negative value")
    if value > MAX_INT:
        raise InvalidInput(f"Invalid value '{value}' for parameter '{name}': Cannot be "
                           f"greater than {MAX_INT}")
