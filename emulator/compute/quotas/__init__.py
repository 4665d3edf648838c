"""Quotas and absolute limits: Nova's database quota driver (and its no-op one)."""

from emulator.compute.quotas.resources import INJECTED, NETWORK, RESOURCES
from emulator.compute.quotas.service import DEFAULT_CLASS, Detail, QuotaService

__all__ = ["DEFAULT_CLASS", "INJECTED", "NETWORK", "RESOURCES", "Detail", "QuotaService"]
