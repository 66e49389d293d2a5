"""Reading a transaction log and a customer table into per-customer histories (frequency, recency, age, spend).

Transactions on the same day are one purchase (their amounts summed), as in
Fader, Hardie & Lee's CDNOW data. The log is read in batches and kept as four
compact columns (customer code, day, amount, experience group); everything
after the read is numpy on them, so a log of 10^7 rows costs a few seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from ... import data as d
from ...errors import DataError
from ...sources import read_source
from ...streaming import BATCH_ROWS, as_written, open_stream
from ...tiers import assign_tiers, require_two_tiers
from .spec import ValueStudy

#: The model's time unit, in days (BG/NBD rates are per week).
UNIT_DAYS = 7.0


@dataclass
class ValueData:
    """Per-customer histories and what the study needs to describe them.

    ``customers``: one row per customer (index: the customer id) with ``experience``,
    ``group`` (ordered worst to best), ``first`` (date of the first purchase), ``x``
    (repeat purchases), ``tx`` and ``T`` (weeks), ``m`` (mean repeat amount, NaN when
    x = 0) and, with a holdout, ``cal_x``, ``cal_tx``, ``cal_T``, ``cal_m``,
    ``holdout_x`` (purchases in the holdout) for customers who bought before it.
    """

    customers: pd.DataFrame
    groups: list[str]
    observation_end: pd.Timestamp
    transactions: int
    purchases: int
    holdout_from: pd.Timestamp | None = None
    holdout_weeks: float | None = None
    dropped_nonpositive: int = 0
    sources: dict[str, str] = field(default_factory=dict)

    def head(self, n: int = 5) -> pd.DataFrame:
        """The first ``n`` customers' histories (what ``cxlab validate --rows`` prints)."""
        return self.customers.head(n)


def _experience(frame: pd.DataFrame, study: ValueStudy, source: str, column: str) -> tuple[pd.Series, list[str]]:
    """The experience group of each row (ordered categorical) from a rating or, with ``groups``, a level."""
    if study.groups is not None:
        text = d.labelled(frame, "experience").astype("string").str.strip()
        present = text.notna() & (text != "")
        bad = present & ~text.isin(study.groups)
        if bad.any():
            d.fail_at(bad, frame["experience"], f"is not one of the groups ({', '.join(study.groups)})", source,
                      column)
        cat = pd.Categorical(text.where(present), categories=study.groups, ordered=True)
        return pd.Series(cat, index=frame.index, name="group"), list(study.groups)
    rating = d.as_numeric(frame, "experience", source, column)
    lo, hi = study.experience.scale
    d.check_range(rating, lo, hi, source, column, raw=frame["experience"])
    group = assign_tiers(rating, study.experience, source, column)
    return group.rename("group"), [str(c) for c in group.cat.categories]


def _occasions(code: np.ndarray, day: np.ndarray, amount: np.ndarray) -> tuple[np.ndarray, ...]:
    """Purchases (one per customer and day, amounts summed), sorted by customer then day."""
    order = np.lexsort((day, code))
    c, dd = code[order], day[order]
    new = np.r_[True, (c[1:] != c[:-1]) | (dd[1:] != dd[:-1])]
    total = np.bincount(np.cumsum(new) - 1, amount[order])
    return c[new], dd[new], total


def histories(code: np.ndarray, day: np.ndarray, amount: np.ndarray, n_customers: int, end: int
              ) -> pd.DataFrame:
    """Per-customer x, tx, T (weeks), m and first day from purchases (``code``, ``day``, ``amount``) up to ``end``.

    Customers (codes 0..n_customers-1) without a purchase up to ``end`` get NaN.
    """
    keep = day <= end
    c, dd, amt = code[keep], day[keep], amount[keep]
    first = np.full(n_customers, np.nan)
    last = np.full(n_customers, np.nan)
    n = np.bincount(c, minlength=n_customers)
    total = np.bincount(c, amt, minlength=n_customers)
    start = np.r_[True, c[1:] != c[:-1]] if len(c) else np.zeros(0, bool)
    stop = np.r_[start[1:], True] if len(c) else start
    first[c[start]] = dd[start]
    last[c[stop]] = dd[stop]
    first_amount = np.zeros(n_customers)
    first_amount[c[start]] = amt[start]
    x = np.where(n > 0, n - 1, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(x > 0, (total - first_amount) / np.where(x > 0, x, 1), np.nan)
    return pd.DataFrame({"first_day": first, "x": x, "tx": (last - first) / UNIT_DAYS,
                         "T": (end - first) / UNIT_DAYS, "m": m})


class _MixedIds(Exception):
    """Customer ids read as numbers in one batch and as text in another: read again, every id as text."""


def _ids(raw: pd.Series, text: bool = False) -> pd.Series:
    """Customer ids as comparable keys: numbers stay numbers (1 and 1.0 are one customer), text is stripped
    (``text``: every id as text)."""
    if not text and pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw
    if not text:
        numbers = pd.to_numeric(raw, errors="coerce")
        if numbers.notna().sum() == raw.notna().sum():
            return numbers
    return raw.astype("string").str.strip()


class _Codes:
    """Customer ids coded 0, 1, ... in order of first appearance, batch after batch (:attr:`index`: the ids)."""

    def __init__(self) -> None:
        self.index: pd.Index = pd.Index([])

    def code(self, ids: pd.Series) -> np.ndarray:
        codes, uniques = pd.factorize(ids)
        uniques = pd.Index(uniques)
        if not len(self.index):
            self.index = uniques
            return codes.astype(np.int64)
        if pd.api.types.is_numeric_dtype(self.index) != pd.api.types.is_numeric_dtype(uniques):
            raise _MixedIds
        pos = self.index.get_indexer(uniques)
        new = pos < 0
        pos[new] = np.arange(len(self.index), len(self.index) + int(new.sum()))
        self.index = self.index.append(uniques[new])
        return pos[codes].astype(np.int64)


def _batches(study: ValueStudy, base_dir: str | Path | None, wanted: list[str]
             ) -> tuple[Iterator[pd.DataFrame], dict[str, str], str, Callable[[], Iterator[pd.DataFrame]],
                        Callable[[DataError], DataError]]:
    """The transaction log's ``wanted`` columns, mapped to canonical names, in batches indexed by data row (one
    batch for an embedded generator or a Qualtrics export), with the mapping used, the source's name, a
    function that reads the batches again and one that shows a bad number of the log as the file writes it
    (:func:`cxlab.streaming.as_written`; errors of other sources unchanged)."""
    mapping = dict(study.data.columns)
    stream = open_stream(study.data, base_dir)
    if stream is None:
        raw, source = read_source(study.data, base_dir, d.source_columns(mapping, wanted))
        frame, used = d.map_columns(raw, mapping, wanted, source)
        return iter([frame]), used, source, lambda: iter([frame]), lambda exc: exc
    source = stream.source
    _, used = d.map_columns(stream.header, mapping, wanted, source)
    numeric = [used["amount"]] + ([used["experience"]] if "experience" in used and study.groups is None else [])

    def again() -> Iterator[pd.DataFrame]:
        for raw in stream.batches(used.values(), BATCH_ROWS, numeric=numeric):
            yield d.map_columns(raw, mapping, wanted, source)[0]

    def written(exc: DataError) -> DataError:
        return as_written(exc, stream, numeric) if exc.path == source else exc
    return again(), used, source, again, written


def _value_at(batches: Callable[[], Iterator[pd.DataFrame]], column: str, row: int) -> pd.Series:
    """The raw value of ``column`` at data row ``row`` (0-based), as a one-row Series indexed by that row (for
    :func:`cxlab.data.fail_at`), read again from the source."""
    for frame in batches():
        if row in frame.index:
            return frame.loc[[row], column]
    return pd.Series([None], index=[row])


def _check_duplicates(code: np.ndarray, day: np.ndarray, amount: np.ndarray,
                      batches: Callable[[], Iterator[pd.DataFrame]], source: str, column: str) -> None:
    """DataError naming the first row (in file order) that repeats an earlier row's customer, date and amount."""
    order = np.lexsort((np.arange(len(code)), amount, day, code))     # ties in file order
    same = code[order[1:]] == code[order[:-1]]
    same &= day[order[1:]] == day[order[:-1]]
    same &= amount[order[1:]] == amount[order[:-1]]
    if not same.any():
        return
    later = order[1:][same]
    first = int(later.min())
    pos = int(np.flatnonzero(order[1:] == first)[0])
    while pos > 0 and same[pos - 1]:                                 # back to the earliest row of that run
        pos -= 1
    earlier = int(order[pos])
    d.fail_at([True], _value_at(batches, "customer_id", first), f"duplicate transaction: same customer, date and "
              f"amount as data row {earlier + 1}", source, column)


def read(study: ValueStudy, base_dir: str | Path | None = None) -> tuple[ValueData, d.ReadSummary]:
    """Read the transaction log (and the customer table) as per-customer histories.

    The log is read in batches of :data:`~cxlab.streaming.BATCH_ROWS` rows (every file source and a query; an
    embedded generator whole), each checked and kept as four compact columns (customer code, day, amount,
    experience group), so memory grows with about 18 bytes per transaction, not with the log's text.

    Raises
    ------
    DataError
        One line each: a missing customer id or date, a date that is not a date or lies after
        ``observation_end``, an amount that is not a positive number (unless ``drop_nonpositive``),
        a duplicate transaction (same customer, date and amount as an earlier row), a customer in
        the log but not in the customer table or the reverse, a customer listed twice in the table
        or with two experiences in the log, ``holdout_from`` outside the data. A bad number in a CSV log
        is shown as the file writes it (``'9'``, not ``9.0``).
    """
    try:
        return _read(study, base_dir, text_ids=False)
    except _MixedIds:
        return _read(study, base_dir, text_ids=True)


def _read(study: ValueStudy, base_dir: str | Path | None, text_ids: bool) -> tuple[ValueData, d.ReadSummary]:
    own = study.customers is None
    wanted = ["customer_id", "date", "amount"] + (["experience"] if own else [])
    batches, used, source, again, written = _batches(study, base_dir, wanted)
    try:
        return _histories(study, base_dir, text_ids, own, batches, used, source, again)
    except DataError as exc:   # a number the CSV reader parsed, shown as the file writes it ('9', not 9.0)
        raise written(exc) from None


def _histories(study: ValueStudy, base_dir: str | Path | None, text_ids: bool, own: bool,
               batches: Iterator[pd.DataFrame], used: dict[str, str], source: str,
               again: Callable[[], Iterator[pd.DataFrame]]) -> tuple[ValueData, d.ReadSummary]:
    """:func:`read` on the log's batches (:func:`_batches`)."""
    summary = d.ReadSummary(source=source, rows_read=0, columns=dict(used))
    fixed_end = pd.Timestamp(study.observation_end) if study.observation_end else None
    ids, codes_, days, amounts, groups_ = _Codes(), [], [], [], []
    levels: list[str] = list(study.groups or [])
    for log in batches:
        summary.rows_read += len(log)
        cid = _ids(log["customer_id"], text_ids)
        if cid.isna().any():
            d.fail_at(cid.isna(), log["customer_id"], "is missing (every transaction needs a customer id)", source,
                      used["customer_id"])
        date = d.parse_dates(log, "date", source, used["date"])
        if date.isna().any():
            d.fail_at(date.isna(), log["date"], "is missing (every transaction needs a date)", source, used["date"])
        date = date.dt.normalize()
        amount = d.as_numeric(log, "amount", source, used["amount"])
        if amount.isna().any() or not np.isfinite(amount).all():
            d.fail_at(amount.isna() | ~np.isfinite(amount.fillna(0)), log["amount"],
                      "is missing or not finite (every transaction needs an amount)", source, used["amount"])
        if fixed_end is not None:
            late = date > fixed_end
            if late.any():
                d.fail_at(late, date, f"is after observation_end {fixed_end.date().isoformat()}", source,
                          used["date"])
        nonpositive = amount <= 0
        if nonpositive.any() and not study.drop_nonpositive:
            what = "is zero" if amount[nonpositive].iloc[0] == 0 else "is negative (a refund?)"
            d.fail_at(nonpositive, log["amount"], f"{what}: amounts must be > 0; set drop_nonpositive: true to "
                      "leave such rows out", source, used["amount"])
        if own:
            group, levels = _experience(log, study, source, used["experience"])
            groups_.append(np.asarray(group.cat.codes, dtype=np.int16))
        codes_.append(ids.code(cid).astype(np.int32))        # 4 bytes a row: up to 2e9 customers
        days.append(date.to_numpy().astype("datetime64[D]").astype(np.int32))
        amounts.append(amount.to_numpy(float))
        del log, cid, date, amount
    code, day, amount = (np.concatenate(x) for x in (codes_, days, amounts))
    del codes_, days, amounts
    uniques = ids.index
    end_day = int(day.max()) if fixed_end is None else int(np.datetime64(fixed_end.date(), "D").astype(np.int64))
    end = pd.Timestamp(np.datetime64(end_day, "D"))
    day -= end_day
    keep = amount > 0
    dropped = int((~keep).sum())
    if dropped:
        summary.dropped["an amount of zero or less (drop_nonpositive)"] = dropped
    _check_duplicates(code, day, amount, again, source, used["customer_id"])

    if own:
        grp = np.concatenate(groups_)
        del groups_
        has = grp >= 0
        low = np.full(len(uniques), np.iinfo(np.int16).max, np.int16)
        high = np.full(len(uniques), -1, np.int16)
        np.minimum.at(low, code[has], grp[has])
        np.maximum.at(high, code[has], grp[has])
        twice = has & (high[code] > low[code])
        if twice.any():
            row = int(np.flatnonzero(twice)[0])
            d.fail_at([True], _value_at(again, "experience", row), "this customer has two different experiences in "
                      "the log (give one per customer, or a customer table)", source, used["experience"])
        del grp, has
        customer_group = high
        customers_source = source
    else:
        mapping = dict(study.customers.columns)
        cwanted = ["customer_id", "experience"]
        raw, customers_source = read_source(study.customers, base_dir, d.source_columns(mapping, cwanted))
        frame, cused = d.map_columns(raw, mapping, cwanted, customers_source)
        summary.columns.update({f"customers.{k}": v for k, v in cused.items()})
        cid = _ids(frame["customer_id"], text_ids)
        if cid.isna().any():
            d.fail_at(cid.isna(), frame["customer_id"], "is missing", customers_source, cused["customer_id"])
        twice = cid.duplicated()
        if twice.any():
            d.fail_at(twice, frame["customer_id"], "this customer is listed twice in the customer table",
                      customers_source, cused["customer_id"])
        group, levels = _experience(frame, study, customers_source, cused["experience"])
        if pd.api.types.is_numeric_dtype(cid) != pd.api.types.is_numeric_dtype(uniques):
            cid, uniques = cid.astype("string"), uniques.astype("string")
        unknown = ~np.asarray(uniques.isin(cid))
        if unknown.any():
            row = int(np.flatnonzero(unknown[code])[0])
            d.fail_at([True], _value_at(again, "customer_id", row), f"this customer is not in the customer table "
                      f"({customers_source})", source, used["customer_id"])
        bought = np.zeros(len(uniques), bool)
        bought[code[keep]] = True
        silent = ~cid.isin(uniques[bought])
        if silent.any():
            d.fail_at(silent, frame["customer_id"], f"this customer has no purchase in the transaction log "
                      f"({source}): a lifetime-value model starts at a customer's first purchase", customers_source,
                      cused["customer_id"])
        position = pd.Index(cid).get_indexer(uniques)
        customer_group = np.asarray(group.cat.codes, dtype=np.int16)[position]
    missing = customer_group[code] < 0
    if missing.any():    # customers without an experience (an empty cell): left out with their transactions
        summary.dropped["a customer without an experience"] = int((missing & keep).sum())
        keep &= ~missing
    del missing

    transactions = int(keep.sum())
    if transactions < len(keep):
        code, day, amount = code[keep], day[keep], amount[keep]
    occ_c, occ_d, occ_a = _occasions(code, day, amount)
    del code, day, amount
    start = np.r_[True, occ_c[1:] != occ_c[:-1]]                   # occasions are sorted by customer
    used_codes = occ_c[start]                                       # customers with a purchase, coded 0, 1, ...
    occ_c = np.cumsum(start) - 1
    del start
    hist = histories(occ_c, occ_d, occ_a, len(used_codes), 0)
    hist.index = pd.Index(uniques[used_codes], name="customer_id")
    grp = pd.Categorical.from_codes(customer_group[used_codes], categories=levels, ordered=True)
    hist.insert(0, "group", grp)
    hist["first"] = end + pd.to_timedelta(hist.pop("first_day"), unit="D")
    data = ValueData(customers=hist, groups=levels, observation_end=end, transactions=transactions,
                     purchases=len(occ_c), dropped_nonpositive=dropped,
                     sources={"transactions": source, "customers": customers_source})
    if study.holdout_from is not None:
        hold = pd.Timestamp(study.holdout_from)
        first_date, last_date = hist["first"].min(), end
        if not first_date < hold <= last_date:
            raise DataError(f"holdout_from {hold.date().isoformat()} lies outside the data (first purchase "
                            f"{first_date.date().isoformat()}, observation end {end.date().isoformat()}): choose a "
                            "date after the first purchase and up to the observation end", path=source)
        cut = int((hold - end).days) - 1          # calibration: purchases before holdout_from
        cal = histories(occ_c, occ_d, occ_a, len(used_codes), cut)
        cal["T"] = cal["T"] + 1 / UNIT_DAYS        # calibration ends at holdout_from
        n_all = np.bincount(occ_c, minlength=len(used_codes))
        n_cal = np.bincount(occ_c[occ_d <= cut], minlength=len(used_codes))
        for col in ("x", "tx", "T", "m"):
            hist[f"cal_{col}"] = cal[col].to_numpy()
        hist["holdout_x"] = np.where(n_cal > 0, n_all - n_cal, np.nan)
        data.holdout_from = hold
        data.holdout_weeks = (end - hold).days / UNIT_DAYS
    used_groups = hist["group"].dropna().unique()
    if len(used_groups) < 2:
        require_two_tiers(hist["group"], hist["group"].astype("string"), customers_source, "experience")
    return data, summary
