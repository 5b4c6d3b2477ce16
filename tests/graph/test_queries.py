"""Upstream, downstream, column-level, impact, path and asOf answers: each test runs on every
backend (embedded SQLite, embedded PostgreSQL, Neo4j over Bolt) against the same shop graph."""

from __future__ import annotations

from datetime import timedelta

import pytest

from observer.graph.base import BaseGraph, InvalidGraphQuery, UnknownNode
from observer.graph.results import Walk
from tests.graph.shop import (
    CAMPAIGN_JOB,
    CAMPAIGNS,
    CUSTOMER_COUNT,
    FEBRUARY,
    JANUARY,
    MARCH,
    MART_CUSTOMERS,
    MART_REVENUE,
    RAW_CUSTOMERS,
    RAW_ORDERS,
    REVENUE,
    STAGE_CUSTOMERS,
    STAGE_ORDERS,
    STG_CUSTOMERS,
    STG_ORDERS,
    VIEW,
    record_shop,
)


@pytest.fixture
def shop(graph: BaseGraph) -> BaseGraph:
    record_shop(graph)
    return graph


def hops(walk: Walk) -> dict[str, int]:
    return {node.key: walk.hops[node.id] for node in walk.nodes.values()}


def test_downstream_follows_jobs_and_views_with_job_hops(shop: BaseGraph) -> None:
    walk = shop.lineage(RAW_ORDERS.node_id, direction="downstream", depth=10, max_nodes=None)
    assert hops(walk) == {
        RAW_ORDERS.node_id: 0,
        STAGE_ORDERS.node_id: 1,
        STG_ORDERS.node_id: 1,
        MART_REVENUE.node_id: 2,
        REVENUE.node_id: 2,
        CAMPAIGN_JOB.node_id: 3,
        CAMPAIGNS.node_id: 3,
        VIEW.node_id: 3,
    }
    assert not walk.truncated


def test_upstream_is_directional_without_siblings(shop: BaseGraph) -> None:
    walk = shop.lineage(REVENUE.node_id, direction="upstream", depth=20, max_nodes=None)
    assert set(hops(walk)) == {
        REVENUE.node_id,
        MART_REVENUE.node_id,
        STG_ORDERS.node_id,
        STG_CUSTOMERS.node_id,
        STAGE_ORDERS.node_id,
        STAGE_CUSTOMERS.node_id,
        RAW_ORDERS.node_id,
        RAW_CUSTOMERS.node_id,
    }
    assert CUSTOMER_COUNT.node_id not in hops(walk)


def test_marquez_undirected_walk_includes_siblings(shop: BaseGraph) -> None:
    walk = shop.lineage(REVENUE.node_id, direction="undirected", depth=2, max_nodes=None)
    assert CUSTOMER_COUNT.node_id in hops(walk)
    assert MART_CUSTOMERS.node_id in hops(walk)


def test_both_is_the_union_of_upstream_and_downstream(shop: BaseGraph) -> None:
    both = shop.lineage(STG_ORDERS.node_id, direction="both", depth=1, max_nodes=None)
    assert hops(both) == {
        STG_ORDERS.node_id: 0,
        STAGE_ORDERS.node_id: 1,
        RAW_ORDERS.node_id: 1,
        MART_REVENUE.node_id: 1,
        REVENUE.node_id: 1,
    }


def test_depth_limits_the_walk(shop: BaseGraph) -> None:
    walk = shop.lineage(RAW_ORDERS.node_id, direction="downstream", depth=1, max_nodes=None)
    assert set(hops(walk)) == {RAW_ORDERS.node_id, STAGE_ORDERS.node_id, STG_ORDERS.node_id}
    assert shop.lineage(RAW_ORDERS.node_id, direction="downstream", depth=0, max_nodes=None).nodes.keys() == {
        shop.find(RAW_ORDERS.node_id).id
    }


def test_max_nodes_cuts_the_walk_and_says_so(shop: BaseGraph) -> None:
    walk = shop.lineage(RAW_ORDERS.node_id, direction="downstream", depth=10, max_nodes=4)
    assert walk.truncated
    assert len(walk.nodes) == 4
    nearest = hops(walk)
    assert nearest[RAW_ORDERS.node_id] == 0 and max(nearest.values()) <= 2
    assert not shop.lineage(RAW_ORDERS.node_id, direction="downstream", depth=10, max_nodes=8).truncated


def test_a_job_starts_a_walk_from_its_own_inputs_or_outputs(shop: BaseGraph) -> None:
    down = shop.lineage(MART_REVENUE.node_id, direction="downstream", depth=1, max_nodes=None)
    assert hops(down) == {MART_REVENUE.node_id: 0, REVENUE.node_id: 1}
    up = shop.lineage(MART_REVENUE.node_id, direction="upstream", depth=1, max_nodes=None)
    assert hops(up) == {MART_REVENUE.node_id: 0, STG_ORDERS.node_id: 1, STG_CUSTOMERS.node_id: 1}


def test_column_lineage_upstream(shop: BaseGraph) -> None:
    walk = shop.lineage(REVENUE.field_node_id("revenue"), direction="upstream", depth=20, max_nodes=None)
    assert hops(walk) == {
        REVENUE.field_node_id("revenue"): 0,
        STG_ORDERS.field_node_id("amount"): 1,
        STG_ORDERS.field_node_id("customer_id"): 1,
        RAW_ORDERS.field_node_id("amount"): 2,
        RAW_ORDERS.field_node_id("customer_id"): 2,
        RAW_ORDERS.field_node_id("status"): 2,
    }
    assert walk.level == "column"
    assert {shop_edge.transformation_type for shop_edge in walk.edges} == {"DIRECT", "INDIRECT"}


def test_column_lineage_of_a_dataset_walks_all_its_columns(shop: BaseGraph) -> None:
    walk = shop.lineage(CAMPAIGNS.node_id, direction="upstream", depth=1, max_nodes=None, level="column")
    assert set(hops(walk)) == {
        CAMPAIGNS.field_node_id("region"),
        CAMPAIGNS.field_node_id("orders"),
        REVENUE.field_node_id("region"),
        REVENUE.field_node_id("revenue"),
    }


def test_impact_of_a_dataset_reports_hops_directness_jobs_and_owners(shop: BaseGraph) -> None:
    impact = shop.impact(RAW_ORDERS.node_id, depth=10)
    datasets = {node.node_id: (node.hops, node.direct, node.owners) for node in impact.datasets}
    assert datasets == {
        STG_ORDERS.node_id: (1, True, ("team:data",)),
        REVENUE.node_id: (2, True, ("team:finance",)),
        VIEW.node_id: (3, True, ()),
        CAMPAIGNS.node_id: (3, False, ("team:marketing",)),
    }
    columns = {node.node_id: (node.hops, node.direct) for node in impact.columns}
    assert columns[REVENUE.field_node_id("revenue")] == (2, True)
    assert columns[REVENUE.field_node_id("region")] == (2, False)
    assert columns[CAMPAIGNS.field_node_id("orders")] == (3, False)
    assert columns[VIEW.field_node_id("revenue")] == (3, True)
    jobs = {job.node_id: (job.hops, job.owners) for job in impact.jobs}
    assert jobs == {
        STAGE_ORDERS.node_id: (1, ()),
        MART_REVENUE.node_id: (2, ()),
        CAMPAIGN_JOB.node_id: (3, ("team:marketing",)),
    }
    assert impact.owners == ["team:data", "team:finance", "team:marketing"]
    assert [node.hops for node in impact.nodes] == sorted(node.hops for node in impact.nodes)


def test_impact_of_a_column_follows_its_own_lineage(shop: BaseGraph) -> None:
    impact = shop.impact(RAW_CUSTOMERS.field_node_id("email"), depth=10)
    assert [(node.node_id, node.hops, node.direct) for node in impact.nodes] == [
        (STG_CUSTOMERS.node_id, 1, True),
        (STG_CUSTOMERS.field_node_id("email_hash"), 1, True),
    ]
    assert [job.node_id for job in impact.jobs] == [STAGE_CUSTOMERS.node_id]


def test_impact_of_a_job_starts_at_what_it_writes(shop: BaseGraph) -> None:
    impact = shop.impact(CAMPAIGN_JOB.node_id)
    assert {(node.node_id, node.hops) for node in impact.datasets} == {(CAMPAIGNS.node_id, 1)}
    assert {node.node_id for node in impact.columns} == {
        CAMPAIGNS.field_node_id("region"),
        CAMPAIGNS.field_node_id("orders"),
    }


def test_impact_is_cut_at_max_nodes(shop: BaseGraph) -> None:
    impact = shop.impact(RAW_ORDERS.node_id, depth=10, max_nodes=3)
    assert impact.truncated
    assert all(node.hops <= 2 for node in impact.nodes)


def test_as_of_shows_the_graph_as_it_was(shop: BaseGraph) -> None:
    def downstream(as_of: object) -> set[str]:
        walk = shop.lineage(RAW_ORDERS.node_id, direction="downstream", depth=10, max_nodes=None, as_of=as_of)  # type: ignore[arg-type]
        return set(hops(walk))

    january = downstream(JANUARY + timedelta(days=1))
    assert VIEW.node_id not in january and CAMPAIGNS.node_id not in january
    february = downstream(FEBRUARY)
    assert VIEW.node_id in february and CAMPAIGNS.node_id not in february
    assert CAMPAIGNS.node_id in downstream(MARCH)
    assert downstream(JANUARY - timedelta(days=1)) == {RAW_ORDERS.node_id}
    impact = shop.impact(RAW_ORDERS.node_id, as_of=FEBRUARY)
    assert CAMPAIGNS.node_id not in {node.node_id for node in impact.nodes}
    column_walk = shop.lineage(
        VIEW.field_node_id("revenue"), direction="upstream", depth=5, max_nodes=None, as_of=JANUARY
    )
    assert set(hops(column_walk)) == {VIEW.field_node_id("revenue")}


def test_path_between_datasets_passes_through_jobs(shop: BaseGraph) -> None:
    path = shop.path(RAW_ORDERS.node_id, CAMPAIGNS.node_id)
    assert path is not None
    assert [node.key for node in path.nodes] == [
        RAW_ORDERS.node_id,
        STAGE_ORDERS.node_id,
        STG_ORDERS.node_id,
        MART_REVENUE.node_id,
        REVENUE.node_id,
        CAMPAIGN_JOB.node_id,
        CAMPAIGNS.node_id,
    ]
    assert len(path.edges) == 6
    assert shop.path(CAMPAIGNS.node_id, RAW_ORDERS.node_id) is None
    assert shop.path(RAW_ORDERS.node_id, CAMPAIGNS.node_id, depth=2) is None


def test_path_between_columns(shop: BaseGraph) -> None:
    path = shop.path(RAW_ORDERS.field_node_id("amount"), VIEW.field_node_id("revenue"))
    assert path is not None
    assert [node.key for node in path.nodes] == [
        RAW_ORDERS.field_node_id("amount"),
        STG_ORDERS.field_node_id("amount"),
        REVENUE.field_node_id("revenue"),
        VIEW.field_node_id("revenue"),
    ]
    assert [edge.transformation_type for edge in path.edges] == ["DIRECT", "DIRECT", "DIRECT"]
    with pytest.raises(InvalidGraphQuery):
        shop.path(RAW_ORDERS.node_id, VIEW.field_node_id("revenue"))


def test_unknown_nodes_are_named(shop: BaseGraph) -> None:
    with pytest.raises(UnknownNode, match=r"shop\.raw\.nothing"):
        shop.lineage(
            "dataset:postgres://db.internal:5432:shop.raw.nothing",
            direction="upstream",
            depth=3,
            max_nodes=None,
        )
    with pytest.raises(UnknownNode):
        shop.impact(RAW_ORDERS.field_node_id("no_such_column"))
