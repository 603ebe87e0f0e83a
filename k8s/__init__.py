"""Connections -> ``kubernetes.client`` objects: volumes, mounts, env, secrets, the pod-spec patch.

Pure functions from models to models (tier 1); output is deterministic.  ``import k8s`` never
loads fsspec or a cloud SDK.
"""
