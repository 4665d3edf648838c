"""Nova's own source, read from the ``nova`` wheel on PyPI, for tests that hold our tables
against it.

The wheel of ``NOVA_VERSION`` is fetched once with ``pip download`` (so pip's own index
configuration applies), checked against its published SHA-256 and kept in a cache:
``$NOVA_EMULATOR_NOVA_CACHE``, else ``$XDG_CACHE_HOME/nova-emulator/nova``, else
``~/.cache/nova-emulator/nova``. Nothing is imported from it (Nova's dependencies are not
installed): modules are parsed with ``ast`` and the few expression forms Nova's state,
policy and API modules use are evaluated here.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

#: The Nova release the tables are checked against: 34.0.0 is the first release whose
#: API maximum microversion (``_MAX_API_VERSION`` in api_version_request.py) is 2.104, the
#: emulator's maximum (33.0.x stops at 2.103).
NOVA_VERSION = "34.0.0"
NOVA_WHEEL = f"nova-{NOVA_VERSION}-py3-none-any.whl"
#: As PyPI publishes it for ``NOVA_WHEEL``.
NOVA_WHEEL_SHA256 = "8b46997836961762608e6e46e6d4945325d8a1fb8004e79e552e55839061f10c"
CACHE_ENV = "NOVA_EMULATOR_NOVA_CACHE"


class NovaSourceError(RuntimeError):
    """Nova's source could not be had (download failed, wrong file)."""


def cache_dir() -> Path:
    """Where the wheel is kept between runs."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nova-emulator" / "nova"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wheel() -> Path:
    """The cached wheel, downloaded first when it is missing or not the published file."""
    target = cache_dir() / NOVA_WHEEL
    if target.is_file() and _sha256(target) == NOVA_WHEEL_SHA256:
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NovaSourceError(f"cannot create the Nova source cache {target.parent} "
                              f"(set {CACHE_ENV} to a writable directory): {error}") from error
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps",
                   "--only-binary=:all:", "--disable-pip-version-check", "--dest", scratch,
                   f"nova=={NOVA_VERSION}"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise NovaSourceError(f"`{' '.join(command)}` did not run: {error}") from error
        got = Path(scratch) / NOVA_WHEEL
        if done.returncode != 0 or not got.is_file():
            output = (done.stderr or done.stdout).strip().splitlines()[-8:]
            raise NovaSourceError(
                f"cannot download Nova {NOVA_VERSION}'s source from PyPI (needed to check "
                f"the emulator's tables against Nova): `{' '.join(command)}` exited "
                f"{done.returncode}:\n" + "\n".join(output))
        digest = _sha256(got)
        if digest != NOVA_WHEEL_SHA256:
            raise NovaSourceError(f"{NOVA_WHEEL} from the package index has SHA-256 "
                                  f"{digest}, PyPI publishes {NOVA_WHEEL_SHA256}")
        os.replace(got, target)
    return target


# -- evaluating the constant expressions of Nova's modules ---------------------------------

Scope = dict[str, Any]


def evaluate(node: ast.expr, names: Scope) -> Any:
    """The expression forms Nova's modules use for states, actions and policy names:
    literals, names, attributes of modules and classes, ``+`` and ``%`` of constants."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.Attribute):
        return evaluate(node.value, names)[node.attr]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [evaluate(e, names) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {evaluate(k, names): evaluate(v, names)
                for k, v in zip(node.keys, node.values, strict=True) if k is not None}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return evaluate(node.left, names) + evaluate(node.right, names)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return evaluate(node.left, names) % evaluate(node.right, names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id in ("set", "list", "tuple", "frozenset") and len(node.args) == 1:
        return list(evaluate(node.args[0], names))
    raise ValueError(f"not a constant expression: {ast.unparse(node)}")


def _assign(body: list[ast.stmt], names: Scope) -> Scope:
    """Evaluate the simple assignments of a module or class body, in order."""
    assigned: Scope = {}
    for stmt in body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Name):
            with contextlib.suppress(KeyError, ValueError, TypeError, IndexError):
                value = evaluate(stmt.value, names)
                names[stmt.targets[0].id] = assigned[stmt.targets[0].id] = value
        elif isinstance(stmt, ast.ClassDef):
            names[stmt.name] = assigned[stmt.name] = _assign(stmt.body, dict(names))
    return assigned


@dataclass(frozen=True)
class Function:
    """A function of Nova's source, where it was found."""

    path: str
    node: ast.FunctionDef

    @property
    def name(self) -> str:
        return self.node.name


class _Module(Mapping[str, Any]):
    """An imported Nova module: its constants, evaluated on first use."""

    def __init__(self, source: NovaSource, path: str) -> None:
        self._source, self._path = source, path

    def __getitem__(self, key: str) -> Any:
        return self._source.constants(self._path)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._source.constants(self._path))

    def __len__(self) -> int:
        return len(self._source.constants(self._path))


class NovaSource:
    """Files of one Nova release, parsed on demand."""

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path)
        self._trees: dict[str, ast.Module] = {}
        self._scopes: dict[str, Scope] = {}

    @classmethod
    def fetch(cls) -> NovaSource:
        return cls(wheel())

    def names(self) -> list[str]:
        """Every file's path in the release."""
        return self._zip.namelist()

    def text(self, path: str) -> str:
        try:
            return self._zip.read(path).decode()
        except KeyError:
            raise NovaSourceError(f"{path} is not in Nova {NOVA_VERSION}") from None

    def tree(self, path: str) -> ast.Module:
        if path not in self._trees:
            self._trees[path] = ast.parse(self.text(path), filename=path)
        return self._trees[path]

    def _module_path(self, dotted: str) -> str | None:
        base = dotted.replace(".", "/")
        names = set(self.names())
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            if candidate in names:
                return candidate
        return None

    def constants(self, path: str) -> Scope:
        """A module's names: its constant assignments and classes (as dicts of their
        constants), and the Nova modules it imports (as their own constants)."""
        if path in self._scopes:
            return self._scopes[path]
        names: Scope = {}
        self._scopes[path] = names
        for stmt in self.tree(path).body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module and \
                    stmt.module.startswith("nova"):
                for alias in stmt.names:
                    module = self._module_path(f"{stmt.module}.{alias.name}")
                    if module is not None:
                        names[alias.asname or alias.name] = _Module(self, module)
        _assign(self.tree(path).body, names)
        return names

    # -- functions ------------------------------------------------------------------------

    def functions(self, path: str, cls: str | None = None) -> dict[str, Function]:
        """The functions of a module (``cls``: the methods of that class), by name."""
        body: list[ast.stmt] = self.tree(path).body
        if cls is not None:
            (found,) = [c for c in body if isinstance(c, ast.ClassDef) and c.name == cls]
            body = found.body
        return {f.name: Function(path, f) for f in body if isinstance(f, ast.FunctionDef)}

    def function(self, path: str, name: str) -> Function:
        """The one function (at any depth, method or not) called ``name`` in a module."""
        found = [n for n in ast.walk(self.tree(path))
                 if isinstance(n, ast.FunctionDef) and n.name == name]
        if len(found) != 1:
            raise NovaSourceError(f"{len(found)} functions named {name} in {path}")
        return Function(path, found[0])


def body_nodes(function: Function) -> list[ast.AST]:
    """Every node of a function's body (its decorators and signature left out)."""
    return [n for stmt in function.node.body for n in ast.walk(stmt)]


def calls_on(function: Function, owner: str) -> list[ast.Call]:
    """Calls of ``self.<owner>.<method>(...)`` (or ``<owner>.<method>`` when ``owner`` is a
    plain name such as ``context``) in a function's body."""
    found = []
    for node in body_nodes(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if (isinstance(target, ast.Attribute) and target.attr == owner
                    and isinstance(target.value, ast.Name) and target.value.id == "self") \
                    or (isinstance(target, ast.Name) and target.id == owner):
                found.append(node)
    return found


def called_name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else ast.unparse(call.func)


def decorator_calls(function: Function, name: str) -> list[tuple[int, ast.expr]]:
    """(position from the outermost, node) of each decorator called or named ``name``."""
    found = []
    for index, deco in enumerate(function.node.decorator_list):
        target = deco.func if isinstance(deco, ast.Call) else deco
        if (isinstance(target, ast.Name) and target.id == name) or \
                (isinstance(target, ast.Attribute) and target.attr == name):
            found.append((index, deco))
    return found


def keywords(call: ast.expr, names: Scope) -> dict[str, Any]:
    """A decorator call's keyword arguments, evaluated."""
    if not isinstance(call, ast.Call):
        return {}
    return {k.arg: evaluate(k.value, names) for k in call.keywords if k.arg is not None}


@cache
def _fetched() -> NovaSource | str:
    try:
        return NovaSource.fetch()
    except NovaSourceError as error:
        return f"Nova {NOVA_VERSION}'s source is needed: {error}"


def source() -> NovaSource:
    """Nova's source, fetched once per run; without it the calling test fails (a missing
    source is never a reason to skip: it is how the tables are known to be Nova's)."""
    found = _fetched()
    if isinstance(found, str):
        pytest.fail(found, pytrace=False)
    return found
