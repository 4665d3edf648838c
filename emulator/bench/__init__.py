"""Benchmarks of the emulator's parts; ``nova-emulator bench placement`` replays workload
traces against the placement core (``command``: options; ``trace``, ``generators``,
``azure``: where traces come from; ``replay``, ``usage``, ``summary``: the replay and its
figures; ``report``, ``plots``: how they are shown; ``api``: the same replay over HTTP)."""
