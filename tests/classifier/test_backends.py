"""The ONNX Runtime backend against the PyTorch reference, the export cache and the window
tokenizer."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation.backends import default_backend
from moderation.errors import ModelLoadError
from moderation.export import cache_dir, cached_graph, graph_key
from moderation.modeldir import read_model_info
from moderation.scorer import Scorer, plan_calls
from tests.tiny_model import toy_rows

# Longer than the toy model's 32-token windows, so several windows per text are merged.
LONG = " ".join(r["text"] for r in toy_rows(6, 7))
TOY_TEXTS = [r["text"] for r in toy_rows(40, 5)] + [LONG, "", "vile", "idiot " * 40]


def _outputs(scorer: Scorer, texts: list[str]) -> tuple[np.ndarray, list]:
    raw = scorer.raw_batch(texts)
    return np.stack([scorer.calibrate(r.logits) for r in raw]), raw


def test_onnx_runtime_is_the_default_backend_where_installed(
    toy_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default_backend() == "onnx"
    assert Scorer(toy_model).backend.name == "onnx-int8"
    # Without ONNX Runtime (its import fails, as when it is not installed) the reference runs.
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert default_backend() == "torch"
    assert Scorer(toy_model).backend.name == "torch"


def test_onnx_fp32_matches_torch(toy_model: Path) -> None:
    torch_scores, torch_raw = _outputs(Scorer(toy_model, backend="torch"), TOY_TEXTS)
    onnx_scores, onnx_raw = _outputs(Scorer(toy_model, backend="onnx", precision="fp32"), TOY_TEXTS)
    np.testing.assert_allclose(onnx_scores, torch_scores, atol=1e-4)
    for a, b in zip(torch_raw, onnx_raw, strict=True):
        np.testing.assert_array_equal(a.offsets, b.offsets)
        np.testing.assert_allclose(a.token_probs, b.token_probs, atol=1e-4)
    # The toy model learnt its task, so the comparison is between informative scores.
    assert torch_scores[:, 0].max() - torch_scores[:, 0].min() > 0.5


def test_onnx_int8_close_to_torch_and_same_spans(toy_model: Path) -> None:
    reference = Scorer(toy_model, backend="torch")
    fast = Scorer(toy_model, backend="onnx")
    assert fast.backend.name == "onnx-int8"
    np.testing.assert_allclose(_outputs(fast, TOY_TEXTS)[0], _outputs(reference, TOY_TEXTS)[0], atol=0.03)
    text = "people walk along the river you vile idiot"
    assert reference.score(text).spans  # the comparison below is between real spans
    assert [s.to_dict()["label"] for s in fast.score(text).spans] == \
        [s.to_dict()["label"] for s in reference.score(text).spans]


def test_int8_score_does_not_depend_on_what_shares_the_call(toy_model: Path) -> None:
    # Activations are quantised per token, so a text's int8 score is the same alone and in a
    # batch with louder, longer texts (a scale per call would let them coarsen its tokens).
    alone = Scorer(toy_model, backend="onnx", batch_size=1)
    batched = Scorer(toy_model, backend="onnx", batch_size=64)
    texts = [*TOY_TEXTS[:12], "idiot " * 40, LONG]
    np.testing.assert_allclose(_outputs(batched, texts)[0], _outputs(alone, texts)[0], atol=1e-5)
    # The graph is really int8: its scores are close to the float reference but not equal.
    reference = _outputs(Scorer(toy_model, backend="onnx", precision="fp32"), texts)[0]
    assert 0 < np.abs(_outputs(alone, texts)[0] - reference).max() < 0.03


def test_int8_graph_is_integer_and_keeps_the_heads_in_float(toy_model: Path) -> None:
    import onnx

    graph = onnx.load(str(cached_graph(read_model_info(toy_model), "int8"))).graph
    ops = [node.op_type for node in graph.node]
    matmuls = [node for node in graph.node if node.op_type == "MatMul"]
    assert "MatMulIntegerToFloat" in ops and "QuantizeLinear" in ops
    # Only the heads and the attention products (activation x activation) stay float.
    weights = {init.name for init in graph.initializer}
    assert all("_head" in node.name for node in matmuls if node.input[1] in weights)
    int8 = [init for init in graph.initializer if init.data_type == onnx.TensorProto.INT8]
    assert int8 and all(np.abs(onnx.numpy_helper.to_array(w)).max() <= 63 for w in int8)


def test_padding_does_not_change_a_text_score(toy_model: Path) -> None:
    # Batched with longer texts (so padded) or alone, a text scores the same: the exported
    # graph honours the attention mask instead of assuming no padding.
    scorer = Scorer(toy_model, backend="onnx", precision="fp32", batch_size=64)
    alone = scorer.raw_batch(["vile"])[0].logits
    padded = scorer.raw_batch(["vile", LONG, TOY_TEXTS[0]])[0].logits
    np.testing.assert_allclose(alone, padded, atol=1e-5)


def test_export_is_cached_by_content(toy_model: Path, tmp_path: Path) -> None:
    info = read_model_info(toy_model)
    path = cached_graph(info, "int8")
    assert path.is_file() and path.parent.parent == cache_dir()
    stamp = path.stat().st_mtime_ns
    Scorer(toy_model, backend="onnx")
    assert path.stat().st_mtime_ns == stamp  # reused, not exported again
    assert not list(path.parent.glob(".export-*"))  # no work files left behind

    changed = tmp_path / "changed"
    shutil.copytree(toy_model, changed)
    heads = changed / "heads.safetensors"
    heads.write_bytes(heads.read_bytes()[:-4] + b"\x00\x00\x80\x3f")  # one weight changed
    assert graph_key(read_model_info(changed), "int8") != graph_key(info, "int8")
    # Thresholds and calibration do not enter the graph, so changing them keeps the export.
    before = graph_key(read_model_info(changed), "int8")
    labels = changed / "labels.json"
    data = json.loads(labels.read_text())
    first = next(iter(data["labels"]))
    data["labels"][first]["threshold"] = 0.123
    labels.write_text(json.dumps(data))
    assert read_model_info(changed).labels[0].threshold == 0.123
    assert graph_key(read_model_info(changed), "int8") == before


def test_export_command_writes_a_graph(toy_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "toy.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "moderation.cli", "export", "--model", str(toy_model), "--precision",
         "fp32", "-o", str(out)], capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    import onnx

    graph = onnx.load(str(out))
    assert [i.name for i in graph.graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.graph.output] == ["sequence_logits", "token_logits"]


def test_unknown_backend_is_a_clear_error(toy_model: Path) -> None:
    with pytest.raises(ModelLoadError, match="backend must be one of"):
        Scorer(toy_model, backend="tensorrt")
    with pytest.raises(ModelLoadError, match="precision must be one of"):
        Scorer(toy_model, backend="onnx", precision="int4")


def test_window_tokenizer_matches_transformers(tiny_base: Path) -> None:
    from moderation import compat
    from moderation.windows import WindowTokenizer

    texts = [*TOY_TEXTS, "Vile   river, idiot!", "ünïcode café bread"]
    reference = compat.load_tokenizer(tiny_base)(
        texts, truncation=True, max_length=16, stride=4, return_overflowing_tokens=True,
        return_offsets_mapping=True, padding=False)
    windows = WindowTokenizer(tiny_base, 16, 4).windows(texts)
    assert [w.owner for w in windows] == list(reference["overflow_to_sample_mapping"])
    assert [w.ids.tolist() for w in windows] == reference["input_ids"]
    assert [[tuple(o) for o in w.offsets.tolist()] for w in windows] == \
        [[tuple(o) for o in offsets] for offsets in reference["offset_mapping"]]
    assert len(windows) > len(texts)  # some texts did take several windows


def test_unwritable_cache_is_a_clear_error(toy_model: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from moderation.export import CACHE_ENV

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    with pytest.raises(ModelLoadError, match=f"set {CACHE_ENV} to a writable directory"):
        Scorer(toy_model, backend="onnx")


def _slowest(lengths: list[int], calls: list[tuple[int, int]]) -> int:
    return max((end - start) * lengths[end - 1] for start, end in calls)


def _best_cut(lengths: list[int], size: int, lanes: int) -> int:
    """The slowest call of the best cut into at most ``lanes`` calls, by trying every cut."""
    n = len(lengths)
    best = None
    for cuts in itertools.chain.from_iterable(itertools.combinations(range(1, n), k) for k in range(lanes)):
        bounds = [0, *cuts, n]
        calls = list(itertools.pairwise(bounds))
        if all(end - start <= size for start, end in calls):
            cost = _slowest(lengths, calls)
            best = cost if best is None else min(best, cost)
    assert best is not None
    return best


@given(st.lists(st.integers(3, 96), min_size=1, max_size=12), st.integers(1, 8), st.integers(1, 3))
def test_model_calls_cover_every_window_and_balance_a_small_batch(lengths: list[int], size: int,
                                                                  lanes: int) -> None:
    lengths.sort()
    calls = plan_calls(lengths, size, lanes)
    assert calls[0][0] == 0 and calls[-1][1] == len(lengths)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(calls))  # contiguous, in order
    assert all(0 < end - start <= size for start, end in calls)
    if lanes > 1 and len(lengths) <= size * lanes:
        # One round: no lane waits for a second call, and the slowest call is as short as can be.
        assert len(calls) <= lanes
        assert _slowest(lengths, calls) == _best_cut(lengths, size, lanes)
    else:
        assert [end - start for start, end in calls[:-1]] == [size] * (len(calls) - 1)


def test_a_small_batch_is_cut_by_padded_tokens_not_by_count() -> None:
    lengths = [10, 15, 20, 30, 40, 55, 65, 75]
    assert plan_calls(lengths, 8, 2) == [(0, 5), (5, 8)]  # 5 x 40 and 3 x 75 tokens, not 4 x 75
