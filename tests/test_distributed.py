"Two CPU processes through fastai's Accelerate path (medfast.distributed): disjoint shards, one set of metrics, one report"
import json, os, signal, subprocess, sys
from pathlib import Path

# A training script that also records, per process, the training items of its shard (the indices `DistributedDL` hands it)
SCRIPT = '''import sys, json
from pathlib import Path
import medfast.core
from fastai.callback.core import Callback
from fastai.torch_core import set_seed, rank_distrib, num_distrib
from medfast.data import folder_dls
from medfast.models import small_vgg
from medfast.learner import classifier_learner
from medfast.distributed import distributed_ctx, rank0_only

data, out, rank = Path(sys.argv[1]), Path(sys.argv[2]), rank_distrib()

class ShardCallback(Callback):
    "Write the file names of this process's training shard each epoch"
    order = 12  # after fastai's DistributedTrainer has wrapped the loader
    def before_train(self):
        dl = self.learn.dl
        get = dl.get_idxs
        def record():
            idxs = get()
            names = sorted(Path(f).name for f in dl.dataset.items.iloc[list(idxs)].file)
            (out/f'shard{rank}.json').write_text(json.dumps(dict(world=num_distrib(), names=names)))
            return idxs
        dl.get_idxs = record

set_seed(0)
dls = folder_dls(data, size=32, bs=8, seed=0, presize=1.0, n_in=1)
learn = classifier_learner(dls, small_vgg, pretrained=False, path=out, cbs=ShardCallback())
with distributed_ctx(learn), learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-2)
(out/f'metrics{rank}.json').write_text(json.dumps(dict(steps=len(learn.recorder.losses), values=[float(v) for v in learn.recorder.values[-1]])))

def report(learn, out):
    with learn.no_bar(): res = learn.validate()
    with open(out/'report.log', 'a') as f: f.write(json.dumps(dict(rank=rank, valid_loss=float(res[0]))) + '\\n')
rank0_only(report, learn, out)
'''

def test_two_cpu_processes(tmp_path):
    "torchrun starts two gloo processes; each trains on its own half of the items, both see the same metrics, rank 0 alone reports"
    from medfast.phantoms import make_chest_xray
    data = make_chest_xray(tmp_path/'ph', counts={'train': {'NORMAL': 12, 'PNEUMONIA': 20}, 'val': {'NORMAL': 6, 'PNEUMONIA': 6}}, size=32)
    script, out = tmp_path/'train_ddp.py', tmp_path/'out'
    script.write_text(SCRIPT); out.mkdir()
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(Path(__file__).resolve().parents[1])}
    cmd = [str(Path(sys.executable).parent/'torchrun'), '--standalone', '--nproc_per_node', '2', str(script), str(data), str(out)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try: out_, err = p.communicate(timeout=600)
    except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); raise
    r = subprocess.CompletedProcess(cmd, p.returncode, out_, err)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    shards = [json.loads((out/f'shard{k}.json').read_text()) for k in (0, 1)]
    assert [s['world'] for s in shards] == [2, 2]
    a, b = (set(s['names']) for s in shards)
    train = {p.name for p in (data/'train').rglob('*.jpeg')}
    assert len(a) == len(b) == 16 and not a & b and a | b == train
    m0, m1 = (json.loads((out/f'metrics{k}.json').read_text()) for k in (0, 1))
    assert m0 == m1 and m0['steps'] == 2  # 16 items per process in batches of 8; metrics gathered over the whole validation set
    lines = [json.loads(l) for l in (out/'report.log').read_text().splitlines()]
    assert [l['rank'] for l in lines] == [0]
    assert abs(lines[0]['valid_loss'] - m0['values'][1]) < 1e-4
