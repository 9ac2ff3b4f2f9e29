"""Communicators: who am I (rank), how many are we (size), and the collectives data parallelism needs.

``mpi_communicator()`` wraps MPI's COMM_WORLD through mpi4py (imported here, on first use, never by
``import minitorch_deblur``). ``allreduce_(flat)`` sums a flat float32 array across ranks in place; NumPy arrays go
through MPI, CuPy arrays through NCCL (``NcclCommunicator``, cupy.cuda.nccl) when the ranks have GPUs, else through
the host. Every collective has a deadline: it is started non-blocking (``Iallreduce``) and polled, and a rank that
has not answered when the deadline passes is named, e.g.

    error: rank 0: allreduce #57 waited 600 s for rank 1, which did not answer (dead or stuck); stopping every rank

then ``MPI_Abort`` ends every process of the job, so a dead rank never hangs the others forever. The deadline is
``$MINITORCH_DEBLUR_COLLECTIVE_TIMEOUT`` seconds (default 600: the other ranks wait in their first allreduce of an
epoch while rank 0 evaluates and writes the checkpoint).

``bucketize`` groups gradients into buckets of at most ``BUCKET_BYTES`` (25 MB, as PyTorch's DDP): one allreduce
per bucket instead of one per parameter, because each collective pays a fixed latency.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, List, Optional, Sequence

import numpy as np

from ..backend import get_array_module
from ..errors import UserError

BUCKET_BYTES = 25 * 2**20
DEFAULT_TIMEOUT = 600.0
INSTALL = 'pip install -e ".[distributed]" (mpi4py and the mpich runtime), then start K ranks with mpiexec -n K'
PING, PONG = 17, 18
GRACE = 2.0   # seconds a timed-out rank waits for the others to answer its ping


class CollectiveTimeout(UserError):
    """A collective did not complete in time; the message names the ranks that did not answer."""


def timeout_seconds() -> float:
    value = os.environ.get("MINITORCH_DEBLUR_COLLECTIVE_TIMEOUT", "")
    try:
        return float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        raise UserError(f"$MINITORCH_DEBLUR_COLLECTIVE_TIMEOUT={value!r}: give a number of seconds") from None


def load_mpi() -> Any:
    """mpi4py's MPI module, or a one-line UserError saying what to install."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise UserError(f"--distributed needs mpi4py and an MPI runtime ({error}): {INSTALL}") from None
    except RuntimeError as error:   # mpi4py present, no libmpi it can load
        raise UserError(f"--distributed: mpi4py found no MPI runtime ({str(error).splitlines()[0]}): "
                        f"{INSTALL}") from None
    return MPI


def bucketize(sizes: Sequence[int], bucket_bytes: int = BUCKET_BYTES, itemsize: int = 4) -> List[List[int]]:
    """Indices of consecutive arrays of ``sizes`` elements grouped so each group holds at most ``bucket_bytes``
    (an array larger than that gets a bucket of its own)."""
    buckets: List[List[int]] = []
    used = 0
    for i, size in enumerate(sizes):
        nbytes = int(size) * itemsize
        if not buckets or (buckets[-1] and used + nbytes > bucket_bytes):
            buckets.append([])
            used = 0
        buckets[-1].append(i)
        used += nbytes
    return buckets


class LocalCommunicator:
    """One process, no MPI: every collective is the identity. What ``--distributed`` falls back to nowhere; the
    tests and lessons use it to run the data-parallel code path in a single process."""

    rank, size, calls = 0, 1, 0
    name = "local"

    def allreduce_(self, array: Any) -> Any:
        self.calls += 1
        return array

    def allreduce_values(self, values: Sequence[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)

    def bcast(self, value: Any) -> Any:
        return value

    def barrier(self) -> None:
        pass


class Communicator:
    """MPI through mpi4py: collectives with a deadline (module docstring). ``comm``: an mpi4py communicator."""

    name = "mpi"

    def __init__(self, comm: Any, mpi: Any, timeout: Optional[float] = None, abort: bool = True) -> None:
        self.comm, self.MPI = comm, mpi
        self.ctl = comm.Dup()   # pings and pongs travel apart from the data
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.timeout = timeout_seconds() if timeout is None else timeout
        self.abort, self.calls = abort, 0
        self.nccl: Optional["NcclCommunicator"] = None
        self._sent: List[Any] = []

    # -- the collectives -------------------------------------------------------------------------------------
    def allreduce_(self, array: Any) -> Any:
        """Sum ``array`` (contiguous float32) across ranks, in place; returns it."""
        self.calls += 1
        if self.size == 1:
            return array
        if isinstance(array, np.ndarray):
            self._wait(self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self.MPI.SUM), "allreduce")
            return array
        if self.nccl is not None:   # CuPy array, one GPU per rank
            return self.nccl.allreduce_(array)
        host = get_array_module(array).asnumpy(array)   # CuPy without NCCL: through the host
        self._wait(self.comm.Iallreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM), "allreduce")
        array[...] = get_array_module(array).asarray(host)
        return array

    def allreduce_values(self, values: Sequence[float]) -> np.ndarray:
        """The sums across ranks of a few Python numbers (float64)."""
        buffer = np.asarray(values, dtype=np.float64).copy()
        self.calls += 1
        if self.size > 1:
            self._wait(self.comm.Iallreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM), "allreduce of values")
        return buffer

    def bcast(self, value: Any) -> Any:
        """Rank 0's Python object, on every rank (small objects: the NCCL id)."""
        return self.comm.bcast(value, root=0)

    def barrier(self) -> None:
        self.calls += 1
        if self.size > 1:
            self._wait(self.comm.Ibarrier(), "barrier")

    # -- the deadline ----------------------------------------------------------------------------------------
    def _answer_pings(self) -> None:
        status = self.MPI.Status()
        while self.ctl.Iprobe(source=self.MPI.ANY_SOURCE, tag=PING, status=status):
            source = status.Get_source()
            self.ctl.recv(source=source, tag=PING)
            self._sent.append(self.ctl.isend(self.calls, dest=source, tag=PONG))

    def _wait(self, request: Any, what: str) -> None:
        """Poll ``request`` until it completes, answering the other ranks' pings; past the deadline, name the
        ranks that do not answer and stop (``timed_out``)."""
        if request.Test():
            return
        start = time.monotonic()
        pause = 1e-5
        while not request.Test():
            self._answer_pings()
            if time.monotonic() - start > self.timeout:
                self.timed_out(what, time.monotonic() - start)
            time.sleep(pause)
            pause = min(pause * 2, 2e-4)   # sleep, not spin: the ranks may share cores

    def silent_ranks(self) -> List[int]:
        """Ping every other rank; those that do not answer within GRACE seconds (dead, or stuck outside a
        collective)."""
        others = [r for r in range(self.size) if r != self.rank]
        for r in others:
            self._sent.append(self.ctl.isend(self.calls, dest=r, tag=PING))
        pending = {r: self.ctl.irecv(source=r, tag=PONG) for r in others}
        deadline = time.monotonic() + GRACE
        while pending and time.monotonic() < deadline:
            self._answer_pings()
            for r in list(pending):
                done, _ = pending[r].test()
                if done:
                    del pending[r]
            time.sleep(1e-3)
        return sorted(pending)

    def timed_out(self, what: str, waited: float) -> None:
        silent = self.silent_ranks()
        who = (f"rank{'s' if len(silent) > 1 else ''} {', '.join(map(str, silent))}, which did not answer (dead "
               "or stuck)" if silent else "the other ranks (each answers, so a collective is mismatched)")
        message = (f"rank {self.rank}: {what} #{self.calls} waited {waited:.0f} s for {who}; stopping every rank "
                   "($MINITORCH_DEBLUR_COLLECTIVE_TIMEOUT sets the deadline)")
        if not self.abort:
            raise CollectiveTimeout(message)
        print(f"error: {message}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        time.sleep(1.0)   # let mpiexec forward the line: MPI_Abort ends every process at once, pipes included
        self.comm.Abort(3)


class NcclCommunicator:
    """NCCL through CuPy, one GPU per rank: ``allreduce_`` of a CuPy float32 array on the current stream, with the
    same deadline (polling the stream; on timeout the NCCL communicator is aborted and the MPI side names the
    silent ranks). ``nccl``/``cupy`` may be stand-ins (the tests check the calls without a GPU)."""

    name = "nccl"

    def __init__(self, mpi: Communicator, nccl: Any = None, cupy: Any = None) -> None:
        if nccl is None or cupy is None:
            import cupy
            from cupy.cuda import nccl
        self.mpi, self.nccl_module, self.cupy = mpi, nccl, cupy
        uid = nccl.get_unique_id() if mpi.rank == 0 else None
        self.comm = nccl.NcclCommunicator(mpi.size, mpi.bcast(uid), mpi.rank)

    def allreduce_(self, array: Any) -> Any:
        if array.dtype != np.float32:
            raise TypeError(f"NcclCommunicator.allreduce_: float32 buckets only, got {array.dtype}")
        stream = self.cupy.cuda.get_current_stream()
        self.comm.allReduce(array.data.ptr, array.data.ptr, array.size, self.nccl_module.NCCL_FLOAT32,
                            self.nccl_module.NCCL_SUM, stream.ptr)
        start, pause = time.monotonic(), 1e-5
        while not stream.done:
            if time.monotonic() - start > self.mpi.timeout:
                self.comm.abort()
                self.mpi.timed_out("NCCL allreduce", time.monotonic() - start)
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)
        return array


def use_gpu_of_rank(comm: Communicator) -> bool:
    """One GPU per rank: rank r of a node takes GPU r mod (GPUs of the node). True when every rank of the node has
    a GPU of its own (NCCL can run), False when some share one."""
    import cupy

    node = comm.comm.Split_type(comm.MPI.COMM_TYPE_SHARED)
    gpus = cupy.cuda.runtime.getDeviceCount()
    cupy.cuda.Device(node.Get_rank() % gpus).use()
    return node.Get_size() <= gpus


def mpi_communicator(timeout: Optional[float] = None) -> Communicator:
    """COMM_WORLD as a ``Communicator`` (a UserError naming what to install when MPI is missing)."""
    mpi = load_mpi()
    return Communicator(mpi.COMM_WORLD, mpi, timeout)
