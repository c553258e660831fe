"""Endless, resumable sample streams for the labelled and unlabelled sets.

A stream is a sequence of (index, draw) pairs: one shuffled pass over its dataset after another.
Position p of a stream is a pure function of (seed, stream name, p), so a run resumed at
iteration i simply restarts its streams at i x batch size, with any number of workers or ranks.
"""
from __future__ import annotations

import zlib
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from semipose.engine.seeding import make_worker_init


class StreamSampler(Sampler):
    """Yields (index, draw) for positions start, start+1, ... of an endless shuffled stream.

    With `num_shards` > 1 (distributed training) shard r takes every num_shards-th position,
    so the ranks together consume exactly the single-process stream.
    """

    def __init__(self, length: int, seed: int, name: str, start: int = 0, shard: int = 0, num_shards: int = 1):
        if length <= 0:
            raise ValueError(f"the {name} stream has no samples")
        self.length, self.seed, self.start = length, seed, start
        self.name_key = zlib.crc32(name.encode())
        self.shard, self.num_shards = shard, num_shards
        self._order_epoch, self._order = -1, None

    def _order_for(self, epoch: int) -> np.ndarray:
        if epoch != self._order_epoch:
            self._order = np.random.default_rng([self.seed, self.name_key, epoch]).permutation(self.length)
            self._order_epoch = epoch
        return self._order

    def __iter__(self) -> Iterator[tuple[int, int]]:
        position = self.start + self.shard
        while True:
            epoch, offset = divmod(position, self.length)
            yield int(self._order_for(epoch)[offset]), position
            position += self.num_shards

    def __len__(self):  # endless; DataLoader only needs this for its own bookkeeping
        return 2 ** 62


def make_stream_loader(dataset, batch_size: int, seed: int, name: str, start: int, workers: int,
                       shard: int = 0, num_shards: int = 1) -> DataLoader:
    sampler = StreamSampler(len(dataset), seed, name, start=start, shard=shard, num_shards=num_shards)
    # A stream is one endless iterator per fit(), so its workers live as long as the run anyway
    # (persistent_workers would only keep them past the iterator's end, which never comes).
    # Samples are uint8 crops (semipose.data.topdown), so 4 batches in flight per worker are cheap.
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      worker_init_fn=make_worker_init(seed, start), pin_memory=torch.cuda.is_available(),
                      persistent_workers=False, prefetch_factor=4 if workers > 0 else None, drop_last=True)
