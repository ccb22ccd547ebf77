"""Where the runs of a plan train: one after the other, side by side on this machine, or as Slurm jobs.

Contract: ``executor.run(jobs, claim, started, finished)`` trains a list of :class:`Job` (a run
folder, its command line and its claim): just before a job starts (or is submitted), ``claim(job)``
must return True, else the job is skipped; then ``started(job, where)``; ``finished(job, RunResult)``
when it ends (or fails to be submitted).  The callbacks may come from worker threads (local).  Whatever the executor, a
run is the same subprocess (``python -m aher.experiment ...``, with ``--resume`` when the folder
holds snapshots at the moment it starts), logged to the same ``reproduce.log`` in the same folder,
so the tables do not depend on the executor.

- ``inline``: one run after the other in this process tree.
- ``local``: up to ``max_parallel`` runs at once (no new one after an interruption), each pinned to its own resources: with
  ``gpus_per_run`` G > 0, G devices of ``CUDA_VISIBLE_DEVICES`` (or of ``nvidia-smi``) per run;
  on CPU, a disjoint share of this process's CPUs (``taskset``) and that many threads per pool.
- ``slurm``: one Slurm job per run through ``submitit`` (job files and logs in ``<run>/slurm``);
  the job runs :class:`TrainJob`, which is requeued on preemption or time limit and then resumes.
  With ``wait`` the executor polls until every job has ended (done: its result file exists; ended
  otherwise: ``squeue`` no longer lists it as active, e.g. after ``scancel``); without it, it
  returns once the jobs are submitted and their claims carry the job ids.
Limits: ``slurm`` needs ``sbatch``/``squeue`` on this host; a job array is not used (one job per
run keeps each run's claim, logs and resubmission independent).
"""

import os
import queue
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import submitit

from aher.errors import UserError
from aher.paths import PROJECT_ROOT
from aher.reproduce.claim import Claim, job_active
from aher.reproduce.process import RunResult, display_path, run_logged

EXECUTORS = ("inline", "local", "slurm")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


@dataclass
class Job:
    """One run to train: its planned run, folder, command without ``--resume``, and claim."""
    run: object
    out: Path
    command: list
    claim: Claim
    slurm_job: object = field(default=None, repr=False)

    def command_now(self):
        """The command as it must run now: ``--resume`` when the folder holds snapshots."""
        return resume_if_started(self.command, self.out)


def resume_if_started(cmd, out):
    checkpoints = Path(out) / "checkpoints"
    started = checkpoints.is_dir() and any(checkpoints.glob("*.index"))
    return [*cmd, "--resume"] if started and "--resume" not in cmd else list(cmd)


# ----------------------------------------------------------------------------------------------
# inline


class InlineExecutor:
    name = "inline"
    parallel = 1

    def describe(self):
        return "inline: one run after the other"

    def run(self, jobs, claim, started, finished):
        for job in jobs:
            if not claim(job):
                continue
            started(job, None)
            finished(job, run_logged(job.command_now(), job.out))


# ----------------------------------------------------------------------------------------------
# local


def visible_gpus():
    """GPU ids this process may use: ``CUDA_VISIBLE_DEVICES`` when set, else those ``nvidia-smi`` lists."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return [d.strip() for d in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    proc = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True)
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()] if proc.returncode == 0 else []


@dataclass(frozen=True)
class Slot:
    """The resources of one concurrent run: environment variables and a command prefix."""
    label: str
    env: dict
    prefix: tuple = ()


def cpu_slots(n, cpus):
    """``n`` slots over the CPU ids ``cpus``: disjoint, contiguous shares (round-robin when n > len(cpus))."""
    cpus = sorted(cpus)
    if n <= len(cpus):
        shares = [cpus[len(cpus) * i // n:len(cpus) * (i + 1) // n] for i in range(n)]
    else:
        shares = [[cpus[i % len(cpus)]] for i in range(n)]
    taskset = shutil.which("taskset")
    slots = []
    for share in shares:
        listing = ",".join(map(str, share))
        env = {"CUDA_VISIBLE_DEVICES": "", **{v: str(len(share)) for v in THREAD_VARIABLES}}
        slots.append(Slot(f"CPUs {listing}", env, ("taskset", "-c", listing) if taskset else ()))
    return slots


def gpu_slots(gpus_per_run, gpus, max_parallel):
    """Slots of ``gpus_per_run`` devices each out of ``gpus`` (at most ``max_parallel``)."""
    n = min(max_parallel, len(gpus) // gpus_per_run)
    if n < 1:
        raise UserError(f"--gpus-per-run {gpus_per_run}: only {len(gpus)} GPU(s) visible "
                        f"({', '.join(gpus) or 'none'}; CUDA_VISIBLE_DEVICES or nvidia-smi)")
    return [Slot(f"GPU {','.join(share)}", {"CUDA_VISIBLE_DEVICES": ",".join(share)})
            for share in (gpus[i * gpus_per_run:(i + 1) * gpus_per_run] for i in range(n))]


class LocalExecutor:
    name = "local"

    def __init__(self, max_parallel, gpus_per_run=0, gpus=None, cpus=None):
        if max_parallel < 1:
            raise UserError("--max-parallel must be at least 1")
        if gpus_per_run < 0:
            raise UserError("--gpus-per-run must be 0 (CPU) or more")
        if gpus_per_run:
            self.slots = gpu_slots(gpus_per_run, visible_gpus() if gpus is None else list(gpus), max_parallel)
        else:
            self.slots = cpu_slots(max_parallel, os.sched_getaffinity(0) if cpus is None else cpus)
        self.parallel = len(self.slots)

    def describe(self):
        return f"local: up to {self.parallel} runs at once ({'; '.join(s.label for s in self.slots)})"

    def run(self, jobs, claim, started, finished):
        """Run ``jobs`` in the slots.  When this process is interrupted (Ctrl-C reaches the runs too,
        as one process group), no further job starts: the running ones end (a trainer saves its
        snapshot) and the interruption is raised."""
        free = queue.Queue()
        for slot in self.slots:
            free.put(slot)
        stopping = threading.Event()

        def work(job):
            slot = free.get()
            try:
                if stopping.is_set() or not claim(job):
                    return
                started(job, slot.label)
                finished(job, run_logged([*slot.prefix, *job.command_now()], job.out, env=slot.env))
            finally:
                free.put(slot)

        pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="run")
        try:
            for future in [pool.submit(work, job) for job in jobs]:
                future.result()
        except BaseException:
            stopping.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()


# ----------------------------------------------------------------------------------------------
# slurm


class TrainJob(submitit.helpers.Checkpointable):
    """What a Slurm job runs: the run's command (``--resume`` when it has snapshots), logged into
    its folder; requeued by submitit on preemption or time limit (the trainer snapshots on SIGTERM)."""

    def __init__(self, command, out):
        self.command = list(command)
        self.out = str(out)

    def __call__(self):
        threads = os.environ.get("SLURM_CPUS_PER_TASK")
        env = {v: threads for v in THREAD_VARIABLES} if threads else None
        return run_logged(resume_if_started(self.command, self.out), Path(self.out), env=env)


def parse_slurm_args(items):
    """``--slurm-arg KEY=VALUE`` options as a dict of extra sbatch parameters."""
    extra = {}
    for text in items:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--slurm-arg '{text}' is not KEY=VALUE (an sbatch option without its dashes, "
                            "e.g. account=myproject)")
        extra[key.strip().lstrip("-")] = value
    return extra


class SlurmExecutor:
    name = "slurm"

    def __init__(self, partition=None, time_minutes=2880, gpus_per_run=0, cpus_per_run=1, mem=None, extra=(),
                 wait=True, poll_seconds=10.0):
        if shutil.which("sbatch") is None:
            raise UserError("--executor slurm: sbatch is not on this host's PATH (run from a Slurm login node)")
        if time_minutes < 1 or cpus_per_run < 1 or gpus_per_run < 0:
            raise UserError("--slurm-time and --slurm-cpus-per-run must be at least 1, --slurm-gpus-per-run at least 0")
        self.parameters = {"time": int(time_minutes), "cpus_per_task": int(cpus_per_run), "ntasks_per_node": 1,
                           "nodes": 1, "stderr_to_stdout": True,
                           "setup": [f"cd {PROJECT_ROOT}",
                                     f'export PYTHONPATH={PROJECT_ROOT}"${{PYTHONPATH:+:$PYTHONPATH}}"']}
        if partition:
            self.parameters["partition"] = partition
        if gpus_per_run:
            self.parameters["gpus_per_node"] = int(gpus_per_run)
        if mem:
            self.parameters["mem"] = mem
        extra = parse_slurm_args(extra)
        if extra:
            self.parameters["additional_parameters"] = extra
        self.wait = wait
        self.poll_seconds = poll_seconds
        self.parallel = None           # as many as the cluster schedules

    def describe(self):
        where = self.parameters.get("partition", "the default partition")
        return (f"slurm: one job per run on {where}, {self.parameters['cpus_per_task']} CPU(s), "
                f"{self.parameters.get('gpus_per_node', 0)} GPU(s), {self.parameters['time']} min each"
                + ("" if self.wait else "; not waiting (--no-wait)"))

    def submit(self, job):
        executor = submitit.SlurmExecutor(folder=job.out / "slurm", max_num_timeout=10)
        executor.update_parameters(job_name=f"aher-{job.out.parent.name}-{job.out.name}", **self.parameters)
        job.slurm_job = executor.submit(TrainJob(job.command, job.out))
        job.claim.set_job(job.slurm_job.job_id)
        return job.slurm_job.job_id

    def run(self, jobs, claim, started, finished):
        """Submit every job; when sbatch refuses the plan's first job (no controller, a bad option:
        the same for all), the others are not tried.  A refusal after an accepted job fails that run only."""
        submitted, refused = [], None
        for job in jobs:
            if refused is not None:
                finished(job, RunResult("failed", error=f"not submitted: sbatch refused the first job ({refused})",
                                        out=str(job.out)))
                continue
            if not claim(job):
                continue
            try:
                job_id = self.submit(job)
            except Exception as exc:
                finished(job, RunResult("failed", error=f"sbatch refused the job: {_first_line(exc)}", out=str(job.out)))
                if not submitted:
                    refused = _first_line(exc)
                continue
            started(job, f"Slurm job {job_id}")
            submitted.append(job)
        if not self.wait:
            for job in submitted:
                job.claim.hand_over()
            return
        while submitted:
            for job in list(submitted):
                result = slurm_result(job)
                if result is not None:
                    submitted.remove(job)
                    finished(job, result)
            if submitted:
                time.sleep(self.poll_seconds)


def _first_line(exc):
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def slurm_result(job):
    """The job's :class:`RunResult` once it has ended (None while it is active)."""
    sj = job.slurm_job
    log = display_path(sj.paths.stdout).replace("%j", str(sj.job_id))
    if not sj.paths.result_pickle.exists():
        active, state = job_active(sj.job_id)
        if active:
            return None
        time.sleep(1.0)                  # the result file is written just before the job ends
        if not sj.paths.result_pickle.exists():
            return RunResult("failed", error=f"Slurm job {sj.job_id} ended ({state}) without a result; rerun the "
                             f"same command to resume it from its last snapshot (job log: {log})", out=str(job.out))
    try:
        return sj.result()
    except Exception as exc:             # the job function raised: its traceback is in the job log
        return RunResult("failed", error=f"Slurm job {sj.job_id} failed: {_first_line(exc)} (job log: {log})",
                         out=str(job.out))


def add_executor_arguments(parser):
    """The executor options of a command line that trains runs (``aher.reproduce``, ``.curves``)."""
    ex = parser.add_argument_group("where the runs train (the same runs, folders and tables with every executor)")
    ex.add_argument("--executor", choices=EXECUTORS, default="inline",
                    help="inline: one run after the other (default); local: several runs at once on this machine; "
                         "slurm: one Slurm job per run (submitit)")
    ex.add_argument("--max-parallel", type=int, default=2, metavar="N", help="local: runs at once (default 2)")
    ex.add_argument("--gpus-per-run", type=int, default=0, metavar="G",
                    help="local: GPUs per run out of CUDA_VISIBLE_DEVICES / nvidia-smi (default 0: CPU, the "
                         "CPUs shared out between the runs)")
    ex.add_argument("--slurm-partition", metavar="NAME", help="slurm: partition (default: the cluster's default)")
    ex.add_argument("--slurm-time", type=int, default=2880, metavar="MINUTES",
                    help="slurm: time limit per job in minutes (default 2880); a job stopped by it is requeued "
                         "and resumes from its last snapshot")
    ex.add_argument("--slurm-gpus-per-run", type=int, default=0, metavar="G", help="slurm: GPUs per job (default 0)")
    ex.add_argument("--slurm-cpus-per-run", type=int, default=4, metavar="C", help="slurm: CPUs per job (default 4)")
    ex.add_argument("--slurm-mem", metavar="SIZE", help="slurm: memory per job, e.g. 32G (default: the cluster's)")
    ex.add_argument("--slurm-arg", action="append", default=[], metavar="KEY=VALUE",
                    help="slurm: any other sbatch option, e.g. account=myproject or qos=normal (repeatable)")
    ex.add_argument("--no-wait", action="store_true",
                    help="slurm: return once the jobs are submitted; rerun the same command (or with --no-train) "
                         "after they end to write the tables")


def check_executor_arguments(args):
    """Options given to an executor that does not use them are a one-line error."""
    if args.executor != "slurm" and (args.no_wait or args.slurm_partition or args.slurm_mem or args.slurm_arg):
        raise UserError("--no-wait, --slurm-partition, --slurm-mem and --slurm-arg are options of --executor slurm")
    if args.executor != "local" and args.gpus_per_run:
        raise UserError("--gpus-per-run is an option of --executor local (Slurm: --slurm-gpus-per-run)")


def make_executor(args):
    """The executor of the command-line options (``--executor`` and its own options)."""
    if args.executor == "inline":
        return InlineExecutor()
    if args.executor == "local":
        return LocalExecutor(args.max_parallel, args.gpus_per_run)
    return SlurmExecutor(args.slurm_partition, args.slurm_time, args.slurm_gpus_per_run, args.slurm_cpus_per_run,
                         args.slurm_mem, args.slurm_arg, wait=not args.no_wait)
