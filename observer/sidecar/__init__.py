"""``observer sidecar``: table checks next to a pipeline, straight against its warehouses.

signals (the collectors' warehouse adapters: one catalog snapshot per cycle) → tracker (observed
writes) → state (writes, row counts, schema versions in the sidecar's store) → runner (the shared
checks: freshness; volume and schema where configured) → alerts (incidents and Slack through the
alerts package, or a central Observer) → metrics and health.
"""
