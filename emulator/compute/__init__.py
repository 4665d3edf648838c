"""The compute domain: flavors, key pairs, servers and their lifecycle (no HTTP here)."""
