"""Sans-IO protocol clients for the load generator: bytes in, events out, no sockets and no clocks.

Each client is driven by a thin asyncio adapter (``asgibench/load/lanes.py``)
that owns the socket and the time; the clients are tested with fake wires.
"""
