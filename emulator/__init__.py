"""nova-emulator: an emulator of the OpenStack Compute (Nova) API."""

__version__ = "0.1.0"
