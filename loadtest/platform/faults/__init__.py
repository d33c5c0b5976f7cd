"""Faults the reference platform injects on purpose.

- plan.py: application-level faults per endpoint, seeded; proxy.py: connection-level faults
  from a TCP proxy in front of the platform.
"""
