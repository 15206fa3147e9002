"""Adapters found through the ``joinedup.adapters`` entry-point group and enabled by
configuration, including one from a package outside this repository."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from adapters.nhs import NhsAdapter
from gateway.adapter_registry import installed_adapters
from gateway.adapters import adapter_class, build_adapters
from gateway.config import DEMO_AGENCIES, ConfigError, load_agencies


def test_the_seven_demo_adapters_are_installed_entry_points() -> None:
    installed = installed_adapters()

    for name in DEMO_AGENCIES:
        assert installed[name].startswith(f"adapters.{name}:"), installed.get(name)
        assert adapter_class(name) is adapter_class(installed[name])


def test_configuration_enables_an_adapter_by_its_entry_point_name(tmp_path: Path) -> None:
    path = tmp_path / "agencies.toml"
    path.write_text('[agencies.nhs]\nendpoint = "http://127.0.0.1:9"\nadapter = "nhs"\n')

    adapters = build_adapters(load_agencies(path), default_timeout_s=1.0)

    assert isinstance(adapters["nhs"], NhsAdapter)


def test_an_unknown_entry_point_name_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "agencies.toml"
    path.write_text('[agencies.nhs]\nendpoint = "http://x"\nadapter = "nhs_v9"\n')

    with pytest.raises(ConfigError, match=r"'nhs_v9' is not installed.*installed: benefits"):
        build_adapters(load_agencies(path), default_timeout_s=1.0)


def install_fake_distribution(site: Path) -> None:
    """Lay out an installed distribution the way pip does: a module and its dist-info
    with an ``entry_points.txt`` declaring a ``joinedup.adapters`` entry point."""
    package = site / "ferry_service_adapter"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass
            from adapters.benefits.adapter import SECTION, BenefitsAdapter
            import dataclasses

            FERRY = dataclasses.replace(SECTION, agency="ferry", title="Ferry service")

            @dataclass
            class FerryAdapter(BenefitsAdapter):
                def discover(self):
                    return FERRY
            """
        )
    )
    info = site / "ferry_service_adapter-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ferry-service-adapter\n")
    (info / "entry_points.txt").write_text(
        "[joinedup.adapters]\nferry = ferry_service_adapter:FerryAdapter\n"
    )


def test_an_adapter_from_another_package_is_enabled_by_the_agency_name_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "agencies.toml"
    path.write_text('[agencies.ferry]\nendpoint = "http://127.0.0.1:9"\n')

    adapters = build_adapters(load_agencies(path), default_timeout_s=1.0)

    assert type(adapters["ferry"]).__name__ == "FerryAdapter"
    assert adapters["ferry"].discover().agency == "ferry"
