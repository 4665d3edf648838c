"""What goes into the guest: ``/init``, busybox init's scripts, the ACPI power button
handler, the network watcher and DHCP hook, the little web page the guest serves, the
config drive reader and the SSH server's start script (dropbear itself: ``ssh``).

Users: ``root`` and ``cirros`` (uid 1000; Tempest's ``image_ssh_user`` for CirrOS), both
with ``/bin/sh`` (busybox ash) and no password: they log in with the server's key pair
only, which ``configdrive`` installs from the config drive.

``GUEST_FILES`` maps each path in the guest to its mode and content; ``etc/modules`` and
``etc/guest-release`` are written by the build, which knows the kernel's modules and the
version. The console lines these scripts print are listed in ``backends.qemu.guest``.
"""

from __future__ import annotations

_INIT = r"""#!/bin/sh
# nova-emulator guest: PID 1 of the initramfs.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
for m in $(cat /etc/modules); do
  modprobe "$m" || echo "GUEST-WARN modprobe $m failed"
done
echo "GUEST-BANNER nova-emulator guest $(cat /etc/guest-release) kernel=$(uname -r)"
root=
for arg in $(cat /proc/cmdline); do
  case "$arg" in root=*) root="${arg#root=}" ;; esac
done
if [ -n "$root" ]; then
  i=0
  while [ ! -b "$root" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if mount -t ext4 "$root" /newroot; then
    for fs in dev proc sys; do mount --move "/$fs" "/newroot/$fs"; done
    exec switch_root /newroot /sbin/init
  fi
  echo "GUEST-WARN root=$root could not be mounted; staying on the initramfs"
fi
exec /sbin/init
"""

_RC_S = r"""#!/bin/sh
# busybox init's sysinit: mounts, hostname, acpid, then the GUEST-READY line.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mounted() { [ -r /proc/mounts ] && grep -q " $1 " /proc/mounts; }
mounted /proc || mount -t proc proc /proc
mounted /sys || mount -t sysfs sysfs /sys
mounted /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mounted /dev/pts || mount -t devpts devpts /dev/pts
mounted /run || mount -t tmpfs -o mode=0755 tmpfs /run
mounted /tmp || mount -t tmpfs -o mode=1777 tmpfs /tmp
cmdline=$(cat /proc/cmdline)
name=
for arg in $cmdline; do
  case "$arg" in hostname=*) name="${arg#hostname=}" ;; esac
done
fwcfg=/sys/firmware/qemu_fw_cfg/by_name/opt/guest/hostname/raw
if [ -z "$name" ] && [ -r "$fwcfg" ]; then name=$(cat "$fwcfg"); fi
[ -n "$name" ] || name=guest
drive=$(/sbin/configdrive)
[ -n "$drive" ] && name=$drive
hostname "$name"
echo "$name" >/etc/hostname
ip link set lo up
case " $cmdline " in
  *" guest.noacpid "*) ;;
  *) acpid -c /etc/acpi -l /run/acpid.log ;;
esac
set -- $(grep ' / ' /proc/mounts | tail -n 1)
root=$1
case "$3" in rootfs|ramfs|tmpfs) root=initramfs ;; esac
echo "GUEST-READY hostname=$name root=$root uptime=$(cut -d' ' -f1 /proc/uptime)" >/dev/console
"""

_CONFIG_DRIVE = r"""#!/bin/sh
# The config drive (ISO 9660, label config-2, as Nova builds it): install the server's
# public keys for root and cirros; print the hostname of its meta_data.json (first label).
# The drive is a SCSI CD-ROM; wait for it (30 s: the SCSI scan of a TCG guest on a busy
# host is slow) only when a SCSI controller exists.
ls /sys/class/scsi_host/host* >/dev/null 2>&1 || exit 0
i=0
while [ ! -b /dev/sr0 ] && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
mnt=/run/config-drive
mkdir -p "$mnt"
for dev in /dev/sr*; do
  [ -b "$dev" ] || continue
  mount -t iso9660 -o ro "$dev" "$mnt" 2>/dev/null || continue
  meta="$mnt/openstack/latest/meta_data.json"
  if [ -r "$meta" ]; then
    # One JSON object; public key values hold no quote (a trailing \n is escaped).
    keys=$(grep -o '"public_keys": *{[^}]*}' "$meta" | grep -o '": *"[^"]*"' \
      | sed 's/^": *"//; s/"$//; s/\\n$//')
    for home in /root:0 /home/cirros:1000; do
      dir=${home%:*}; id=${home#*:}
      mkdir -p "$dir/.ssh"
      printf '%s\n' "$keys" | grep . >"$dir/.ssh/authorized_keys"
      chmod 700 "$dir" "$dir/.ssh"; chmod 600 "$dir/.ssh/authorized_keys"
      chown -R "$id:$id" "$dir"
    done
    host=$(grep -o '"hostname": *"[^"]*"' "$meta" | sed 's/^"hostname": *"//; s/"$//')
    # user data that is a script runs once the guest is up (as CirrOS runs it): userdata
    data="$mnt/openstack/latest/user_data"
    if [ "$(head -c 2 "$data" 2>/dev/null)" = "#!" ]; then
      cp "$data" /run/user-data && chmod 700 /run/user-data
    fi
    echo "GUEST-CONFIG-DRIVE $dev keys=$(printf '%s\n' "$keys" | grep -c .)" >/dev/console
    echo "${host%%.*}"
    umount "$mnt"
    exit 0
  fi
  umount "$mnt"
done
echo "GUEST-WARN a SCSI controller but no config drive" >/dev/console
"""

_USER_DATA = r"""#!/bin/sh
# Run the config drive's user-data script (saved by configdrive) once, as root.
[ -x /run/user-data ] || exit 0
/run/user-data >/run/user-data.log 2>&1
echo "GUEST-USER-DATA exit=$?" >/dev/console
"""

_SSHD = r"""#!/bin/sh
# dropbear on port 22 (init respawns it): keys only, its log in /run/dropbear.log.
key=/etc/dropbear/dropbear_ed25519_host_key
mkdir -p /etc/dropbear
[ -s "$key" ] || dropbearkey -t ed25519 -f "$key" >/dev/null 2>&1
echo "GUEST-SSH port=22" >/dev/console
exec dropbear -F -E -s -p 22 -r "$key" 2>>/run/dropbear.log
"""

_RC_K = r"""#!/bin/sh
# busybox init's shutdown: say so, flush the disk.
echo "GUEST-SHUTDOWN hostname=$(hostname)" >/dev/console
sync
mount -o remount,ro / 2>/dev/null
exit 0
"""

_INITTAB = """\
::sysinit:/etc/init.d/rcS
::respawn:/usr/sbin/httpd -f -p 80 -h /www
::respawn:/sbin/netwatch
::respawn:/sbin/sshd
::once:/sbin/userdata
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
"""

_POWER_BUTTON = """#!/bin/sh
# acpid runs this for the ACPI power button (QMP system_powerdown).
exec poweroff
"""

_NETWATCH = r"""#!/bin/sh
# Configure every NIC, present at boot or hot-plugged, with DHCP; forget removed ones.
# Say so of every virtio disk that appears or goes (size in bytes, serial: the volume id).
state=/run/netwatch
mkdir -p "$state"
while :; do
  for dev in /sys/block/vd*; do
    [ -e "$dev" ] || continue
    disk=${dev##*/}
    [ -e "$state/disk.$disk" ] && continue
    : >"$state/disk.$disk"
    serial=$(cat "$dev/serial" 2>/dev/null)
    echo "GUEST-DISK-ADDED $disk $(( $(cat "$dev/size") * 512 )) serial=$serial" >/dev/console
  done
  for seen in "$state"/disk.*; do
    [ -e "$seen" ] || continue
    disk=${seen##*/disk.}
    [ -e "/sys/block/$disk" ] && continue
    rm -f "$seen"
    echo "GUEST-DISK-REMOVED $disk" >/dev/console
  done
  for dev in /sys/class/net/eth*; do
    [ -e "$dev" ] || continue
    nic=${dev##*/}
    [ -e "$state/nic.$nic" ] && continue
    mac=$(cat "$dev/address")
    echo "$mac" >"$state/nic.$nic"
    echo "GUEST-NET $nic added mac=$mac" >/dev/console
    ip link set "$nic" up
    udhcpc -b -S -t 3 -T 1 -i "$nic" -p "$state/$nic.pid" \
      -s /etc/udhcpc/default.script >/dev/null 2>&1
  done
  for seen in "$state"/nic.*; do
    [ -e "$seen" ] || continue
    nic=${seen##*/nic.}
    [ -e "/sys/class/net/$nic" ] && continue
    [ -r "$state/$nic.pid" ] && kill "$(cat "$state/$nic.pid")" 2>/dev/null
    rm -f "$seen" "$state/$nic.pid"
    echo "GUEST-NET $nic removed" >/dev/console
  done
  sleep 1
done
"""

_DHCP_SCRIPT = r"""#!/bin/sh
# udhcpc hook: $1 is the event; the lease comes in the environment.
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    gw=${router%% *}
    if [ -n "$gw" ] && ! ip route | grep -q '^default'; then
      ip route add default via "$gw" dev "$interface"
    fi
    if [ -n "$dns" ]; then
      for server in $dns; do echo "nameserver $server"; done >/etc/resolv.conf
    fi
    echo "GUEST-DHCP $interface ip=$ip router=$gw" >/dev/console
    ;;
esac
exit 0
"""

_INFO_CGI = r"""#!/bin/sh
# What the guest sees: hostname, uptime, IPv4 addresses, block devices with their sizes.
echo "Content-Type: text/plain"
echo
echo "hostname=$(hostname)"
echo "uptime=$(cut -d' ' -f1 /proc/uptime)"
ip -o -4 addr show | while read -r _ dev _ addr _; do echo "addr $dev $addr"; done
for b in /sys/block/*; do
  [ -e "$b/size" ] || continue
  echo "block ${b##*/} $(( $(cat "$b/size") * 512 ))"
done
"""

_INDEX_HTML = """<!doctype html>
<title>nova-emulator guest</title>
<p>nova-emulator guest. See <a href="/cgi-bin/info">/cgi-bin/info</a>.</p>
"""

#: Path in the guest -> (mode, content).
GUEST_FILES: dict[str, tuple[int, str]] = {
    "init": (0o755, _INIT),
    "etc/inittab": (0o644, _INITTAB),
    "etc/init.d/rcS": (0o755, _RC_S),
    "etc/init.d/rcK": (0o755, _RC_K),
    "etc/acpi/PWRF/00000080": (0o755, _POWER_BUTTON),
    "etc/udhcpc/default.script": (0o755, _DHCP_SCRIPT),
    "sbin/netwatch": (0o755, _NETWATCH),
    "www/index.html": (0o644, _INDEX_HTML),
    "www/cgi-bin/info": (0o755, _INFO_CGI),
    "sbin/configdrive": (0o755, _CONFIG_DRIVE),
    "sbin/sshd": (0o755, _SSHD),
    "sbin/userdata": (0o755, _USER_DATA),
    # dropbear refuses an empty password field ("x": no password; keys only, -s).
    "etc/passwd": (0o644, "root:x:0:0:root:/root:/bin/sh\n"
                          "cirros:x:1000:1000:cirros:/home/cirros:/bin/sh\n"),
    "etc/group": (0o644, "root:x:0:\ncirros:x:1000:\n"),
    "etc/shells": (0o644, "/bin/sh\n/bin/ash\n"),
    "etc/nsswitch.conf": (0o644, "passwd: files\ngroup: files\nshadow: files\n"),
    "etc/hostname": (0o644, "guest\n"),
    "etc/resolv.conf": (0o644, ""),
}
GUEST_DIRS = ("dev", "proc", "sys", "run", "tmp", "newroot", "root", "home/cirros", "mnt",
              "var/log")
