"""Lesson 00: automatic differentiation by hand, then by the engine, then checked numerically.

Run:  python lessons/00_autograd.py           (add --quick or --smoke: this lesson is always quick)

What it shows
1. A tiny graph, f(a, b) = log(1 + exp(ab)) + a^2 / b, built from Tensor operations, its recorded nodes,
   and the gradients that backward() computes.
2. The same gradients derived by hand with the chain rule.
3. The numeric gradient (central differences) agreeing with both, and why we check in float64:
   in float32 the rounding error of f(x + eps) - f(x - eps) swamps the difference for small eps.
Next: lesson 01 trains a network with this engine. Exercises: python -m minitorch_deblur.exercise start --lesson 0
(the elementwise operators and the graph walk itself).
Files to read: minitorch_deblur/autograd.py (Tensor, Function, run_backward), functional/elementwise.py,
minitorch_deblur/gradcheck.py. Tests that prove it: python -m pytest -m lesson0
"""
from __future__ import annotations

import argparse

import numpy as np

import minitorch_deblur as mt
from minitorch_deblur.autograd import graph_nodes
from minitorch_deblur.gradcheck import gradcheck


def f(a: mt.Tensor, b: mt.Tensor) -> mt.Tensor:
    """f(a, b) = log(1 + exp(a * b)) + a ** 2 / b."""
    return (1 + (a * b).exp()).log() + a ** 2 / b


def by_hand(a: float, b: float) -> tuple:
    """The chain rule on paper: with s = sigmoid(ab), df/da = s b + 2a / b, df/db = s a - a^2 / b^2."""
    s = 1 / (1 + np.exp(-a * b))
    return s * b + 2 * a / b, s * a - a * a / (b * b)


def numeric(a: float, b: float, eps: float, dtype: type) -> tuple:
    """Central differences (f(x + eps) - f(x - eps)) / 2 eps in the given precision."""
    def value(x: float, y: float) -> float:
        return f(mt.tensor(x, dtype=dtype), mt.tensor(y, dtype=dtype)).item()
    da = (value(a + eps, b) - value(a - eps, b)) / (2 * eps)
    db = (value(a, b + eps) - value(a, b - eps)) / (2 * eps)
    return da, db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(this lesson is always quick)")
    parser.add_argument("--smoke", action="store_true", help="(this lesson is always quick)")
    parser.add_argument("--out", help="(accepted as every lesson does; this one prints and saves nothing)")
    parser.add_argument("--data-dir", help="(accepted as every lesson does; this one reads no data)")
    parser.parse_args()

    a = mt.tensor(0.7, requires_grad=True, dtype=np.float64)
    b = mt.tensor(1.3, requires_grad=True, dtype=np.float64)
    y = f(a, b)
    print(f"1. {f.__doc__.strip().rstrip('.')}: a small function of two inputs whose gradient the engine finds by "
          "the chain rule")
    print(f"   f(a={a.item()}, b={b.item()}) = {y.item():.6f}")
    print("   the recorded graph, from the output back to the inputs:")
    for node in graph_nodes(y):
        inputs = ", ".join("node" if not t.is_leaf else "leaf" if t.requires_grad else "constant"
                           for t in node.inputs if t is not None)
        print(f"     {node.function.__name__:6s} <- ({inputs})")
    y.backward()
    print(f"   backward():  df/da = {a.grad:.10f}   df/db = {b.grad:.10f}")

    ha, hb = by_hand(0.7, 1.3)
    print("2. the chain rule on paper, with s = sigmoid(a*b): df/da = s*b + 2a/b,  df/db = s*a - a^2/b^2")
    print(f"   by hand:     df/da = {ha:.10f}   df/db = {hb:.10f}")
    assert np.isclose(a.grad, ha) and np.isclose(b.grad, hb)

    print("3. numeric, central differences:")
    for dtype in (np.float64, np.float32):
        for eps in (1e-2, 1e-4, 1e-6):
            na, nb = numeric(0.7, 1.3, eps, dtype)
            print(f"   {np.dtype(dtype).name:7s} eps={eps:.0e}: df/da = {na:.10f}  (error {abs(na - ha):.1e})")
    print("   float64 gets better as eps shrinks; float32 gets worse below ~1e-3: f itself is only accurate to")
    print("   ~1e-7, and dividing that rounding error by 2*eps magnifies it. That is why gradcheck uses float64.")

    result = gradcheck(f, [np.array(0.7), np.array(1.3)])
    print(f"4. gradcheck(f, [0.7, 1.3]) in float64: {'PASS' if result.passed else 'FAIL'}")
    print("Next: lesson 01 trains a network with this engine (python lessons/01_mlp_mnist.py --quick). Write the "
          "operators yourself: python -m minitorch_deblur.exercise start --lesson 0")


if __name__ == "__main__":
    main()
