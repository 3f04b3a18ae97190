"""Pydantic models of every event and API payload, and the shared vocabulary."""
