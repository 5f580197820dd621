"""The ways in and out of a bot: web pages, Direct Line, platform webhooks, handover."""
