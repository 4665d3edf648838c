"""What Nova makes up for a server: its hostname from its name, and admin passwords."""

from __future__ import annotations

import re
import secrets

#: Nova's ``generate_password`` symbol groups (no look-alike characters).
_PASSWORD_GROUPS = ("23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz")


def generate_password(length: int = 12) -> str:
    """Nova's ``utils.generate_password``: ``[DEFAULT] password_length`` characters, at
    least one from each group."""
    chosen = [secrets.choice(group) for group in _PASSWORD_GROUPS]
    symbols = "".join(_PASSWORD_GROUPS)
    chosen += [secrets.choice(symbols) for _ in range(length - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def sanitize_hostname(name: str, default: str | None = None) -> str:
    """Nova's ``utils.sanitize_hostname``: Latin-1 only, cut to 63 characters, then spaces,
    underscores and dots become hyphens, other punctuation goes, lower case, no leading or
    trailing dots and hyphens; ``default`` (cut to 63) when nothing is left."""
    text = name.encode("latin-1", "ignore").decode("latin-1")[:63]
    text = re.sub(r"[ _.]", "-", text)
    text = re.sub(r"[^\w.-]+", "", text)
    text = text.lower().strip(".-")
    if not text and default is not None:
        return default[:63]
    return text

