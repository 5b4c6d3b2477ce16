"""The running core: settings, clock, store and the background services built from them.

The API server, the CLI commands and the demo all build one :class:`Runtime` and hand it to the
parts they use, so each part receives its collaborators instead of reaching for globals.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from observer.clock import Clock, SystemClock
from observer.config.settings import Settings
from observer.store import Store

if TYPE_CHECKING:
    from observer.graph.base import GraphStore

log = logging.getLogger(__name__)


GC_THRESHOLDS = (20_000, 20, 20)


def settle_for_serving() -> None:
    """For long-running processes, once they are built: what exists now (modules, the app) leaves the
    cyclic garbage collector's view, and it runs less often. Handling events allocates many
    short-lived containers; with the default thresholds, scanning the old ones took a third of the
    CPU of decoding a batch of events and of the projection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Service(Protocol):
    """A background activity of the server (projection worker, scheduler, alert outbox …)."""

    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    store: Store
    secrets: list[str] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    graph: GraphStore | None = None
    """The lineage graph (``graph`` settings); ingest, collectors, incidents and the API share it."""

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None, secrets: Iterable[str] = ()) -> Runtime:
        from observer.graph.factory import open_graph

        store = Store.from_settings(settings.store)
        return cls(
            settings=settings,
            clock=clock or SystemClock(),
            store=store,
            secrets=list(secrets),
            graph=open_graph(settings.graph, store),
        )

    def start(self) -> None:
        for service in self.services:
            log.info("starting %s", service.name)
            service.start()

    def stop(self) -> None:
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:
                log.exception("stopping %s failed", service.name)
        if self.graph is not None:
            self.graph.close()
        self.store.dispose()
