"""Reading a dbt ``target/`` directory: ``manifest.json`` (required), ``catalog.json``,
``run_results.json`` and ``sources.json`` (each optional), as written by dbt 1.x (manifest v4 to v12)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_VERSION = re.compile(r"/v(\d+)(?:\.json)?$")
MANIFEST_VERSIONS = range(4, 13)


class ArtifactError(ValueError):
    """An artifact is missing, unreadable or not what dbt writes."""


@dataclass
class Artifacts:
    target_dir: Path
    manifest: dict[str, Any]
    catalog: dict[str, Any] | None = None
    run_results: dict[str, Any] | None = None
    sources: dict[str, Any] | None = None

    @property
    def adapter_type(self) -> str:
        return str(self.manifest.get("metadata", {}).get("adapter_type") or "")

    @property
    def project(self) -> str:
        return str(self.manifest.get("metadata", {}).get("project_name") or "")

    def nodes(self) -> dict[str, dict[str, Any]]:
        """Models, seeds, snapshots, tests … and sources, by unique id."""
        return {**self.manifest.get("nodes", {}), **self.manifest.get("sources", {})}


def read_artifacts(target_dir: Path) -> Artifacts:
    if not target_dir.is_dir():
        raise ArtifactError(f"{target_dir}: not a directory (give the dbt project's target/ directory)")
    manifest = _read(target_dir / "manifest.json", required=True)
    assert manifest is not None
    version = schema_version(manifest)
    if version is not None and version not in MANIFEST_VERSIONS:
        raise ArtifactError(
            f"{target_dir / 'manifest.json'}: manifest v{version} is not supported "
            f"(v{MANIFEST_VERSIONS.start} to v{MANIFEST_VERSIONS.stop - 1})"
        )
    if "nodes" not in manifest:
        raise ArtifactError(f"{target_dir / 'manifest.json'}: no 'nodes': not a dbt manifest")
    return Artifacts(
        target_dir=target_dir,
        manifest=manifest,
        catalog=_read(target_dir / "catalog.json"),
        run_results=_read(target_dir / "run_results.json"),
        sources=_read(target_dir / "sources.json"),
    )


def schema_version(document: dict[str, Any]) -> int | None:
    """``https://schemas.getdbt.com/dbt/manifest/v12.json`` → 12."""
    url = str(document.get("metadata", {}).get("dbt_schema_version") or "")
    match = _VERSION.search(url)
    return int(match.group(1)) if match else None


def _read(path: Path, *, required: bool = False) -> dict[str, Any] | None:
    if not path.exists():
        if required:
            raise ArtifactError(f"{path}: not found (run dbt compile, run or build first)")
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{path}: cannot read: {error}") from None
    except json.JSONDecodeError as error:
        raise ArtifactError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from None
    if not isinstance(document, dict):
        raise ArtifactError(f"{path}:1: expected a JSON object")
    return document
