"""Several `slabridge serve` processes on one PostgreSQL: who they are (identity), their
heartbeats (registry), the claims that make each timed job run once (claims), the lock that
keeps SQLite to one node (single), and what /api/v1/nodes and /metrics show of them."""
