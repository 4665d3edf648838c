"""Backends: where instances really live. ``base`` is the seam; never imports ``emulator``."""
