"""Tests of the shipped test harness (``legato.testing``)."""
