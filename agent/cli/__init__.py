"""The terminal front end: the `rung` command (`main`), `rung chat`, `rung ask`, `rung init`,
`rung doctor` and the other `…_command` modules. A thin client of the engine (`rung.agent`),
which imports none of this (an import-linter contract says so)."""
