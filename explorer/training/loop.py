"""The one NSP training loop, used by the app (in a worker process) and by `python -m explorer train`.

trainer = Trainer(config)                  # loads model + corpus, builds the fixed held-out set
for event in trainer.run(stop_event):      # StartEvent, StepEvent..., EvalEvent..., EndEvent
    ...
save_checkpoint(trainer.model, trainer.tokenizer, out_dir, config, trainer.log)

Under torchrun, `Trainer(config, world=world)` trains this rank's share of each batch under
DistributedDataParallel (see explorer.training.distributed); rank 0 alone evaluates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

import torch
from torch.nn.parallel import DistributedDataParallel
from transformers import BertForPreTraining

from explorer.corpus import Corpus
from explorer.labels import binary_entropy, constant_accuracy
from explorer.models import load_model
from explorer.sampling import Pair
from explorer.training import data
from explorer.training.config import TrainConfig, TrainConfigError
from explorer.training.data import make_sampler, mask_for_mlm, pairs_to_batch
from explorer.training.distributed import World, training_device
from explorer.training.events import EndEvent, EvalEvent, Event, PlanEvent, StartEvent, StepEvent
from explorer.training.model import (
    PairLosses,
    build_scratch_model,
    set_dropout,
    trainable_groups,
    use_bf16,
    warmup_then_linear_decay,
)
from explorer.training.time_fit import (
    PROBE_STEPS,
    UNTIMED_STEPS,
    TimePlan,
    eval_due,
    evals_in_run,
    plan_for_time,
    worth_reporting,
)

HELDOUT_SEED_OFFSET = 1_000_003  # the held-out sampler's seed, far from the training sampler's
Batch = dict[str, torch.Tensor]
# (step, the position of the first pair in the step's global batch, this rank's pairs): the pairs log's input
PairsRecorder = Callable[[int, int, list[Pair]], None]


class StopFlag(Protocol):
    """What run() polls for a stop request: a threading.Event, or a multiprocessing one from another process."""

    def is_set(self) -> bool: ...


def _load(config: TrainConfig) -> tuple[Any, Any, torch.device]:
    """(model, tokenizer, device) to train: the named model, or a tiny scratch BERT on its tokenizer."""
    torch.manual_seed(config.seed)
    loaded = load_model(config.base_model, config.device)
    if config.train_what == "scratch":
        torch.manual_seed(config.seed)
        model = build_scratch_model(config, len(loaded.tokenizer)).to(loaded.device)
        return model, loaded.tokenizer, loaded.device
    if config.max_length > loaded.max_positions:
        raise TrainConfigError(
            f"Max sequence length {config.max_length} exceeds this model's {loaded.max_positions} positions."
        )
    return loaded.model, loaded.tokenizer, loaded.device


def failure_message(err: Exception, step: int) -> str:
    if isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower():
        return f"Out of memory at step {step}: lower the batch size or max sequence length. ({err})"
    return f"Training failed at step {step}: {err.__class__.__name__}: {err}"


class Trainer:
    """Sets up one run (model, corpus split, fixed held-out set); `run()` then yields its events."""

    def __init__(
        self,
        config: TrainConfig,
        corpus: Corpus | None = None,
        world: World | None = None,
        record_pairs: PairsRecorder | None = None,
    ):
        self.config = config.validate()
        self.world = world or World()
        self.batch_share = self.world.share(config.batch_size)  # refuses a batch the ranks cannot split evenly
        self.record_pairs = record_pairs
        self.log: list[Event] = []
        self.step = 0
        # Under torchrun on CUDA this also makes "cuda" mean this rank's GPU, before the model is loaded there.
        rank_device = training_device(self.world, config.device) if self.world.distributed else None
        self.model, self.tokenizer, self.device = _load(config)
        self.device = rank_device or self.device
        set_dropout(self.model, config.dropout)
        self.groups = trainable_groups(self.model, config)
        self.use_bf16 = use_bf16(config, self.device)
        self.losses = PairLosses(self.model)
        self.forward = self._distributed(self.losses) if self.world.distributed else self.losses
        self._prepare_data(corpus if corpus is not None else data.load_training_corpus(config.corpus))
        self.mlm_generator = torch.Generator().manual_seed(config.seed + self.world.rank)
        self._pending: list[tuple[int, float, torch.Tensor]] = []  # (step, lr, stacked losses) not yet read
        self.clock: Callable[[], float] = time.perf_counter  # seconds; tests give the time plan a fake clock
        self._start = self._eval_seconds = 0.0
        # The run's length and evaluation points: the config's, or a plan fitted to the time limit.
        self.total_steps = config.steps
        self.fitting = bool(config.fit_to_time and config.max_seconds is not None)
        self._first_eval_seconds = 0.0
        self._timing: tuple[float, float] | None = None  # (clock, evaluation seconds) when timing began
        self._evals_planned: int | None = None  # evaluations during a fitted run, fixed by its first plan
        self._evals_in_run = 0
        self._reported_steps: int | None = None
        self._last_plan: TimePlan | None = None

    def _distributed(self, losses: PairLosses) -> DistributedDataParallel:
        """DDP around the loss module: gradients averaged over the ranks in backward()."""
        on_gpu = self.device.type == "cuda"
        return DistributedDataParallel(
            losses,
            device_ids=[self.device.index] if on_gpu else None,
            # A scratch BERT's MLM head takes no part in an NSP-only step; DDP must not wait for its gradients.
            find_unused_parameters=isinstance(self.model, BertForPreTraining),
            broadcast_buffers=False,  # BERT's buffers (position ids) never change, and rank 0 evaluates alone
        )

    def _prepare_data(self, corpus: Corpus) -> None:
        config = self.config
        self.train_corpus, self.heldout_corpus = data.split_corpus(corpus, config)
        self.train_corpus = data.with_extra_documents(self.train_corpus, config)
        self.sampler = make_sampler(self.train_corpus, self.tokenizer, config, seed=config.seed)
        # A fixed held-out set per run: the same pairs at every evaluation, so the curve shows learning, not luck.
        heldout_sampler = make_sampler(self.heldout_corpus, self.tokenizer, config, config.seed + HELDOUT_SEED_OFFSET)
        # Tokenise every sentence now (seconds for the default corpus), not lazily inside the timed steps.
        for sampler in (self.sampler, heldout_sampler):
            table = getattr(sampler, "table", None)
            if table is not None:
                table.ensure_all()
        # Only rank 0 evaluates, so only it needs the held-out pairs.
        self.heldout_pairs = heldout_sampler.sample_many(config.eval_pairs) if self.world.is_main else []
        pairs, size = self.heldout_pairs, config.eval_batch_size
        self.eval_batches = [
            {k: v.to(self.device) for k, v in pairs_to_batch(pairs[i : i + size], self.tokenizer).items()}
            for i in range(0, len(pairs), size)
        ]

    @property
    def is_pretraining_model(self) -> bool:
        return isinstance(self.model, BertForPreTraining)

    def _autocast(self) -> AbstractContextManager[Any]:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16)

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Mean cross_entropy and argmax accuracy of NSP on the fixed held-out pairs."""
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        count = 0
        with self._autocast():
            for batch in self.eval_batches:
                _, nsp, _, logits = self.losses(batch, None)  # not through DDP: rank 0 evaluates alone
                n = batch["labels"].numel()
                loss_sum += nsp.float() * n
                correct += (logits.argmax(-1) == batch["labels"]).sum()
                count += n
        self.model.train()
        return float(loss_sum) / count, float(correct) / count

    def _next_batch(self) -> tuple[Batch, torch.Tensor | None]:
        # Every rank draws the whole global batch from the same seeded stream and keeps its own slice.
        pairs = self.sampler.sample_many(self.config.batch_size)[self.batch_share]
        if self.record_pairs is not None:
            self.record_pairs(self.step + 1, self.batch_share.start, pairs)
        batch = pairs_to_batch(pairs, self.tokenizer)
        mlm_labels = None
        if self.config.mlm_too:
            batch["input_ids"], mlm_labels = mask_for_mlm(batch, self.tokenizer, self.mlm_generator)
            mlm_labels = mlm_labels.to(self.device, non_blocking=True)
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}, mlm_labels

    def _emit(self, event: Event) -> Event:
        self.log.append(event)
        return event

    def _start_event(self) -> StartEvent:
        trainable = [p for g in self.groups for p in g["params"]]
        return StartEvent(
            total_steps=self.config.steps,
            device=str(self.device),
            bf16=self.use_bf16,
            trainable_params=sum(p.numel() for p in trainable),
            total_params=sum(p.numel() for p in self.model.parameters()),
            train_documents=len(self.train_corpus.documents),
            heldout_documents=len(self.heldout_corpus.documents),
            eval_pairs=sum(b["labels"].numel() for b in self.eval_batches),
            chance_loss=binary_entropy(self.config.not_next_share),  # ln 2 for a 50/50 prior
            chance_accuracy=constant_accuracy(self.config.not_next_share),
            world_size=self.world.size,
            batch_per_rank=self.batch_share.stop - self.batch_share.start,
            global_batch=self.config.batch_size,
        )

    def _train_step(self, optimizer: torch.optim.Optimizer, schedule: Any) -> None:
        """One optimizer step; its losses wait in _pending until the next flush reads them."""
        batch, mlm_labels = self._next_batch()
        with self._autocast():
            total, nsp, mlm, _ = self.forward(batch, mlm_labels, self.config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        if self.config.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for g in self.groups for p in g["params"]], self.config.grad_clip)
        lr = optimizer.param_groups[0]["lr"]  # the first group is the encoder's (or the head's if alone)
        optimizer.step()
        schedule.step()
        self.step += 1
        mlm_part = mlm.detach() if mlm is not None else torch.zeros((), device=self.device)
        losses = torch.stack([total.detach().float(), nsp.detach().float(), mlm_part.float()])
        self._pending.append((self.step, lr, losses))

    def _flush(self) -> Iterator[Event]:
        """StepEvents for the pending steps, their losses read in one transfer (a GPU waits at each read)."""
        if not self._pending:
            return
        # Each rank's loss is the mean over its equal share, so their mean is the global batch's loss.
        stacked = self.world.mean(torch.stack([losses for _, _, losses in self._pending]).float())
        values = stacked.cpu().tolist()
        now = self.clock() - self._start
        rate = self.step / max(1e-9, now - self._eval_seconds)
        with_mlm = self.config.mlm_too
        for (step, lr, _), (total, nsp, mlm) in zip(self._pending, values):
            parts = {"nsp_loss": nsp, "mlm_loss": mlm} if with_mlm else {}
            yield self._emit(StepEvent(step, total, lr, now, rate, **parts))
        self._pending.clear()

    def _eval_event(self) -> Event:
        t0 = self.clock()
        loss, accuracy = self.evaluate()
        self._eval_seconds += self.clock() - t0
        return self._emit(EvalEvent(self.step, loss, accuracy, self.clock() - self._start))

    def _stop_reason(self, stop_event: StopFlag) -> tuple[str, str] | None:
        limit = self.config.max_seconds
        timed_out = limit is not None and self.clock() - self._start >= limit
        # One rank's Ctrl-C or clock stops them all at this same step (a lone rank would leave the others waiting).
        stopped, timed_out = self.world.any([stop_event.is_set(), timed_out], self.device)
        if stopped:
            return "stopped", f"Stopped at step {self.step}."
        if timed_out:
            return "finished", f"Time limit of {limit:g} s reached at step {self.step}."
        return None

    def _schedule(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
        """Warmup then linear decay over the run's steps, read at each step (a time plan can change them)."""
        warmup = self.config.warmup

        def factor(step: int) -> float:
            return warmup_then_linear_decay(self.total_steps, warmup)(step)

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def _fit_to_time(self) -> Iterator[Event]:
        """Plan the run's steps from the speed measured so far (TrainConfig.fit_to_time; see time_fit)."""
        if not self.fitting or self.step < UNTIMED_STEPS:
            return
        if self.step == UNTIMED_STEPS:
            self._timing = (self.clock(), self._eval_seconds)
            return
        if self._timing is None or self.step < UNTIMED_STEPS + PROBE_STEPS:
            return
        now, (t0, evals_before) = self.clock(), self._timing
        training = (now - t0) - (self._eval_seconds - evals_before)
        # Every rank must plan the same run: average the speeds; only rank 0 timed an evaluation.
        measured = torch.tensor(
            [training / (self.step - UNTIMED_STEPS), self._first_eval_seconds * self.world.size], dtype=torch.float64
        )
        seconds_per_step, seconds_per_eval = self.world.mean(measured.to(self.device)).cpu().tolist()
        limit, elapsed = float(self.config.max_seconds or 0.0), now - self._start
        if self._evals_planned is None:
            self._evals_planned = evals_in_run(limit - elapsed, seconds_per_eval)
        plan = plan_for_time(
            limit,
            self.config.steps,
            self.step,
            elapsed,
            seconds_per_step,
            seconds_per_eval,
            self._evals_planned - self._evals_in_run,
        )
        self.total_steps, self._last_plan = plan.steps, plan
        if worth_reporting(self._reported_steps, plan.steps):
            yield from self._report_plan()

    def _report_plan(self) -> Iterator[Event]:
        plan = self._last_plan
        if plan is None or self._reported_steps == plan.steps:
            return
        self._reported_steps = plan.steps
        yield self._emit(
            PlanEvent(plan.steps, self._evals_planned or 0, 1.0 / plan.seconds_per_step, plan.seconds_per_eval)
        )

    def _eval_due(self) -> bool:
        if self._evals_planned is not None:
            return eval_due(self.step, self.total_steps, self._evals_in_run, self._evals_planned)
        return self.step % self.config.eval_every == 0 and self.step < self.total_steps

    def _steps(self, stop_event: StopFlag) -> Generator[Event, None, tuple[str, str]]:
        """The training steps with their evaluations; returns (status, message)."""
        optimizer = torch.optim.AdamW(self.groups, lr=self.config.lr)
        schedule = self._schedule(optimizer)
        flush_every = 1 if self.device.type == "cpu" else 10
        if self.world.is_main:
            started = self.clock()
            yield self._eval_event()  # step 0: where the curve starts (near ln 2 for an untrained head)
            self._first_eval_seconds = self.clock() - started
        self._eval_seconds = 0.0  # the starting evaluation is not part of the training time
        self._start = self.clock()
        while self.step < self.total_steps:
            reason = self._stop_reason(stop_event)
            if reason is not None:
                return reason
            self._train_step(optimizer, schedule)
            if len(self._pending) >= flush_every:
                yield from self._flush()
            yield from self._fit_to_time()
            if self._eval_due():
                yield from self._flush()
                self._evals_in_run += 1
                if self.world.is_main:
                    yield self._eval_event()
        yield from self._report_plan()  # the last small change of plan too, so the log says where the run ended
        return "finished", ""

    def _last_look(self) -> Iterator[Event]:
        """The pending steps, and a held-out evaluation at the last step unless one was just made."""
        yield from self._flush()
        last = self.log[-1] if self.log else None
        if self.world.is_main and self.step > 0 and not (isinstance(last, EvalEvent) and last.step == self.step):
            yield self._eval_event()

    def run(self, stop_event: StopFlag | None = None) -> Iterator[Event]:
        """Train, yielding events; a stop request or an error ends the run with an EndEvent, keeping the log."""
        stop_event = stop_event or threading.Event()
        torch.manual_seed(self.config.seed + self.world.rank)  # dropout masks: same seed, same curve
        self.model.train()
        yield self._emit(self._start_event())
        self._start, self._eval_seconds = self.clock(), 0.0
        try:
            status, message = yield from self._steps(stop_event)
        except Exception as err:
            status, message = "error", failure_message(err, self.step + 1)
            self._pending.clear()
        if status != "error":
            try:
                yield from self._last_look()
            except Exception as err:
                status, message = "error", f"Final evaluation failed: {err.__class__.__name__}: {err}"
        self.model.eval()
        yield self._emit(EndEvent(status, self.step, self.clock() - self._start, message))
