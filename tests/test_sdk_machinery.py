"""Shared adapter machinery: safe XML parsing and configuration-built adapters."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.nhs import NhsAdapter
from adapters.sdk import UpstreamBadReply
from adapters.sdk.xml import parse_xml
from gateway.adapters import build_adapters
from gateway.config import ConfigError, agencies_toml, agency_settings, load_agencies
from simulators.police.app import XML_BOMB


def test_entity_expansion_bomb_is_refused() -> None:
    with pytest.raises(UpstreamBadReply, match="unsafe XML"):
        parse_xml("police", XML_BOMB.encode())


def test_external_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-read")
    document = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r>&x;</r>'

    with pytest.raises(UpstreamBadReply) as raised:
        parse_xml("police", document.encode())
    assert "do-not-read" not in str(raised.value)


def test_malformed_xml_is_a_bad_reply() -> None:
    with pytest.raises(UpstreamBadReply, match="not well-formed"):
        parse_xml("police", b"<a><b></a>")


def test_agencies_round_trip_through_toml_and_build_adapters(tmp_path: Path) -> None:
    agencies = {
        "nhs": agency_settings("nhs", "http://127.0.0.1:1", timeout_s=0.5),
        "council": agency_settings("council", str(tmp_path / "council.sqlite"), enabled=False),
    }
    path = tmp_path / "agencies.toml"
    path.write_text(agencies_toml(agencies))

    loaded = load_agencies(path)
    adapters = build_adapters(loaded, default_timeout_s=2.0)

    assert loaded == agencies
    assert list(adapters) == ["nhs"], "disabled agencies get no adapter"
    assert isinstance(adapters["nhs"], NhsAdapter)
    assert adapters["nhs"].timeout_s == 0.5


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[agencies.ghost]\nendpoint = "http://x"\n', "no default adapter"),
        ('[agencies.nhs]\nendpoint = "http://x"\nadapter = "adapters.nope:X"\n', "cannot be"),
        ('[agencies.nhs]\nendpoint = "http://x"\nadapter = "gateway.config:REPO_ROOT"\n', "not an"),
        (
            '[agencies.nhs]\nendpoint = "http://x"\nadapter = "adapters.police:PoliceAdapter"\n',
            "for 'police'",
        ),
        ("[agencies.nhs]\n", "needs endpoint"),
        ('[agencies.nhs]\nendpoint = "http://x"\nretries = 3\n', "unknown setting"),
        ('[agencies.nhs]\nendpoint = "http://x"\ntimeout_s = "soon"\n', "positive number"),
        ('[agencies.nhs]\nendpoint = "http://x"\nenabled = "yes"\n', "true or false"),
    ],
)
def test_bad_agency_configuration_is_a_clear_error(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "agencies.toml"
    path.write_text(toml)

    with pytest.raises(ConfigError, match=message):
        build_adapters(load_agencies(path), default_timeout_s=2.0)
