"""CloudEvents: the SDK adapter, the catalogue of our event types, publishing to a
broker (K_SINK), and the embedded broker used in embedded mode."""
