"""Math: evaluating arithmetic expressions written as text.

The expression language is fasteval's (the Rust evaluator behind Flow-Like's node), implemented
here: numbers with SI suffixes (``2k`` = 2000, ``5m`` = 0.005), ``+ - * / % ^``, comparisons
(``== != < <= > >=``, giving 1 or 0), ``&&``/``and`` and ``||``/``or`` (returning an operand, as in
fasteval), ``!``, parentheses or square brackets, ``NaN`` and ``inf``, and the built-in functions
listed in ``_FUNCTIONS``. fasteval's quirks are kept so results match: binary operators are
applied in the fixed order ^, %, /, *, -, +, comparisons, and, or; a leading sign belongs to the
number (``-2^2`` is 4); ``==`` tolerates a difference of 8 machine epsilons. Arithmetic is IEEE:
``1/0`` is infinity, and a result that is not finite is null. There are no variables.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Callable

from ...coerce import as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

_MAX_LENGTH = 4096  # bytes, as fasteval
_MAX_DEPTH = 32
_EQ_TOLERANCE = 8.0 * sys.float_info.epsilon
_SPACES = " \n\t\r"
_SUFFIXES = {"k": 3, "K": 3, "M": 6, "G": 9, "T": 12, "m": -3, "u": -6, "\u00b5": -6, "n": -9, "p": -12}
_INF, _NAN = math.inf, math.nan


class _ExprError(Exception):
    pass


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= _EQ_TOLERANCE


def _truth(b: bool) -> float:
    return 1.0 if b else 0.0


def _div(a: float, b: float) -> float:
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return _NAN
    return math.copysign(_INF, a) * math.copysign(1.0, b)


def _mod(a: float, b: float) -> float:
    """Rust's f64 % (C fmod): the remainder has the dividend's sign."""
    if b == 0.0 or math.isinf(a) or math.isnan(a) or math.isnan(b):
        return _NAN
    return math.fmod(a, b)


def _odd_integer(x: float) -> bool:
    return math.isfinite(x) and x == math.floor(x) and math.fmod(x, 2.0) != 0.0


def _pow(base: float, exponent: float) -> float:
    """IEEE pow (Rust's powf); Python's math.pow raises where IEEE gives infinity or NaN."""
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return -_INF if base < 0 and _odd_integer(exponent) else _INF
    except ValueError:
        if base == 0.0 and exponent < 0:
            return math.copysign(_INF, base) if _odd_integer(exponent) else _INF
        return _NAN


def _ln(x: float) -> float:
    if math.isnan(x) or x < 0:
        return _NAN
    if x == 0.0:
        return -_INF
    return math.log(x)


def _log(base: float, x: float) -> float:
    """fasteval's log: exact log2/log10 for bases within tolerance of 2 and 10, else ln(x)/ln(base)."""
    if 0 < x < _INF and (_same(base, 2.0) or _same(base, 10.0)):
        return math.log2(x) if _same(base, 2.0) else math.log10(x)
    if _same(base, 2.0) or _same(base, 10.0):
        return _ln(x)  # 0, negative, infinite or NaN: same special values as ln
    return _div(_ln(x), _ln(base))


def _round_half_away(x: float) -> float:
    if not math.isfinite(x):
        return x
    whole = float(math.trunc(x))
    if abs(x - whole) >= 0.5:
        whole += math.copysign(1.0, x)
    return math.copysign(whole, x)


def _whole(fn: Callable[[float], int]) -> Callable[[float], float]:
    return lambda x: float(fn(x)) if math.isfinite(x) else x


def _ieee(fn: Callable[[float], float], on_overflow: Callable[[float], float],
          on_domain: Callable[[float], float] = lambda x: _NAN) -> Callable[[float], float]:
    """Wrap a math function so domain errors and overflow give IEEE results instead of exceptions."""
    def call(x: float) -> float:
        if math.isnan(x):
            return _NAN
        try:
            return fn(x)
        except OverflowError:
            return on_overflow(x)
        except ValueError:
            return on_domain(x)
    return call


def _rust_min(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else min(a, b)


def _rust_max(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


def _extreme(pick: Callable[[float, float], float]) -> Callable[..., float]:
    def call(first: float, *rest: float) -> float:
        # fasteval: a NaN seen in the running result makes the answer NaN (a NaN argument after the
        # first is skipped by Rust's min/max, so it only counts when it comes first).
        result, saw_nan = first, math.isnan(first)
        for x in rest:
            result = pick(result, x)
            saw_nan = saw_nan or math.isnan(result)
        return _NAN if saw_nan else result
    return call


def _sign(x: float) -> float:
    return _NAN if math.isnan(x) else math.copysign(1.0, x)


def _signed_inf(x: float) -> float:
    return math.copysign(_INF, x)


_FUNCTIONS: dict[str, tuple[tuple[int, ...], Callable[..., float]]] = {
    # name: (accepted argument counts, or () for "one or more"), implementation
    "int": ((1,), _whole(math.trunc)), "ceil": ((1,), _whole(math.ceil)), "floor": ((1,), _whole(math.floor)),
    "abs": ((1,), abs), "sign": ((1,), _sign),
    "log": ((1, 2), lambda *a: _log(10.0, a[0]) if len(a) == 1 else _log(a[0], a[1])),
    "round": ((1, 2), lambda *a: _round_half_away(a[0]) if len(a) == 1
              else _round_half_away(_div(a[1], a[0])) * a[0]),
    "min": ((), _extreme(_rust_min)), "max": ((), _extreme(_rust_max)),
    "e": ((0,), lambda: math.e), "pi": ((0,), lambda: math.pi),
    "sin": ((1,), _ieee(math.sin, lambda x: _NAN)), "cos": ((1,), _ieee(math.cos, lambda x: _NAN)),
    "tan": ((1,), _ieee(math.tan, lambda x: _NAN)), "asin": ((1,), _ieee(math.asin, lambda x: _NAN)),
    "acos": ((1,), _ieee(math.acos, lambda x: _NAN)), "atan": ((1,), _ieee(math.atan, lambda x: _NAN)),
    "sinh": ((1,), _ieee(math.sinh, _signed_inf)), "cosh": ((1,), _ieee(math.cosh, lambda x: _INF)),
    "tanh": ((1,), _ieee(math.tanh, lambda x: _NAN)), "asinh": ((1,), _ieee(math.asinh, _signed_inf)),
    "acosh": ((1,), _ieee(math.acosh, lambda x: _INF)),
    "atanh": ((1,), _ieee(math.atanh, _signed_inf, lambda x: _signed_inf(x) if abs(x) == 1.0 else _NAN)),
}
_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": _div, "%": _mod, "^": _pow,
    "<": lambda a, b: _truth(a < b), "<=": lambda a, b: _truth(a <= b), ">": lambda a, b: _truth(a > b),
    ">=": lambda a, b: _truth(a >= b), "==": lambda a, b: _truth(_same(a, b)),
    "!=": lambda a, b: _truth(not _same(a, b)),
    "&&": lambda a, b: a if _same(a, 0.0) else b, "||": lambda a, b: b if _same(a, 0.0) else a,
}
# fasteval's evaluation order: each pass folds one operator (group), right-to-left or left-to-right.
_PASSES: tuple[tuple[frozenset[str], bool], ...] = (
    (frozenset({"^"}), True), (frozenset({"%"}), False), (frozenset({"/"}), False), (frozenset({"*"}), True),
    (frozenset({"-"}), False), (frozenset({"+"}), True), (frozenset({"<", "<=", ">", ">=", "==", "!="}), False),
    (frozenset({"&&"}), False), (frozenset({"||"}), False),
)


def _fold(values: list[float], ops: list[str]) -> float:
    for group, right_to_left in _PASSES:
        if right_to_left:
            for i in range(len(ops) - 1, -1, -1):
                if ops[i] in group:
                    values[i:i + 2] = [_BINARY[ops[i]](values[i], values[i + 1])]
                    del ops[i]
        else:
            i = 0
            while i < len(ops):
                if ops[i] in group:
                    values[i:i + 2] = [_BINARY[ops[i]](values[i], values[i + 1])]
                    del ops[i]
                else:
                    i += 1
    return values[0]


class _Evaluator:
    """Parses and evaluates in one pass (fasteval evaluates every operand, so nothing is skipped)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self, offset: int = 0) -> str:
        k = self.pos + offset
        return self.text[k] if k < len(self.text) else ""

    def spaces(self) -> None:
        while self.peek() and self.peek() in _SPACES:
            self.pos += 1

    def expression(self, depth: int, expect_end: bool) -> float:
        if depth > _MAX_DEPTH:
            raise _ExprError("the expression is nested too deeply")
        values = [self.value(depth)]
        ops: list[str] = []
        while (op := self.binary_op()) is not None:
            ops.append(op)
            values.append(self.value(depth))
        self.spaces()
        if expect_end and self.pos < len(self.text):
            raise _ExprError(f"unexpected text {self.text[self.pos:self.pos + 20]!r}")
        return _fold(values, ops)

    def value(self, depth: int) -> float:
        if depth > _MAX_DEPTH:
            raise _ExprError("the expression is nested too deeply")
        number = self.number()
        if number is not None:
            return number
        self.spaces()
        char = self.peek()
        if char in ("+", "-", "!"):
            self.pos += 1
            operand = self.value(depth + 1)
            return operand if char == "+" else -operand if char == "-" else _truth(_same(operand, 0.0))
        if char in ("(", "["):
            self.pos += 1
            result = self.expression(depth + 1, False)
            self.spaces()
            closing = ")" if char == "(" else "]"
            if self.peek() != closing:
                raise _ExprError(f"expected '{closing}'")
            self.pos += 1
            return result
        name = self.name()
        if name:
            return self.call(name, depth)
        raise _ExprError("unexpected end of the expression" if not char else f"unexpected {char!r}")

    def number(self) -> float | None:
        self.spaces()
        start = k = self.pos
        sign_ok = specials_ok = suffix_ok = True
        saw_value = False
        while k < len(self.text):
            char = self.text[k]
            if char.isdigit() and char.isascii() or char == ".":
                saw_value, sign_ok, specials_ok = True, False, False
                k += 1
            elif sign_ok and char in "+-":
                sign_ok = False
                k += 1
            elif saw_value and char in "eE":
                suffix_ok, sign_ok = False, True
                k += 1
            elif specials_ok and self.text.startswith(("NaN", "inf"), k):
                saw_value, suffix_ok = True, False
                k += 3
                break
            else:
                break
        if not saw_value:
            return None
        token = self.text[start:k]
        if suffix_ok and k < len(self.text) and self.text[k] in _SUFFIXES:
            token += f"e{_SUFFIXES[self.text[k]]}"
            k += 1
        try:
            # Rust's f64 grammar: Python's float() also takes '_' separators and 'infinity', which cannot
            # reach here (the token holds only digits, '.', signs, e/E, NaN or inf).
            parsed = float(token) if token.lstrip("+-") not in ("", ".") else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise _ExprError(f"{token!r} is not a number")
        self.pos = k
        return parsed

    def binary_op(self) -> str | None:
        self.spaces()
        two = self.text[self.pos:self.pos + 2]
        three = self.text[self.pos:self.pos + 3]
        for op in ("<=", ">=", "==", "!=", "||", "&&"):
            if two == op:
                self.pos += 2
                return op
        if two == "or":
            self.pos += 2
            return "||"
        if three == "and":
            self.pos += 3
            return "&&"
        char = self.peek()
        if char and char in "+-*/%^<>":
            self.pos += 1
            return char
        return None

    def name(self) -> str:
        self.spaces()
        k = self.pos
        while k < len(self.text) and (self.text[k].isascii() and (self.text[k].isalpha() or self.text[k] == "_"
                                                                  or (k > self.pos and self.text[k].isdigit()))):
            k += 1
        found, self.pos = self.text[self.pos:k], k
        return found

    def call(self, name: str, depth: int) -> float:
        self.spaces()
        opening = self.peek()
        if opening not in ("(", "["):
            raise _ExprError(f"unknown variable '{name}' (expressions have no variables)")
        self.pos += 1
        closing = ")" if opening == "(" else "]"
        args: list[float] = []
        while True:
            self.spaces()
            if not self.peek():
                raise _ExprError(f"unexpected end of the expression in {name}()")
            if self.peek() == closing:
                self.pos += 1
                break
            if args:
                if self.peek() not in (",", ";"):
                    raise _ExprError(f"expected ',' or ';' in {name}()")
                self.pos += 1
            args.append(self.expression(depth + 1, False))
        if name == "print":
            raise _ExprError("print() is not supported")
        if name not in _FUNCTIONS:
            raise _ExprError(f"unknown function '{name}'")
        counts, fn = _FUNCTIONS[name]
        if counts and len(args) not in counts or not counts and not args:
            raise _ExprError(f"{name}() does not take {len(args)} argument{'' if len(args) == 1 else 's'}")
        return fn(*args)


def evaluate(expression: str) -> float:
    """The value of a fasteval expression; raises NodeError when it cannot be read."""
    if len(expression.encode("utf-8", "surrogatepass")) > _MAX_LENGTH:
        raise NodeError(f"input 'expression' is longer than {_MAX_LENGTH} bytes")
    try:
        return _Evaluator(expression).expression(0, True)
    except _ExprError as exc:
        raise NodeError(f"input 'expression' cannot be evaluated: {exc}") from None


@register("eval", "Evaluate Expression", "Math", "Computes an arithmetic expression given as text, e.g. 2*(3+4)^2.",
          [inp("expression", "Expression", "String",
               description="Numbers, + - * / % ^, comparisons, && ||, parentheses and functions such as "
                           "log(x), round(x), min(a, b), sin(x), pi()."),
           out("result", "Result", "Float", description="The value (null if it is not finite).")])
def eval_expression(ctx: NodeContext) -> None:
    result = evaluate(as_str(ctx.get("expression"), "expression"))
    ctx.set("result", result if math.isfinite(result) else None)
