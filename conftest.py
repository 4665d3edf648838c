"""Command-line options of the conformance suite (registered at the root so that any
selection of tests, ``tests/`` and ``conformance/`` together included, accepts them)."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

#: Every registered backend (entry point group ``nova_emulator.backends``): the built-in
#: ones and any plug-in installed, or registered on ``PYTHONPATH``.
BACKENDS = tuple(sorted({ep.name for ep in entry_points(group="nova_emulator.backends")}))

#: Why ``simulated_only`` tests are skipped on another backend.
SIMULATED_ONLY = "needs the simulated cloud's manual clock or stage table"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nova-emulator conformance")
    group.addoption("--backend", default="simulated", choices=BACKENDS,
                    help="emulator backend to run the suite on")
    group.addoption("--cloud", default=None,
                    help="run against this clouds.yaml cloud (a member) instead of an emulator")
    group.addoption("--alt-cloud", default=None, help="a member of another project")
    group.addoption("--admin-cloud", default=None, help="an admin of the cloud")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    marks: tuple[str, ...]
    if config.getoption("--cloud") is not None:
        reason = "needs the emulator itself; --cloud was given"
        marks = ("emulator_only", "simulated_only")
    elif config.getoption("--backend") != "simulated":
        reason = SIMULATED_ONLY
        marks = ("simulated_only",)
    else:
        return
    for item in items:
        found = next(filter(None, map(item.get_closest_marker, marks)), None)
        if found is not None:  # the mark's own ``reason=`` says more, where it has one
            item.add_marker(pytest.mark.skip(reason=found.kwargs.get("reason", reason)))
