"""How far lagging batch-norm statistics bend an evaluation: validation MSE of a course-B checkpoint with its
running statistics, then with statistics recomputed over N training batches (nn.utils.update_bn, --precise-bn).

    MINITORCH_DEBLUR_DATA=../shared/data python benchmarks/precise_bn.py runs/win5rb-best/model.npz --batches 50

Validation: the last 10% of the CIFAR-10 train images (as train's --val-fraction 0.1), degraded with the seed
train uses for validation; the recomputing batches come from the first 90%, degraded afresh.
"""
from __future__ import annotations

import argparse

import numpy as np

from minitorch_deblur import Tensor
from minitorch_deblur.checkpoint import checkpoint_meta, load_model
from minitorch_deblur.data import load_cifar10
from minitorch_deblur.data.degrade import degrade, degrade_test_set
from minitorch_deblur.data.images import from_uint8
from minitorch_deblur.nn.utils import update_bn
from minitorch_deblur.imaging.restoration import score_model
from minitorch_deblur.train.restore import VAL_SEED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    kind = checkpoint_meta(args.checkpoint).get("degradation", "gaussian_noise")
    images = load_cifar10("train", args.data_dir, allow_partial=True).images
    n_val = int(round(0.1 * len(images)))
    train, val = images[:-n_val], images[-n_val:]
    degraded, sharp = degrade_test_set(val, kind, seed=VAL_SEED), from_uint8(val)
    model = load_model(args.checkpoint)
    before, _ = score_model(model, degraded, sharp)
    size = args.batch_size
    batches = [(degrade(from_uint8(train[i:i + size]), kind, seed=5, index_offset=i),)
               for i in range(0, min(len(train), args.batches * size), size)]
    used = update_bn(batches, model, lambda net, b: net(Tensor(b[0])))
    after, _ = score_model(model, degraded, sharp)
    print(f"{args.checkpoint}: validation MSE {before.mse.mean():.5f} with the running statistics, "
          f"{after.mse.mean():.5f} with statistics recomputed over {used} training batches of {size} "
          f"({len(val)} validation images, {kind})")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
