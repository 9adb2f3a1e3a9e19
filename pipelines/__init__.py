"""Kafka -> warehouse sink, data quality, termly aggregation and backtests."""
