"""Fault injection: the kill -9 campaign (`python -m tools.faults`, docs/reliability.md) and the callbacks
it and the tests put into training runs (`tools.faults.probes`)."""
