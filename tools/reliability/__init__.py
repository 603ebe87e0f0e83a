"""Reliability tooling shared by the normal suite and the long runs (fuzzing, faults, sidecar)."""
