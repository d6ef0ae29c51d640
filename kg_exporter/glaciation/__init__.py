"""The ``glaciation`` profile: the GLACIATION platform's own snapshot of the cluster, in its
vocabulary and id scheme, written where its readers look (docs/glaciation.md).

One concept per module: ``config`` (settings), ``measurements`` (the measurement configuration),
``names`` (ids), ``nodes``/``pods``/``tasks`` (facts of objects), ``project`` (object → facts),
``inventory`` (facts kept current by watches), ``sampler`` (Prometheus), ``snapshot`` (assembly),
``render`` (templates), ``writer`` (snapshot writes), ``snapshotter`` (the
loop), ``profile`` (wiring), ``metrics``. Nothing is imported here, so ``settings`` can import
``config`` without pulling in the rest.
"""
