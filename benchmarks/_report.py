"""What the benchmark scripts share: a markdown table, mean ± sd columns, and the split-against-split loop of the leakage studies"""
import time
from pathlib import Path
import pandas as pd

def md_table(df:pd.DataFrame, index:bool=False)->str:
    "A pipe table of `df` (with its index as the first column if `index`), without the optional `tabulate` dependency"
    cols = ([df.index.name or ''] if index else []) + [str(c) for c in df.columns]
    rows = [([str(i)] if index else []) + [str(v) for v in r] for i, r in zip(df.index, df.itertuples(index=False))]
    return '\n'.join('| ' + ' | '.join(r) + ' |' for r in [cols, ['---']*len(cols), *rows])

def mean_sd(res:pd.DataFrame, by:str, cols:list, fmt:str='{:.3f}')->pd.DataFrame:
    "One row per `by` group, each of `cols` as 'mean ± sd' over the group's rows"
    agg = res.groupby(by, sort=False)[cols].agg(['mean', 'std'])
    return pd.DataFrame({c: agg[(c, 'mean')].map(fmt.format) + ' ± ' + agg[(c, 'std')].map(fmt.format) for c in cols}).reset_index()

def split_runs(seeds, splits, run, csv:Path)->pd.DataFrame:
    "For each seed and each `(name, split)` of `splits(seed)`: `run(split, seed)`'s dict as a row, timed; the csv is rewritten after every run"
    rows = []
    for seed in seeds:
        for name, split in splits(seed):
            t = time.perf_counter()
            rows.append(dict(split=name, seed=seed, **run(split, seed), seconds=round(time.perf_counter() - t, 1)))
            print(rows[-1], flush=True)
            pd.DataFrame(rows).to_csv(csv, index=False)
    return pd.DataFrame(rows)

def write_split_report(res:pd.DataFrame, md:Path, title:str, text:str)->str:
    "A markdown file: `# title`, `text`, and the mean ± sd of every valid/test column of `res` per split; returns the table"
    tab = md_table(mean_sd(res, 'split', [c for c in res if c.startswith(('valid', 'test'))]))
    Path(md).write_text(f"# {title}\n\n{text}\n\n{tab}\n")
    return tab
