"""Data-parallel training over MPI (mpi4py) and, on GPUs, NCCL (CuPy): ``train MODEL --distributed``.

    mpiexec -n K python -m minitorch_deblur.train MODEL --distributed [--sync-bn]

Each of the K processes (ranks) holds the whole model. Every rank draws the same global batch of B samples (the
same shuffling, degradations, augmentations and dropout masks as one process at batch B) and keeps its shard of
B/K rows; after backward the gradients are summed across ranks by one allreduce per flat float32 bucket
(comm.py), so every rank takes the same optimiser step: K ranks at batch B/K equal one process at batch B, up to
float32 rounding. Batch norm keeps local statistics unless ``--sync-bn`` (sync_bn.py). Rank 0 alone writes
checkpoints, metrics, figures and the progress bar (parallel.py).

Nothing here imports mpi4py until ``--distributed`` asks for it: ``import minitorch_deblur`` needs NumPy alone.
"""
from __future__ import annotations

from .comm import (CollectiveTimeout, Communicator, LocalCommunicator, NcclCommunicator, bucketize,
                   mpi_communicator)
from .parallel import DataParallel, GradientSync, ShardedGenerator, shard_rows

__all__ = ["CollectiveTimeout", "Communicator", "LocalCommunicator", "NcclCommunicator", "bucketize",
           "mpi_communicator", "DataParallel", "GradientSync", "ShardedGenerator", "shard_rows"]
