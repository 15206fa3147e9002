"""Seeded, deterministic synthetic population and the per-agency files it writes."""

from simulators.world.generate import WorldPaths, generate_world

__all__ = ["WorldPaths", "generate_world"]
