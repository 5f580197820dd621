"""Arbor's runtime: runs bots. Knows nothing of the designer."""
