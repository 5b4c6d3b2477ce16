"""The web UI: plain ES modules, SVG and CSS, served by ``observer serve`` at ``/`` (api/routes/web.py)."""
