"""TA-Lib's C functions called through cffi, writing straight into a caller's output arrays.

The talib package's Python functions allocate one new array per output and call; a frame of
many symbols would then copy every one of them into its columns (half of compute_indicators'
time beyond TA-Lib's own at 252k rows). These functions make the same C calls as talib's
wrappers, on the same library, but write into slices of arrays the caller owns:

- the library is the one the talib package loaded (so its global settings, such as unstable
  periods, are talib's; _library_path);
- a TalibCall binds a function, its options and its input and output arrays; run(start, stop)
  computes over input rows start:stop as one series and writes its row t (from the function's
  lookback, TA-Lib's first defined row, on) to output row start + t; the rows before are not
  written: the caller fills them with NaN, as talib does;
- inputs must hold no NaN (talib's wrappers skip leading NaNs first; callers here reject them);
- a TA_RetCode other than TA_SUCCESS, or an output range other than [lookback, rows), raises.

cffi releases the GIL during each C call, like talib's `with nogil` blocks.
"""

from __future__ import annotations

from pathlib import Path

import cffi
import numpy as np
import talib

_DECLARATIONS = """
int TA_SMA_Lookback(int);
int TA_EMA_Lookback(int);
int TA_RSI_Lookback(int);
int TA_ROC_Lookback(int);
int TA_ATR_Lookback(int);
int TA_MACD_Lookback(int, int, int);
int TA_BBANDS_Lookback(int, double, double, int);
int TA_SMA(int, int, const double *, int, int *, int *, double *);
int TA_EMA(int, int, const double *, int, int *, int *, double *);
int TA_RSI(int, int, const double *, int, int *, int *, double *);
int TA_ROC(int, int, const double *, int, int *, int *, double *);
int TA_ATR(int, int, const double *, const double *, const double *, int, int *, int *, double *);
int TA_MACD(int, int, const double *, int, int, int, int *, int *, double *, double *, double *);
int TA_BBANDS(int, int, const double *, int, double, double, int, int *, int *,
              double *, double *, double *);
"""
TA_SUCCESS = 0
MA_TYPE_SMA = 0

ffi = cffi.FFI()
ffi.cdef(_DECLARATIONS)


def _library_path() -> str:
    """Path of the TA-Lib C library the imported talib package uses: the one mapped into this
    process (Linux), else the one bundled in the talib wheel (auditwheel's ta_lib.libs beside
    the package, delocate's talib/.dylibs on macOS). Another copy of the library would have its
    own, uninitialised globals, so none is searched for elsewhere."""
    maps = Path("/proc/self/maps")
    if maps.exists():
        for line in maps.read_text().splitlines():
            path = Path(line.split(maxsplit=5)[-1])
            if path.name.startswith(("libta-lib", "libta_lib")):
                return str(path)
    package = Path(talib.__file__).parent
    for folder in (package.parent / "ta_lib.libs", package / ".dylibs"):
        for path in sorted(folder.glob("libta*lib*")):
            return str(path)
    raise ImportError(
        f"cannot find the TA-Lib C library loaded by talib {talib.__version__} ({package})"
    )


lib = ffi.dlopen(_library_path())


def _doubles(array: np.ndarray, *, writable: bool) -> ffi.CData:
    """A C `double[]` over a contiguous float64 numpy array's memory, which it keeps alive;
    `_doubles(array) + k` points to element k. Raises ValueError on another dtype or layout, or
    on a read-only array when `writable`."""
    if array.dtype != np.float64 or not array.flags.c_contiguous:
        raise ValueError(f"expected a contiguous float64 array, got {array.dtype} {array.flags}")
    if writable and not array.flags.writeable:
        raise ValueError("expected a writable output array, got a read-only one")
    return ffi.from_buffer("double[]", array, require_writable=writable)


class TalibCall:
    """A TA-Lib C function with its options and its input and output arrays bound, e.g.
    TalibCall("SMA", (50,), [close], [sma_50]); `lookback` is TA-Lib's own
    (TA_<NAME>_Lookback), read when the object is made. Arrays must be contiguous float64 of
    one length and outlive the object."""

    def __init__(
        self,
        name: str,
        options: tuple[float, ...],
        inputs: list[np.ndarray],
        outputs: list[np.ndarray],
    ) -> None:
        self.name = f"TA_{name}"
        self.lookback: int = getattr(lib, f"{self.name}_Lookback")(*options)
        self._function = getattr(lib, self.name)
        self._options = options
        self._inputs = [_doubles(array, writable=False) for array in inputs]
        self._outputs = [_doubles(array, writable=True) for array in outputs]
        self._status = ffi.new("int[2]")

    def run(self, start: int, stop: int) -> None:
        """Compute over input rows start:stop and write output rows start + lookback:stop
        (nothing when the range has no more than `lookback` rows). Raises RuntimeError unless
        TA-Lib succeeded and wrote exactly those rows. Not for concurrent use: give each thread
        its own TalibCall."""
        rows = stop - start
        lookback = self.lookback
        if rows <= lookback:
            return
        status = self._status
        code = self._function(
            0,
            rows - 1,
            *[array + start for array in self._inputs],
            *self._options,
            status,
            status + 1,
            *[array + (start + lookback) for array in self._outputs],
        )
        if code != TA_SUCCESS:
            raise RuntimeError(f"{self.name} failed with TA_RetCode {code}")
        if status[0] != lookback or status[1] != rows - lookback:
            raise RuntimeError(
                f"{self.name} wrote {status[1]} rows from {status[0]}, "
                f"expected {rows - lookback} from {lookback}"
            )
