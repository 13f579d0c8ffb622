"""Write a panel to Parquet straight from numpy columns, without building a DataFrame.

The file is the one ``pd.DataFrame(columns).to_parquet(path, index=False)`` would write (the same
Arrow schema, pandas metadata and ``attrs``), so ``pd.read_parquet`` gives back the identical
DataFrame; numeric columns go to Arrow without a copy.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd


def _schema(columns: Mapping[str, np.ndarray], categorical: Mapping[str, Sequence[str]], attrs: dict):
    """The Arrow schema (with pandas metadata) pandas would write for these columns: taken from a
    zero-row DataFrame of the same dtypes, so it follows pandas' own conversion rules."""
    import pyarrow as pa

    empty = {}
    for name, values in columns.items():
        if name in categorical:
            empty[name] = pd.Categorical.from_codes(values[:0], categorical[name])
        else:
            empty[name] = values[:0]
    frame = pd.DataFrame(empty)
    frame.attrs.update(attrs)  # pyarrow records them in the pandas metadata too
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    if attrs:
        metadata = dict(schema.metadata or {})
        metadata[b"PANDAS_ATTRS"] = json.dumps(attrs).encode()  # what DataFrame.to_parquet adds
        schema = schema.with_metadata(metadata)
    return schema


# Columns whose values repeat a lot (codes, counts, flags) compress well with dictionary
# encoding; for continuous columns the writer would build a dictionary only to abandon it, which
# costs about a third of the writing time. The choice changes the file's encoding, not its values.
def _dictionary_columns(columns: Mapping[str, np.ndarray], categorical) -> list[str]:
    return [name for name, values in columns.items()
            if name in categorical or (values.dtype.kind in "iub" and values.dtype.itemsize <= 2)]


# Min/max statistics let a reader skip row groups (``filters=[("year", "==", 2018)]``); they are
# worth it for the keys, not for the hundred value columns, where they cost 14% of the writing.
STATISTICS_COLUMNS = ("household_id", "county_id", "organisation_id", "year")


def _statistics_columns(columns: Mapping[str, np.ndarray]) -> list[str]:
    return [name for name in columns if name in STATISTICS_COLUMNS]


def write_columns(path: str | Path, columns: Mapping[str, np.ndarray], categorical: Mapping[str, Sequence[str]] = {},
                  attrs: dict | None = None) -> None:
    """Write equal-length numpy ``columns`` (in order) to ``path``; a column named in
    ``categorical`` holds codes into that list of categories (a pandas Categorical on reading)."""
    write_row_groups(path, [columns], categorical, attrs)


def write_row_groups(path: str | Path, groups: Iterable[Mapping[str, np.ndarray]],
                     categorical: Mapping[str, Sequence[str]] = {}, attrs: dict | None = None,
                     prefetch: bool = True) -> None:
    """Write ``groups`` (each a mapping of equal-length numpy columns, the same columns in the
    same order) as the consecutive row groups of one Parquet file; reading it gives the rows of
    all groups in order. With ``prefetch`` the next group is computed in a worker thread while
    the current one is encoded (numpy and the Parquet writer both release the GIL)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    iterator = iter(groups)
    first = next(iterator, None)
    if first is None:
        raise ValueError("write_row_groups needs at least one group of columns")
    schema = _schema(first, categorical, attrs or {})
    dictionaries = {name: pa.array(list(cats), type=schema.field(name).type.value_type)
                    for name, cats in categorical.items()}

    def table(columns):
        arrays = []
        for field in schema:
            values = np.ascontiguousarray(columns[field.name])
            if field.name in categorical:
                codes = pa.array(values, type=field.type.index_type)
                arrays.append(pa.DictionaryArray.from_arrays(codes, dictionaries[field.name]))
            else:
                arrays.append(pa.array(values, type=field.type))  # no copy for numeric columns
        return pa.Table.from_arrays(arrays, schema=schema)

    with pq.ParquetWriter(path, schema, compression="snappy", use_dictionary=_dictionary_columns(first, categorical),
                          write_statistics=_statistics_columns(first)) as writer:
        if not prefetch:
            writer.write_table(table(first), row_group_size=len(next(iter(first.values()))))
            for group in iterator:
                writer.write_table(table(group), row_group_size=len(next(iter(group.values()))))
            return
        from concurrent.futures import ThreadPoolExecutor

        sentinel = object()
        with ThreadPoolExecutor(max_workers=1) as pool:
            current = first
            while current is not sentinel:
                pending = pool.submit(next, iterator, sentinel)
                writer.write_table(table(current), row_group_size=max(1, len(next(iter(current.values())))))
                current = pending.result()
