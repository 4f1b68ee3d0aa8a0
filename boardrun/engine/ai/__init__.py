"""AI providers for the AI nodes: configuration, model descriptors (Bits) and the OpenAI-compatible client."""
