"""The control plane's domain: fault rules and the simulated cloud's knobs (no HTTP)."""
