"""Several real `slabridge serve` processes on one real temporary PostgreSQL."""
