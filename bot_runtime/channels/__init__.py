"""Rasa input channels, one per platform: each consumes its partitions of the inbound queue."""
