"""Benchmarks of gridcase, run as scripts from the repository root (see each module's docstring)."""
