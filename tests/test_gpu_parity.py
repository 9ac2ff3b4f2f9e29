"""CPU/GPU parity for every operator of the table: the same inputs on NumPy and on CuPy (``Tensor.to('cuda')``)
give the same output and the same gradients. Skipped, with the reason, when CuPy or a CUDA device is missing."""
import numpy as np
import pytest

from minitorch_deblur.backend import gpu_available, to_device
from minitorch_deblur.testing import op_table as T

pytest.importorskip("cupy", reason="CuPy is not installed (pip install -e .[gpu] on a machine with a CUDA device)")
if not gpu_available():
    pytest.skip("CuPy is installed but sees no usable CUDA device", allow_module_level=True)

pytestmark = pytest.mark.gpu
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-12)}


def _run(row, cfg, arrays, dtype, device, u_seed):
    """Output and input gradients (as NumPy) of the row's op on ``device``."""
    tensors = T.to_tensors(T.cast_inputs(arrays, dtype), device, requires_grad=row.grad)
    out = row.call(cfg, *tensors)
    if out.requires_grad:
        u = np.random.default_rng(u_seed).standard_normal(out.shape).astype(out.dtype)
        out.backward(to_device(u, device))
    grads = [None if t is None or t.grad is None else to_device(t.grad, "cpu") for t in tensors]
    return out.numpy(), grads


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("row", [pytest.param(r, id=r.name, marks=getattr(pytest.mark, f"lesson{r.lesson}"))
                                 for r in T.ROWS])
def test_cpu_and_gpu_agree(row, dtype):
    for k, (cfg, arrays) in enumerate(T.all_configs(row, seed=0, n=3)):
        where = f"{row.name} config {T.describe(cfg)}"
        out_cpu, grads_cpu = _run(row, cfg, arrays, dtype, "cpu", k)
        out_gpu, grads_gpu = _run(row, cfg, arrays, dtype, "cuda", k)
        assert out_gpu.dtype == out_cpu.dtype, f"{where}: dtype {out_cpu.dtype} on CPU, {out_gpu.dtype} on GPU"
        np.testing.assert_allclose(out_gpu, out_cpu, err_msg=f"{where}: forward", **TOL[dtype])
        for i, (gc, gg) in enumerate(zip(grads_cpu, grads_gpu)):
            assert (gc is None) == (gg is None), f"{where}: input {i} has a gradient on one device only"
            if gc is not None:
                np.testing.assert_allclose(gg, gc, err_msg=f"{where}: gradient of input {i}", **TOL[dtype])
