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

def _torchrun(args:list, tmp_path:Path)->subprocess.CompletedProcess:
    "Run `torchrun --standalone --nproc_per_node 2 ARGS` on the CPU; kill the whole process group if it hangs"
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(Path(__file__).resolve().parents[1]), 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [str(Path(sys.executable).parent/'torchrun'), '--standalone', '--nproc_per_node', '2', *map(str, args)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True, cwd=tmp_path)
    try: out_, err = p.communicate(timeout=600)
    except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); raise
    assert p.returncode == 0, out_[-3000:] + err[-3000:]
    return subprocess.CompletedProcess(cmd, p.returncode, out_, err)

def _phantom(tmp_path:Path)->Path:
    from medfast.phantoms import make_chest_xray
    return make_chest_xray(tmp_path/'ph', counts={'train': {'NORMAL': 12, 'PNEUMONIA': 20}, 'val': {'NORMAL': 6, 'PNEUMONIA': 6}}, size=32)

def test_two_cpu_processes(tmp_path):
    "torchrun starts two gloo processes; each trains on its own half of the items, both see the same metrics, rank 0 alone reports"
    data = _phantom(tmp_path)
    script, out = tmp_path/'train_ddp.py', tmp_path/'out'
    script.write_text(SCRIPT); out.mkdir()
    _torchrun([script, data, out], tmp_path)
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

def test_medfast_train_on_two_processes(tmp_path):
    "`torchrun ... --no-python medfast train`: both processes train half of the (oversampled) items, rank 0 alone writes one report that loads"
    from medfast.export import load_model
    data, out = _phantom(tmp_path), tmp_path/'run'
    r = _torchrun(['--no-python', 'medfast', 'train', '--data', data, '--out', out, '--arch', 'small_vgg', '--size', '32', '--bs', '8', '--epochs', '1', '--lr', '1e-2'], tmp_path)
    procs = sorted(l for l in r.stdout.splitlines() if l.startswith('process '))
    assert procs == ['process 0 of 2: 16 training items per epoch', 'process 1 of 2: 16 training items per epoch'], r.stdout[-2000:]
    m = json.loads((out/'metrics.json').read_text())
    assert (m['run']['world_size'], m['run']['train_items_per_process']) == (2, 16)  # 40 items after oversampling, 20 per process: 2 full batches of 8
    assert r.stdout.count('precision') == 1  # the per-class table, printed by rank 0 alone
    assert sorted(p.name for p in out.iterdir() if p.name.startswith('.')) == [] and len(list((out/'checkpoints').iterdir())) == 1
    assert json.loads((out/'run.json').read_text())['status'] == 'complete'
    assert not any(k.startswith('module.') for k in load_model(out).model.state_dict())
