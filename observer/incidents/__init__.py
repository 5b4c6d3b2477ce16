"""Incidents: findings grouped by lineage into one incident per root cause, with impact and suspects.

:class:`observer.incidents.service.IncidentService` turns findings (and passing checks) into
incidents; the alerts package turns incident changes into messages.
"""
