"""``nova-emulator bench ratelimit``: the rate limiter driven by N concurrent clients at an
overload, on a virtual clock, the real clock, through HTTP, or across two emulators sharing a
Redis store; its figures checked against an offline GCRA oracle."""
