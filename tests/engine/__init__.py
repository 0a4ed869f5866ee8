"""Tests of the engine: the pure core (rules, reducer, resources, plan) and the loop."""
