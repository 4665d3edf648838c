"""The QEMU backend: real ``qemu-system-x86_64`` guests (TCG), driven over QMP."""
