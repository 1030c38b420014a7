"""The test and measurement harness: fault campaign, app load test, screenshots, fresh-clone measurement."""
