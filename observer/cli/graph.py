"""``observer graph rebuild`` and ``observer lineage upstream|downstream``: the stored lineage graph."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer

from observer.cli.common import ConfigOption, build_runtime, fail
from observer.cli.lineage import lineage_app
from observer.clock import ensure_utc
from observer.graph.base import GraphStore, InvalidGraphQuery, UnknownNode
from observer.graph.factory import open_graph
from observer.graph.model import GraphUnavailable
from observer.graph.nodeids import InvalidNodeId
from observer.graph.results import Direction, Walk
from observer.runtime import Runtime
from observer.store import StoreUnavailable

graph_app = typer.Typer(help="The lineage graph (embedded tables or Neo4j).", no_args_is_help=True)

DepthOption = typer.Option(
    20, "--depth", "-d", min=0, help="Hops to walk (jobs between datasets, column edges)."
)
JsonOption = typer.Option(False, "--json", help="Print the walk as JSON instead of a tree.")
MaxNodesOption = typer.Option(None, "--max-nodes", min=1, help="Cap on nodes (default graph.max_nodes).")
AsOfOption = typer.Option(None, "--as-of", help="Only lineage first seen by this ISO 8601 time.")
ColumnsOption = typer.Option(False, "--columns", help="Walk column lineage (a datasetField node implies it).")


def register(app: typer.Typer) -> None:
    app.add_typer(graph_app, name="graph")
    lineage_app.command("upstream")(upstream)
    lineage_app.command("downstream")(downstream)


def _open(config: Path | None) -> tuple[Runtime, GraphStore]:
    runtime = build_runtime(config)
    try:
        runtime.store.upgrade()
    except StoreUnavailable as error:
        fail(str(error))
    return runtime, open_graph(runtime.settings.graph, runtime.store)


@graph_app.command("rebuild")
def rebuild(config: Path | None = ConfigOption) -> None:
    """Rebuild the configured backend from the store (how a switch to Neo4j takes effect)."""
    runtime, graph = _open(config)

    def progress(stage: str, count: int) -> None:
        typer.echo(f"  {stage}: {count}", err=True)

    try:
        report = graph.rebuild(progress)
    except GraphUnavailable as error:
        fail(str(error), code=1)
    finally:
        graph.close()
        runtime.store.dispose()
    typer.echo(
        f"rebuilt the {report.backend} graph from the store: {report.nodes} nodes, {report.edges} edges, "
        f"{report.merged_aliases} aliases merged, in {report.seconds:.1f}s"
    )


def upstream(
    node_id: str = typer.Argument(..., help="dataset:<ns>:<name>, datasetField:…:<field> or job:<ns>:<name>"),
    depth: int = DepthOption,
    as_json: bool = JsonOption,
    max_nodes: int | None = MaxNodesOption,
    as_of: datetime | None = AsOfOption,
    columns: bool = ColumnsOption,
    config: Path | None = ConfigOption,
) -> None:
    """What feeds NODE_ID: the datasets, jobs (or columns) it is built from."""
    _walk_command(node_id, "upstream", depth, as_json, max_nodes, as_of, columns, config)


def downstream(
    node_id: str = typer.Argument(..., help="dataset:<ns>:<name>, datasetField:…:<field> or job:<ns>:<name>"),
    depth: int = DepthOption,
    as_json: bool = JsonOption,
    max_nodes: int | None = MaxNodesOption,
    as_of: datetime | None = AsOfOption,
    columns: bool = ColumnsOption,
    config: Path | None = ConfigOption,
) -> None:
    """What NODE_ID feeds: what breaks if it breaks."""
    _walk_command(node_id, "downstream", depth, as_json, max_nodes, as_of, columns, config)


def _walk_command(
    node_id: str,
    direction: Direction,
    depth: int,
    as_json: bool,
    max_nodes: int | None,
    as_of: datetime | None,
    columns: bool,
    config: Path | None,
) -> None:
    runtime, graph = _open(config)
    try:
        walk = graph.lineage(
            node_id,
            direction=direction,
            depth=depth,
            max_nodes=max_nodes or runtime.settings.graph.max_nodes,
            as_of=ensure_utc(as_of) if as_of else None,
            level="column" if columns else None,
        )
    except (UnknownNode, InvalidNodeId, InvalidGraphQuery) as error:
        fail(str(error))
    except GraphUnavailable as error:
        fail(f"the lineage graph is unavailable: {error}", code=1)
    finally:
        graph.close()
        runtime.store.dispose()
    typer.echo(json.dumps(walk.as_json(), indent=2) if as_json else render_tree(walk))


def render_tree(walk: Walk) -> str:
    """The breadth-first tree of a walk, one node per line with its hop distance."""
    children: dict[int, list[int]] = {}
    for node, parent in walk.parents.items():
        children.setdefault(parent, []).append(node)
    lines: list[str] = []

    def draw(node: int, prefix: str, last: bool, top: bool) -> None:
        item = walk.nodes[node]
        label = f"{item.key}  ({walk.hops[node]})" if not top else item.key
        lines.append(label if top else f"{prefix}{'└── ' if last else '├── '}{label}")
        below = sorted(children.get(node, []), key=lambda child: walk.nodes[child].key)
        for index, child in enumerate(below):
            draw(
                child,
                prefix if top else prefix + ("    " if last else "│   "),
                index == len(below) - 1,
                False,
            )

    for root in walk.roots:
        draw(root.id, "", True, True)
    if walk.truncated:
        lines.append(f"… truncated at {len(walk.nodes)} nodes (raise --max-nodes)")
    if len(walk.nodes) == len(walk.roots):
        lines.append(f"(nothing {walk.direction} within {walk.depth} hops)")
    return "\n".join(lines)
