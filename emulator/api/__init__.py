"""The HTTP surface: every OpenStack service the emulator serves, on one Starlette app."""
