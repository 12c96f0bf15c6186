"""Preprocessing: hand-worked examples, the blog and gensim as references, caching, alignment, bad input."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from w2v_core.corpus import EncodedCorpus, encode_documents
from w2v_core.errors import ConfigError, CorpusError
from w2v_core.preprocess import (
    CHAR_FILTER_HELP,
    OPTION_HELP,
    PreprocessConfig,
    available_stem_languages,
    available_stopword_languages,
    find_phrases,
    pipeline,
    prepare_corpus,
    preprocess,
    preview,
    tokenize,
)
from w2v_core.preprocess.tokens import load_stopwords
from w2v_core.sources import TextDataset, load_builtin, load_hub
from w2v_core.vocab import Vocabulary

PLAIN = PreprocessConfig(stopwords_language=None, min_count=1)  # filters only, nothing dropped


@pytest.fixture()
def tweets(shared_data: Path) -> TextDataset:
    folder = shared_data / "tweets_hate_speech_detection"
    if not (folder / "train.csv").is_file():
        pytest.skip(f"needs {folder}/train.csv, which is absent")
    return load_hub(str(folder), text_column="tweet", label_columns=("label",))


# ---- the blog's pipeline, worked by hand and checked against the blog's own code --------------------
def test_blog_split_tokens_on_the_first_tweet(nltk_data: Path) -> None:
    """The first tweet of the data set, through the blog's `split_tokens`:

    1. lowercase: unchanged (already lowercase);
    2. delete every character but a-z, @, # and space: the "." after "dysfunction" goes;
    3. split at spaces: @user when a father is dysfunctional and is so selfish he drags his kids
       into his dysfunction #run;
    4. drop NLTK English stopwords: when, a, is, and, is, so, he, his, into, his;
    5. Snowball English stems: dysfunctional -> dysfunct, drags -> drag, kids -> kid,
       dysfunction -> dysfunct; @user, father, selfish, #run stay.
    """
    tweet = "@user when a father is dysfunctional and is so selfish he drags his kids into his dysfunction.   #run"
    expected = ["@user", "father", "dysfunct", "selfish", "drag", "kid", "dysfunct", "#run"]
    assert tokenize(tweet, PreprocessConfig.blog()) == expected


def _blog_split_tokens(text: str) -> list[str]:
    """The blog's code, verbatim apart from names (the reference implementation)."""
    from nltk.corpus import stopwords
    from nltk.stem.snowball import SnowballStemmer

    ss, sw = SnowballStemmer("english"), stopwords.words("english")
    return [
        ss.stem(i)
        for i in re.split(r" +", re.sub(r"[^a-z@# ]", "", text.lower()))
        if (i not in sw) and len(i)
    ]


def test_blog_preset_matches_the_blog_code_on_real_tweets(
    nltk_data: Path, tweets: TextDataset
) -> None:
    texts = list(tweets.texts())[:3000]
    config = PreprocessConfig.blog()
    assert [tokenize(t, config) for t in texts] == [_blog_split_tokens(t) for t in texts]


@pytest.mark.slow
def test_blog_vocabulary_on_all_tweets(nltk_data: Path, tweets: TextDataset) -> None:
    """The blog keeps words with count > 10; min_count=11 must give exactly that vocabulary."""
    from collections import Counter

    counts = Counter(w for t in tweets.texts() for w in _blog_split_tokens(t))
    result = preprocess(tweets, PreprocessConfig.blog(), use_cache=False)
    assert set(result.vocab.words) == {w for w, c in counts.items() if c > 10}
    assert all(result.vocab.count_of(w) == counts[w] for w in result.vocab.words[:100])


# ---- per-document steps -----------------------------------------------------------------------------
def test_letters_filter_keeps_any_script_and_inner_apostrophes() -> None:
    text = "Ça va? Привет, мир! नमस्ते दुनिया — Don’t stop, 'quoted' rock'n'roll 42nd"
    assert tokenize(text, PLAIN) == [
        "ça", "va", "привет", "мир", "नमस्ते", "दुनिया", "don't", "stop", "quoted", "rock'n'roll", "nd",
    ]  # fmt: skip


def test_blog_filter_deletes_other_characters_and_none_keeps_them() -> None:
    blog = PreprocessConfig(char_filter="blog", stopwords_language=None)
    assert tokenize("Don't panic: café #42 @Bob!", blog) == ["dont", "panic", "caf", "#", "@bob"]
    none = PreprocessConfig(char_filter="none", stopwords_language=None)
    assert tokenize("Don't panic: café #42", none) == ["don't", "panic:", "café", "#42"]
    cased = PreprocessConfig(char_filter="blog", lowercase=False, stopwords_language=None)
    assert tokenize("Don't Panic", cased) == ["Dont", "Panic"]


def test_placeholders_for_urls_numbers_and_mentions() -> None:
    config = PreprocessConfig(
        normalize_urls=True,
        normalize_numbers=True,
        normalize_mentions=True,
        stopwords_language=None,
    )
    text = "Visit https://t.co/AbC1 and www.example.org, ask @bob_99 about 10,000 or 3.5 votes in 2nd place"
    assert tokenize(text, config) == [
        "visit", "<url>", "and", "<url>", "ask", "<user>", "about", "<num>", "or", "<num>", "votes",
        "in", "nd", "place",
    ]  # fmt: skip
    blog = PreprocessConfig(char_filter="blog", normalize_numbers=True, stopwords_language=None)
    assert tokenize("in 1990 we", blog) == ["in", "<num>", "we"]  # survives the a-z filter


def test_length_limits_and_extra_stopwords() -> None:
    config = PreprocessConfig(
        min_token_length=3,
        max_token_length=6,
        stopwords_language=None,
        extra_stopwords=(" rt ", "Amp"),
    )
    assert tokenize("RT I am so happy amp wonderful day", config) == ["happy", "day"]
    assert config.extra_stopwords == ("Amp", "rt")


def test_stopwords_match_any_case_when_case_is_kept(nltk_data: Path) -> None:
    config = PreprocessConfig(lowercase=False)
    assert tokenize("The Cat and THE Dog", config) == ["Cat", "Dog"]


def test_stemming_in_other_languages(nltk_data: Path) -> None:
    german = PreprocessConfig(stopwords_language="german", stem_language="german")
    assert tokenize("Die Kinder spielten mit den Hunden", german) == ["kind", "spielt", "hund"]
    greek = PreprocessConfig(stopwords_language=None, stem_language="greek")  # snowballstemmer only
    assert len(tokenize("οι άνθρωποι", greek)) == 2
    assert {"english", "german", "greek", "turkish"} <= set(available_stem_languages())


def test_custom_pattern() -> None:
    config = PreprocessConfig(
        char_filter="custom", custom_pattern=r"[a-z]+(?:-[a-z]+)*", stopwords_language=None
    )
    assert tokenize("State-of-the-art NLP, 2024 edition", config) == [
        "state-of-the-art",
        "nlp",
        "edition",
    ]
    grouped = PreprocessConfig(
        char_filter="custom", custom_pattern=r"(\w)\w*", stopwords_language=None
    )
    assert tokenize("ab cd", grouped) == ["ab", "cd"]  # whole matches, not the group


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("", "needs a regular expression"), ("[a-", "not a valid regular expression"),
     ("a*", "matches empty text"), (r"(a|aa)+$", "too long")],
)  # fmt: skip
def test_bad_custom_patterns_are_refused(pattern: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PreprocessConfig(char_filter="custom", custom_pattern=pattern)


def test_catastrophic_pattern_on_a_real_document_is_stopped() -> None:
    # passes the probes (they hold no x), but backtracks exponentially on a run of x's
    config = PreprocessConfig(
        char_filter="custom", custom_pattern=r"(x|xx)+y", stopwords_language=None
    )
    data = TextDataset.from_texts(["fine words here", "x" * 60])
    with pytest.raises(ConfigError, match="too long"):
        preprocess(data, config, use_cache=False)


def test_stopwords_for_a_language_nltk_lacks(nltk_data: Path) -> None:
    with pytest.raises(ConfigError, match="NLTK has no stopword list for 'klingon'.*german"):
        tokenize("qapla", PreprocessConfig(stopwords_language="klingon"))
    assert "german" in available_stopword_languages() and len(available_stopword_languages()) >= 20


def test_english_stopwords_are_nltks_list_offline(no_nltk_data: Path) -> None:
    """A fresh install (no NLTK data) still removes exactly NLTK's English list, so the blog's
    "would", "first" and "back" (removed by scikit-learn's list) survive, with no warning."""
    assert available_stopword_languages() == ["english"]
    with pytest.raises(ConfigError, match="not downloaded"):
        tokenize("hola", PreprocessConfig(stopwords_language="spanish"))
    data = TextDataset.from_texts(["the cat would sat first on the mat back with the dog"] * 3)
    result = preprocess(data, PreprocessConfig(min_count=1), use_cache=False)
    assert result.vocab.words == ["back", "cat", "dog", "first", "mat", "sat", "would"]
    assert result.stats.stopword_source == "nltk"
    assert not any("stopword" in w for w in result.stats.warnings)


def test_the_bundled_english_list_is_nltks(shared_data: Path, no_nltk_data: Path) -> None:
    """The bundled list equals `stopwords/english` of NLTK's own stopwords corpus, word for word."""
    import zipfile

    archive = shared_data / "nltk_data" / "corpora" / "stopwords.zip"
    if not archive.is_file():
        pytest.skip(f"needs {archive}, which is absent")
    with zipfile.ZipFile(archive) as zipped:
        nltk_words = set(zipped.read("stopwords/english").decode("utf-8").split())
    assert load_stopwords("english").words == frozenset(nltk_words)
    assert len(nltk_words) == 179 and {"would", "first", "back"}.isdisjoint(nltk_words)


def test_unknown_stemmer_language() -> None:
    with pytest.raises(ConfigError, match="no Snowball stemmer for 'klingon'"):
        tokenize("x", PreprocessConfig(stopwords_language=None, stem_language="klingon"))


def test_preview_pairs_text_with_tokens() -> None:
    assert preview(["Hello World", ""], PLAIN) == [("Hello World", ["hello", "world"]), ("", [])]


# ---- configuration ----------------------------------------------------------------------------------
def test_every_option_has_plain_language_help() -> None:
    assert set(OPTION_HELP) == {f.name for f in fields(PreprocessConfig)}
    assert all(len(text) > 20 for text in OPTION_HELP.values())
    assert set(CHAR_FILTER_HELP) == {"blog", "letters", "none", "custom"}


def test_config_round_trip_and_validation() -> None:
    config = PreprocessConfig(
        extra_stopwords=("b", "a", "a"), stem_language=" English ", phrases=True
    )
    assert config.extra_stopwords == ("a", "b") and config.stem_language == "english"
    assert PreprocessConfig.from_dict(config.to_dict()) == config
    for bad in ({"min_count": 0}, {"char_filter": "emoji"}, {"max_vocab_size": 0},
                {"phrase_threshold": 0}, {"min_token_length": 5, "max_token_length": 3}):  # fmt: skip
        with pytest.raises(ConfigError):
            PreprocessConfig(**bad)


# ---- phrases ----------------------------------------------------------------------------------------
def test_phrase_score_worked_by_hand() -> None:
    """Documents: six times "new york", once "new car", once "old york" (ids new=0 york=1 car=2 old=3).

    count(new)=7, count(york)=7, count(new york)=6; 4 words + 3 distinct pairs -> len_vocab=7.
    score(new, york) = (6 - 5) / 7 / 7 * 7 = 1/7 = 0.143 with min_count=5: a phrase at threshold 0.1,
    not at 0.15. The other pairs score (1 - 5) / ... < 0 and are never phrases.
    """
    ids = np.array([0, 1] * 6 + [0, 2] + [3, 1])
    lengths = np.array([2] * 8)
    merged, new_lengths, pairs = find_phrases(ids, lengths, n_words=4, min_count=5, threshold=0.1)
    assert pairs.tolist() == [[0, 1]]
    assert merged.tolist() == [4] * 6 + [0, 2, 3, 1] and new_lengths.tolist() == [1] * 6 + [2, 2]
    _, _, none = find_phrases(ids, lengths, n_words=4, min_count=5, threshold=0.15)
    assert len(none) == 0


def test_phrases_join_greedily_from_the_left_and_never_across_documents() -> None:
    """ "a b c" six times: ab and bc both score (6-5)/6/6*5 = 0.139 > 0.1; greedy joins ab, leaves c."""
    ids = np.array([0, 1, 2] * 6)
    merged, lengths, pairs = find_phrases(
        ids, np.array([3] * 6), n_words=3, min_count=5, threshold=0.1
    )
    assert pairs.tolist() == [[0, 1], [1, 2]]
    assert merged.tolist() == [3, 2] * 6 and lengths.tolist() == [2] * 6
    # the same tokens cut as documents "a b" and "c ..." : the pair (b, c) never occurs inside one
    split = np.array([2, 1] * 6)
    _, _, pairs = find_phrases(ids, split, n_words=3, min_count=5, threshold=0.1)
    assert pairs.tolist() == [[0, 1]]


def test_phrases_agree_with_gensim(lee_corpus_path: Path) -> None:
    from gensim.models.phrases import Phrases

    data = load_builtin("lee")
    config = PreprocessConfig(stopwords_language=None, min_count=1, phrases=True)
    documents = [tokenize(t, config) for t in data.texts()]
    reference = Phrases(documents, min_count=5, threshold=10.0, connector_words=frozenset())
    result = preprocess(data, config, use_cache=False)
    expected = [reference[d] for d in documents]
    assert [result.corpus.decode(result.vocab, i) for i in range(result.corpus.n_documents)] == [
        expected[row] for row in result.corpus.source_rows
    ]
    assert any("_" in w for w in result.vocab.words)  # some phrases were found


# ---- the corpus: reference, alignment, stats --------------------------------------------------------
def test_corpus_equals_vocabulary_and_encode_documents_reference(lee_corpus_path: Path) -> None:
    data = load_builtin("lee")
    config = PreprocessConfig(stem_language="english")
    result = preprocess(data, config, use_cache=False)
    documents = [tokenize(t, config) for t in data.texts()]
    vocab = Vocabulary.from_documents(documents, min_count=5)
    corpus = encode_documents(documents, vocab)
    assert result.vocab == vocab
    assert np.array_equal(result.corpus.token_ids, corpus.token_ids)
    assert np.array_equal(result.corpus.doc_offsets, corpus.doc_offsets)
    assert np.array_equal(result.corpus.source_rows, corpus.source_rows)


def test_metadata_stays_aligned_when_documents_are_dropped() -> None:
    texts = [
        "cats and dogs play",  # 0 kept
        "!!!",  # 1 no words
        "the",  # 2 only a stopword
        "",  # 3 empty
        "dogs chase cats",  # 4 kept
        "cats",  # 5 one word: no training pair
        "dogs love cats",  # 6 kept
    ]
    labels = ["a", "b", "c", "d", "e", "f", "g"]
    data = TextDataset.from_texts(
        texts, metadata={"label": labels, "year": list(range(2000, 2007))}
    )
    result = preprocess(data, PreprocessConfig(min_count=1), use_cache=False)
    assert result.corpus.source_rows.tolist() == [0, 4, 6]
    assert result.metadata_column("label") == ["a", "e", "g"]
    assert result.metadata["year"] == [2000, 2004, 2006]
    assert [result.document_text(i) for i in range(3)] == [texts[0], texts[4], texts[6]]
    assert result.documents_with("chase") == [1]
    assert result.stats.n_documents_in == 7 and result.stats.n_documents_kept == 3
    assert result.examples[1] == ("!!!", []) and result.examples[0] == (
        texts[0],
        ["cats", "dogs", "play"],
    )


def test_statistics_worked_by_hand() -> None:
    """Three documents, 11 words as written; "the" and "on" are NLTK/scikit-learn stopwords.

    tokens after the filter: 11; after stopwords ("the" x3, "on" x1): 7 -> cat cat dog mat sat sat dog;
    min_count=2 keeps cat(2), dog(2), sat(2) and drops mat(1): 6 tokens, every document keeps two.
    """
    data = TextDataset.from_texts(["the cat sat on the mat", "the cat sat", "dog dog"])
    result = preprocess(data, PreprocessConfig(min_count=2), use_cache=False)
    s = result.stats
    assert (s.n_tokens_before, s.n_tokens_after, s.n_types_after) == (11, 6, 3)
    assert s.top_words == [("cat", 2), ("dog", 2), ("sat", 2)]
    assert s.share_tokens_kept == pytest.approx(6 / 11, abs=1e-6)
    assert s.removed["stopwords"] == 4 and s.removed["rare (below min_count)"] == 1
    assert [n for _, n in s.stages] == [11, 11, 7, 6, 6]
    assert s.zipf_ranks == [1, 2, 3, 4] and s.zipf_counts == [2, 2, 2, 1]
    assert any("tokens are left" in w for w in s.warnings)


def test_max_vocab_size_keeps_the_most_frequent() -> None:
    data = TextDataset.from_texts(["a a a b b c", "a b c d"])
    result = preprocess(
        data,
        PreprocessConfig(stopwords_language=None, min_count=1, max_vocab_size=2),
        use_cache=False,
    )
    assert result.vocab.words == ["a", "b"]
    assert result.stats.removed["beyond max_vocab_size"] == 3


def test_nltk_corpus_labels_follow_their_paragraphs(nltk_data: Path) -> None:
    data = load_builtin("inaugural")
    result = preprocess(data, PreprocessConfig(), use_cache=False)
    years = result.metadata_column("year")
    for i in (0, 100, result.corpus.n_documents - 1):
        row = int(result.corpus.source_rows[i])
        assert years[i] == data.dataset[row]["year"]
    assert years[0] == 1789 and "citizens" in result.corpus.decode(result.vocab, 0)


def test_worker_processes_give_the_same_result(
    monkeypatch: pytest.MonkeyPatch, lee_corpus_path: Path
) -> None:
    monkeypatch.setattr(pipeline, "BATCH_BYTES", 40_000)  # ~9 batches of Lee
    data = load_builtin("lee")
    config = PreprocessConfig(stem_language="english", phrases=True)
    single = preprocess(data, config, use_cache=False, workers=1)
    double = preprocess(data, config, use_cache=False, workers=2)
    assert single.vocab == double.vocab
    assert np.array_equal(single.corpus.token_ids, double.corpus.token_ids)
    assert single.stats == double.stats


def test_progress_is_reported_up_to_done(lee_corpus_path: Path) -> None:
    seen: list[tuple[float, str]] = []
    preprocess(
        load_builtin("lee"),
        PreprocessConfig(),
        progress=lambda f, m: seen.append((f, m)),
        use_cache=False,
    )
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and all(m for _, m in seen)


# ---- cache ------------------------------------------------------------------------------------------
def test_second_run_comes_from_the_cache(tmp_path: Path, lee_corpus_path: Path) -> None:
    data = load_builtin("lee")
    config = PreprocessConfig(phrases=True)
    first = preprocess(data, config, cache_dir=tmp_path)
    second = preprocess(
        load_builtin("lee"), config, cache_dir=tmp_path
    )  # loaded again: same fingerprint
    assert not first.from_cache and second.from_cache
    assert (
        second.vocab == first.vocab
        and second.stats == first.stats
        and second.examples == first.examples
    )
    assert np.array_equal(second.corpus.token_ids, first.corpus.token_ids)
    assert not preprocess(data, PreprocessConfig(min_count=3), cache_dir=tmp_path).from_cache


def test_cache_holds_only_safe_formats(tmp_path: Path, lee_corpus_path: Path) -> None:
    result = preprocess(load_builtin("lee"), PreprocessConfig(), cache_dir=tmp_path)
    files = sorted(p.name for p in result.cache_path.iterdir())
    assert files == ["corpus.npz", "result.json", "vocab.tsv"]
    EncodedCorpus.load(result.cache_path / "corpus.npz")  # np.load(..., allow_pickle=False)


def test_damaged_cache_is_recomputed(tmp_path: Path, lee_corpus_path: Path) -> None:
    data = load_builtin("lee")
    first = preprocess(data, PreprocessConfig(), cache_dir=tmp_path)
    (first.cache_path / "corpus.npz").write_bytes(b"not an npz file")
    again = preprocess(data, PreprocessConfig(), cache_dir=tmp_path)
    assert not again.from_cache and again.vocab == first.vocab


def test_default_cache_follows_w2v_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("W2V_CACHE_DIR", str(tmp_path / "here"))
    result = preprocess(TextDataset.from_texts(["cats chase mice"] * 5), PreprocessConfig())
    assert result.cache_path.is_relative_to(tmp_path / "here")


# ---- bad input: a clear message, no crash -----------------------------------------------------------
def test_no_rows() -> None:
    with pytest.raises(CorpusError, match="no rows"):
        preprocess(TextDataset.from_texts([]), PreprocessConfig(), use_cache=False)


def test_no_words_found_by_the_filter() -> None:
    data = TextDataset.from_texts(["Привет мир", "123 456"])
    with pytest.raises(CorpusError, match="No words were found.*blog"):
        preprocess(data, PreprocessConfig(char_filter="blog"), use_cache=False)


def test_all_tokens_removed_by_the_filters(nltk_data: Path) -> None:
    data = TextDataset.from_texts(["the and of", "is it a"])
    with pytest.raises(CorpusError, match="Every word was removed"):
        preprocess(data, PreprocessConfig(min_count=1), use_cache=False)


def test_no_word_reaches_min_count() -> None:
    with pytest.raises(CorpusError, match="min_count=5.*most frequent occurs 2 times"):
        preprocess(
            TextDataset.from_texts(["alpha beta alpha"]), PreprocessConfig(), use_cache=False
        )


def test_zero_documents_left() -> None:
    data = TextDataset.from_texts(["alpha", "beta", "alpha"])
    with pytest.raises(CorpusError, match="No document has two or more words"):
        preprocess(data, PreprocessConfig(min_count=1), use_cache=False)


def test_one_enormous_line(lee_corpus_path: Path) -> None:
    words = lee_corpus_path.read_text(encoding="utf-8").split()
    data = TextDataset.from_texts([" ".join(words * 10)])  # ~3.6 MB, one document
    result = preprocess(data, PreprocessConfig(), use_cache=False)
    assert result.corpus.n_documents == 1 and result.corpus.n_tokens > 250_000
    assert result.stats.n_tokens_before == 10 * len(words)


def test_unsegmented_text_warns_about_long_tokens() -> None:
    chinese = (
        "今天天气很好我们一起去公园散步吧然后去吃饭看电影再回家休息一下明天还要上班工作学习" * 2
    )
    data = TextDataset.from_texts([f"{chinese} {chinese}x short words here"] * 10)
    result = preprocess(
        data, PreprocessConfig(stopwords_language=None, min_count=1), use_cache=False
    )
    assert result.stats.removed["too long"] == 20
    assert any("segmenter" in w for w in result.stats.warnings)


# ---- named presets and JSON settings (the CLI's --preprocessing) ------------------------------------
def test_presets_by_name_and_json_as_run_json_holds_it() -> None:
    assert PreprocessConfig.from_name_or_json("default") == PreprocessConfig()
    assert PreprocessConfig.from_name_or_json(" Blog ") == PreprocessConfig.blog()
    custom = PreprocessConfig(min_count=2, extra_stopwords=("rt", "amp"), stem_language="english")
    assert PreprocessConfig.from_name_or_json(json.dumps(custom.to_dict())) == custom
    assert PreprocessConfig.from_name_or_json('{"min_count": 3}') == PreprocessConfig(min_count=3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fancy", "no preprocessing preset 'fancy'"),
        ('{"min_count": 3,}', "not valid JSON"),
        ('{"min_cuont": 3}', "Unknown preprocessing setting min_cuont"),
        ("[1, 2]", "not valid JSON|a JSON object"),
        ('{"min_count": 0}', "min_count must be at least 1"),
    ],
)
def test_bad_preprocessing_names_or_json_say_what_is_valid(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        PreprocessConfig.from_name_or_json(text)
    assert "\n" not in str(raised.value)
    if "min_count must" not in message:
        assert "default, blog" in str(raised.value)


# ---- prepare_corpus: spec -> corpus, as the app and the CLI do it -----------------------------------
def test_prepare_corpus_rebuilds_a_run_from_its_data_description(tmp_path: Path) -> None:
    from w2v_core.sources import DataSpec

    path = tmp_path / "speeches.txt"
    path.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 5, encoding="utf-8")
    first = prepare_corpus(DataSpec.from_path(path), PLAIN)
    saved = json.loads(json.dumps(first.data_description()))  # what run.json holds
    again = prepare_corpus(
        DataSpec.from_dict(saved["spec"]),
        PreprocessConfig.from_name_or_json(json.dumps(saved["preprocess"])),
        expected_fingerprint=saved["fingerprint"],
    )
    assert again.vocab == first.vocab
    assert np.array_equal(again.corpus.token_ids, first.corpus.token_ids)
    assert saved["spec"]["key"] == str(path.resolve())


def test_prepare_corpus_says_when_the_data_changed_or_is_missing(tmp_path: Path) -> None:
    from w2v_core.errors import DataChangedError, W2VError
    from w2v_core.sources import DataSpec

    path = tmp_path / "notes.txt"
    path.write_text("alpha beta gamma\n" * 3, encoding="utf-8")
    spec = DataSpec.from_path(path)
    fingerprint = prepare_corpus(spec, PLAIN).dataset.fingerprint()
    path.write_text("alpha beta delta\n" * 3, encoding="utf-8")
    with pytest.raises(DataChangedError, match="The data has changed since the run was made"):
        prepare_corpus(spec, PLAIN, expected_fingerprint=fingerprint)
    path.unlink()
    with pytest.raises(W2VError, match=f"'{re.escape(str(path))}' does not exist"):
        prepare_corpus(spec, PLAIN, expected_fingerprint=fingerprint)
