"""The ``observer`` command line."""
