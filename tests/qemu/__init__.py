"""Tests that run real QEMU guests (need the Debian packages of backends.qemu.guest)."""
