"""slabridge test suite."""
