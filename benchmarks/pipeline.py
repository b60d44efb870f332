"""Images/s of four image pipelines side by side on large PNGs, and one training step split into data and model.

Pipelines (one pass over the training DataLoader, bs 16, drop_last, item resize to presize × size, then the
`xray` batch augmentation to `size`): plain fastai DataBlock, medfast's `table_dls`, `table_dls` over a presized
cache (copies resized once to presize × size with PIL, written to a temp folder first), and decoding alone (PIL,
RGBA/RGB converted to 'L'). Each is run `--repeats` times round-robin so load drift hits all alike; medians.
Then EfficientNet-Lite0 (unfrozen, fastai Adam): per-step data time and model time (forward, loss, backward,
step), and the model step in channels_last and under torch.compile. Writes `<out>/pipeline.md` and `.csv`.

`--channels-last NPZ` measures only the default `medfast train` model for small images (`train_defaults`: small_vgg
from scratch, 1 channel, bs 64, fastai head) on batches of the MedMNIST file at its own size and at 64 px: the
training step (forward, loss, backward, fastai Adam step) contiguous, with the model in channels_last (what fastai's
`ChannelsLast` callback does) and with model and batch in channels_last, round-robin over `--repeats`, medians. Its rows
replace the `channels_last` rows of `pipeline.csv` and its section of `pipeline.md`; the rest of both files is kept.

    python benchmarks/pipeline.py --images ../shared/data/nih_chestxray14/images
    python benchmarks/pipeline.py --channels-last ../shared/data/pneumoniamnist/pneumoniamnist.npz
"""
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import medfast.core  # noqa: F401  (the warning filter, before fastai)
import pandas as pd, torch
from PIL import Image
from fastai.vision.all import DataBlock, ImageBlock, CategoryBlock, ColReader, ColSplitter, Resize, ResizeMethod, aug_transforms
from medfast.data import table_dls, AUG_PRESETS
from medfast.learner import classifier_learner
from medfast.sources import medmnist_table
from medfast.cli import train_defaults, ARCHS

def decode(fn): return Image.open(fn).convert('L')

def presize_cache(files, dest, side):
    "Resize each image once (squish) to side × side, 8-bit gray PNG; return the new paths"
    out = []
    for f in files:
        p = Path(dest)/Path(f).name
        decode(f).resize((side, side), Image.BILINEAR).save(p, compress_level=1)
        out.append(str(p))
    return out

def fastai_dls(df, size, bs, presize, num_workers):
    "The same presizing in a plain fastai DataBlock"
    blk = DataBlock(blocks=(ImageBlock, CategoryBlock), get_x=ColReader('file'), get_y=ColReader('label'), splitter=ColSplitter('is_valid'),
                    item_tfms=Resize(round(size*presize), method=ResizeMethod.Squish), batch_tfms=aug_transforms(size=size, **AUG_PRESETS['xray']))
    return blk.dataloaders(df, bs=bs, num_workers=num_workers, seed=0)

def epoch_rate(dl):
    "Images/s of one pass over a DataLoader (worker start-up included)"
    t, n = time.perf_counter(), 0
    for xb, _ in dl: n += len(xb)
    return n/(time.perf_counter() - t)

def decode_rate(files):
    t = time.perf_counter()
    for f in files: decode(f).load()
    return len(files)/(time.perf_counter() - t)

def step_times(learn, dl, n):
    "Median seconds per step fetching a batch (data) and training on it (model), over n steps"
    model, loss_func, opt = learn.model.train(), learn.loss_func, learn.opt
    data, comp, it = [], [], iter(dl)
    while len(data) < n:
        t = time.perf_counter()
        try: xb, yb = next(it)
        except StopIteration: it = iter(dl); continue
        t1 = time.perf_counter()
        loss_func(model(xb), yb).backward(); opt.step(); opt.zero_grad()
        data.append(t1 - t); comp.append(time.perf_counter() - t1)
    return statistics.median(data), statistics.median(comp)

def model_step(model, loss_func, opt, xb, yb, n):
    "Median seconds of n training steps on one fixed batch, after one warm-up step (the compile, if any)"
    t = time.perf_counter(); loss_func(model(xb), yb).backward(); opt.step(); opt.zero_grad(); first = time.perf_counter() - t
    ts = []
    for _ in range(n):
        t = time.perf_counter(); loss_func(model(xb), yb).backward(); opt.step(); opt.zero_grad(); ts.append(time.perf_counter() - t)
    return statistics.median(ts), first

def compile_child(a):
    "In a child process: the default and the torch.compile'd training step of EfficientNet-Lite0 on one random batch, as JSON"
    import timm
    torch.set_num_threads(1); torch.manual_seed(0)
    model = timm.create_model('tf_efficientnet_lite0', num_classes=2)
    opt, lf = torch.optim.Adam(model.parameters()), torch.nn.CrossEntropyLoss()
    xb, yb = torch.randn(a.bs, 3, a.size, a.size), torch.randint(0, 2, (a.bs,))
    plain, _ = model_step(model, lf, opt, xb, yb, a.steps)
    cm, first = model_step(torch.compile(model), lf, opt, xb, yb, a.steps)
    print(json.dumps(dict(plain=plain, compiled=cm, first=first)))

def compile_row(a):
    "Run `compile_child` with a time limit; the row for the table"
    what = 'torch.compile (default mode, inductor), timm model + torch Adam, random batch'
    cmd = [sys.executable, __file__, '--compile-child', '--size', str(a.size), '--bs', str(a.bs), '--steps', str(a.steps)]
    t = time.perf_counter()
    try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.compile_timeout)
    except subprocess.TimeoutExpired: return dict(kind='model step', what=f'{what}: did not finish within {a.compile_timeout} s (compile under load)')
    if r.returncode: return dict(kind='model step', what=f'{what}: failed ({(r.stderr.strip().splitlines() or ["?"])[-1][:120]})')
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return dict(kind='model step', what=what, model_s=round(d['compiled'], 3), vs_default=round(d['compiled']/d['plain'], 2),
                first_step_s=round(d['first'], 1), steps=a.steps, seconds=round(time.perf_counter() - t, 1))

CL_VARIANTS = {'contiguous (default)': (torch.contiguous_format, False),
               'channels_last model (fastai ChannelsLast)': (torch.channels_last, False),
               'channels_last model and batch': (torch.channels_last, True)}
CL_HEAD = '## channels_last for the default `medfast train` model (small images)'

def channels_last_rows(a):
    "Rows of the channels_last comparison: one per (size, variant), median step seconds over round-robin repeats"
    rec = train_defaults(a.channels_last)
    df = medmnist_table(a.channels_last).groupby('is_valid').head(2*rec['bs'])
    rows = []
    for size in (rec['size'], 64):
        dls = table_dls(df, size, rec['bs'], n_in=1, presize=1.0, x_col='image', seed=0)
        learn = classifier_learner(dls, ARCHS[rec['arch']], pretrained=False)
        learn.create_opt()
        xb, yb = (b.as_subclass(torch.Tensor) for b in dls.one_batch())
        times = {k: [] for k in CL_VARIANTS}
        for r in range(a.repeats):
            for k, (fmt, batch) in CL_VARIANTS.items():
                learn.model.to(memory_format=fmt)
                x = xb.contiguous(memory_format=torch.channels_last) if batch else xb
                times[k].append(model_step(learn.model.train(), learn.loss_func, learn.opt, x, yb, a.steps)[0])
            print(f"{size} px repeat {r}: " + ', '.join(f"{v[-1]*1000:.0f} ms" for v in times.values()), flush=True)
        learn.model.to(memory_format=torch.contiguous_format)
        base = statistics.median(times['contiguous (default)'])
        rows += [dict(kind='channels_last', what=f"{rec['arch']} {size} px bs {rec['bs']} 1ch: {k}", model_s=round(statistics.median(v), 4),
                      vs_default=round(statistics.median(v)/base, 2), min=round(min(v), 4), max=round(max(v), 4), repeats=len(v), steps=a.steps)
                 for k, v in times.items()]
    return rows

def channels_last_main(a):
    "Measure the channels_last rows; replace them in pipeline.csv and their section in pipeline.md"
    torch.set_num_threads(1)
    load0, t0 = os.getloadavg(), time.perf_counter()
    rows = channels_last_rows(a)
    wall, load1 = time.perf_counter() - t0, os.getloadavg()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    old = pd.read_csv(out/'pipeline.csv') if (out/'pipeline.csv').exists() else pd.DataFrame(columns=['kind'])
    res = pd.concat([old[old.kind != 'channels_last'], pd.DataFrame(rows)], ignore_index=True)
    res.to_csv(out/'pipeline.csv', index=False)
    cols = ['what', 'model_s', 'vs_default', 'min', 'max', 'repeats']
    sec = [CL_HEAD, "", f"Training step on one fixed augmented batch of `{Path(a.channels_last).name}` (forward, loss, backward, fastai Adam step), "
           f"median of {a.steps} steps per repeat after one warm-up step, {a.repeats} repeats round-robin over the variants; the table gives the median, min and max "
           f"over repeats. torch threads 1; 1-minute load average {load0[0]:.1f} at start, {load1[0]:.1f} at end; wall time {wall/60:.1f} min.", "",
           '| ' + ' | '.join(cols) + ' |', '|' + '---|'*len(cols)] + ['| ' + ' | '.join(str(r[c]) for c in cols) + ' |' for r in rows]
    md = (out/'pipeline.md').read_text() if (out/'pipeline.md').exists() else '# Image pipeline throughput\n'
    head, _, tail = md.partition(CL_HEAD)
    if _: tail = tail[tail.find('\n## '):] if '\n## ' in tail else ''
    else: head, _, tail = md.partition('## Findings'); tail = _ + tail
    (out/'pipeline.md').write_text(head.rstrip('\n') + '\n\n' + '\n'.join(sec) + '\n\n' + tail.lstrip('\n'))
    print('\n'.join(sec))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--images', default='../shared/data/nih_chestxray14/images')
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--presize', type=float, default=2.0)
    p.add_argument('--bs', type=int, default=16)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--steps', type=int, default=6, help='training steps timed per model variant')
    p.add_argument('--compile-timeout', type=int, default=400, help='seconds allowed for the torch.compile child')
    p.add_argument('--no-compile', dest='compile', action='store_false')
    p.add_argument('--compile-child', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--channels-last', metavar='NPZ', help='only the channels_last comparison of the default small-image model, on this MedMNIST file')
    p.add_argument('--out', default=str(Path(__file__).parent/'results'))
    a = p.parse_args()
    if a.compile_child: return compile_child(a)
    if a.channels_last: return channels_last_main(a)
    torch.set_num_threads(1)
    t_all, load0 = time.perf_counter(), os.getloadavg()
    files = sorted(str(f) for f in Path(a.images).glob('*.png'))
    modes = pd.Series([Image.open(f).mode for f in files]).value_counts().to_dict()
    side = round(a.size*a.presize)
    tmp = tempfile.TemporaryDirectory(prefix='medfast-cache-')
    t = time.perf_counter(); cached = presize_cache(files, tmp.name, side); cache_s = time.perf_counter() - t
    table = lambda fs: pd.DataFrame({'file': fs, 'label': ['a', 'b']*(len(fs)//2) + ['a']*(len(fs) % 2), 'is_valid': False})
    pipes = {}
    for nw in (0, 2):
        pipes[f'plain fastai DataBlock, num_workers={nw}'] = fastai_dls(table(files), a.size, a.bs, a.presize, nw).train
        pipes[f'medfast table_dls, num_workers={nw}'] = table_dls(table(files), a.size, a.bs, presize=a.presize, num_workers=nw, seed=0).train
        pipes[f'medfast table_dls over the presized cache, num_workers={nw}'] = table_dls(table(cached), a.size, a.bs, presize=a.presize, num_workers=nw, seed=0).train
    rates = {k: [] for k in ['decode only (PIL, to L), 1024 px originals', *pipes]}
    for r in range(a.repeats):
        rates['decode only (PIL, to L), 1024 px originals'].append(decode_rate(files))
        for k, dl in pipes.items(): rates[k].append(epoch_rate(dl))
        print(f"repeat {r}: " + ', '.join(f"{v[-1]:.0f}" for v in rates.values()), flush=True)
    base = statistics.median(rates['medfast table_dls, num_workers=0'])
    rows = [dict(kind='pipeline', what=k, images_per_s=round(statistics.median(v), 1), vs_medfast_nw0=round(statistics.median(v)/base, 2),
                 repeats=len(v), min=round(min(v), 1), max=round(max(v), 1)) for k, v in rates.items()]
    rows.append(dict(kind='pipeline', what=f'building the presized cache once ({len(files)} images to {side} px)', images_per_s=round(len(files)/cache_s, 1), seconds=round(cache_s, 1)))
    # one training step, data vs model
    dls = {'medfast table_dls': table_dls(table(files), a.size, a.bs, presize=a.presize, seed=0),
           'medfast table_dls over the presized cache': table_dls(table(cached), a.size, a.bs, presize=a.presize, seed=0)}
    for k, d in dls.items():
        learn = classifier_learner(d, 'tf_efficientnet_lite0')   # adds the pretrained Normalize to d
        learn.unfreeze(); learn.create_opt()
        dt, mt = step_times(learn, d.train, a.steps)
        rows.append(dict(kind='train step', what=f'EfficientNet-Lite0 {a.size} px bs {a.bs}, data from {k}', data_s=round(dt, 3), model_s=round(mt, 3),
                         data_share=round(dt/(dt + mt), 2), images_per_s=round(a.bs/(dt + mt), 1), steps=a.steps))
    xb, yb = learn.dls.one_batch()
    xb, yb = xb.as_subclass(torch.Tensor), yb.as_subclass(torch.Tensor)
    model, lf, opt = learn.model, learn.loss_func, learn.opt
    plain, _ = model_step(model, lf, opt, xb, yb, a.steps)
    rows.append(dict(kind='model step', what='contiguous (default)', model_s=round(plain, 3), vs_default=1.0, steps=a.steps))
    model.to(memory_format=torch.channels_last)
    cl, _ = model_step(model, lf, opt, xb.contiguous(memory_format=torch.channels_last), yb, a.steps)
    rows.append(dict(kind='model step', what='channels_last (model and batch)', model_s=round(cl, 3), vs_default=round(cl/plain, 2), steps=a.steps))
    model.to(memory_format=torch.contiguous_format)
    if a.compile: rows.append(compile_row(a))
    wall, load1 = time.perf_counter() - t_all, os.getloadavg()
    res = pd.DataFrame(rows)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    res.to_csv(out/'pipeline.csv', index=False)
    def tbl(kind, cols):
        d = res[res.kind == kind].reindex(columns=cols).astype(object)
        d = d.where(d.notna(), '')
        return ['| ' + ' | '.join(cols) + ' |', '|' + '---|'*len(cols)] + ['| ' + ' | '.join(str(int(v)) if isinstance(v, float) and v.is_integer() and v > 1 else str(v) for v in r) + ' |' for r in d.itertuples(index=False)]
    lines = [f"# Image pipeline throughput", "",
             f"{len(files)} real NIH ChestX-ray14 PNGs ({', '.join(f'{n} {m}' for m, n in modes.items())}, 1024 px), size {a.size}, presize {a.presize:g} "
             f"(item resize to {side} px, squish), `xray` batch augmentation, bs {a.bs}, torch threads 1, one pass over the training loader "
             f"(drop_last: {len(files)//a.bs*a.bs} images; with workers, their start-up is inside the pass). Medians of {a.repeats} repeats run round-robin in one process. "
             f"CPU: {platform.machine()}, {os.cpu_count()} cores shared with other sessions; 1-minute load average {load0[0]:.1f} at start, {load1[0]:.1f} at end "
             f"(above 2 means other work competed). torch {torch.__version__}. Wall time {wall/60:.1f} min.", "", "## Pipelines", ""]
    lines += tbl('pipeline', ['what', 'images_per_s', 'vs_medfast_nw0', 'min', 'max', 'seconds'])
    lines += ["", "## One training step: data vs model (median seconds per step)", ""]
    lines += tbl('train step', ['what', 'data_s', 'model_s', 'data_share', 'images_per_s', 'steps'])
    lines += ["", "## Model step variants (one fixed batch, median seconds per step)", ""]
    lines += tbl('model step', ['what', 'model_s', 'vs_default', 'first_step_s', 'steps', 'seconds'])
    (out/'pipeline.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))

if __name__ == '__main__': main()
