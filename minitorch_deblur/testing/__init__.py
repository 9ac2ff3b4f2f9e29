"""Test support shipped with the package: the operator table (op_table.py) and naive references (reference.py).

The table drives tests/test_ops.py, tests/test_gpu_parity.py and the ``python -m minitorch_deblur.gradcheck``
CLI. Nothing here imports hypothesis or scipy.
"""
