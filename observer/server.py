"""``observer serve``'s whole server: the API plus every background part the configuration asks for.

:func:`api.app.create_app` is the API over a runtime (tests and the demo use it with their own
wiring); :func:`build_server` adds what a running Observer does on its own: the incident service
and the alert outbox drain, the warehouse and dbt collectors on their intervals, and the check loop
that judges the store's histories.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from collectors.runner import collector_service
from observer.alerts.service import build_alert_service, build_incident_service
from observer.checks.service import CheckService
from observer.incidents.graph_lineage import GraphLineage
from observer.runtime import Runtime


def build_server(runtime: Runtime) -> FastAPI:
    app = create_app(runtime)
    lineage = GraphLineage(runtime.graph) if runtime.graph is not None else None
    incidents = build_incident_service(runtime, lineage=lineage)
    app.state.incidents = incidents
    runtime.services.append(build_alert_service(runtime, incidents))
    collector_service(runtime)
    runtime.services.append(
        CheckService(runtime, incidents, interval=runtime.settings.checks.interval, lineage=lineage)
    )
    return app
