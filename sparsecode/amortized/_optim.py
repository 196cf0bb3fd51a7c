"""Mini-batch optimisers (SGD, Adam) and learning-rate schedules.

The optimisers update the model's own parameter arrays in place::

    opt = Adam(lr=1e-3)
    opt.step([W, b], [dW, db])      # W, b updated in place

A schedule is a callable ``step -> multiplier`` of the base learning rate
(``step`` counts from 0).  Before any parameter changes, ``step`` checks that
the update is finite and raises :class:`TrainingDivergedError` otherwise, so a
diverging run never leaves NaN or infinite parameters behind.
"""

import copy
import math
import numbers

import numpy as np

__all__ = [
    "SGD",
    "Adam",
    "TrainingDivergedError",
    "constant",
    "cosine",
    "linear_decay",
    "make_optimizer",
    "warmup",
]


class TrainingDivergedError(FloatingPointError, ValueError):
    """Training produced a non-finite loss or update (catch as FloatingPointError or ValueError).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.ones(2)
    >>> try:
    ...     SGD(lr=0.1).step([w], [np.array([np.inf, 0.0])])
    ... except TrainingDivergedError as exc:
    ...     print(type(exc).__name__, w)
    TrainingDivergedError [1. 1.]
    """


def _check_lr(lr, name="learning_rate"):
    if (isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr)
            or lr <= 0):
        raise ValueError(f"{name} must be a finite number > 0, got {lr!r}; try 1e-3.")
    return float(lr)


def _check_steps(n, name):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}.")
    return int(n)


def constant(step):
    """Constant schedule: multiplier 1 at every step.

    Parameters
    ----------
    step : int
        Step number (ignored).

    Returns
    -------
    multiplier : float
        Always 1.0.

    Examples
    --------
    >>> constant(10)
    1.0
    """
    return 1.0


class linear_decay:
    """Linear decay from 1 at step 0 to ``final_fraction`` at ``total_steps`` (then flat).

    Parameters
    ----------
    total_steps : int
        Length of the decay (>= 1).
    final_fraction : float, default=0.0
        Multiplier reached at ``total_steps``, in [0, 1].

    Examples
    --------
    >>> s = linear_decay(10, final_fraction=0.5)
    >>> s(0), s(5), s(10), s(20)
    (1.0, 0.75, 0.5, 0.5)
    """

    def __init__(self, total_steps, final_fraction=0.0):
        self.total_steps = _check_steps(total_steps, "total_steps")
        if not 0.0 <= final_fraction <= 1.0:
            raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction!r}.")
        self.final_fraction = float(final_fraction)

    def __call__(self, step):
        t = min(step, self.total_steps) / self.total_steps
        return 1.0 - (1.0 - self.final_fraction) * t

    def __repr__(self):
        return f"linear_decay({self.total_steps}, final_fraction={self.final_fraction})"


class cosine:
    """Cosine decay from 1 at step 0 to 0 at ``total_steps`` (then 0).

    Parameters
    ----------
    total_steps : int
        Length of the decay (>= 1).

    Examples
    --------
    >>> s = cosine(10)
    >>> s(0), round(s(5), 6), s(10)
    (1.0, 0.5, 0.0)
    """

    def __init__(self, total_steps):
        self.total_steps = _check_steps(total_steps, "total_steps")

    def __call__(self, step):
        t = min(step, self.total_steps) / self.total_steps
        return 0.5 * (1.0 + math.cos(math.pi * t))

    def __repr__(self):
        return f"cosine({self.total_steps})"


class warmup:
    """Linear warm-up over ``n_steps`` steps, then the schedule ``then`` (shifted by ``n_steps``).

    Parameters
    ----------
    n_steps : int
        Warm-up length (>= 1); the multiplier rises as ``(step + 1) / n_steps``.
    then : callable, default=constant
        Schedule used after the warm-up, called with ``step - n_steps``.

    Examples
    --------
    >>> s = warmup(4)
    >>> [s(i) for i in range(6)]
    [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    """

    def __init__(self, n_steps, then=constant):
        self.n_steps = _check_steps(n_steps, "n_steps")
        if not callable(then):
            raise TypeError(f"then must be a schedule (a callable step -> multiplier), "
                            f"got {then!r}.")
        self.then = then

    def __call__(self, step):
        if step < self.n_steps:
            return (step + 1) / self.n_steps
        return self.then(step - self.n_steps)

    def __repr__(self):
        return f"warmup({self.n_steps}, then={self.then!r})"


def _all_finite(a):
    # one reduction; falls back to the elementwise test only when the sum is not finite
    with np.errstate(over="ignore", invalid="ignore"):
        s = a.sum()
    return bool(np.isfinite(s)) or bool(np.isfinite(a).all())


class _Optimizer:
    def __init__(self, lr, schedule):
        self.lr = lr
        self.schedule = schedule
        self.t = 0

    def _validate(self):
        _check_lr(self.lr)
        if self.schedule is not None and not callable(self.schedule):
            raise TypeError(f"schedule must be a callable step -> multiplier, "
                            f"got {self.schedule!r}.")

    def current_lr(self):
        """Learning rate of the next step (base rate times the schedule).

        Returns
        -------
        lr : float
        """
        mult = 1.0 if self.schedule is None else float(self.schedule(self.t))
        return self.lr * mult

    def reset(self):
        """Forget the step count and the state (momentum, moments)."""
        self.t = 0
        self._state = None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._repr_args().items())
        return f"{type(self).__name__}({args})"


class SGD(_Optimizer):
    """Stochastic gradient descent with optional (heavy-ball) momentum.

    ``v <- momentum * v + g``; ``p <- p - lr_t * v``.

    Parameters
    ----------
    lr : float
        Base learning rate (> 0).
    momentum : float, default=0.0
        Momentum in [0, 1).
    schedule : callable or None
        ``step -> multiplier`` of ``lr`` (:func:`constant` when None).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0, -2.0])
    >>> SGD(lr=0.5).step([w], [np.array([2.0, 2.0])])
    >>> w
    array([ 0., -3.])
    """

    def __init__(self, lr, momentum=0.0, schedule=None):
        super().__init__(lr, schedule)
        self.momentum = momentum
        self._validate()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
        self._state = None

    def _repr_args(self):
        return {"lr": self.lr, "momentum": self.momentum, "schedule": self.schedule}

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``.

        Parameters
        ----------
        params : list of ndarray
            The model's parameter arrays (updated in place).
        grads : list of ndarray
            Their gradients, same shapes and order.

        Raises
        ------
        TrainingDivergedError
            When the update is not finite; no parameter is changed then.
        """
        lr = self.current_lr()
        if self.momentum > 0 and self._state is None:
            self._state = [np.zeros_like(p) for p in params]
        updates = []
        for i, (p, g) in enumerate(zip(params, grads)):
            with np.errstate(over="ignore", invalid="ignore"):
                if self.momentum > 0:
                    v = self._state[i] * self.momentum + g
                    u = lr * v
                else:
                    v = None
                    u = lr * g
                new = p - u
            if not _all_finite(new):
                raise TrainingDivergedError(
                    f"non-finite parameter update at optimiser step {self.t} "
                    f"(learning_rate={lr:g}); lower the learning rate."
                )
            updates.append((new, v))
        for i, (p, (new, v)) in enumerate(zip(params, updates)):
            p[...] = new
            if v is not None:
                self._state[i] = v
        self.t += 1


class Adam(_Optimizer):
    """Adam (Kingma & Ba) with bias correction; moments kept in each parameter's dtype.

    Parameters
    ----------
    lr : float, default=1e-3
        Base learning rate (> 0).
    betas : (float, float), default=(0.9, 0.999)
        Decay rates of the first and second moments, each in [0, 1).
    eps : float, default=1e-8
        Added to the square root of the second moment.
    schedule : callable or None
        ``step -> multiplier`` of ``lr`` (:func:`constant` when None).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0, -2.0])
    >>> opt = Adam(lr=0.1)
    >>> opt.step([w], [np.array([3.0, -0.5])])     # first step moves each entry by lr
    >>> np.round(w, 6)
    array([ 0.9, -1.9])
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, schedule=None):
        super().__init__(lr, schedule)
        self.betas = betas
        self.eps = eps
        self._validate()
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}.")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}.")
        self._state = None

    def _repr_args(self):
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "schedule": self.schedule}

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``.

        Parameters
        ----------
        params : list of ndarray
            The model's parameter arrays (updated in place).
        grads : list of ndarray
            Their gradients, same shapes and order.

        Raises
        ------
        TrainingDivergedError
            When the update is not finite; no parameter is changed then.
        """
        lr = self.current_lr()
        b1, b2 = self.betas
        for g in grads:
            if not _all_finite(g):
                raise TrainingDivergedError(
                    f"non-finite gradient at optimiser step {self.t} (learning_rate={lr:g}); "
                    "lower the learning rate."
                )
        if self._state is None:
            self._state = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        t = self.t + 1
        bc1 = 1.0 - b1 ** t
        bc2 = 1.0 - b2 ** t
        for p, g, (m, v) in zip(params, grads, self._state):
            if _adam_kernel is not None and _kernel_ok(p, g, m, v):
                _adam_kernel(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
                             lr, b1, b2, self.eps, bc1, bc2, getattr(self, "n_threads", 1))
                continue
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            denom = np.sqrt(v / bc2)
            denom += self.eps
            p -= (lr / bc1) * (m / denom)
        self.t += 1


def _kernel_ok(*arrays):
    dt = arrays[0].dtype
    return dt in (np.float32, np.float64) and all(
        a.dtype == dt and a.flags.c_contiguous for a in arrays
    )


try:  # fused, multi-threaded Adam update (falls back to NumPy when absent)
    from sparsecode._ext._sae import adam_update as _adam_kernel
except ImportError:  # pragma: no cover - kernels not built
    _adam_kernel = None


def make_optimizer(name_or_instance, lr, n_steps=None, **kwargs):
    """Build the optimiser of a training run.

    Parameters
    ----------
    name_or_instance : {"adam", "sgd"} or SGD or Adam
        A name, or an optimiser whose settings are copied (its own state is
        never touched: a fresh copy is returned).
    lr : float
        Base learning rate for a named optimiser (> 0); ignored for an
        instance, which keeps its own ``lr``.
    n_steps : int or None
        Planned number of steps (kept for schedules that need it).
    **kwargs
        Passed to the named optimiser (``momentum``, ``betas``, ``eps``, ``schedule``).

    Returns
    -------
    optimizer : SGD or Adam

    Examples
    --------
    >>> make_optimizer("sgd", 0.1)
    SGD(lr=0.1, momentum=0.0, schedule=None)
    """
    if isinstance(name_or_instance, _Optimizer):
        opt = copy.deepcopy(name_or_instance)
        opt.reset()
        return opt
    if isinstance(name_or_instance, str):
        lr = _check_lr(lr)
        key = name_or_instance.lower()
        if key == "adam":
            return Adam(lr=lr, **kwargs)
        if key == "sgd":
            return SGD(lr=lr, **kwargs)
    raise ValueError(
        f"optimizer must be 'adam', 'sgd' or an SGD/Adam instance, got {name_or_instance!r}."
    )
