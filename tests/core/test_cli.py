"""The command line: version, help, serve on a real port, safe binding, db and config commands."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from observer import __version__
from tests.conftest import LiveServer, free_port


def observer(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "OBSERVER_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "observer", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=home,
        timeout=120,
    )


def test_version_and_help(tmp_path: Path) -> None:
    assert observer("--version", home=tmp_path).stdout.strip() == f"observer {__version__}"
    help_text = observer("--help", home=tmp_path).stdout
    for command in ("serve", "db", "config"):
        assert command in help_text


def test_serve_answers_on_a_real_port(start_server: Callable[..., LiveServer]) -> None:
    server = start_server()
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").status_code == 200


def test_serve_refuses_a_public_address_without_tokens(tmp_path: Path) -> None:
    result = observer("serve", "--host", "0.0.0.0", "--port", str(free_port()), home=tmp_path)
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without API tokens" in result.stderr


def test_serve_on_a_public_address_with_auth_none_warns(start_server: Callable[..., LiveServer]) -> None:
    server = start_server("api:\n  auth: none\n", host="0.0.0.0")
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert "WITHOUT authentication" in server.log()


def test_config_errors_exit_2_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "observer.yaml").write_text("api:\n  port: 1\n  prot: 2\n")
    result = observer("config", "check", home=tmp_path)
    assert result.returncode == 2
    assert "observer.yaml:3: api.prot: unknown key" in result.stderr


def test_config_check_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "observer.yaml").write_text(
        "store:\n  url: postgresql+psycopg://u:pa55word@db:5432/x\n"
        "api:\n  tokens:\n    - name: ci\n      token: ${CI_TOKEN}\n"
    )
    result = observer("config", "check", home=tmp_path, env={"CI_TOKEN": "very-secret-token"})
    assert result.returncode == 0, result.stderr
    assert "very-secret-token" not in result.stdout
    assert "pa55word" not in result.stdout
    assert "valid" in result.stdout


def test_db_upgrade_reports_what_it_applied(tmp_path: Path) -> None:
    first = observer("db", "upgrade", home=tmp_path)
    assert first.returncode == 0, first.stderr
    applied = first.stdout.split("applied ", 1)[1].strip().split(", ")
    assert applied[0] == "core_0001"
    assert "catalog_0001" in applied
    assert "already up to date" in observer("db", "upgrade", home=tmp_path).stdout
    assert (tmp_path / "observer.db").exists()
