"""The shell of a simulated guest: what ``ssh cirros@<address> <command>`` runs there.

A simulated guest has no processes, so its shell knows a fixed set of commands (``COMMANDS``)
and answers them from the instance as the cloud built it: its hostname, vCPUs, memory,
disks (the root disk and the volumes attached now), NICs (MACs and addresses of its ports
now) and uptime. They are the commands Tempest's ``RemoteClient`` and a user's first checks
run (``hostname``, ``grep -c processor /proc/cpuinfo``, ``lsblk -lb --nodeps``, ``ip -o addr
| awk '/<ip>/ {print $2}'``, ``cut -f1 -d. /proc/uptime``, ``sudo sh -c "echo hi
>/dev/console"``), in the output format of busybox/iproute2/util-linux, so the same parsing
works on both backends. Lists (``;``, ``&&``, ``||``), pipes, ``set -e``/``pipefail``,
``sudo`` and ``sh -c`` work; anything else is ``sh: <name>: not found`` (status 127).
Files a user writes (``touch``, ``echo x > f``) are kept in the guest's ``files`` for its
life (not on its disk: a rebuild or a snapshot does not carry them).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Disk:
    name: str  # vda, vdb ...
    size: int  # bytes
    kind: str = "disk"  # lsblk's TYPE: disk, rom


@dataclass(frozen=True)
class Nic:
    name: str  # eth0 ...
    mac: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuestView:
    """What the guest's shell can see of its instance, as of the command."""

    hostname: str
    vcpus: int
    memory_mb: int
    uptime: float
    disks: tuple[Disk, ...] = ()
    nics: tuple[Nic, ...] = ()


@dataclass(frozen=True)
class Result:
    stdout: str = ""
    stderr: str = ""
    status: int = 0


#: The user names a guest knows (as the free QEMU guest: CirrOS's user and root), by uid.
USERS: Mapping[str, int] = {"root": 0, "cirros": 1000}


def _files(guest: GuestView) -> dict[str, str]:
    cpu = ("processor\t: {n}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
           "model name\t: Intel Xeon Processor (Cascadelake)\ncpu MHz\t\t: 2294.608\n"
           "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep hypervisor\n\n")
    total = guest.memory_mb * 1024 - 65536 if guest.memory_mb > 128 else guest.memory_mb * 900
    return {
        "/etc/hostname": guest.hostname + "\n",
        "/proc/cpuinfo": "".join(cpu.format(n=n) for n in range(guest.vcpus)),
        "/proc/meminfo": f"MemTotal:       {total:8d} kB\nMemFree:        {total * 3 // 4:8d} "
                         f"kB\nMemAvailable:   {total * 4 // 5:8d} kB\n",
        "/proc/uptime": f"{guest.uptime:.2f} {guest.uptime * guest.vcpus * 0.97:.2f}\n",
        "/proc/partitions": "major minor  #blocks  name\n\n" + "".join(
            f" 253 {16 * i:8d} {d.size // 1024:9d} {d.name}\n"
            for i, d in enumerate(x for x in guest.disks if x.kind == "disk")),
        **{f"/sys/class/net/{nic.name}/address": nic.mac + "\n" for nic in guest.nics},
    }


@dataclass
class Shell:
    """One login's shell: ``run`` a command line, as ``user``, writing to ``console``."""

    guest: GuestView
    user: str
    console: Callable[[str], None] = lambda line: None
    #: What users wrote in the guest (absolute path -> contents), shared by its sessions.
    files: dict[str, str] = field(default_factory=dict)
    errexit: bool = field(default=False, init=False)
    pipefail: bool = field(default=False, init=False)
    exited: int | None = field(default=None, init=False)

    def run(self, line: str) -> Result:
        try:
            tokens = list(_lexer(line))
        except ValueError as error:
            return Result(stderr=f"sh: syntax error: {error}\n", status=2)
        out, err, status = [], [], 0
        lists = _lists(tokens)
        for index, (pipeline, connector) in enumerate(lists):
            if (connector == "&&" and status != 0) or (connector == "||" and status == 0):
                continue
            result = self._pipeline(pipeline)
            out.append(result.stdout)
            err.append(result.stderr)
            status = result.status
            following = lists[index + 1][1] if index + 1 < len(lists) else ";"
            if self.exited is not None or (self.errexit and status != 0 and following == ";"):
                break
        return Result("".join(out), "".join(err), status)

    def _pipeline(self, pipeline: list[list[str]]) -> Result:
        data, errors, status = "", [], 0
        for words in pipeline:
            result = self._simple(words, data)
            data = result.stdout
            errors.append(result.stderr)
            # pipefail: the last command that failed decides; else the last command
            status = (result.status or status) if self.pipefail else result.status
        return Result(data, "".join(errors), status)

    def _simple(self, words: list[str], stdin: str) -> Result:
        words, target, appending = _redirect(words)
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]  # NAME=value: the environment is not modelled
        if not words:
            return Result()
        command = COMMANDS.get(words[0].rsplit("/", 1)[-1])
        if command is None:
            return Result(stderr=f"sh: {words[0]}: not found\n", status=127)
        result = command(self, words[1:], stdin)
        if target is None:
            return result
        path = self.path(target)
        if path == "/dev/console":
            for text in result.stdout.splitlines():
                self.console(text)
        elif path.startswith(("/proc/", "/sys/", "/dev/")) or path in _files(self.guest):
            if path != "/dev/null":
                return Result(stderr=f"sh: can't create {target}: Permission denied\n",
                              status=1)
        else:
            self.files[path] = (self.files.get(path, "") if appending else "") + result.stdout
        return Result(stderr=result.stderr, status=result.status)

    def path(self, name: str) -> str:
        """``name`` as an absolute path (relative to the user's home)."""
        home = "/root" if self.user == "root" else f"/home/{self.user}"
        return name if name.startswith("/") else f"{home}/{name}"


def _lexer(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|>")
    lexer.whitespace_split = True
    lexer.commenters = ""
    return list(lexer)


def _lists(tokens: list[str]) -> list[tuple[list[list[str]], str]]:
    """``a | b && c; d`` -> [([[a], [b]], ";"), ([[c]], "&&"), ([[d]], ";")]: each pipeline
    with the connector before it."""
    found: list[tuple[list[list[str]], str]] = []
    pipeline: list[list[str]] = [[]]
    connector = ";"
    for token in [*tokens, ";"]:
        if token in (";", "&&", "||", "\n"):
            if any(pipeline):
                found.append((pipeline, connector))
            pipeline, connector = [[]], token if token != "\n" else ";"
        elif token == "|":
            pipeline.append([])
        else:
            pipeline[-1].append(token)
    return found


def _redirect(words: list[str]) -> tuple[list[str], str | None, bool]:
    """The words without a ``> file`` (or ``>> file``: appending), and that file."""
    for index, word in enumerate(words):
        if word in (">", ">>") and index + 1 < len(words):
            return words[:index] + words[index + 2:], words[index + 1], word == ">>"
    return words, None, False


def _read(shell: Shell, paths: list[str], stdin: str, name: str) -> tuple[str, str, int]:
    """The contents of ``paths`` (stdin when none), errors as ``name`` reports them."""
    if not paths:
        return stdin, "", 0
    files = {**_files(shell.guest), **shell.files}
    text, errors = [], []
    for path in paths:
        if shell.path(path) in files:
            text.append(files[shell.path(path)])
        else:
            errors.append(f"{name}: {path}: No such file or directory\n")
    return "".join(text), "".join(errors), 1 if errors else 0


def _options(args: list[str], with_value: str = "") -> tuple[dict[str, str], list[str]]:
    """Short options (``-c``, ``-d.``, ``-f 1``; those in ``with_value`` take a value) and
    long ones (``--nodeps``), then the operands."""
    options: dict[str, str] = {}
    rest = list(args)
    while rest and rest[0].startswith("-") and rest[0] != "-":
        word = rest.pop(0)
        if word.startswith("--"):
            options[word] = ""
            continue
        letters = word[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            if letter in with_value:
                options[letter] = letters or (rest.pop(0) if rest else "")
                break
            options[letter] = ""
    return options, rest


def _echo(shell: Shell, args: list[str], stdin: str) -> Result:
    newline = not args or args[0] != "-n"
    return Result(" ".join(args[0 if newline else 1:]) + ("\n" if newline else ""))


def _cat(shell: Shell, args: list[str], stdin: str) -> Result:
    return Result(*_read(shell, args, stdin, "cat"))


def _grep(shell: Shell, args: list[str], stdin: str) -> Result:
    options, rest = _options(args, "e")
    pattern = options.get("e") or (rest.pop(0) if rest else "")
    text, errors, failed = _read(shell, rest, stdin, "grep")
    if "F" in options:
        pattern = re.escape(pattern)
    found = [line for line in text.splitlines()
             if bool(re.search(pattern, line, re.I if "i" in options else 0)) != ("v" in options)]
    status = 2 if failed else (0 if found else 1)
    if "q" in options:
        return Result(status=status)
    if "c" in options:
        return Result(f"{len(found)}\n", errors, status)
    return Result("".join(line + "\n" for line in found), errors, status)


_AWK = re.compile(r"\s*(?:/(?P<match>(?:\\/|[^/])*)/)?\s*"
                  r"(?:\{\s*print(?P<fields>(?:\s*,?\s*\$\d+)*)\s*;?\s*\})?\s*")


def _awk(shell: Shell, args: list[str], stdin: str) -> Result:
    options, rest = _options(args, "F")
    program = _AWK.fullmatch(rest.pop(0)) if rest else None
    if program is None:
        return Result(stderr="awk: the simulated guest's awk runs '/re/ {print $N, ...}'\n",
                      status=2)
    text, errors, failed = _read(shell, rest, stdin, "awk")
    fields = [int(f) for f in re.findall(r"\$(\d+)", program["fields"] or "$0")]
    out = []
    for line in text.splitlines():
        if program["match"] is not None and not re.search(program["match"], line):
            continue
        split = line.split(options["F"]) if options.get("F") else line.split()
        out.append(" ".join(line if f == 0 else (split[f - 1] if f <= len(split) else "")
                            for f in fields) + "\n")
    return Result("".join(out), errors, 2 if failed else 0)


def _cut(shell: Shell, args: list[str], stdin: str) -> Result:
    options, rest = _options(args, "fd")
    delimiter = options.get("d") or "\t"
    try:
        wanted = [int(f) for f in options.get("f", "").split(",")]
    except ValueError:
        return Result(stderr="cut: invalid field list\n", status=1)
    text, errors, failed = _read(shell, rest, stdin, "cut")
    out = []
    for line in text.splitlines():
        parts = line.split(delimiter)
        out.append(delimiter.join(parts[f - 1] for f in wanted if 0 < f <= len(parts))
                   if len(parts) > 1 else line)
    return Result("".join(o + "\n" for o in out), errors, 1 if failed else 0)


def _wc(shell: Shell, args: list[str], stdin: str) -> Result:
    _, rest = _options(args)
    text, errors, failed = _read(shell, rest, stdin, "wc")
    return Result(f"{len(text.splitlines())}\n", errors, 1 if failed else 0)


def _size(size: int) -> str:
    for unit, scale in (("T", 2**40), ("G", 2**30), ("M", 2**20), ("K", 2**10)):
        if size >= scale:
            return f"{size / scale:g}{unit}"[:6]
    return f"{size}B"


def _lsblk(shell: Shell, args: list[str], stdin: str) -> Result:
    """util-linux's ``lsblk``: a TYPE column aligned right of its header (Tempest's
    ``get_disks`` reads the column at the header's offset)."""
    options, _ = _options(args)
    nodeps = "d" in options or "--nodeps" in options
    rows = [["NAME", "MAJ:MIN", "RM", "SIZE", "RO", "TYPE", "MOUNTPOINTS"]]
    for index, disk in enumerate(shell.guest.disks):
        device = "11:0" if disk.kind == "rom" else f"253:{16 * index}"
        size = str(disk.size) if "b" in options else _size(disk.size)
        rows.append([disk.name, device, "1" if disk.kind == "rom" else "0", size, "0",
                     disk.kind, ""])
        if index == 0 and not nodeps:
            rows.append(["vda1" if "l" in options else "└─vda1", f"253:{16 * index + 1}",
                         "0", size, "0", "part", "/"])
    if "n" in options:
        rows = rows[1:]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {2, 3, 4}  # RM, SIZE, RO

    def cell(i: int, value: str) -> str:
        return value.rjust(widths[i]) if i in right else value.ljust(widths[i])
    return Result("".join(" ".join(cell(i, v) for i, v in enumerate(row)).rstrip() + "\n"
                          for row in rows))


def _inet(address: str) -> str:
    return f"inet6 {address}/64 scope global" if ":" in address else (
        f"inet {address}/24 brd {address.rsplit('.', 1)[0]}.255 scope global")


def _ip(shell: Shell, args: list[str], stdin: str) -> Result:
    """iproute2's ``ip [-o] [-4|-6] addr|link [show [dev] NAME]``."""
    options, rest = _options(args)
    what = rest[0] if rest else ""
    only = rest[-1] if len(rest) > 1 and rest[-1] not in ("show", "dev") else None
    if not any(x.startswith(what) for x in ("addr", "address", "link")) or not what:
        return Result(stderr=f'Object "{what}" is unknown, try "ip help".\n', status=255)
    nics = [Nic("lo", "00:00:00:00:00:00", ("127.0.0.1",)), *shell.guest.nics]
    if only is not None and only not in (n.name for n in nics):
        return Result(stderr=f'Device "{only}" does not exist.\n', status=1)
    link_only = "link".startswith(what)
    glue = "\\    " if "o" in options else "\n    "
    lines = []
    for number, nic in enumerate(nics, start=1):
        if only is not None and nic.name != only:
            continue
        flags, qdisc = (("<LOOPBACK,UP,LOWER_UP> mtu 65536", "noqueue") if nic.name == "lo"
                        else ("<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450", "pfifo_fast"))
        kind = "loopback" if nic.name == "lo" else "ether"
        brd = "00:00:00:00:00:00" if nic.name == "lo" else "ff:ff:ff:ff:ff:ff"
        link = f"link/{kind} {nic.mac} brd {brd}"
        addresses = [a for a in nic.addresses if not ("4" in options and ":" in a)
                     and not ("6" in options and ":" not in a)]
        inets = [("inet 127.0.0.1/8 scope host" if nic.name == "lo" else _inet(a))
                 + f" {nic.name}" for a in addresses]
        head = f"{number}: {nic.name}: {flags} qdisc {qdisc} state UP qlen 1000"
        if "o" in options and not link_only:
            lines += [f"{number}: {nic.name}    {inet}\\       valid_lft forever "
                      "preferred_lft forever" for inet in inets]
        elif link_only or "o" in options:
            lines.append(head + glue + link)
        else:
            lines.append(head + glue + link + "".join(
                f"{glue}{inet}\n       valid_lft forever preferred_lft forever"
                for inet in inets))
    return Result("".join(line + "\n" for line in lines))


def _touch(shell: Shell, args: list[str], stdin: str) -> Result:
    _, rest = _options(args)
    for name in rest:
        shell.files.setdefault(shell.path(name), "")
    return Result()


def _rm(shell: Shell, args: list[str], stdin: str) -> Result:
    options, rest = _options(args)
    missing = [name for name in rest if shell.files.pop(shell.path(name), None) is None]
    if missing and "f" not in options:
        return Result(stderr="".join(f"rm: can't remove '{name}': No such file or directory\n"
                                     for name in missing), status=1)
    return Result()


def _id(shell: Shell, args: list[str], stdin: str) -> Result:
    uid = USERS.get(shell.user, 1000)
    options, _ = _options(args)
    if "u" in options:
        return Result(f"{shell.user}\n" if "n" in options else f"{uid}\n")
    return Result(f"uid={uid}({shell.user}) gid={uid}({shell.user})\n")


def _sudo(shell: Shell, args: list[str], stdin: str) -> Result:
    _, rest = _options(args)
    root = Shell(shell.guest, "root", shell.console, shell.files)
    return root._simple(rest, stdin) if rest else Result(stderr="usage: sudo command\n",
                                                        status=1)


def _sh(shell: Shell, args: list[str], stdin: str) -> Result:
    options, _ = _options(args, "c")
    inner = Shell(shell.guest, shell.user, shell.console, shell.files)
    return inner.run(options.get("c") or stdin)


def _set(shell: Shell, args: list[str], stdin: str) -> Result:
    for index, word in enumerate(args):
        on = word.startswith("-")
        if "e" in word[1:] and not word.startswith(("-o", "+o")):
            shell.errexit = on
        if word in ("-o", "+o") and index + 1 < len(args) and args[index + 1] == "pipefail":
            shell.pipefail = on
    return Result()


def _exit(shell: Shell, args: list[str], stdin: str) -> Result:
    shell.exited = int(args[0]) if args and args[0].isdigit() else 0
    return Result(status=shell.exited)


def _uname(shell: Shell, args: list[str], stdin: str) -> Result:
    parts = {"s": "Linux", "n": shell.guest.hostname, "r": "5.15.0-71-generic",
             "m": "x86_64"}
    options, _ = _options(args)
    wanted = "snrm" if "a" in options else "".join(k for k in "snrm" if k in options) or "s"
    return Result(" ".join(parts[k] for k in wanted) + "\n")


#: The commands the guest knows, by name (a path's last part: ``/bin/cat`` is ``cat``).
COMMANDS: Mapping[str, Callable[[Shell, list[str], str], Result]] = {
    "true": lambda shell, args, stdin: Result(),
    ":": lambda shell, args, stdin: Result(),
    "false": lambda shell, args, stdin: Result(status=1),
    "echo": _echo,
    "hostname": lambda shell, args, stdin: Result(shell.guest.hostname + "\n"),
    "cat": _cat,
    "grep": _grep,
    "awk": _awk,
    "cut": _cut,
    "wc": _wc,
    "lsblk": _lsblk,
    "ip": _ip,
    "id": _id,
    "whoami": lambda shell, args, stdin: Result(shell.user + "\n"),
    "uname": _uname,
    "nproc": lambda shell, args, stdin: Result(f"{shell.guest.vcpus}\n"),
    "touch": _touch,
    "rm": _rm,
    "sync": lambda shell, args, stdin: Result(),
    "sudo": _sudo,
    "sh": _sh,
    "set": _set,
    "exit": _exit,
}
