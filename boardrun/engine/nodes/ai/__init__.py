"""AI: generative models, histories, responses, agents and embeddings."""
