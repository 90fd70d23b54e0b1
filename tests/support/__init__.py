"""Helpers the tests share (app env)."""
