"""Data-parallel training (minitorch_deblur/distributed/): 2 ranks under mpiexec equal one process at the same
global batch; --sync-bn; the one-line errors; a dead rank named by the collective's deadline; exact --resume.

The MPI tests skip with a reason where mpi4py or mpiexec is missing (``pip install -e ".[distributed]"``); CI
installs that extra, and sets MINITORCH_DEBLUR_REQUIRE_MPI=1 so that a missing MPI fails there instead.
Each run is tiny (a few steps, 1 thread per rank): all of them together take well under a minute.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from minitorch_deblur.distributed import GradientSync, LocalCommunicator, bucketize, shard_rows
from minitorch_deblur.distributed.parallel import Shard, ShardedGenerator
from minitorch_deblur.backend import Generator


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        why = 'mpi4py is not installed (pip install -e ".[distributed]")'
    else:
        found = shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))
        if found:
            return found
        why = "no mpiexec on PATH (pip install mpich)"
    if os.environ.get("MINITORCH_DEBLUR_REQUIRE_MPI"):
        pytest.fail(f"MINITORCH_DEBLUR_REQUIRE_MPI is set but {why}")
    pytest.skip(why)


ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
ROOT = Path(__file__).resolve().parents[1]


def _train(args, out, ranks=1, data=None, extra=()):
    env = dict(ENV)
    if data is not None:
        env["MINITORCH_DEBLUR_DATA"] = str(data)
    command = [sys.executable, "-m", "minitorch_deblur.train", *args, "--out", str(out), "--no-progress",
               "--device", "cpu", "--force", *extra]
    if ranks > 1:
        command = [_mpiexec(), "-n", str(ranks)] + command + ["--distributed"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def _weights(run):
    with np.load(Path(run) / "model.npz") as f:
        return {k[6:]: f[k] for k in f.files if k.startswith("model/") and f[k].dtype.kind == "f"
                and "running" not in k}


def _compare(a, b, atol=1e-5):
    """(max |difference| over every weight, fraction of weight entries differing by more than atol)."""
    worst = max(float(np.abs(a[k] - b[k]).max()) for k in a)
    off = sum(int((np.abs(a[k] - b[k]) > atol).sum()) for k in a) / sum(a[k].size for k in a)
    return worst, off


# ---- plumbing, no MPI needed ------------------------------------------------------------------------------------
def test_shards_cover_the_batch_once():
    for n, size in [(16, 2), (17, 2), (5, 4), (64, 3)]:
        rows = [shard_rows(n, r, size) for r in range(size)]
        assert rows[0][0] == 0 and rows[-1][1] == n
        assert all(rows[i][1] == rows[i + 1][0] for i in range(size - 1))
        assert max(h - l for l, h in rows) - min(h - l for l, h in rows) <= 1


def test_buckets_hold_at_most_their_bytes_and_keep_order():
    assert bucketize([10, 10, 10], bucket_bytes=80) == [[0, 1], [2]]
    assert bucketize([100, 1, 1], bucket_bytes=80) == [[0], [1, 2]]   # a big array gets a bucket of its own
    assert sum(bucketize([3] * 50, bucket_bytes=1 << 20), []) == list(range(50))


def test_sharded_dropout_masks_are_the_global_batchs_rows():
    one = Generator(3).random((8, 5))
    shard = Shard()
    halves = []
    for rank in range(2):
        shard.set(*shard_rows(8, rank, 2), 8)
        halves.append(ShardedGenerator(Generator(3), shard).random((4, 5)))
    np.testing.assert_array_equal(np.concatenate(halves), one)


def test_gradient_sync_on_one_rank_is_the_identity():
    from minitorch_deblur.nn import Parameter

    params = [Parameter(np.arange(6, dtype=np.float32).reshape(2, 3)), Parameter(np.ones(4, dtype=np.float32))]
    for p in params:
        p.grad = p.data * 2
    sync = GradientSync(LocalCommunicator(), bucket_bytes=16)
    sync(params)
    np.testing.assert_array_equal(params[0].grad, np.arange(6).reshape(2, 3) * 2)
    assert sync.calls == 2   # 24 bytes then 16 bytes: two buckets


def test_missing_mpi4py_is_one_line_naming_the_extra(monkeypatch, capsys):
    from minitorch_deblur import train

    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert train.main(["mlp", "--distributed", "--epochs", "1", "--limit", "8", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'pip install -e ".[distributed]"' in err


def test_sync_bn_needs_distributed(capsys):
    from minitorch_deblur import train

    assert train.main(["cnn", "--sync-bn", "--epochs", "1", "--limit", "8", "--no-progress"]) == 2
    assert "--distributed" in capsys.readouterr().err


def test_import_needs_numpy_alone():
    code = ("import sys; sys.modules['mpi4py'] = None; sys.modules['cupy'] = None; import minitorch_deblur, "
            "minitorch_deblur.distributed, minitorch_deblur.train; print('ok')")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True).stdout == "ok\n"


# ---- 2 ranks under mpiexec --------------------------------------------------------------------------------------
def test_srcnn_two_ranks_equal_one_process(tmp_path, cifar_partial):
    args = ["srcnn", "--epochs", "1", "--batch-size", "8", "--allow-partial"]   # 40 images: 5 steps
    one = _train(args, tmp_path / "one", 1, cifar_partial)
    two = _train(args, tmp_path / "two", 2, cifar_partial)
    worst, off = _compare(_weights(tmp_path / "one"), _weights(tmp_path / "two"), atol=1e-6)
    assert worst < 1e-6 and off == 0, (worst, off)
    assert "epoch 1" in one.stdout and "epoch 1" in two.stdout
    assert two.stdout.count("epoch 1:") == 1          # rank 0 alone prints


def test_cnn_sync_bn_equals_one_process_and_local_bn_does_not(tmp_path):
    """CNN (batch norm + dropout), 4 Adam steps at lr 1e-3. With --sync-bn the two runs compute the same sums,
    grouped differently: every weight agrees to float32 tolerance except a few entries whose gradient is zero in
    exact arithmetic (the conv biases before a batch norm, whose mean it removes): there Adam divides rounding noise
    by its own size and steps ~lr either way. Local batch-norm statistics are another computation: most weights
    move apart, each by at most 2 x steps x lr (Adam's steps are at most ~lr each)."""
    args = ["cnn", "--epochs", "1", "--batch-size", "16", "--limit", "64"]
    _train(args, tmp_path / "one", 1)
    _train(args, tmp_path / "sync", 2, extra=("--sync-bn",))
    _train(args, tmp_path / "local", 2)
    one = _weights(tmp_path / "one")
    zero_grad = {k for k in one if k.startswith("features.") and k.endswith(".0.bias")}
    sync = _weights(tmp_path / "sync")
    worst, off = _compare({k: one[k] for k in one if k not in zero_grad}, sync)
    assert off < 1e-4 and worst < 2 * 4 * 1e-3, (worst, off)
    local_worst, local_off = _compare(one, _weights(tmp_path / "local"))
    assert local_off > 100 * max(off, 1e-5) and 0 < local_worst <= 2 * 4 * 1e-3 * 1.01, (local_worst, local_off)
    print(f"--sync-bn: {off:.2e} of the weights differ by > 1e-5; local statistics: {local_off:.1%}, "
          f"max {local_worst:.2e}")


def test_resume_under_mpiexec_continues_exactly(tmp_path):
    args = ["cnn", "--batch-size", "16", "--limit", "32", "--sync-bn"]
    _train(args + ["--epochs", "2"], tmp_path / "unbroken", 2)
    _train(args + ["--epochs", "1"], tmp_path / "broken", 2)
    command = [_mpiexec(), "-n", "2", sys.executable, "-m", "minitorch_deblur.train", "cnn", "--resume",
               str(tmp_path / "broken"), "--epochs", "2", "--no-progress", "--device", "cpu", "--distributed"]
    result = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    a, b = _weights(tmp_path / "unbroken"), _weights(tmp_path / "broken")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_a_batch_the_world_does_not_divide_is_one_line(tmp_path):
    command = [_mpiexec(), "-n", "2", sys.executable, "-m", "minitorch_deblur.train", "mlp", "--batch-size", "15",
               "--epochs", "1", "--limit", "8", "--no-progress", "--out", str(tmp_path / "r"), "--distributed"]
    result = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1 and "2 ranks do not divide --batch-size 15" in lines[0], result.stderr


def test_a_dead_rank_is_named_and_does_not_hang_the_others():
    code = ("import time; from minitorch_deblur.distributed import mpi_communicator; import numpy as np\n"
            "comm = mpi_communicator(timeout=1.0)\n"
            "if comm.rank == 1: time.sleep(60)\n"
            "comm.allreduce_(np.ones(4, dtype=np.float32))\n")
    start = time.monotonic()
    result = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-c", code], cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and time.monotonic() - start < 30
    assert "rank 0: allreduce #1 waited" in result.stderr and "for rank 1, which did not answer" in result.stderr


def test_a_killed_rank_ends_the_job_at_once():
    """A rank that dies (here SIGKILL, as the OOM killer does) is seen by mpiexec, which ends the others; the
    deadline above covers a rank that hangs or a node that stops answering."""
    code = ("import os; from minitorch_deblur.distributed import mpi_communicator; import numpy as np\n"
            "comm = mpi_communicator(timeout=30.0)\n"
            "if comm.rank == 1: os.kill(os.getpid(), 9)\n"
            "comm.allreduce_(np.ones(4, dtype=np.float32))\n")
    start = time.monotonic()
    result = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-c", code], cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and time.monotonic() - start < 20


def test_allreduce_sums_across_ranks():
    code = ("from minitorch_deblur.distributed import mpi_communicator; import numpy as np\n"
            "comm = mpi_communicator()\n"
            "x = np.arange(3, dtype=np.float32) + 10 * comm.rank\n"
            "comm.allreduce_(x)\n"
            "assert comm.size == 2 and x.tolist() == [10.0, 12.0, 14.0], x\n")
    result = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-c", code], cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_lesson06_alone_explains_and_under_mpiexec_shows_equal_gradients():
    import re

    lesson = [sys.executable, str(ROOT / "lessons" / "06_data_parallel.py"), "--smoke"]
    alone = subprocess.run(lesson, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert alone.returncode == 0, alone.stderr[-2000:]
    assert "mpiexec -n 2 python lessons/06_data_parallel.py" in alone.stdout
    two = subprocess.run([_mpiexec(), "-n", "2", *lesson], cwd=ROOT, env=ENV, capture_output=True, text=True,
                         timeout=120)
    assert two.returncode == 0, two.stderr[-2000:]
    assert float(re.search(r"real ranks \(GradientSync\): (\S+)", two.stdout).group(1)) < 1e-6
    local, synced = re.search(r"local statistics (\S+), --sync-bn (\S+)", two.stdout).groups()
    assert float(local.rstrip(",")) > 1e-2 and float(synced) < 1e-5, two.stdout


class _FakeNccl:
    """cupy.cuda.nccl's calls, recorded (the NCCL path's plumbing without a GPU)."""
    NCCL_FLOAT32, NCCL_SUM = "f32", "sum"

    def __init__(self):
        self.calls = []

    def get_unique_id(self):
        return "uid"

    def NcclCommunicator(self, size, uid, rank):   # noqa: N802 - cupy's name
        fake = self

        class Comm:
            def allReduce(self, send, recv, count, dtype, op, stream):   # noqa: N802
                fake.calls.append(("allReduce", send, recv, count, dtype, op, stream))

            def abort(self):
                fake.calls.append(("abort",))
        fake.calls.append(("init", size, uid, rank))
        return Comm()


def _fake_cupy(done):
    from types import SimpleNamespace

    stream = SimpleNamespace(ptr=7, done=done)
    return SimpleNamespace(cuda=SimpleNamespace(get_current_stream=lambda: stream))


def test_nccl_allreduce_plumbing_without_a_gpu():
    from types import SimpleNamespace

    from minitorch_deblur.distributed import NcclCommunicator

    class Mpi(LocalCommunicator):
        timeout = 0.05

        def timed_out(self, what, waited):
            raise TimeoutError(f"{what} {waited:.2f}")

    nccl = _FakeNccl()
    comm = NcclCommunicator(Mpi(), nccl=nccl, cupy=_fake_cupy(True))
    array = SimpleNamespace(dtype=np.dtype(np.float32), size=12, data=SimpleNamespace(ptr=1234))
    assert comm.allreduce_(array) is array
    assert nccl.calls == [("init", 1, "uid", 0), ("allReduce", 1234, 1234, 12, "f32", "sum", 7)]
    stuck = NcclCommunicator(Mpi(), nccl=nccl, cupy=_fake_cupy(False))   # a stream that never finishes
    with pytest.raises(TimeoutError, match="NCCL allreduce"):
        stuck.allreduce_(array)
    assert nccl.calls[-1] == ("abort",)
    with pytest.raises(TypeError, match="float32"):
        comm.allreduce_(SimpleNamespace(dtype=np.dtype(np.float64), size=1, data=None))


def test_deblurgan_two_ranks_follow_one_process(tmp_path, natural_images):
    """The GAN (D step then G step, each clipped, U-Net dropout): 2 ranks within Adam's noise of one process."""
    args = ["deblurgan", "--epochs", "1", "--batch-size", "4", "--crops-per-epoch", "8", "--crop-size", "32",
            "--limit", "2", "--degradation", "motion"]
    _train(args, tmp_path / "one", 1, natural_images)
    _train(args, tmp_path / "two", 2, natural_images)
    worst, off = _compare(_weights(tmp_path / "one"), _weights(tmp_path / "two"))
    assert off < 1e-4 and worst < 2 * 2 * 1e-4 * 1.01, (worst, off)   # 2 steps at the GAN's lr 1e-4
