"""`journeydsl serve`: the runtime behind HTTP.

Where it sits: above the runtime (it imports journeydsl.runtime only; the runtime never imports it), below the
command line (cli/serve.py parses the options and calls `server.serve`). One module per job:

- body.py     an HTTP body -> events (one JSON object, or NDJSON with line numbers)
- ingest.py   the engine worker thread: the commit queue, group commit, timers, bundle swaps
- relaying.py the delivery thread around the runtime's relay (runtime/relay.py)
- reload.py   watching a bundle file or polling a bundle URL, verifying what changed
- metrics.py  the Prometheus registry and what it counts
- logs.py     JSON log lines on standard error
- auth.py     the bearer tokens of --token-file (read again when the file changes)
- app.py      the Starlette routes
- server.py   wiring it together and running uvicorn with our own signal handling
"""
