"""``observer demo``: a coffee shop's warehouse simulated day by day, with Observer watching it.

See ``docs/demo.md``; :mod:`observer.demo.simulate` runs it.
"""

MIN_DAYS = 21
"""Fewer days leave the detectors too little history to learn the shop's weekly rhythm."""
