"""``observer sidecar``: freshness checks next to a pipeline, straight against its warehouses.

signals (read table statistics) → tracker (turn them into observed updates) → checks (the
detectors) → alerts (open / cleared problems, to Slack or a central Observer) → metrics and health.
"""
