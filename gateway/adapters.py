"""Build the enabled adapters from configuration: ``module:Class(endpoint, timeout_s=...)``,
or an installed adapter's entry-point name (see :mod:`gateway.adapter_registry`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from adapters.sdk import Adapter
from gateway.adapter_registry import ENTRY_POINT_GROUP, installed_adapters, is_entry_point_name
from gateway.config import AgencySettings, ConfigError


def adapter_class(reference: str) -> type[Adapter]:
    """The adapter class ``reference`` names: ``module:Class`` or an entry-point name."""
    if is_entry_point_name(reference):
        installed = installed_adapters()
        if reference not in installed:
            raise ConfigError(
                f"adapter {reference!r} is not installed: no {ENTRY_POINT_GROUP!r} entry point "
                f"of that name (installed: {', '.join(sorted(installed)) or 'none'}); "
                "install the adapter's package or give adapter = 'module:Class'"
            )
        reference = installed[reference]
    module_name, _, class_name = reference.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"adapter {reference!r} cannot be imported") from exc
    if not (isinstance(found, type) and issubclass(found, Adapter)):
        raise ConfigError(f"adapter {reference!r} is not an Adapter")
    return found


def build_adapters(
    agencies: Mapping[str, AgencySettings], default_timeout_s: float
) -> dict[str, Adapter]:
    """One adapter per enabled agency, in configuration order."""
    adapters: dict[str, Adapter] = {}
    for name, settings in agencies.items():
        if not settings.enabled:
            continue
        # Every adapter takes (endpoint, *, timeout_s): see the Adapter contract.
        factory: Callable[..., Adapter] = adapter_class(settings.adapter)
        timeout = settings.timeout_s if settings.timeout_s is not None else default_timeout_s
        adapter = factory(settings.endpoint, timeout_s=timeout)
        if adapter.discover().agency != name:
            raise ConfigError(
                f"agency {name!r} is configured with the adapter for {adapter.discover().agency!r}"
            )
        adapters[name] = adapter
    if not adapters:
        raise ConfigError("no agency adapter is enabled")
    return adapters
