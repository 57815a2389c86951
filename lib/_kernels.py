"""Fused, allocation-free NumPy kernels generated from a SymPy energy (private).

:meth:`lib.Potential.from_sympy` calls :func:`compile_potential`, which turns
an energy ``L(x_1, ..., x_d)`` and its gradient into Python source made of
NumPy ufunc calls with ``out=`` arguments, and ``exec``-utes it once:

* energy and gradient go through one ``sympy.cse`` together, so shared
  subexpressions are computed once per call;
* of two equivalent forms (as written, and Horner's for polynomials) the one
  with fewer array operations is kept;
* integer powers become repeated products (``x**4`` is ``(x*x)*(x*x)``, and
  ``x**2, x**3, x**4`` in one expression share their products), half-integer
  powers use ``sqrt``, rational functions divide once;
* every intermediate lives in scratch buffers that are allocated the first time
  a batch shape is seen and reused afterwards, with buffers recycled as soon as
  their value is dead, so the samplers' hot loops allocate nothing;
* an energy that is a polynomial of degree <= 2 in ``d >= 3`` coordinates has
  the linear gradient ``A x + b``: it becomes one ``matmul`` and one ``einsum``
  instead of ``d`` elementwise columns.

The generated kernel has the signature the samplers use,
``kernel(x, grad_out, energy_out, work)`` (``energy_out`` may be None; ``work``
is ignored), and works on any batch of states, blocks and views included. Its
source is ``kernel.source``.

The results agree with the lambdified expression to a few units in the last
place (the operations are reordered, never approximated). Where the expression
is undefined (log of a negative number, a division by zero) they are NaN or
inf where NumPy's own evaluation is; and for an energy with a restricted
domain the gradient-only code (the unadjusted Langevin sampler's) is NaN
wherever the energy is, even where the gradient formula alone is finite, so a
chain that leaves the domain trips the samplers' divergence check instead of
wandering on silently.

Kernels keep their scratch between calls, so one kernel must not run in two
threads at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.special
import sympy as sp

__all__ = ["CompileError", "Compiled", "compile_potential"]

# Batches longer than this many rows are cut into blocks (scratch stays
# cache-sized and bounded); the samplers' own blocks are never longer.
_BLOCK_ELEMENTS = 16384
# At most this many batch shapes keep their scratch buffers.
_POOL_SHAPES = 8
# Quadratic energies in at least this many dimensions use matmul. Measured
# (ULA / MALA throughput, 10^6 draws per step): at d = 2 and 3 the two codes are
# within noise of each other, at d = 5 and 10 matmul is 20-30 % faster.
_MATMUL_MIN_DIM = 3
# Copy strided coordinate columns (d > 1) read three or more times into
# contiguous scratch first: measured neutral on the banana, +6-10 % on a 5-D
# log-cosh sum and on Mueller-Brown.
_CONTIGUOUS_COLUMNS = True


class CompileError(Exception):
    """The expression holds something with no NumPy kernel (the caller falls back)."""


@dataclass(frozen=True)
class Compiled:
    """Generated functions for one potential.

    Attributes
    ----------
    kernel : callable
        ``kernel(x, grad_out, energy_out, work)``: writes the gradient (and the
        energy, when ``energy_out`` is not None) in place; allocates nothing
        once a batch shape has been seen.
    energy_into : callable
        ``energy_into(x, energy_out)``: the energy alone.
    energy, grad : callable
        Allocating convenience wrappers ``x -> L(x)`` and ``x -> grad L(x)``.
    source : str
        The generated Python source.
    n_ops : int
        Array operations per call with energy and gradient (a cost measure).
    """

    kernel: Callable
    energy_into: Callable
    energy: Callable
    grad: Callable
    source: str
    n_ops: int


# ---------------------------------------------------------------------------
# the emitter: SymPy expression -> lines of NumPy calls with out=
# ---------------------------------------------------------------------------

_UNARY = {
    sp.exp: "exp",
    sp.log: "log",
    sp.sin: "sin",
    sp.cos: "cos",
    sp.tan: "tan",
    sp.asin: "arcsin",
    sp.acos: "arccos",
    sp.atan: "arctan",
    sp.sinh: "sinh",
    sp.cosh: "cosh",
    sp.tanh: "tanh",
    sp.asinh: "arcsinh",
    sp.acosh: "arccosh",
    sp.atanh: "arctanh",
    sp.Abs: "absolute",
    sp.sign: "sign",
    sp.erf: "erf",
    sp.erfc: "erfc",
}
_NAMESPACE = {name: getattr(np, name) for name in
              ("add", "subtract", "multiply", "divide", "negative", "power", "sqrt", "copyto",
               "maximum", "minimum", "arctan2", "heaviside", "matmul", "einsum")}
_NAMESPACE.update({name: getattr(np, name) for name in _UNARY.values() if hasattr(np, name)})
_NAMESPACE.update(erf=scipy.special.erf, erfc=scipy.special.erfc)


def _is_const(expr) -> bool:
    return not expr.free_symbols


def _const(expr) -> float:
    if expr.is_Number and not expr.is_infinite and expr is not sp.nan:
        return float(expr)
    try:
        value = complex(sp.N(expr, 30))
    except TypeError as err:
        raise CompileError(f"cannot evaluate the constant {expr}") from err
    if value.imag != 0 or not np.isfinite(value.real):
        raise ValueError(f"the expression contains the constant {expr}, which is not a finite real number")
    return float(value.real)


def _fmt(c: float) -> str:
    return repr(float(c))


class _Emitter:
    """Writes the lines of one program; hands out scratch buffers ``b0, b1, ...``."""

    def __init__(self, names: dict):
        self.names = dict(names)  # Symbol -> variable holding its value
        self.lines: list[str] = []
        self.free: list[str] = []
        self.n_buffers = 0

    # buffers
    def alloc(self) -> str:
        if self.free:
            return self.free.pop()
        self.n_buffers += 1
        return f"b{self.n_buffers - 1}"

    def release(self, name: str) -> None:
        self.free.append(name)

    def emit(self, line: str) -> None:
        self.lines.append(line)

    # operands
    def operand(self, expr):
        """(variable or constant text, owned temp?) holding the value of ``expr``."""
        if _is_const(expr):
            return _fmt(_const(expr)), False
        if expr in self.names:
            return self.names[expr], False
        tmp = self.alloc()
        self.into(expr, tmp)
        return tmp, True

    def done(self, name, owned) -> None:
        if owned:
            self.release(name)

    # expressions
    def into(self, expr, dest: str) -> None:
        """Emit lines that leave the value of ``expr`` in ``dest``."""
        if _is_const(expr):
            self.emit(f"{dest}[...] = {_fmt(_const(expr))}")
        elif expr in self.names:
            self.emit(f"copyto({dest}, {self.names[expr]})")
        elif expr.is_Add:
            self._add(expr, dest)
        elif expr.is_Mul:
            self._mul(expr, dest)
        elif expr.is_Pow:
            self._pow(expr, dest)
        elif type(expr) in _UNARY:
            arg = expr.args[0]
            if arg in self.names:
                self.emit(f"{_UNARY[type(expr)]}({self.names[arg]}, out={dest})")
            else:
                self.into(arg, dest)
                self.emit(f"{_UNARY[type(expr)]}({dest}, out={dest})")
        elif isinstance(expr, (sp.Max, sp.Min)):
            ufunc = "maximum" if isinstance(expr, sp.Max) else "minimum"
            self._nary(ufunc, expr.args, dest)
        elif isinstance(expr, sp.atan2):
            self._binary("arctan2", expr.args[0], expr.args[1], dest)
        elif isinstance(expr, sp.Heaviside):
            h0 = expr.args[1] if len(expr.args) > 1 else sp.Rational(1, 2)
            self._binary("heaviside", expr.args[0], h0, dest)
        else:
            raise CompileError(f"no NumPy kernel for {type(expr).__name__} in {expr}")

    def _binary(self, ufunc, a, b, dest):
        ra, oa = self.operand(a)
        rb, ob = self.operand(b)
        self.emit(f"{ufunc}({ra}, {rb}, out={dest})")
        self.done(ra, oa)
        self.done(rb, ob)

    def _nary(self, ufunc, args, dest):
        const = [a for a in args if _is_const(a)]
        rest = [a for a in args if not _is_const(a)]
        self.into(rest[0], dest)
        for a in rest[1:] + const:
            r, owned = self.operand(a)
            self.emit(f"{ufunc}({dest}, {r}, out={dest})")
            self.done(r, owned)

    def _add(self, expr, dest):
        const = 0.0
        pos, neg = [], []  # magnitudes of the terms added / subtracted
        for term in expr.args:
            if _is_const(term):
                const += _const(term)
                continue
            coeff, _ = term.as_coeff_Mul()
            (neg if coeff.is_negative else pos).append(-term if coeff.is_negative else term)
        def leaf(t):
            return t in self.names
        # Start the sum with a compound term computed straight into dest, so the
        # remaining terms are added in place without a temporary.
        pos.sort(key=leaf)
        neg.sort(key=leaf)
        if pos and not leaf(pos[0]):
            self.into(pos.pop(0), dest)
        elif pos and (len(pos) > 1 or (neg and leaf(neg[0]))):
            a = self.names[pos.pop(0)]
            if pos:
                self.emit(f"add({a}, {self.names[pos.pop(0)]}, out={dest})")
            else:
                self.emit(f"subtract({a}, {self.names[neg.pop(0)]}, out={dest})")
        elif pos and neg:  # one positive leaf, compound negatives: dest = a - (...)
            a = self.names[pos.pop(0)]
            self.into(neg.pop(0), dest)
            self.emit(f"subtract({a}, {dest}, out={dest})")
        elif pos:  # a single leaf plus a constant
            a = self.names[pos.pop(0)]
            if const:
                self.emit(f"add({a}, {_fmt(const)}, out={dest})")
                const = 0.0
            else:
                self.emit(f"copyto({dest}, {a})")
        else:  # every term negative
            first = neg.pop(0)
            if leaf(first):
                if const:
                    self.emit(f"subtract({_fmt(const)}, {self.names[first]}, out={dest})")
                    const = 0.0
                else:
                    self.emit(f"negative({self.names[first]}, out={dest})")
            else:
                self.into(-first, dest)
        for terms, ufunc in ((pos, "add"), (neg, "subtract")):
            for t in terms:
                r, owned = self.operand(t)
                self.emit(f"{ufunc}({dest}, {r}, out={dest})")
                self.done(r, owned)
        if const:
            self.emit(f"add({dest}, {_fmt(const)}, out={dest})")

    def _mul(self, expr, dest):
        coeff = 1.0
        num, den = [], []
        for f in expr.args:
            if _is_const(f):
                coeff *= _const(f)
            elif f.is_Pow and f.exp.is_Number and f.exp.is_negative:
                den.append(sp.Pow(f.base, -f.exp))
            else:
                num.append(f)
        if not num:
            if len(den) == 1 and den[0] in self.names:
                self.emit(f"divide({_fmt(coeff)}, {self.names[den[0]]}, out={dest})")
            else:
                self._product(den, dest, 1.0)
                self.emit(f"divide({_fmt(coeff)}, {dest}, out={dest})")
            return
        if den and len(num) == 1 and num[0] in self.names:  # dest = a / (...)
            r, owned = self.operand(den[0]) if len(den) == 1 else (self.alloc(), True)
            if len(den) > 1:
                self._product(den, r, 1.0)
            self.emit(f"divide({self.names[num[0]]}, {r}, out={dest})")
            self.done(r, owned)
            if coeff != 1.0:
                self.emit(f"multiply({dest}, {_fmt(coeff)}, out={dest})")
            return
        folded = self._product(num, dest, coeff)
        if den:
            if len(den) == 1:
                r, owned = self.operand(den[0])
            else:
                r, owned = self.alloc(), True
                self._product(den, r, 1.0)
            self.emit(f"divide({dest}, {r}, out={dest})")
            self.done(r, owned)
        if not folded and coeff != 1.0:
            if coeff == -1.0:
                self.emit(f"negative({dest}, out={dest})")
            else:
                self.emit(f"multiply({dest}, {_fmt(coeff)}, out={dest})")

    def _product(self, factors, dest, coeff) -> bool:
        """dest = product of factors; True if ``coeff`` was multiplied in too."""
        leaves = [f for f in factors if f in self.names]
        compound = [f for f in factors if f not in self.names]
        if compound:
            self.into(compound[0], dest)
            for f in compound[1:] + leaves:
                r, owned = self.operand(f)
                self.emit(f"multiply({dest}, {r}, out={dest})")
                self.done(r, owned)
            return False
        a = self.names[leaves[0]]
        if len(leaves) == 1:
            if coeff == -1.0:
                self.emit(f"negative({a}, out={dest})")
            elif coeff != 1.0:
                self.emit(f"multiply({a}, {_fmt(coeff)}, out={dest})")
            else:
                self.emit(f"copyto({dest}, {a})")
            return True
        self.emit(f"multiply({a}, {self.names[leaves[1]]}, out={dest})")
        for f in leaves[2:]:
            self.emit(f"multiply({dest}, {self.names[f]}, out={dest})")
        return False

    def _pow(self, expr, dest):
        base, exponent = expr.base, expr.exp
        if exponent.is_Integer and base not in self.names and int(exponent) in (2, 4, 8):
            # a compound base squared: compute it in dest and square in place
            self.into(base, dest)
            for _ in range(int(exponent).bit_length() - 1):
                self.emit(f"multiply({dest}, {dest}, out={dest})")
        elif exponent.is_Integer:
            n = int(exponent)
            r, owned = self.operand(base)
            self._power_chain(r, abs(n), dest)
            self.done(r, owned)
            if n < 0:
                self.emit(f"divide(1.0, {dest}, out={dest})")
        elif exponent.is_Rational and exponent.q == 2:
            p = int(exponent.p)
            r, owned = self.operand(base)
            if abs(p) == 1:
                self.emit(f"sqrt({r}, out={dest})")
            else:  # b**(p/2) = b**m sqrt(b) with m = (|p| - 1)/2
                self._power_chain(r, (abs(p) - 1) // 2, dest)
                tmp = self.alloc()
                self.emit(f"sqrt({r}, out={tmp})")
                self.emit(f"multiply({dest}, {tmp}, out={dest})")
                self.release(tmp)
            self.done(r, owned)
            if p < 0:
                self.emit(f"divide(1.0, {dest}, out={dest})")
        else:
            self._binary("power", base, exponent, dest)

    def _power_chain(self, r: str, n: int, dest: str) -> None:
        """dest = r**n for an integer n >= 1 by square-and-multiply (r is kept)."""
        if n == 1:
            self.emit(f"copyto({dest}, {r})")
            return
        bits = bin(n)[3:]
        self.emit(f"multiply({r}, {r}, out={dest})")
        if bits[0] == "1":
            self.emit(f"multiply({dest}, {r}, out={dest})")
        for bit in bits[1:]:
            self.emit(f"multiply({dest}, {dest}, out={dest})")
            if bit == "1":
                self.emit(f"multiply({dest}, {r}, out={dest})")


# ---------------------------------------------------------------------------
# programs: CSE, shared power tables, buffer lifetimes
# ---------------------------------------------------------------------------


def _power_tables(defs: list, outputs: list, leaves) -> tuple[list, list]:
    """Share integer powers of one base: x**2, x**3, x**4 become three products.

    ``defs`` is a list of (symbol, expr) in evaluation order, ``outputs`` a list
    of exprs; powers of a symbol (a coordinate or a definition) with at least two
    different exponents get definitions right after the symbol's own.
    """
    exponents: dict = {}
    for expr in [e for _, e in defs] + outputs:
        for node in sp.preorder_traversal(expr):
            if node.is_Pow and node.base.is_Symbol and node.exp.is_Integer and abs(node.exp) >= 2:
                exponents.setdefault(node.base, set()).add(abs(int(node.exp)))
    tables = {base: sorted(ns) for base, ns in exponents.items() if len(ns) >= 2}
    if not tables:
        return defs, outputs
    mapping, extra = {}, {}
    for base, needed in tables.items():
        have = {1: base}
        chain = []

        def build(n):
            if n in have:
                return
            for a in sorted(have, reverse=True):
                if n - a in have:
                    break
            else:
                build(n // 2)
                build(n - n // 2)
                a = n // 2
            sym = sp.Dummy(f"{base}_pow{n}")
            chain.append((sym, sp.Mul(have[a], have[n - a], evaluate=True)))
            have[n] = sym

        for n in needed:
            build(n)
            mapping[sp.Pow(base, n)] = have[n]
            mapping[sp.Pow(base, -n)] = sp.Pow(have[n], -1)
        extra[base] = chain
    new_defs = [d for base in leaves if base in extra for d in extra[base]]
    for sym, expr in defs:
        new_defs.append((sym, expr.xreplace(mapping)))
        new_defs.extend(extra.get(sym, []))
    return new_defs, [e.xreplace(mapping) for e in outputs]


def _shared(outputs: list, coords: dict) -> tuple[list, list]:
    """CSE of ``outputs`` together: (definitions in evaluation order, reduced outputs)."""
    defs, reduced = sp.cse(outputs, symbols=sp.numbered_symbols("_t", cls=sp.Dummy), order="none")
    # a definition that is just another symbol is an alias
    alias = {}
    kept = []
    for sym, expr in defs:
        expr = expr.xreplace(alias)
        if expr.is_Symbol:
            alias[sym] = expr
        else:
            kept.append((sym, expr))
    reduced = [e.xreplace(alias) for e in reduced]
    return _power_tables(kept, reduced, list(coords))


def _program(shared: tuple, select: list, out_names: list, coords: dict, *,
             contiguous: set = frozenset()):
    """Lines computing the outputs ``select`` of ``shared`` (see :func:`_shared`) into
    ``out_names``; returns (lines, n_buffers, n_ops).

    Definitions the selected outputs do not need are dropped. ``coords`` maps
    coordinate symbols to the variables holding them; those in ``contiguous``
    are first copied into scratch (for strided columns used often).
    """
    defs, reduced = shared
    reduced = [reduced[i] for i in select]
    needed = set().union(*(e.free_symbols for e in reduced))
    kept = []
    for sym, expr in reversed(defs):
        if sym in needed:
            kept.append((sym, expr))
            needed |= expr.free_symbols
    kept.reverse()
    em = _Emitter(coords)
    for sym in contiguous:
        buf = em.alloc()
        em.emit(f"copyto({buf}, {coords[sym]})")
        em.names[sym] = buf
    # last instruction reading each definition (instructions: defs, then outputs)
    exprs = [e for _, e in kept] + reduced
    last = {}
    for i, expr in enumerate(exprs):
        for s in expr.free_symbols:
            last[s] = i
    # a definition that is itself an output is computed straight into that output
    target = {}
    for name, expr in zip(out_names, reduced):
        if expr.is_Symbol and expr not in coords and expr not in target.values() and name not in target:
            target[name] = expr
    into_output = {sym: name for name, sym in target.items()}
    dead_at: dict = {}
    for s, i in last.items():
        dead_at.setdefault(i, []).append(s)
    for i, (sym, expr) in enumerate(kept):
        if sym not in last:
            continue  # unused (cannot happen after cse, but harmless)
        dest = into_output.get(sym) or em.alloc()
        em.into(expr, dest)
        em.names[sym] = dest
        for s in dead_at.get(i, []):
            if s in em.names and s not in into_output and s not in coords:
                em.release(em.names[s])
    for j, (name, expr) in enumerate(zip(out_names, reduced)):
        if target.get(name) is not expr:
            em.into(expr, name)
        for s in dead_at.get(len(kept) + j, []):
            if s in em.names and s not in into_output and s not in coords:
                em.release(em.names[s])
    n_ops = sum(1 for line in em.lines if not line.startswith("#"))
    return em.lines, em.n_buffers, n_ops


def _horner(expr, symbols):
    """The Horner form of a polynomial ``expr`` (None if it is not a polynomial)."""
    if expr.is_Number or not expr.is_polynomial(*symbols):
        return None
    try:
        return sp.horner(expr, *symbols) if len(symbols) > 1 else sp.horner(expr)
    except (sp.PolynomialError, sp.GeneratorsNeeded, ValueError):
        return None


def _forms(energy, grads, symbols):
    """Equivalent forms of (energy, grads) worth costing: as written, and Horner."""
    forms = [[energy] + grads]
    horner = [_horner(e, symbols) for e in [energy] + grads]
    if any(h is not None and h != e for h, e in zip(horner, forms[0])):
        forms.append([h if h is not None else e for h, e in zip(horner, forms[0])])
    return forms


# ---------------------------------------------------------------------------
# assembling the functions
# ---------------------------------------------------------------------------

_PROLOGUE = """\
def {func}({args}):
    shape = x.shape{batch}
{single}    buffers = pool.get(shape)
    if buffers is None:
        if shape and shape[0] > rows:
            for lo in range(0, shape[0], rows):
                {func}({chunk_args})
            return
        buffers = scratch(shape)
"""


# One state (x of shape () or (d,)): ufunc calls on 0-d arrays cost about a
# microsecond each, so plain Python floats are used; any arithmetic trouble
# (math.log(-1), 1/0.0, overflow in **, a complex power) falls through to the
# array code, whose NaN/inf semantics are the reference.
_SINGLE = """\
    if not shape and scalar is not None:
        try:
            ev, gv = scalar({args})
        except (ArithmeticError, ValueError, TypeError):
            pass
        else:
{body}            return
"""


def _single_block(func, d, restricted):
    args = "float(x)" if d == 1 else "*x.tolist()"
    gv = "gv[0]" if d == 1 else "gv"
    if func == "energy_into":
        body = ["e[...] = ev"]
    else:
        body = ["if e is not None:", "    e[...] = ev"]
        if restricted:  # as in the array code: the gradient is NaN where L is
            body += ["else:", "    ev *= 0.0", "    gv = tuple(v + ev for v in gv)"]
        body.append(f"g[...] = {gv}")
    return _SINGLE.format(args=args, body="".join(f"            {line}\n" for line in body))


def _scalar_source(shared, symbols) -> str | None:
    """Python-float code for (L, grad L) at one state, from the same CSE; None if
    some function has no ``math`` counterpart."""
    from sympy.printing.pycode import PythonCodePrinter

    defs, reduced = shared
    names = {s: sp.Symbol(f"c{i}", real=True) for i, s in enumerate(symbols)}
    names.update({sym: sp.Symbol(f"t{i}", real=True) for i, (sym, _) in enumerate(defs)})
    printer = PythonCodePrinter({"fully_qualified_modules": True, "strict": True})
    try:
        lines = [f"def scalar({', '.join(f'c{i}' for i in range(len(symbols)))}):"]
        for sym, expr in defs:
            lines.append(f"    {names[sym]} = {printer.doprint(expr.xreplace(names))}")
        outs = [f"float({printer.doprint(e.xreplace(names))})" for e in reduced]
    except Exception:  # noqa: BLE001 - any printing failure: no scalar path
        return None
    lines.append(f"    return {outs[0]}, ({', '.join(outs[1:])},)")
    return "\n".join(lines) + "\n"


def _scalar_function(source: str | None, d: int):
    if source is None:
        return None
    namespace = {"math": math}
    try:
        exec(compile(source, "<lib kernel scalar>", "exec"), namespace)
        namespace["scalar"](*([0.5] * d))
    except (ArithmeticError, ValueError):
        pass  # a domain error at the probe point is fine
    except Exception:  # noqa: BLE001 - e.g. a name math lacks: use the array code
        return None
    return namespace["scalar"]


def _assemble(func, args, chunk_args, d, body_blocks, n_buffers, *, uses_columns=True,
              restricted=False):
    head = _PROLOGUE.format(func=func, args=args, chunk_args=chunk_args,
                            batch="" if d == 1 else "[:-1]",
                            single=_single_block(func, d, restricted))
    lines = [head.rstrip("\n")]
    if n_buffers:
        lines.append(f"    {', '.join(f'b{i}' for i in range(n_buffers))}, = buffers")
    if uses_columns:
        if d == 1:
            lines.append("    c0 = x")
        else:
            lines.append("    " + "; ".join(f"c{i} = x[..., {i}]" for i in range(d)))
    for line in body_blocks:
        lines.append("    " + line)
    return "\n".join(lines) + "\n"


def _restricted_domain(expr) -> bool:
    """Whether ``expr`` may be undefined (NaN) for some real coordinates."""
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.log, sp.asin, sp.acos, sp.acosh, sp.atanh)):
            return True
        if node.is_Pow and not node.exp.is_Integer and not (node.base.is_nonnegative or node.base.is_Number):
            return True
    return False


def _elementwise_source(energy, grads, symbols):
    d = len(symbols)
    coords = {s: f"c{i}" for i, s in enumerate(symbols)}
    gnames = ["g"] if d == 1 else [f"g{i}" for i in range(d)]
    gviews = [] if d == 1 else ["; ".join(f"g{i} = g[..., {i}]" for i in range(d))]

    def contiguous_for(exprs):
        # Strided columns (d > 1) read by several operations are copied once into
        # contiguous scratch: ufuncs on strided views are 2-3x slower.
        if d == 1 or not _CONTIGUOUS_COLUMNS:
            return frozenset()
        counts = {s: 0 for s in symbols}
        for e in exprs:
            for node in sp.preorder_traversal(e):
                if node in counts:
                    counts[node] += 1
        return frozenset(s for s, n in counts.items() if n >= 3)

    # The form (as written or Horner) with the fewest array operations for energy
    # and gradient together; the gradient-only and energy-only code use it too.
    best = None
    everything = list(range(d + 1))
    for form in _forms(energy, grads, symbols):
        shared = _shared(form, coords)
        prog = _program(shared, everything, ["e"] + gnames, coords, contiguous=contiguous_for(form))
        if best is None or prog[2] < best[2][2]:
            best = form, shared, prog
    form, shared, (eg_lines, eg_buf, eg_ops) = best
    restricted = _restricted_domain(energy)
    if restricted:
        # Where L is undefined (log of a negative number, ...) the gradient may
        # still be finite, and ULA, which never evaluates L, would wander outside
        # the domain silently. The gradient-only code evaluates L too and adds
        # 0 * L, which is NaN exactly there, so the sampler's divergence check fires.
        g_lines, g_buf, _ = _program(shared, everything, ["b_energy"] + gnames, coords,
                                     contiguous=contiguous_for(form))
        g_lines = g_lines + ["multiply(b_energy, 0.0, out=b_energy)"]
        g_lines += [f"add({g}, b_energy, out={g})" for g in gnames]
        g_lines = [line.replace("b_energy", f"b{g_buf}") for line in g_lines]
        g_buf += 1
    else:
        g_lines, g_buf, _ = _program(shared, everything[1:], gnames, coords,
                                     contiguous=contiguous_for(form[1:]))
    e_lines, e_buf, _ = _program(shared, [0], ["e"], coords, contiguous=contiguous_for(form[:1]))
    kernel_body = gviews + ["if e is None:"] + ["    " + s for s in g_lines]
    kernel_body += ["else:"] + ["    " + s for s in eg_lines]
    n_kernel = max(eg_buf, g_buf)
    kernel_src = _assemble("kernel", "x, g, e, work",
                           "x[lo:lo + rows], g[lo:lo + rows], None if e is None else e[lo:lo + rows], work",
                           d, kernel_body, n_kernel, restricted=restricted)
    energy_src = _assemble("energy_into", "x, e", "x[lo:lo + rows], e[lo:lo + rows]", d, e_lines, e_buf)
    return kernel_src, n_kernel, energy_src, e_buf, eg_ops, _scalar_source(shared, symbols)


def _quadratic_form(expr, symbols):
    """(A, b, c) with expr = x^T A x / 2 + b^T x + c, or None if expr is not such a polynomial."""
    if not expr.is_polynomial(*symbols):
        return None
    poly = sp.Poly(expr, *symbols)
    if poly.total_degree() > 2:
        return None
    d = len(symbols)
    A, b, c = np.zeros((d, d)), np.zeros(d), 0.0
    for monom, coeff in poly.terms():
        value = _const(coeff)
        idx = [i for i, k in enumerate(monom) for _ in range(k)]
        if len(idx) == 0:
            c = value
        elif len(idx) == 1:
            b[idx[0]] = value
        elif idx[0] == idx[1]:
            A[idx[0], idx[0]] = 2.0 * value
        else:
            A[idx[0], idx[1]] = A[idx[1], idx[0]] = value
    return A, b, c


def _quadratic_source(b, c):
    # grad L = A x + b (A symmetric, so x A row by row), L = x.(A x + 2 b)/2 + c.
    # b is added from a copy tiled to the block's shape (scratch b1): a ufunc
    # broadcasting a (d,) vector over rows buffers internally, i.e. allocates.
    has_b, has_c = bool(np.any(b)), c != 0.0
    body = ["matmul(x, A, out=g)"]
    if has_b:
        body.append("add(g, b1, out=g)")
    body.append("if e is not None:")
    if has_b:
        body += ["    add(g, b1, out=b0)", "    einsum('...i,...i->...', x, b0, out=e)"]
    else:
        body.append("    einsum('...i,...i->...', x, g, out=e)")
    body.append("    multiply(e, 0.5, out=e)")
    if has_c:
        body.append(f"    add(e, {_fmt(c)}, out=e)")
    kernel_src = _assemble_matrix("kernel", "x, g, e, work",
                                  "x[lo:lo + rows], g[lo:lo + rows], None if e is None else e[lo:lo + rows], work",
                                  body)
    ebody = ["matmul(x, A, out=b0)"]
    if has_b:  # b0 = A x + 2 b
        ebody += ["add(b0, b1, out=b0)", "add(b0, b1, out=b0)"]
    ebody += ["einsum('...i,...i->...', x, b0, out=e)", "multiply(e, 0.5, out=e)"]
    if has_c:
        ebody.append(f"add(e, {_fmt(c)}, out=e)")
    energy_src = _assemble_matrix("energy_into", "x, e", "x[lo:lo + rows], e[lo:lo + rows]", ebody)
    n_ops = 3 + 2 * has_b + has_c
    return kernel_src, energy_src, n_ops


def _assemble_matrix(func, args, chunk_args, body):
    # scratch of the states' own shape (n, d): the pool is keyed by x.shape
    head = _PROLOGUE.format(func=func, args=args, chunk_args=chunk_args, batch="", single="")
    head = head.replace("shape[0] > rows", "len(shape) > 1 and shape[0] > rows")
    lines = [head.rstrip("\n"), "    b0, b1 = buffers"]
    lines += ["    " + s for s in body]
    return "\n".join(lines) + "\n"


def _pool(n_buffers: int, fill=None):
    """Scratch buffers by batch shape; ``fill`` (if given) is copied into the last one."""
    pool: dict = {}

    def scratch(shape):
        buffers = tuple(np.empty(shape) for _ in range(n_buffers))
        if fill is not None:
            buffers[-1][...] = fill
        if int(np.prod(shape, dtype=np.int64)) <= 4 * _BLOCK_ELEMENTS:
            if len(pool) >= _POOL_SHAPES:
                pool.clear()
            pool[shape] = buffers
        return buffers

    return pool, scratch


def _exec(source: str, func: str, n_buffers: int, rows: int, extra: dict, label: str, fill=None):
    pool, scratch = _pool(n_buffers, fill)
    namespace = dict(_NAMESPACE, pool=pool, scratch=scratch, rows=rows, **extra)
    code = compile(source, f"<lib kernel {func}: {label}>", "exec")
    exec(code, namespace)
    return namespace[func]


def compile_potential(energy: sp.Expr, symbols: tuple, *, label: str = "") -> Compiled:
    """Generate the in-place kernel of ``energy`` (a real expression of ``symbols``).

    Raises CompileError when some part of the expression has no NumPy
    counterpart here (e.g. Piecewise); the caller then lambdifies instead.
    """
    symbols = tuple(symbols)
    d = len(symbols)
    rows = max(1, _BLOCK_ELEMENTS // d)
    quad = _quadratic_form(energy, symbols) if d >= _MATMUL_MIN_DIM else None
    if quad is not None:
        A, b, c = quad
        kernel_src, energy_src, n_ops = _quadratic_source(b, c)
        kernel = _exec(kernel_src, "kernel", 2, rows, dict(A=A), label, fill=b)
        energy_into = _exec(energy_src, "energy_into", 2, rows, dict(A=A), label, fill=b)
    else:
        grads = [sp.diff(energy, s) for s in symbols]
        for g in grads:
            if g.has(sp.Derivative, sp.Subs):
                raise CompileError(f"the gradient holds an unevaluated derivative: {g}")
        kernel_src, n_kernel, energy_src, n_energy, n_ops, scalar_src = _elementwise_source(
            energy, grads, symbols)
        scalar = dict(scalar=_scalar_function(scalar_src, d))
        kernel = _exec(kernel_src, "kernel", n_kernel, rows, scalar, label)
        energy_into = _exec(energy_src, "energy_into", n_energy, rows, scalar, label)
        if scalar["scalar"] is not None:
            kernel_src = scalar_src + "\n\n" + kernel_src
    source = kernel_src + "\n\n" + energy_src
    kernel.source = source

    def energy_fn(x):
        x = np.asarray(x, dtype=float)
        out = np.empty(x.shape if d == 1 else x.shape[:-1])
        energy_into(x, out)
        return out

    def grad_fn(x):
        x = np.asarray(x, dtype=float)
        out = np.empty(x.shape)
        kernel(x, out, None, None)
        return out

    return Compiled(kernel, energy_into, energy_fn, grad_fn, source, n_ops)
