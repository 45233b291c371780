"""Generate follows the model's generation_config.json when asked (the seed's model.generate():
sampling, temperature 0.6, top_p 0.95 for this family), with the seed fixed, and reports what it
applied; without the flag, unset temperature stays greedy."""

from medtune.common.v1 import common_pb2 as c
from medtune.trainer.v1 import trainer_pb2 as t


def _run(stub, model_dir, **kw):
    req = t.GenerateRequest(model=t.InferenceModel(base_model=str(model_dir), load_in_4bit=False), prompts=["胸痛伴呕吐的患者"], **kw)
    return list(stub.Generate(req, timeout=300))


def test_model_generation_config_is_applied_and_reported(stub, tiny_model):
    params = c.GenerationParams(max_new_tokens=6, seed=8137)
    a = _run(stub, tiny_model, params=params, use_model_generation_config=True)
    assert a[0].sampled and abs(a[0].temperature - 0.6) < 1e-9 and abs(a[0].top_p - 0.95) < 1e-9
    assert _run(stub, tiny_model, params=params, use_model_generation_config=True)[0].text == a[0].text  # seed fixed
    greedy = _run(stub, tiny_model, params=params)
    assert not greedy[0].sampled and greedy[0].temperature == 0
    pinned = _run(stub, tiny_model, params=c.GenerationParams(max_new_tokens=6, temperature=0), use_model_generation_config=True)
    assert not pinned[0].sampled  # an explicit temperature wins over the model's config
