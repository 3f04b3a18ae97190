"""Notification channels: each a module with one class behind the small ``Channel`` interface.

Adding a channel is adding a module here that decorates its class with ``@register``.
"""

from __future__ import annotations

import importlib
import pkgutil

from workflow.notices.channels.base import REGISTRY, Channel, DeliveryError, Message, register

__all__ = ["REGISTRY", "Channel", "DeliveryError", "Message", "get", "register"]


def get(name: str) -> Channel:
    """Return the channel called ``name``, loading the channel modules the first time one is missing."""
    # Not "if the registry is empty": a process that imported one channel module directly
    # (for its signature helper, say) has a registry holding that one channel only.
    if name not in REGISTRY:
        for module in pkgutil.iter_modules(__path__):
            if module.name != "base":
                importlib.import_module(f"{__name__}.{module.name}")
    try:
        return REGISTRY[name]
    except KeyError:
        raise DeliveryError(f"no channel named '{name}'", retryable=False) from None
