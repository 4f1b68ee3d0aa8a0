"""Test aids shipped with the library, as Flask ships `flask.testing` and dramatiq its
StubBroker: the board builder (`boards`) and a fake Kubernetes API server (`fake_kube`).

The test suite and the benchmarks (bench/) both import them from here, and so can anyone
testing boards against Boardrun. Nothing in a function imports this package (a test checks
that), so it costs a deployment nothing but its files. It needs no test framework: the
builder needs the engine, the fake server the standard library and PyYAML.
"""
