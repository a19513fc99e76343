"""orderbot's test suite."""
