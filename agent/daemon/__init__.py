"""The background front end: one daemon per user that serves a local API (ASGI, over a unix
socket) to Rung's other front ends.

The terminal reaches it only through `client` (and becomes it, for `rung daemon run`, through
`server.run_daemon`); an import-linter contract says so."""
