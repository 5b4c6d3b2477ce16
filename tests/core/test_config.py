"""Configuration: one YAML file, ${ENV} interpolation, OBSERVER_ overrides, located errors."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from observer.config import ConfigError, load_config
from observer.config.settings import parse_duration


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "observer.yaml"
    path.write_text(text)
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {})
    return caught.value.problems


def test_defaults_need_no_file() -> None:
    loaded = load_config(None, environ={}, use_default_path=False)
    assert loaded.settings.api.port == 5000
    assert loaded.settings.store.resolved_url().endswith("observer.db")


def test_unknown_key_names_key_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "store:\n  url: sqlite:///x.db\napi:\n  host: 127.0.0.1\n  prot: 8080\n")
    assert problems(path) == [f"{path}:5: api.prot: unknown key"]


def test_wrong_type_names_key_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "api:\n  port: eighty\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:2: api.port: ")
    assert "integer" in problem


def test_missing_secret_names_variable_key_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "api:\n  tokens:\n    - name: airflow\n      token: ${AIRFLOW_TOKEN}\n")
    assert problems(path) == [f"{path}:4: api.tokens[0].token: environment variable AIRFLOW_TOKEN is not set"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "api:\n  port: x\n  colour: blue\ngraph:\n  backend: oracle\n")
    lines = [problem.split(": ")[0] for problem in problems(path)]
    assert sorted(lines) == [f"{path}:2", f"{path}:3", f"{path}:5"]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "api:\n  port: 1\n  host: [unclosed\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:")
    assert "invalid YAML" in problem


def test_interpolation_with_default_and_secret_tracking(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "store:\n  url: ${DB_URL:-sqlite:///fallback.db}\napi:\n  tokens:\n"
        "    - name: ci\n      token: ${CI_TOKEN}\n      scopes: [ingest]\n",
    )
    loaded = load_config(path, environ={"CI_TOKEN": "tok-123456"})
    assert loaded.settings.store.url == "sqlite:///fallback.db"
    assert loaded.settings.api.tokens[0].matches("tok-123456")
    assert "tok-123456" in loaded.secrets


def test_environment_overrides_file_values(tmp_path: Path) -> None:
    path = write(tmp_path, "api:\n  port: 8080\n")
    loaded = load_config(
        path, environ={"OBSERVER_API__PORT": "9090", "OBSERVER_TEST_POSTGRES_URL": "ignored"}
    )
    assert loaded.settings.api.port == 9090


def test_environment_override_of_unknown_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "api:\n  port: 8080\n")
    assert problems(path, {"OBSERVER_API__PROT": "1"}) == [
        "environment variable OBSERVER_API__PROT: api.prot: unknown key"
    ]


def test_environment_can_build_lists(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"secret-token").hexdigest()
    loaded = load_config(
        None,
        environ={
            "OBSERVER_API__TOKENS__0__NAME": "sidecar",
            "OBSERVER_API__TOKENS__0__SHA256": digest,
            "OBSERVER_API__TOKENS__0__SCOPES": "[ingest, read]",
        },
        use_default_path=False,
    )
    token = loaded.settings.api.tokens[0]
    assert token.scopes == ["ingest", "read"]
    assert token.matches("secret-token")
    assert not token.matches("secret-tokem")


def test_token_needs_exactly_one_of_token_or_sha256(tmp_path: Path) -> None:
    path = write(
        tmp_path, "api:\n  tokens:\n    - name: both\n      token: abcd\n      sha256: " + "a" * 64 + "\n"
    )
    [problem] = problems(path)
    assert problem == f"{path}:3: api.tokens[0]: give exactly one of token or sha256"


def test_durations_read_human_units() -> None:
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration(30) == timedelta(seconds=30)
    with pytest.raises(ValueError):
        parse_duration("soon")
