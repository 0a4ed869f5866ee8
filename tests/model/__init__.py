"""Tests of the pure data layer."""
