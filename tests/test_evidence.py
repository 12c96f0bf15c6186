"""Evidence from the texts (`w2v_core.evidence`) and the `kwic` command, on corpora worked by hand."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from app_support import cli, make_run
from evidence_support import PLAIN, make_text_run

from w2v_core.cli import main
from w2v_core.config import TrainConfig
from w2v_core.corpus import build_from_text_file
from w2v_core.errors import SourceError, UnknownWordError
from w2v_core.evidence import RemovedWordError, RunEvidence
from w2v_core.preprocess import PreprocessConfig
from w2v_core.preprocess.tokens import Splitter
from w2v_core.run_folder import RunFolder
from w2v_core.sources import DataSpec
from w2v_core.sources.spec import upload_path

THREE_DOCUMENTS = [
    "The cat sat on the mat. The cat slept.",
    "A dog chased the cat!",
    "Dogs and cats: no cat here? Just a dog.",
]


@pytest.fixture()
def three(tmp_path: Path) -> RunEvidence:
    return RunEvidence(make_text_run(tmp_path / "three", THREE_DOCUMENTS))


# ---- tokens with their place in the text -------------------------------------------------------------
TEXTS = [
    "Don't stop @bob at http://x.com/a?b=1 now, 3.5 times İstanbul café\u00a0naïve",
    "",
    "  a\tb\nc  ",
    "x—y (z) #tag 10,000 ΣΑΣ",
]


@pytest.mark.parametrize("char_filter", ["letters", "blog", "none", "custom"])
@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("placeholders", [True, False])
def test_split_with_spans_gives_the_tokens_of_split(
    char_filter: str, lowercase: bool, placeholders: bool
) -> None:
    config = PreprocessConfig(
        char_filter=char_filter,
        custom_pattern=r"\w+(?:'\w+)?" if char_filter == "custom" else "",
        lowercase=lowercase,
        normalize_urls=placeholders,
        normalize_numbers=placeholders,
        normalize_mentions=placeholders,
    )
    splitter = Splitter(config)
    for text in TEXTS:
        assert [token for token, _, _ in splitter.split_with_spans(text)] == splitter.split(text)


def test_spans_cover_the_characters_a_token_came_from() -> None:
    text = "Don't İstanbul, see http://x.org"
    splitter = Splitter(PreprocessConfig(char_filter="blog", normalize_urls=True))
    assert [text[s:e] for _, s, e in splitter.split_with_spans(text)] == [
        "Don't",  # the blog filter deletes the apostrophe inside: dont
        "İstanbul",  # İ lowercases to two characters
        "see",
        "http://x.org",  # <url>
    ]


# ---- a word ---------------------------------------------------------------------------------------
def test_kwic_on_three_documents_gives_exact_lines_and_counts(three: RunEvidence) -> None:
    """cat: twice in document 0, once in 1, once in 2 ('cats' is another word). Two words of
    context either side, counted in the text's own words (punctuation stays as written)."""
    found = three.kwic("cat", context=2)
    assert (found.occurrences, found.documents) == (4, 3)
    assert [p.plain() for p in found.passages] == [
        "The [[cat]] sat on",
        "mat. The [[cat]] slept",
        "chased the [[cat]]",
        "cats: no [[cat]] here? Just",
    ]
    assert [(p.document, p.row) for p in found.passages] == [(0, 0), (0, 0), (1, 1), (2, 2)]
    assert all(p.original for p in found.passages) and found.text_note is None
    assert [p.plain() for p in three.kwic("cat", limit=1, context=2).passages] == [
        "The [[cat]] sat on"
    ]
    assert three.document_text(2) == THREE_DOCUMENTS[2]


def test_kwic_marks_the_written_word_behind_a_stem_and_a_placeholder(tmp_path: Path) -> None:
    config = PreprocessConfig(
        stopwords_language=None, stem_language="english", normalize_numbers=True, min_count=1
    )
    evidence = RunEvidence(
        make_text_run(
            tmp_path / "stems", ["Running dogs run in 1990.", "He ran 3,000 miles"], config
        )
    )
    assert [p.plain() for p in evidence.kwic("run", context=1).passages] == [
        "[[Running]] dogs",
        "dogs [[run]] in",
    ]
    assert [p.plain() for p in evidence.kwic("<num>", context=1).passages] == [
        "in [[1990]]",
        "ran [[3,000]] miles",
    ]


def test_phrases_mark_both_words_of_the_phrase(tmp_path: Path) -> None:
    config = PreprocessConfig(
        stopwords_language=None, phrases=True, phrase_min_count=1, phrase_threshold=0.1,
        min_count=1,
    )  # fmt: skip
    lines = ["new york is big", "I love new york", "york new"] + [f"w{i} v{i}" for i in range(30)]
    evidence = RunEvidence(make_text_run(tmp_path / "phrases", lines, config))
    assert "new_york" in evidence.vocab
    assert [p.plain() for p in evidence.kwic("new_york", context=1).passages] == [
        "[[new york]] is",
        "love [[new york]]",
    ]


# ---- a word and a neighbour -------------------------------------------------------------------------
def test_pair_passages_and_shared_contexts_worked_by_hand(tmp_path: Path) -> None:
    """Window 2. Documents (positions): "a0 b1 c2 d3", "b0 x1 a2", "c0 a1 y2 b3".

    a and b are at most 2 apart once in each document: 3 co-occurrences in 3 documents.
    Contexts of a: doc 0 {b, c}, doc 1 {b, x}, doc 2 {c, y, b} -> b 3, c 2, x 1, y 1.
    Contexts of b: doc 0 {a, c, d}, doc 1 {x, a}, doc 2 {a, y} -> a 3, c 1, d 1, x 1, y 1.
    Shared (neither word itself): c min(2, 1) = 1, x 1, y 1; c first (seen 3 times in all),
    then x and y by vocabulary order; d is not a context of a.
    """
    evidence = RunEvidence(make_text_run(tmp_path / "pair", ["a b c d", "b x a", "c a y b"]))
    pair = evidence.pair("a", "b", context=1)
    assert (pair.window, pair.co_occurrences, pair.documents) == (2, 3, 3)
    assert [p.plain() for p in pair.passages] == [
        "[[a]] [[b]] c",
        "[[b]] x [[a]]",
        "c [[a]] y [[b]]",
    ]
    assert [[piece.mark for piece in p.pieces if piece.mark] for p in pair.passages] == [
        ["word", "other"],
        ["other", "word"],
        ["word", "other"],
    ]
    assert [(s.word, s.with_word, s.with_other) for s in pair.shared] == [
        ("c", 2, 1),
        ("x", 1, 1),
        ("y", 1, 1),
    ]


def test_words_further_apart_than_the_window_are_no_pair(tmp_path: Path) -> None:
    evidence = RunEvidence(make_text_run(tmp_path / "far", ["a x y b", "a b"], window=2))
    pair = evidence.pair("a", "b")
    assert (pair.co_occurrences, pair.documents) == (1, 1)  # only in "a b": 3 apart is too far
    assert [p.document for p in pair.passages] == [1]
    with pytest.raises(UnknownWordError):
        evidence.pair("a", "zebra")


# ---- bad input --------------------------------------------------------------------------------------
REMOVALS = PreprocessConfig(
    stopwords_language="english", extra_stopwords=("rt",), min_token_length=2, max_token_length=10,
    min_count=2,
)  # fmt: skip
REMOVAL_TEXT = [
    "The elephant walks by the river x rt",
    "The elephant sleeps by the river, a zebra watches supercalifragilistic",
]


@pytest.mark.parametrize(
    ("word", "step", "message"),
    [
        ("the", "stopwords", "'the' was removed by the stopwords step: it is on the english "),
        ("rt", "stopwords", "it is on your own stopwords"),
        ("x", "length limits", "words shorter than 2 characters are dropped"),
        ("supercalifragilistic", "length limits", "words longer than 10 characters are dropped"),
        ("zebra", "min_count", "'zebra' occurs 1 time in the text, fewer than min_count=2"),
        ("1990", "character filter", "the character filter ('letters') keeps no part of it"),
        ("river-side", "character filter", "splits 'river-side' into 'river', 'side'"),
    ],
)
def test_a_removed_word_names_the_step_that_removed_it(
    tmp_path: Path, word: str, step: str, message: str
) -> None:
    evidence = RunEvidence(make_text_run(tmp_path / "removed", REMOVAL_TEXT, REMOVALS))
    with pytest.raises(RemovedWordError) as caught:
        evidence.kwic(word)
    assert caught.value.step == step
    assert message in str(caught.value)


def test_a_word_the_text_never_had_gets_suggestions(tmp_path: Path) -> None:
    evidence = RunEvidence(make_text_run(tmp_path / "never", REMOVAL_TEXT, REMOVALS))
    with pytest.raises(UnknownWordError) as caught:
        evidence.kwic("elephnt")
    assert not isinstance(caught.value, RemovedWordError)
    assert "the text never has it" in str(caught.value)
    assert caught.value.suggestions == ["elephant"]


def test_stemming_and_the_vocabulary_size_limit_are_named(tmp_path: Path) -> None:
    """Stems: running, run, run -> run 3; dogs, dogs -> dog 2; fast 1. At most 2 words: run, dog."""
    config = PreprocessConfig(
        stopwords_language=None, stem_language="english", min_count=1, max_vocab_size=2
    )
    evidence = RunEvidence(
        make_text_run(tmp_path / "size", ["running dogs run fast", "dogs run"], config)
    )
    with pytest.raises(RemovedWordError) as caught:
        evidence.kwic("fast")
    assert caught.value.step == "max vocabulary size"
    assert "'fast' occurs 1 time in the text, but only the 2 most frequent words" in str(
        caught.value
    )
    with pytest.raises(RemovedWordError) as caught:
        evidence.kwic("running")
    assert (caught.value.step, caught.value.suggestions) == ("stemming", ["run"])


def test_a_missing_upload_shows_tokens_and_says_why(tmp_path: Path) -> None:
    path = make_text_run(tmp_path / "gone", THREE_DOCUMENTS)
    spec = DataSpec.from_dict(RunFolder(path).info()["data"]["spec"])
    upload_path(spec.key, spec.filename).unlink()
    evidence = RunEvidence(path)
    found = evidence.kwic("cat", context=2)
    assert found.occurrences == 4
    assert "The uploaded file 'notes.txt' is no longer on this server" in found.text_note
    assert "show the run's preprocessed tokens" in found.text_note
    assert [p.plain() for p in found.passages][:2] == [
        "the [[cat]] sat on",
        "mat the [[cat]] slept",
    ]
    assert not any(p.original for p in found.passages)
    with pytest.raises(SourceError, match="no longer on this server"):
        evidence.document_text(0)


def test_changed_data_is_refused_with_a_message(tmp_path: Path) -> None:
    data_file = tmp_path / "speeches.txt"
    data_file.write_text("\n".join(THREE_DOCUMENTS), encoding="utf-8")
    from w2v_core.preprocess import prepare_corpus

    result = prepare_corpus(DataSpec.from_path(data_file), PLAIN)
    run = RunFolder.create(
        tmp_path / "changed", TrainConfig(window=2), result.vocab, result.corpus,
        data=result.data_description(),
    )  # fmt: skip
    data_file.write_text("The dog sat.\nA cat ran.\nNo cat.", encoding="utf-8")
    found = RunEvidence(run.path).kwic("cat")
    assert "The text of 'speeches.txt' has changed since this run was made" in found.text_note
    assert not any(p.original for p in found.passages)


def test_a_run_that_names_no_data_says_so(tmp_path: Path) -> None:
    found = RunEvidence(make_run(tmp_path)).kwic("cat", limit=2)
    assert found.occurrences == 60  # "cat" once in each of the 20 animal documents, 3 times
    assert "does not say where its text came from" in found.text_note
    assert found.passages[0].plain() == "[[cat]] dog horse cow sheep goat pig"


def test_a_tokenised_corpus_file_is_its_own_text(tmp_path: Path) -> None:
    corpus_file = tmp_path / "tokens.txt"
    corpus_file.write_text("a b <c> a\n\nb a q\n", encoding="utf-8")
    vocab, corpus = build_from_text_file(corpus_file, min_count=2)
    data = {
        "source": "file",
        "path": str(corpus_file),
        "fingerprint": hashlib.sha256(corpus_file.read_bytes()).hexdigest(),
        "min_count": 2,
        "max_vocab_size": None,
    }
    run = RunFolder.create(tmp_path / "file-run", TrainConfig(window=2), vocab, corpus, data=data)
    evidence = RunEvidence(run.path)
    found = evidence.kwic("a", context=1)
    assert [p.plain() for p in found.passages] == ["[[a]] b", "<c> [[a]]", "b [[a]] q"]
    assert [p.row for p in found.passages] == [0, 0, 2]  # line 1 is empty
    with pytest.raises(RemovedWordError, match="'q' occurs 1 time in the text, fewer than"):
        evidence.kwic("q")


# ---- the command line -------------------------------------------------------------------------------
def test_cli_kwic_prints_marked_lines(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = make_text_run(tmp_path / "three", THREE_DOCUMENTS)
    assert main(["kwic", str(path), "cat", "--limit", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "cat: 4 occurrences in 3 documents; the first 2",
        "0\tThe [[cat]] sat on the mat. The cat",
        "0\tcat sat on the mat. The [[cat]] slept",
    ]
    assert main(["kwic", str(path), "cat", "--with", "the", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "cat and the: 3 times at most 2 words apart, in 2 documents",
        "0\t[[The]] [[cat]] sat on the mat. The cat",
    ]
    assert out[2] == "context words of both (cat / the):"
    assert "mat\t1\t2" in out[3:]


def test_cli_kwic_bad_input_is_one_line(tmp_path: Path) -> None:
    path = make_text_run(tmp_path / "three", THREE_DOCUMENTS)
    for args, expected in [
        (["giraffe"], "error: 'giraffe' is not in the vocabulary: the text never has it."),
        (["cats!"], "error: 'cats!' is not in the vocabulary. Did you mean: cats?"),
        (["cat", "--limit", "0"], "--limit: must be at least 1 (got 0)"),
        (["cat", "--with", "cat"], "error: Choose two different words."),
    ]:
        result = cli("kwic", str(path), *args)
        assert result.returncode == 2
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr
