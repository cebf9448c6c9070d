#!/usr/bin/env python3
"""The self-test's step-time reference: the network of `gppf gpu-selftest`'s step-time ratio check
(backbone preset `small` with one unit per lego layer, i.e. a plain ResNet of basic blocks, and a
classification head) trained in PyTorch eager on the same GPU with the same batch, optimizer and
loss. Prints one JSON object: {"median_step_ms": ..., "steps": ..., "torch": ..., "device": ...}.

Not run in this repository (its machines have no GPU); deploy/gpu/run-selftest.sh passes it to the
self-test, which runs it with --device cuda:0 and divides its own median step by this one.

Layout as model/Backbone (BackboneConfig.Small): stem conv 3x3/2 (16 ch, no bias) + BN + ReLU, no
max-pool; four stages of one basic block, widths 16/32/64/128, strides 1/2/2/2, a 1x1/s conv + BN
projection where the shape changes; head: global average pool + linear. SGD, lr 0.05, momentum
0.9, weight decay 1e-4; batch 8 x 3 x 32 x 32, 4 classes.
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, in_channels, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = None
        if stride != 1 or in_channels != width:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, width, 1, stride=stride, bias=False), nn.BatchNorm2d(width))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(y + identity)


class SmallNet(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, in_channels = [], 16
        for width, stride in [(16, 1), (32, 2), (64, 2), (128, 2)]:
            blocks.append(BasicBlock(in_channels, width, stride))
            in_channels = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--classes", type=int, default=4)
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be at least 1 and --warmup not negative")

    device = torch.device(args.device)
    torch.manual_seed(3)
    net = SmallNet(args.classes).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(3)
    times = []
    for step in range(args.warmup + args.steps):
        # Batches are made on the host and copied, as the TorchSharp side does.
        x = torch.randn(args.batch, 3, args.size, args.size, generator=generator)
        y = torch.randint(0, args.classes, (args.batch,), generator=generator)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        loss.item()  # the TorchSharp step reads its loss too, which waits for the GPU
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    print(json.dumps({
        "median_step_ms": statistics.median(times) * 1000,
        "steps": args.steps,
        "torch": torch.__version__,
        "device": str(device),
    }))


if __name__ == "__main__":
    main()
