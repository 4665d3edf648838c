r"""The free guest image: a small Linux built from Debian packages only, cached.

``build_guest(cache_dir)`` makes the guest every QEMU-backed server boots unless a user
brings an image of its own (the recipe of ``shared/reference/qemu-backend.md``, section 3):

* ``vmlinux``: the Debian cloud kernel as an uncompressed PVH ELF. The package that
  ``apt-cache depends linux-image-cloud-amd64`` names is fetched with ``apt-get download``
  and unpacked with ``dpkg-deb`` (never installed); the bzImage's compressed payload (LZ4;
  XZ for the generic kernel) is decompressed, so ``-kernel vmlinux`` boots without the
  real-mode setup code or the decompressor, which is slow under TCG.
* ``initramfs.cpio.gz``: busybox (static) with a symlink per applet, the virtio, ACPI
  button, evdev, fw_cfg and isofs modules with their dependencies (``depmod``), and
  ``/init``. ``/init`` loads the modules, prints ``GUEST-BANNER`` on the console, switches
  to ``root=/dev/vda`` when the command line names it, and hands over to busybox init:
  ``rcS`` sets the hostname (kernel command line ``hostname=``, else fw_cfg
  ``opt/guest/hostname``), starts ``acpid`` (the ACPI power button powers the guest off)
  and prints ``GUEST-READY hostname=<name> root=<device|initramfs> uptime=<s>``; init
  respawns ``httpd`` on port 80 (``/cgi-bin/info`` reports hostname, uptime, addresses and
  block devices) and ``netwatch``, which runs ``udhcpc`` on every NIC, present at boot or
  hot-plugged, and prints ``GUEST-NET`` and ``GUEST-DHCP`` lines, and a
  ``GUEST-DISK-ADDED``/``-REMOVED`` line for every virtio disk that appears or goes.
  Before the hostname ``rcS`` reads the config drive (``configdrive``: an ISO 9660 CD-ROM
  labelled ``config-2`` on virtio-scsi): its ``meta_data.json`` hostname (first label)
  wins, and its public keys go to ``authorized_keys`` of ``root`` and ``cirros``; init
  respawns ``sshd``: Debian's dropbear on port 22, keys only (``ssh``). User data that
  is a script (``#!``) runs once, as root, its output in ``/run/user-data.log``.
  ``guest.noacpid`` on the command line leaves ``acpid`` out (the guest then ignores
  ``system_powerdown``).
* ``base.qcow2``: the same tree on a 64 MiB ext4 root disk (``mke2fs -d``, then
  ``qemu-img convert``); boot it through a per-server overlay with ``root=/dev/vda``.

The console lines, in the order a boot prints them::

    GUEST-BANNER nova-emulator guest <version> kernel=<release>
    GUEST-CONFIG-DRIVE /dev/sr0 keys=<number of public keys>   (with a config drive)
    GUEST-READY hostname=<name> root=<device|initramfs> uptime=<seconds>
    GUEST-SSH port=22
    GUEST-USER-DATA exit=<status>                             (user data that is a script)
    GUEST-DISK-ADDED vda <bytes> serial=<serial>
    GUEST-NET eth0 added mac=<mac>
    GUEST-DHCP eth0 ip=<address> router=<gateway>
    GUEST-DISK-ADDED vdb <bytes> serial=<volume id, 20 characters>   (hot-plugged)
    GUEST-DISK-REMOVED vdb
    GUEST-NET eth1 added mac=<mac> / GUEST-NET eth1 removed
    GUEST-SHUTDOWN hostname=<name>

The recipe's parts: what goes into the guest (``files``), the kernel and its modules
(``kernel``), the root tree and its two forms (``rootfs``), the SSH server (``ssh``), the
host tools it runs (``tools``), and the cached build (``build``).

Debian packages it needs on the host (``apt-get install --no-install-recommends``):
``qemu-system-x86`` (to boot it), ``qemu-utils`` (``qemu-img``), ``busybox-static``,
``e2fsprogs`` (``mke2fs``), ``lz4`` and ``dropbear-bin``; ``apt``, ``dpkg`` and ``libc-bin``
(``ldd``) come with every Debian system.
The only network access is ``apt-get download`` from the configured Debian mirror.

Caching: the build is keyed by a hash of its inputs (this package's source, the kernel
package and version, the busybox binary, dropbear and its libraries). Outputs live in
``cache_dir/<key>/`` with a ``manifest.json`` written last; a call whose key has a
complete manifest (files present, sizes as recorded) returns at once. The downloaded
``.deb`` stays in ``cache_dir/debs/`` and is reused; when apt cannot answer (no package
lists, offline) the newest cached kernel ``.deb`` is used. Builds of one cache directory
are serialised with a lock file, and the outputs are reproducible: fixed timestamps,
owners and ordering, a fixed filesystem UUID and hash seed, gzip without a timestamp.
"""

from backends.qemu.guest.build import GuestImage, build_guest, default_cache_dir
from backends.qemu.guest.tools import GuestBuildError

__all__ = ["GuestBuildError", "GuestImage", "build_guest", "default_cache_dir"]
