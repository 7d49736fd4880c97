"""Training: update rules (:mod:`convlab.train.optim`) and the :class:`Solver` loop."""

from convlab.train.optim import UPDATE_RULES, adam, get_update_rule, rmsprop, sgd, sgd_momentum
from convlab.train.solver import Solver, check_accuracy
from convlab.train.threads import limit_blas_threads

__all__ = [
    "UPDATE_RULES",
    "adam",
    "get_update_rule",
    "rmsprop",
    "sgd",
    "sgd_momentum",
    "Solver",
    "check_accuracy",
    "limit_blas_threads",
]
