"""The embedded dev stack: a Tansu broker and a chdb store server on loopback, for `up`, tests and benchmarks."""
