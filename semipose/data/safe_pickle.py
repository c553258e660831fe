"""Reading pickles other people wrote without running their code.

`load_plain_pickle` admits only plain containers (dict, list, tuple, set, str, bytes, numbers,
None, which pickle builds without looking up any class), collections.OrderedDict and numpy
arrays / dtypes / scalars. Any other class a pickle names - the way a malicious pickle runs
code - is refused with the file and the class named, before it is imported.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Union

ALLOWED = {
    ("collections", "OrderedDict"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
}
NUMPY_DTYPE_MODULES = ("numpy.dtypes",)  # numpy >= 1.25 pickles dtypes as numpy.dtypes.Float64DType etc.


class UnsafePickleError(ValueError):
    pass


class _PlainUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED or (module in NUMPY_DTYPE_MODULES and name.endswith("DType")):
            return super().find_class(module, name)
        raise UnsafePickleError(f"{self.source}: refusing to unpickle '{module}.{name}': only plain containers "
                                f"and numpy arrays are read from pickles (convert the file to json/npz first)")


def load_plain_pickle(path: Union[str, Path]):
    path = Path(path)
    with open(path, "rb") as handle:
        try:
            return _PlainUnpickler(handle, str(path)).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
            raise UnsafePickleError(f"{path}: not a readable pickle ({error})") from None
