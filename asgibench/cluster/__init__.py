"""Load past one machine: the same load workers, run on a Dask ``distributed`` cluster (``--cluster``).

- ``address``: what ``--cluster`` names (``local:N`` or a scheduler's address);
- ``clock``: the readiness barrier's clock arithmetic (offsets, start skew), without I/O;
- ``pump``: carries a worker's channel messages over a pair of Dask queues;
- ``shard``: the task a Dask worker runs: it claims one shard's orders and runs the ordinary load worker process;
- ``session``: the supervisor's side: opens the cluster, checks the workers, starts the shards as channels.

Everything else (the schedule split, the supervision loop, the merge) is the one-machine code: a shard is a
worker of ``--workers N`` whose channel happens to cross a cluster.
"""
