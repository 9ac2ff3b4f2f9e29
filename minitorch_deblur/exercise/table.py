"""The exercises: which file a learner rewrites, which bodies are blanked, which op-table rows grade it, the
formula and the hints. One source of truth: the rows are the project's own (testing/op_table.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple


@dataclass(frozen=True)
class Exercise:
    name: str
    lesson: int
    source: str                      # the built-in file, relative to the package
    blanks: Tuple[str, ...]          # "Class.method" or "function" whose bodies the learner writes
    rows: Tuple[str, ...] = ()       # op-table rows that grade it (empty: an optimiser exercise)
    formula: str = ""
    hints: Tuple[str, ...] = field(default_factory=tuple)

    @property
    def module(self) -> str:
        """'conv' for functional/conv.py, 'adam' for optim/adam.py."""
        return self.source.rsplit("/", 1)[-1][:-3]

    @property
    def kind(self) -> str:
        return "optim" if self.source.startswith("optim/") else "graph" if self.name == "graph" else "op"


def _fb(*names: str) -> Tuple[str, ...]:
    return tuple(f"{n}.{m}" for n in names for m in ("forward", "backward"))


EXERCISES: List[Exercise] = [
    Exercise("graph", 0, "autograd.py", ("_topological_order", "run_backward"), (),
             "order the recorded operations so each comes after every operation that uses its output (reverse "
             "post-order of a depth-first search); then run each backward once, summing the gradients that meet",
             ("use an explicit stack, not recursion: a 10,000-layer chain must work",
              "pending[id(ctx)] collects the gradient of ctx's output until its turn")),
    Exercise("elementwise", 0, "functional/elementwise.py", _fb("Add", "Sub", "Mul", "Div"),
             ("add", "sub", "mul", "div"),
             "d(a+b) = (g, g); d(a-b) = (g, -g); d(a*b) = (g*b, g*a); d(a/b) = (g/b, -g*a/b^2). Broadcast inputs: "
             "return the full-shape gradient, the engine sums it back (autograd.unbroadcast)",
             ("backward returns one gradient per input, in the order forward received them",)),
    Exercise("matmul_linear", 1, "functional/linalg.py", _fb("MatMul", "Linear"), ("matmul", "linear"),
             "y = x W^T + b: dx = g W, dW = g^T x, db = g summed over every axis but the last",
             ("write the shapes next to each line: (N, in) @ (in, out) -> (N, out)",)),
    Exercise("activations", 1, "functional/activation.py", _fb("ReLU", "Sigmoid", "Tanh"),
             ("relu", "sigmoid", "tanh"),
             "relu' = [x > 0]; sigmoid' = s (1 - s); tanh' = 1 - t^2 (save the output, not the input)",
             ("save what backward needs with ctx.save_for_backward",)),
    Exercise("softmax", 1, "functional/activation.py", _fb("Softmax", "LogSoftmax"), ("softmax", "log_softmax"),
             "s = exp(x - max) / sum; ds: s * (g - sum(g s)); log_softmax: g - s * sum(g)",
             ("subtract the max along dim before exp, or large logits overflow",)),
    Exercise("cross_entropy", 1, "functional/loss.py", _fb("CrossEntropy"), ("cross_entropy",),
             "loss_i = -log_softmax(z_i)[t_i]; dz_i = softmax(z_i) - onehot(t_i) (times the upstream g_i)",
             ("the reduction (mean) divides by N outside this Function",)),
    Exercise("dropout", 1, "functional/dropout.py", _fb("Dropout"), ("dropout",),
             "train: y = x * mask / (1 - p), mask ~ Bernoulli(1 - p); dx = g * mask / (1 - p)",
             ("draw the mask from the generator you are given, so runs are reproducible",)),
    Exercise("im2col", 2, "functional/conv.py", ("im2col",), ("conv2d",),
             "column (n, i, j) holds the C x kh x kw window at (i s - p, j s - p) of image n: (C kh kw, N Ho Wo)",
             ("graded through conv2d in the same file: y = W_rows @ im2col(x)",)),
    Exercise("col2im", 2, "functional/conv.py", ("col2im",), ("conv2d",),
             "the adjoint of im2col: add every column back into its window of the image (overlaps sum)",
             ("graded through conv2d's input gradient in the same file: dx = col2im(W_rows^T @ g)",)),
    Exercise("conv2d", 2, "functional/conv.py", _fb("Conv2d"), ("conv2d",),
             "y = W_rows @ im2col(x) + b; dW = g_rows @ im2col(x)^T; db = g summed over N, Ho, Wo; "
             "dx = col2im(W_rows^T @ g_rows)",
             ("im2col(x) is (C kh kw, N Ho Wo); g as rows is (O, N Ho Wo)",)),
    Exercise("conv_transpose2d", 5, "functional/conv.py", _fb("ConvTranspose2d"), ("conv_transpose2d",),
             "the adjoint of conv2d: y = col2im(W_rows^T @ x_rows) + b; dx = W_rows @ im2col(g); "
             "dW = x_rows @ im2col(g)^T",
             ("<conv2d(x), y> = <x, conv_transpose2d(y)> for the same W: test yours that way",)),
    Exercise("max_pool2d", 2, "functional/pool.py", _fb("MaxPool2d"), ("max_pool2d",),
             "y = max of each window; dx = g at the window's first argmax, 0 elsewhere (overlapping windows add)",
             ("remember where the maximum was in forward",)),
    Exercise("avg_pool2d", 2, "functional/pool.py", _fb("AvgPool2d"), ("avg_pool2d",),
             "y = mean of each window; dx = g / (window size) spread over the window",
             ("count_include_pad decides whether padding counts in the window size",)),
    Exercise("upsample", 4, "functional/pool.py", _fb("UpsampleNearest2d"), ("upsample_nearest2d",),
             "y[i, j] = x[i // s, j // s]; dx = g summed over each s x s block", ()),
    Exercise("batch_norm", 2, "functional/norm.py", ("Normalize.moments",) + _fb("Normalize"), ("batch_norm_train", "batch_norm_eval"),
             "train: x_hat = (x - mean_batch) / sqrt(var_batch + eps), y = w x_hat + b; dx = w / sqrt(var + eps) * "
             "(g - mean(g) - x_hat mean(g x_hat)); update the running stats with momentum",
             ("mean and var over every axis but the channel axis 1",)),
    Exercise("instance_norm", 5, "functional/norm.py", ("Normalize.moments",) + _fb("Normalize"), ("instance_norm",),
             "the same Normalize, statistics per image and channel: over the spatial axes only", ()),
    Exercise("losses", 3, "functional/loss.py", ("mse_loss", "l1_loss"), ("mse_loss", "l1_loss"),
             "mse = mean((x - t)^2), l1 = mean(|x - t|): compose them from tensor operations (no backward to write)",
             ()),
    Exercise("sgd_momentum", 1, "optim/sgd.py", ("SGD._update",), (),
             "buf = momentum buf + (1 - dampening) g (buf = g on the first step); p -= lr buf (Nesterov: g + momentum "
             "buf)", ("update p.data in place; keep the buffer in state",)),
    Exercise("adam", 1, "optim/adam.py", ("Adam._update",), (),
             "m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + "
             "eps)", ("t counts this parameter's steps, starting at 1",)),
]
BY_NAME: Dict[str, Exercise] = {e.name: e for e in EXERCISES}
