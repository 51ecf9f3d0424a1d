"""Correct ASGI apps used by the demo, the comparisons and the tests.

Each serves the same routes: GET/HEAD/POST /, GET /stream (a streamed
response), POST /echo (echoes the body), and a WebSocket echo at / and /ws
("bye" makes the app close). Each has a lifespan that sets state.
"""
