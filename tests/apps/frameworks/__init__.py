"""A corpus of correct apps, one module per framework, written as each framework's docs would.

Every module serves the same shapes: a JSON route, a path-parameter route, a
streaming route, a POST echo, a WebSocket echo and lifespan handlers where the
framework has them. ``SUITE_PATHS`` lists the routes the conformance suite
drives beyond its defaults; ``EVENTS`` records the lifespan handlers that ran.
"""
