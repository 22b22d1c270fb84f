"""Database-backed rate limits (SECURITY.md items 13 and 34): the counters and the functions that use them.

A Django app of its own, so that ``portal/lib`` never imports a model (issue 7: lib <- apps).
"""
