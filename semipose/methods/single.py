"""Ours (Single), paper Sec. 3.3: one network teaches its own hard view from its easy view.

L = L_s + lambda(step) * || f(I_h) - T_e->h(f(I_e)).detach() ||^2: the easy -> hard step
(methods/easy_hard.py) with the one pair (main, main).
"""
from __future__ import annotations

from dataclasses import dataclass

from semipose.methods.easy_hard import EasyHard, EasyHardConfig, Pair


@dataclass
class SingleConfig(EasyHardConfig):
    name: str = "single"


class Single(EasyHard):
    def pairs(self) -> list[Pair]:
        return [Pair("main", "main")]
