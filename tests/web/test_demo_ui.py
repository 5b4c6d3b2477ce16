"""The UI over the real demo (``observer demo``, 21 simulated days, run in this process as in
tests/demo): what a newcomer does after ``make demo``, in Chromium and in Firefox — the incidents it
found, the partial load's incident with its impact and cause, a mart found by search, and that mart's
revenue column followed back to the raw tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from observer.catalog.identity import DatasetRef
from observer.demo.warehouse import NAMESPACE
from tests.demo.conftest import DemoRun, run_demo
from tests.web.bidi import Firefox
from tests.web.conftest import VIEWPORT
from tests.web.test_browser import suggestions_for

TITLES = {"Volume drop on shop.raw.orders", "Schema change on shop.raw.products.category"}


def node(table: str, column: str | None = None) -> str:
    ref = DatasetRef(NAMESPACE, f"shop.{table}")
    return ref.field_node_id(column) if column else ref.node_id


REVENUE_PATH = "/lineage?node=" + quote(node("marts.daily_revenue"), safe="") + "&up=4&down=0&jobs=0"
MART = f'g.node[data-id="{node("marts.daily_revenue")}"]'
UPSTREAM = {node(table) for table in ("marts.fct_orders", "staging.stg_order_items", "raw.order_items")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    yield from run_demo(tmp_path_factory.mktemp("demo-home"))


def test_the_demo_in_chromium(browser: Any, demo: DemoRun) -> None:
    context = browser.new_context(viewport=VIEWPORT, base_url=demo.demo.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/incidents")
        page.wait_for_selector("main[data-ready='incidents'] tbody tr")
        assert {title for title in TITLES if title in page.locator("tbody").inner_text()} == TITLES
        page.locator("tbody a", has_text="Volume drop on shop.raw.orders").first.click()
        page.wait_for_selector("main[data-ready='incident']")
        assert page.locator("h1").inner_text() == "Volume drop on shop.raw.orders"
        impact = page.locator("#impact").inner_text()
        assert all(mart in impact for mart in ("fct_orders", "daily_revenue", "customer_ltv"))
        assert "extract_load.orders" in page.locator("#cause").inner_text()

        page.keyboard.press("/")
        page.keyboard.type("daily_revenue")
        suggestions_for(page, "daily_revenue")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_selector("main[data-ready='dataset']")
        assert page.locator("h1").inner_text() == "daily_revenue"

        page.goto(REVENUE_PATH)
        page.wait_for_selector("main[data-ready='lineage']")
        page.locator(f"{MART} [data-action=columns]").click()
        names = page.locator(f"{MART} .column-row .column-name")
        names.first.wait_for()
        assert names.all_text_contents() == ["order_date", "orders", "revenue", "average_order_value"]
        page.locator(f'{MART} .column-row[data-field$=":revenue"]').click()
        page.wait_for_selector("svg.lineage-canvas.has-path .column-edge.on-path")
        on_path = page.locator("g.node.on-path").evaluate_all("nodes => nodes.map(n => n.dataset.id)")
        assert set(on_path) >= UPSTREAM
        assert errors == []
    finally:
        context.close()


def test_the_demo_in_firefox(firefox: Firefox, demo: DemoRun) -> None:
    tab = firefox.new_tab(VIEWPORT["width"], VIEWPORT["height"])
    tab.base_url = demo.demo.url
    try:
        tab.goto("/incidents")
        tab.wait_for_selector("main[data-ready='incidents'] tbody tr")
        assert {title for title in TITLES if title in tab.text("tbody")} == TITLES
        tab.click("tbody a[href*='incidents/']")
        tab.wait_for_selector("main[data-ready='incident']")
        assert tab.text("h1") in TITLES
        assert tab.count("#impact .impact-list > *") >= 2  # the broken downstream datasets
        assert tab.text("#cause")

        tab.goto(REVENUE_PATH)
        tab.wait_for_selector("main[data-ready='lineage']")
        tab.click(f"{MART} [data-action=columns]")
        tab.wait_for_selector(f"{MART} .column-row")
        tab.click(f'{MART} .column-row[data-field$=":revenue"]')
        tab.wait_for_selector("svg.lineage-canvas.has-path .column-edge.on-path")
        on_path = tab.call("() => [...document.querySelectorAll('g.node.on-path')].map(n => n.dataset.id)")
        assert set(on_path) >= UPSTREAM
        assert tab.errors == []
    finally:
        tab.close()
