"""Insight into running bots, as plain functions the designer draws: analytics over a period (conversations
per day, reach and drop-off per step, goal completion, top NLP misses), transcript search, CSV of each,
and learning from misses (a missed text added as a phrasing of the draft)."""
