"""Operator configuration: one TOML file plus JOINEDUP_ environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.settings import ConfigError, gateway_config, load_settings

AGENCIES = """
[agencies.council]
endpoint = "/srv/council.sqlite"
[agencies.benefits]
endpoint = "http://benefits.internal:8080"
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("JOINEDUP_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "joinedup.toml"
    path.write_text(text)
    return path


def test_file_values_reach_the_gateway_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'agency_timeout_s = 3.5\n[server]\ngraphiql = false\n[observability]\nlog_format = "json"\n'
        + AGENCIES,
    )
    config = gateway_config(load_settings(path))
    assert config.agencies["council"].endpoint == "/srv/council.sqlite"
    assert config.agencies["benefits"].endpoint == "http://benefits.internal:8080"
    assert config.agency_timeout_s == 3.5
    assert config.graphiql is False
    assert config.observability.log_format == "json"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[server]\nport = 9000\nworkers = 2\n" + AGENCIES)
    monkeypatch.setenv("JOINEDUP_SERVER__PORT", "9100")
    monkeypatch.setenv("JOINEDUP_AGENCIES__BENEFITS__ENDPOINT", "http://elsewhere:1")
    monkeypatch.setenv("JOINEDUP_CONFIG_FILE", str(path))
    settings = load_settings()
    assert (settings.server.port, settings.server.workers) == (9100, 2)
    assert settings.agencies["benefits"].endpoint == "http://elsewhere:1"
    assert settings.agencies["council"].endpoint == "/srv/council.sqlite"


def test_every_problem_is_named_with_its_key_and_variable(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = "eighty"\nworkrs = 2\n[observability]\ntraces = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "server.port (or JOINEDUP_SERVER__PORT)" in message
    assert "server.workrs" in message and "Extra inputs are not permitted" in message
    assert "observability.traces" in message
    assert len(caught.value.problems) == 3


def test_unreadable_or_malformed_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[server\n"))


def test_every_option_reaches_the_gateway_config(tmp_path: Path) -> None:
    text = (
        AGENCIES + 'timeout_s = 1.5\n[policy]\nengine = "opa"\nopa_url = "http://localhost:8181"\n'
        '[audit]\ndsn = "postgresql://audit@db/audit"\ndecision_log = "-"\n'
        '[auth]\njwks_url = "https://idp.example/jwks"\nissuer = "idp"\n'
        '[limits]\nmax_depth = 8\nrate_limit = "5/second"\n[resilience]\nbreaker_reset_s = 2\n'
    )
    config = gateway_config(load_settings(write(tmp_path, text)))
    assert (config.policy_engine, config.opa_url) == ("opa", "http://localhost:8181")
    assert (config.audit_dsn, config.decision_log) == ("postgresql://audit@db/audit", "-")
    assert (config.auth.jwks_url, config.auth.issuer) == ("https://idp.example/jwks", "idp")
    assert (config.limits.max_depth, config.limits.rate_limit) == (8, "5/second")
    assert config.resilience.breaker_reset_s == 2
    assert config.timeout_for("benefits") == 1.5


def test_dev_tokens_off_needs_the_production_profile(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs the production profile"):
        load_settings(write(tmp_path, "[auth]\ndev_tokens = false\n"))


def test_unknown_agency_and_bad_audit_dsn_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agencies\.youth_justice: unknown agency"):
        load_settings(write(tmp_path, "[agencies.youth_justice]\nendpoint = 'http://p'\n"))
    with pytest.raises(ConfigError, match="sqlite:/// or postgresql://"):
        load_settings(write(tmp_path, "[audit]\ndsn = 'mysql://x'\n"))


def test_production_profile_lists_everything_it_requires(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, 'profile = "production"\n' + AGENCIES))
    problems = "\n".join(caught.value.problems)
    for requirement in (
        "auth.dev_tokens must be false",
        "auth.jwks_url is required",
        "server.graphiql must be false",
        "server.introspection must be false",
        "policy.engine must be 'opa'",
        "audit.dsn must be a postgresql:// DSN",
    ):
        assert requirement in problems


def test_config_check_command(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(main, ["config", "check", str(write(tmp_path, AGENCIES))])
    assert good.exit_code == 0, good.output
    assert "ok (demo): agencies benefits, council" in good.output
    bad = runner.invoke(main, ["config", "check", str(write(tmp_path, "[server]\nport = 0\n"))])
    assert bad.exit_code == 1
    assert "server.port" in bad.output
    demo = runner.invoke(main, ["config", "check", str(write(tmp_path, "[server]\nport = 8001\n"))])
    assert demo.exit_code == 0, demo.output
    assert "serve starts the demo world" in demo.output
