"""legato's benchmarks: the workloads of the peers' benchmark (``../shared/bench/peers/``) run
through legato, side by side with the peers, by ``make bench`` (``benchmarks/run.py``).

The older micro-benchmarks beside it (``overhead.py``, ``store_append.py``, ``artifacts.py``)
measure one part each and run on their own.
"""
