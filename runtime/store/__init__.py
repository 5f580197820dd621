"""Persistence: the SQLAlchemy models, their migrations, and the stores the channels call."""
