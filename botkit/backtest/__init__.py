"""Backtesting: the data catalog, replay through the engine, and reports."""
