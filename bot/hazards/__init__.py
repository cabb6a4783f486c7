"""Public hazard feeds (USGS, GDACS, NWS): their formats, a polite fetch, and the watcher that polls them.

Nothing here imports Discord: the watcher hands what it finds to :mod:`bot.services.hazards`,
which decides which coalitions to alert and queues the alerts in the outbox.
"""
