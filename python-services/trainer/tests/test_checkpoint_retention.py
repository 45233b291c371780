"""Checkpoint retention: the job's TrainingArguments keep the last SAVE_TOTAL_LIMIT checkpoints, and
transformers' rotation with that limit deletes the oldest while the newest (the resume point) and
the one before it stay."""
from pathlib import Path

from transformers.trainer_utils import rotate_checkpoints

from medtune_trainer.backends import common


def test_sft_args_carry_the_limit_and_it_keeps_the_resume_point(tmp_path: Path) -> None:
    assert common.SAVE_TOTAL_LIMIT >= 2
    import inspect

    assert "save_total_limit=SAVE_TOTAL_LIMIT" in inspect.getsource(common.sft_config_kwargs)
    for step in (10, 20, 30, 40, 50, 60):
        d = tmp_path / f"checkpoint-{step}"
        d.mkdir()
        (d / "adapter_model.safetensors").write_bytes(b"x" * step)
    rotate_checkpoints(str(tmp_path), save_total_limit=common.SAVE_TOTAL_LIMIT, use_mtime=False)
    left = sorted(int(p.name.split("-")[1]) for p in tmp_path.iterdir())
    assert left == [10, 20, 30, 40, 50, 60][-common.SAVE_TOTAL_LIMIT :]
    assert (tmp_path / "checkpoint-60" / "adapter_model.safetensors").read_bytes() == b"x" * 60
