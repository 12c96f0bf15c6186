"""Methods card: what a researcher writes in a paper's methods section about a run, and re-running it.

Owns: the card of a run (data and its size, every preprocessing step in order, model and settings,
epochs, seed, threads, device, software versions, evaluation scores with their coverage), as a
pasteable paragraph, as Markdown and as JSON; whether a re-run can be bit-identical (one thread on the
CPU) or only statistically equal; and the re-run itself (`plan_rerun` -> `rebuild_corpus` ->
`check_rebuilt`), which the CLI's `rerun` and the app's "Re-run from this card" both use.
Everything comes from the run folder alone (run.json, the metrics, stored evaluations): a card never
needs the data, and a re-run checks the data's fingerprint before it trains.
Leaves out: computing evaluations (`w2v_core.evaluation`) and training (`w2v_core.trainer`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from w2v_core.config import LOSS_LABELS, MODEL_LABELS, OPTIMIZER_LABELS, TrainConfig
from w2v_core.errors import RunFolderError, W2VError
from w2v_core.run_folder import RunFolder

CARD_FORMAT = 1


# ---- re-running -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RerunPlan:
    """What rebuilding a run needs, read from its run.json."""

    run_name: str
    config: TrainConfig
    data: dict[str, Any]  # run.json's data description
    vocab_size: int
    n_tokens: int

    @property
    def from_spec(self) -> bool:
        """Made through the app's data path (a `DataSpec`), not from a pre-tokenised file."""
        return bool(self.data.get("spec"))

    def spec_and_preprocessing(self):
        """(DataSpec, PreprocessConfig) to rebuild the corpus with (`from_spec` runs only)."""
        from w2v_core.preprocess import PreprocessConfig
        from w2v_core.sources import DataSpec

        return DataSpec.from_dict(self.data["spec"]), PreprocessConfig.from_dict(
            self.data.get("preprocess") or {}
        )


def plan_rerun(run: RunFolder, threads: int | None = None) -> RerunPlan:
    """The plan to rebuild `run`; `threads` overrides the thread count (1: bit-identical)."""
    info = run.info()
    config = run.config()
    if threads:
        config = config.replace(threads=threads)
    data = info.get("data") or {}
    if not data.get("spec") and not (data.get("source") == "file" and data.get("path")):
        raise RunFolderError(
            f"run.json of run '{run.name}' does not say where its data came from (it was made by "
            "an older version), so it cannot be re-run."
        )
    return RerunPlan(
        run.name, config, data, int(info.get("vocab_size") or -1), int(info.get("n_tokens") or -1)
    )


def plan_study_rerun(study_path: str | Path) -> RerunPlan:
    """The plan to rebuild a study's full corpus (its members are then drawn as the study did)."""
    from w2v_core.stability import Study

    study = Study.open(study_path)
    info = study.info()
    data = dict(info.get("data") or {})
    data.pop("study", None)
    if not data.get("spec") and not (data.get("source") == "file" and data.get("path")):
        raise RunFolderError(
            f"study.json of study '{study.name}' does not say where its data came from, so it "
            "cannot be re-run."
        )
    return RerunPlan(
        study.name,
        TrainConfig.from_dict(info["config"]),
        data,
        int(info.get("vocab_size") or -1),
        int(info.get("n_tokens") or -1),
    )


def file_fingerprint(path: Path) -> str:
    """SHA-256 of a file's bytes (what a pre-tokenised corpus file's runs record)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_file_data(path: Path, min_count: int, max_vocab: int | None):
    """Vocabulary, corpus and run.json `data` of a pre-tokenised text file."""
    from w2v_core.corpus import build_from_text_file

    vocab, corpus = build_from_text_file(path, min_count, max_vocab)
    data = {
        "source": "file",
        "format": "tokenised text",
        "path": str(Path(path).resolve()),
        "fingerprint": file_fingerprint(path),
        "min_count": min_count,
        "max_vocab_size": max_vocab,
    }
    return vocab, corpus, data


def rebuild_corpus(plan: RerunPlan):
    """(vocab, corpus, data) rebuilt from the original data, checked by fingerprint: a plain
    `W2VError` when the data is missing or changed."""
    if plan.from_spec:
        from w2v_core.preprocess import prepare_corpus

        spec, preprocessing = plan.spec_and_preprocessing()
        result = prepare_corpus(
            spec, preprocessing, expected_fingerprint=plan.data.get("fingerprint")
        )
        vocab, corpus, data = result.vocab, result.corpus, result.data_description()
    else:
        path = Path(plan.data["path"])
        if not path.is_file():
            raise RunFolderError(
                f"The corpus file of run '{plan.run_name}' is missing: {path}. Put it back at that "
                "path to re-run."
            )
        if plan.data.get("fingerprint") and file_fingerprint(path) != plan.data["fingerprint"]:
            raise RunFolderError(
                f"The corpus file {path} has changed since run '{plan.run_name}' was made (its "
                "fingerprint differs), so a re-run would not be the same run."
            )
        vocab, corpus, data = corpus_file_data(
            path, int(plan.data.get("min_count") or 5), plan.data.get("max_vocab_size")
        )
    vocab, corpus = bootstrap_sample_of(plan, vocab, corpus)
    check_rebuilt(plan, vocab, corpus)
    return vocab, corpus, data


def bootstrap_sample_of(plan: RerunPlan, vocab, corpus):
    """A bootstrap member of a study trained on a sample of the documents: draw the same sample
    (saved in the study folder) from the rebuilt full corpus."""
    study = plan.data.get("study") or {}
    if not study.get("bootstrap"):
        return vocab, corpus
    from w2v_core.stability import Study, bootstrap_corpus

    try:
        member_study = Study.open(study["folder"])
        member = next(m for m in member_study.members() if m.index == int(study["member"]))
        documents = member_study.sample_documents(member)
    except (W2VError, KeyError, StopIteration, OSError, ValueError):
        documents = None
    if documents is None:
        raise RunFolderError(
            f"Run '{plan.run_name}' was trained on a bootstrap sample of the documents, and that "
            f"sample's record (in the study folder {study.get('folder')}) is gone, so it cannot be "
            "drawn again."
        )
    pre = plan.data.get("preprocess") or {}
    min_count = int(pre.get("min_count") or plan.data.get("min_count") or 1)
    max_vocab = pre.get("max_vocab_size") or plan.data.get("max_vocab_size")
    return bootstrap_corpus(vocab, corpus, documents, min_count, max_vocab)


def check_rebuilt(plan: RerunPlan, vocab, corpus) -> None:
    """The rebuilt corpus must be the original's: same vocabulary and token counts."""
    if len(vocab) != plan.vocab_size or corpus.n_tokens != plan.n_tokens:
        raise RunFolderError(
            f"Rebuilding the corpus of run '{plan.run_name}' gave {len(vocab):,} words and "
            f"{corpus.n_tokens:,} tokens, not the {plan.vocab_size:,} and {plan.n_tokens:,} it had: "
            "the data or the preprocessing code has changed."
        )


def rerun_data(plan: RerunPlan, data: dict[str, Any], original: RunFolder) -> dict[str, Any]:
    return {**data, "rerun_of": str(original.path.resolve())}


def can_be_bit_identical(plan: RerunPlan, original_threads: int | None) -> bool:
    """One thread on the CPU, for the original and the re-run: Hogwild threads race otherwise."""
    return original_threads == 1 and plan.config.cpu_threads == 1


# ---- the card -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MethodsCard:
    """A run's methods card: `facts` (the JSON), `paragraph()` and `to_markdown()`."""

    facts: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(self.facts, indent=2, ensure_ascii=False) + "\n"

    def paragraph(self) -> str:
        f = self.facts
        if f.get("kind") == "study" and f.get("paragraph"):
            return f["paragraph"]
        data, model, run = f["data"], f["model"], f["training"]
        steps = "; ".join(f["preprocessing"]) or "no preprocessing"
        parts = [
            f"We trained word2vec ({model['summary']}) on {data['description']}.",
            f"The text was preprocessed as follows: {steps}.",
            f"This left {data['n_tokens']:,} tokens in {data['n_documents']:,} documents and a "
            f"vocabulary of {data['vocab_size']:,} words.",
            f"Training ran for {run['epochs_done']} epoch(s) ({run['schedule']}) with seed "
            f"{run['seed']} on {run['device']} using {run['threads_text']}.",
            run["reproducibility"],
        ]
        evaluation = f.get("evaluation")
        if evaluation:
            parts.append(f"On the English benchmarks the {evaluation['text']}.")
        parts.append(f"Software: {f['software_text']}.")
        return " ".join(parts)

    def to_markdown(self) -> str:
        f = self.facts
        lines = [
            f"# Methods card: {_md(f['title'])}",
            "",
            _md(self.paragraph()),
            "",
            "## Data",
            f"- Source: {_md(f['data']['description'])}",
            f"- Fingerprint (SHA-256): `{f['data']['fingerprint'] or 'not recorded'}`",
            f"- {f['data']['n_documents']:,} documents, {f['data']['n_tokens']:,} tokens, "
            f"{f['data']['vocab_size']:,} words in the vocabulary",
            "",
            "## Preprocessing, in order",
            *[f"{i}. {_md(step)}" for i, step in enumerate(f["preprocessing"], 1)],
            "",
            "## Model and training",
            *[f"- {_md(k)}: {_md(str(v))}" for k, v in f["settings"].items()],
            "",
            "## Reproducing it",
            f"- {_md(f['training']['reproducibility'])}",
            f"- `{f['rerun_command']}`",
            "",
            "## Software",
            *[f"- {_md(k)} {_md(str(v))}" for k, v in f["software"].items()],
        ]
        design = f.get("study_design")
        if design:
            lines += ["", "## Study design", f"- {design['runs']} runs, seeds {design['seeds']}"]
            lines.append(
                f"- bootstrap samples of the documents: {'yes' if design['bootstrap'] else 'no'}"
            )
        stability = f.get("stability")
        if stability:
            lines += ["", "## Stability across runs"]
            if "error" in stability:
                lines.append(f"- {_md(stability['error'])}")
            else:
                lines += [
                    f"- mean Jaccard@{stability['k']} of nearest neighbours over run pairs: "
                    f"{stability['mean_jaccard']:.3f} ({stability['words_scored']:,} words)",
                    f"- words with low stability (below {stability['low_threshold']}): "
                    f"{stability['share_low']:.0%}",
                    f"- {_md(stability['vocabulary_note'])}",
                ]
        evaluation = f.get("evaluation")
        if evaluation:
            lines += ["", f"## Evaluation ({_md(str(evaluation['epoch']))})"]
            lines += [f"- {_md(row)}" for row in evaluation["rows"]]
        return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Markdown-safe: a card is pasted into documents, so user text must not become markup."""
    return "".join("\\" + c if c in "\\`*_[]<>|~" else c for c in str(text))


CHAR_FILTER_STEPS = {
    "blog": "only the letters a-z, @ and # kept, every other character deleted (the blog's filter)",
    "letters": "words made of letters of any alphabet, with inner apostrophes; digits and "
    "punctuation separate words",
    "none": "split at whitespace only, every character kept",
}


def preprocessing_steps(pre: dict[str, Any], stopword_list: str | None) -> list[str]:
    """The preprocessing of run.json's `data.preprocess`, one plain step each, in the order the
    pipeline applies them (`w2v_core.preprocess.pipeline`)."""
    if not pre:
        return []
    steps = []
    if pre.get("lowercase"):
        steps.append("lowercased")
    else:
        steps.append("case kept")
    placeholders = [
        name
        for name, key in (("web addresses", "normalize_urls"), ("numbers", "normalize_numbers"))
        if pre.get(key)
    ]
    if pre.get("normalize_mentions"):
        placeholders.append("@names")
    if placeholders:
        steps.append(f"{' and '.join(placeholders)} replaced by placeholder tokens")
    char_filter = pre.get("char_filter", "letters")
    if char_filter == "custom":
        steps.append(f"words matched by the regular expression {pre.get('custom_pattern')!r}")
    else:
        steps.append(CHAR_FILTER_STEPS.get(char_filter, char_filter))
    low, high = pre.get("min_token_length") or 1, pre.get("max_token_length")
    if low > 1 or high:
        limits = f"at least {low} character(s)" if low > 1 else ""
        if high:
            limits = (limits + " and " if limits else "") + f"at most {high} characters"
        steps.append(f"words kept only with {limits}")
    language = pre.get("stopwords_language")
    if language:
        lists = {
            "nltk": f"NLTK's {language.capitalize()} stopword list",
            "scikit-learn": "scikit-learn's English stopword list (NLTK's data was not installed)",
        }
        unknown = (
            f"the {language.capitalize()} stopword list (NLTK's, or scikit-learn's where NLTK's "
            "data was missing; not recorded by this older run)"
        )
        steps.append(f"{lists.get(stopword_list or '', unknown)} removed")
    if pre.get("extra_stopwords"):
        steps.append(f"also removed: {', '.join(pre['extra_stopwords'])}")
    if pre.get("phrases"):
        steps.append(
            f"frequent word pairs joined into phrases (gensim's Phrases scoring, threshold "
            f"{pre.get('phrase_threshold')}, min count {pre.get('phrase_min_count')})"
        )
    if pre.get("stem_language"):
        steps.append(f"Snowball stemmer ({pre['stem_language']})")
    cut = f"words seen fewer than {pre.get('min_count', 5)} times dropped"
    if pre.get("max_vocab_size"):
        cut += f", then at most the {pre['max_vocab_size']:,} most frequent kept"
    steps.append(cut)
    return steps


def run_card(run: RunFolder | str | Path) -> MethodsCard:
    """The methods card of one run, from its folder alone."""
    run = run if isinstance(run, RunFolder) else RunFolder.open(run)
    info = run.info()
    config = run.config()
    data = info.get("data") or {}
    state = run.state()
    threads = info.get("threads_used")
    on_cpu = str(info.get("device") or "").startswith("CPU")
    if threads == 1 and on_cpu:
        reproducibility = "It was trained on one CPU thread: a re-run gives bit-identical vectors."
    else:
        reproducibility = (
            "Several threads updated the vectors without locks (Hogwild, as in word2vec.c and "
            "gensim), so a re-run is statistically equal but not bit-identical; one thread gives "
            "bit-identical vectors."
        )
    loss = LOSS_LABELS[config.loss]
    if config.loss == "negative":
        loss += f" with {config.negative} noise words (unigram^{config.ns_exponent:g})"
    summary = (
        f"{MODEL_LABELS[config.model]}, {loss}, {config.dim} dimensions, window up to "
        f"{config.window}, subsampling {config.sample:g}"
        if config.sample
        else f"{MODEL_LABELS[config.model]}, {loss}, {config.dim} dimensions, window up to "
        f"{config.window}, no subsampling"
    )
    if config.optimizer == "sgd":
        schedule = (
            f"SGD, learning rate {config.learning_rate:g} decaying linearly to "
            f"{config.learning_rate * config.min_lr_fraction:g}"
        )
    else:
        schedule = f"{OPTIMIZER_LABELS[config.optimizer]}, learning rate {config.learning_rate:g}"
        if config.optimizer == "adamw":
            schedule += f", weight decay {config.weight_decay:g}"
    software = dict(info.get("library_versions") or {})
    facts: dict[str, Any] = {
        "card_format": CARD_FORMAT,
        "kind": "run",
        "title": str(info.get("name") or run.name),
        "run": run.name,
        "status": state.status.value,
        "data": {
            "description": _data_description(data),
            "fingerprint": data.get("fingerprint"),
            "n_rows": data.get("n_rows") or data.get("n_documents_in"),
            "n_documents": int(info.get("n_documents") or 0),
            "n_tokens": int(info.get("n_tokens") or 0),
            "vocab_size": int(info.get("vocab_size") or 0),
        },
        "preprocessing": preprocessing_steps(
            data.get("preprocess") or {}, data.get("stopword_list")
        )
        if data.get("preprocess")
        else _file_preprocessing(data),
        "model": {"summary": summary},
        "settings": {
            "model": MODEL_LABELS[config.model],
            "loss": LOSS_LABELS[config.loss],
            "negative": config.negative if config.loss == "negative" else None,
            "dimensions": config.dim,
            "window": config.window,
            "subsampling threshold": config.sample,
            "optimizer": OPTIMIZER_LABELS[config.optimizer],
            "learning rate": config.learning_rate,
            "epochs planned": config.epochs,
            "epochs done": state.epochs_done,
            "batch size": config.batch_size if info.get("engine") == "batched-torch" else None,
            "seed": config.seed,
            "threads": threads,
            "device": info.get("device"),
            "engine": info.get("engine"),
        },
        "training": {
            "epochs_done": state.epochs_done,
            "schedule": schedule,
            "seed": config.seed,
            "device": info.get("device") or "a device not recorded",
            "threads": threads,
            "threads_text": "one thread"
            if threads == 1
            else f"{threads} threads"
            if threads
            else "all cores",
            "reproducibility": reproducibility,
            "bit_identical_rerun": threads == 1 and on_cpu,
        },
        "software": software,
        "software_text": ", ".join(f"{k} {v}" for k, v in software.items()) or "not recorded",
        "rerun_command": f"python -m w2v_core rerun {run.path} --out NEW_RUN_DIR"
        + (" --threads 1" if threads == 1 else ""),
        "settings_json": config.to_dict(),
        "preprocess_json": data.get("preprocess"),
    }
    facts["settings"] = {k: v for k, v in facts["settings"].items() if v is not None}
    evaluation = _evaluation_facts(run)
    if evaluation:
        facts["evaluation"] = evaluation
    facts["paragraph"] = MethodsCard(facts).paragraph()
    return MethodsCard(facts)


def _data_description(data: dict[str, Any]) -> str:
    from w2v_core.jobs import describe_data

    name = describe_data(data)
    spec = data.get("spec") or {}
    source = data.get("source")
    kind = spec.get("kind") or (source.get("kind") if isinstance(source, dict) else None)
    where = {
        "builtin": "a corpus built into the studio",
        "hub": "a Hugging Face data set",
        "upload": "an uploaded file",
        "file": "a local file",
    }.get(kind or "", "a pre-tokenised text file" if data.get("path") else "")
    column = f", text column '{spec['text_column']}'" if spec.get("text_column") else ""
    rows = data.get("n_rows")
    size = f", {rows:,} rows" if isinstance(rows, int) else ""
    return f"{name} ({where}{column}{size})" if where else f"{name}{column}{size}"


def _file_preprocessing(data: dict[str, Any]) -> list[str]:
    if data.get("source") != "file":
        return []
    return [
        "already tokenised by the user (split at whitespace, used as is)",
        f"words seen fewer than {data.get('min_count', 5)} times dropped",
    ]


def _evaluation_facts(run: RunFolder) -> dict[str, Any] | None:
    """The newest stored evaluation of the input vectors (scores with their coverage), if any."""
    from w2v_core.evaluation import stored_evaluations

    records = [r for r in stored_evaluations(run, "input") if r.error is None]
    if not records:
        return None
    latest = records[-1]
    rows, clauses = [], []
    for name, result in latest.benchmarks():
        if result is None:
            continue
        if result.message is None:
            rows.append(f"{name}: {result.score_text} ({result.coverage})")
            clauses.append(f"{result.score_text} on {name} ({result.coverage})")
        else:
            rows.append(f"{name}: {result.message}")
    epoch = "where it stopped" if latest.epoch == "stopped" else f"epoch {latest.epoch}"
    text = (
        f"input vectors after {epoch} scored " + "; ".join(clauses)
        if clauses
        else "benchmarks had too few known words to give a score"
    )
    return {
        "epoch": epoch,
        "vectors": latest.kind,
        "text": text,
        "rows": rows,
        "scores": latest.to_dict(),
        "note": "The English benchmarks measure general-language similarity; a specialised "
        "corpus can be right and still score low.",
    }


def methods_card(path: str | Path) -> MethodsCard:
    """The card of a run folder, or of a study folder when `w2v_core.stability` knows it as one."""
    path = Path(path)
    if (path / "run.json").is_file():
        return run_card(path)
    study_card = _study_card(path)
    if study_card is not None:
        return study_card
    raise RunFolderError(f"'{path}' is neither a run folder (no run.json) nor a study folder.")


def _study_card(path: Path) -> MethodsCard | None:
    """The card of a stability study: the members' common card, the seeds, the bootstrap, and how
    stable the neighbourhoods were across the runs."""
    from w2v_core.stability import LOW_STABILITY, Study, load_study_vectors, study_report

    try:
        study = Study.open(path)
        info = study.info()
        members = study.members()
    except W2VError:
        return None
    finished = [m for m in members if (m.path / "run.json").is_file()]
    if not finished:
        raise RunFolderError(f"The runs of study '{study.name}' are missing.")
    base = run_card(finished[0].path).facts
    seeds = [m.seed for m in members]
    bootstrap = bool(info.get("bootstrap"))
    facts = {**base, "kind": "study", "title": study.title, "run": None, "study": study.name}
    facts["settings"] = {**base["settings"], "seed": f"{seeds[0]} to {seeds[-1]}"}
    facts["study_design"] = {
        "runs": len(members),
        "seeds": seeds,
        "bootstrap": bootstrap,
        "members": [m.name for m in members],
    }
    design = f"{len(members)} runs with seeds {seeds[0]}-{seeds[-1]}" + (
        ", each on a bootstrap sample of the documents (drawn with replacement)"
        if bootstrap
        else ""
    )
    stability_text = None
    try:
        vectors = load_study_vectors(study)
        report = study_report(vectors, k=10)
        mean = float(report.stability.mean()) if len(report.words) else float("nan")
        facts["stability"] = {
            "runs_compared": vectors.n_runs,
            "k": report.k,
            "words_scored": len(report.words),
            "shared_vocabulary": vectors.shared_size,
            "mean_jaccard": mean,
            "share_low": report.share_low(),
            "low_threshold": LOW_STABILITY,
            "vocabulary_note": vectors.vocabulary_note(),
        }
        stability_text = (
            f"Across the {vectors.n_runs} finished runs, a word's 10 nearest neighbours overlapped "
            f"by a mean Jaccard@10 of {mean:.2f} over run pairs ({len(report.words):,} words "
            f"scored); {report.share_low():.0%} of them had low stability (below {LOW_STABILITY})."
        )
    except W2VError as error:
        facts["stability"] = {"error": str(error)}
    card = MethodsCard(facts)
    paragraph = (
        card.paragraph()
        .replace("We trained word2vec (", f"We trained word2vec {design} (", 1)
        .replace(f"with seed {base['training']['seed']} ", f"with seeds {seeds[0]}-{seeds[-1]} ", 1)
    )
    if stability_text:
        paragraph += " " + stability_text
    facts["paragraph"] = paragraph
    facts["rerun_command"] = (
        f"python -m w2v_core stability --data ... --seeds {len(members)}"
        + (" --bootstrap" if bootstrap else "")
        + " --out NEW_STUDY_DIR (the same settings; see settings_json)"
    )
    return MethodsCard(facts)
