"""Solvers of the convex family: working-set Anderson coordinate descent
(smooth datafits), concomitant coordinate descent (square-root LASSO),
working-set linear programming (LAD-LASSO) and Chambolle-Pock PDHG (any
proximable datafit)."""

from .cd import AndersonCD
from .concomitant import ConcomitantCD
from .lp import WorkingSetLP
from .pdhg import PDHG

__all__ = ["AndersonCD", "ConcomitantCD", "WorkingSetLP", "PDHG"]
