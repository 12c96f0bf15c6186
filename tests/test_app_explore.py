"""The explore pages (Map, Neighbours, Compare epochs, Export) on a run with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_support import ANIMALS, TOOLS, app_test, make_run, page, texts


@pytest.fixture()
def run(runs_root: Path) -> str:
    return make_run(runs_root).name


def open_page(name: str, run: str | None = None, **state):
    at = app_test(timeout=120).run()
    if run:
        at.session_state["run"] = run
    for key, value in state.items():
        at.session_state[key.replace("__", ".")] = value
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("name", ["map", "neighbours", "compare", "export"])
def test_without_a_trained_run_each_explore_page_links_to_train(runs_root: Path, name: str) -> None:
    at = open_page(name)
    assert any("No trained run yet" in text for text in texts(at.info))
    assert "train" in {link.proto.page for link in at.get("page_link")}


# ---- Neighbours -------------------------------------------------------------------------------------
def test_neighbours_of_an_animal_are_animals(run: str) -> None:
    at = open_page("neighbours", run)
    at.text_input(key="nb.word").input("cat").run()
    table = at.dataframe[0].value
    assert len(table) == 10
    assert set(table["word"][:7]) == set(ANIMALS) - {"cat"}
    assert list(table["cosine"]) == sorted(table["cosine"], reverse=True)
    assert table["count"].iloc[0] > 0


def test_an_unknown_word_gets_did_you_mean_buttons(run: str) -> None:
    at = open_page("neighbours", run)
    at.text_input(key="nb.word").input("caat").run()
    assert any("'caat' is not in this run's vocabulary" in text for text in texts(at.warning))
    suggestion = next(b for b in at.button if b.label == "cat")
    suggestion.click().run()
    assert at.text_input(key="nb.word").value == "cat"
    assert len(at.dataframe[0].value) == 10


def test_analogy_similarity_and_odd_one_out(run: str) -> None:
    at = open_page("neighbours", run)
    at.text_input(key="nb.analogy_a").input("cat").run()
    at.text_input(key="nb.analogy_b").input("dog").run()
    at.text_input(key="nb.analogy_c").input("hammer").run()
    answers = at.dataframe[0].value
    assert answers["word"].iloc[0] in TOOLS  # cat : dog = hammer : (another tool)
    at.text_input(key="nb.similarity_1").input("cat").run()
    at.text_input(key="nb.similarity_2").input("dog").run()
    assert float(at.metric[0].value) > 0.5
    at.text_input(key="nb.odd_one_out").input("cat dog horse hammer").run()
    assert any("hammer" in text for text in texts(at.success))


# ---- Map --------------------------------------------------------------------------------------------
def test_pca_map_with_clusters_and_search(run: str) -> None:
    at = open_page("map", run, map__method="pca", map__search="cat, zebra")
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    figure = json.loads(charts[0].proto.spec)
    names = [trace.get("name", "") for trace in figure["data"]]
    assert any(name.startswith("cluster 1") for name in names)
    assert "search" in names
    captions = texts(at.caption)
    assert any("PCA" in text and "% of the variation" in text for text in captions)
    assert any("'zebra' is not in the vocabulary" in text for text in captions)


def test_map_around_a_word_and_an_unknown_centre(run: str) -> None:
    at = open_page("map", run, map__method="pca", map__scope="around", map__centre_word="dgo")
    assert texts(at.warning) == [
        "'dgo' is not in this run's vocabulary; the map shows the most frequent words instead."
    ]
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)  # the fallback map, all 16 words
    assert sum(len(trace.get("x", [])) for trace in figure["data"]) == len(ANIMALS + TOOLS)
    at.text_input(key="map.centre_word").input("dog").run()
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    shown = sum(len(trace.get("x", [])) for trace in figure["data"])
    assert shown == 1 + at.slider(key="map.neighbourhood_size").value


def test_map_coloured_by_a_word_list(run: str) -> None:
    at = open_page("map", run, map__method="pca", map__colour="list", map__word_list="saw drill")
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    mine = next(trace for trace in figure["data"] if trace.get("name") == "your words")
    assert len(mine["x"]) == 2


# ---- Compare ----------------------------------------------------------------------------------------
def test_compare_epochs_shows_tables_overlap_moving_map_and_loss(run: str) -> None:
    at = open_page("compare", run, cmp__words="cat hammer", cmp__k=5)
    tables = [d.value for d in at.dataframe]
    assert len(tables) == 2
    assert list(tables[0].columns) == ["epoch 1", "epoch 2"]
    assert list(tables[0].index[-2:]) == ["dropped", "overlap"]
    assert len(at.get("plotly_chart")) == 3  # overlap, moving map, loss
    moving = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert len(moving["frames"]) == 2


def test_compare_with_an_unknown_word(run: str) -> None:
    at = open_page("compare", run, cmp__words="cat hamer")
    assert any("'hamer' is not in this run's vocabulary" in text for text in texts(at.warning))
    next(b for b in at.button if b.label == "hammer").click().run()
    assert at.text_input(key="cmp.words").value == "cat hammer"


def test_compare_two_runs(runs_root: Path) -> None:
    first = make_run(runs_root, folder="20261121-120000-a", title="A", seed=0).name
    make_run(runs_root, folder="20261121-120100-b", title="B", seed=10)
    at = open_page("compare", first, cmp__mode="runs", cmp__words="cat")
    table = at.dataframe[0].value
    assert list(table["word"]) == ["cat"]
    assert 0.0 <= table["overlap"].iloc[0] <= 1.0
    assert {m.label: m.value for m in at.metric}["Words both runs know"] == "16"


def test_compare_two_runs_says_when_their_losses_differ(runs_root: Path) -> None:
    from w2v_core.run_folder import RunFolder

    first = make_run(runs_root, folder="20261121-120000-a", title="A", seed=0).name
    second = make_run(runs_root, folder="20261121-120100-b", title="B", seed=10)
    run_b = RunFolder(second)
    run_b.update(config={**run_b.info()["config"], "loss": "softmax"})
    at = open_page("compare", first, cmp__mode="runs", cmp__words="cat")
    assert any("measure different losses" in text for text in texts(at.caption))


# ---- Export -----------------------------------------------------------------------------------------
def test_export_offers_every_format(run: str) -> None:
    at = open_page("export", run)
    labels = {button.proto.label for button in at.get("download_button")}
    assert labels == {
        "Text (.txt)",
        "Binary (.bin)",
        "vectors.tsv",
        "metadata.tsv",
        "Coordinates (.csv)",
    }


def test_the_run_zip_shows_its_size_then_is_prepared_and_downloaded(run: str) -> None:
    import zipfile

    at = open_page("export", run)
    choice = at.radio(key="export.zip_checkpoints")
    assert choice.value == "last"
    labels = list(choice.options)
    assert labels[0].startswith("Only the newest epoch (") and labels[1].startswith("All 2 saved")
    prepare = at.button(key="export.zip_prepare")
    assert prepare.label.startswith("Prepare the zip (") and prepare.label.endswith(" kB)")
    prepare.click().run()
    from w2v_ui import downloads

    job = downloads.run_zip_job(run, "last")
    assert job.wait(60) and job.error is None
    at.run()
    download = at.get("download_button")[-1]
    assert download.proto.label.startswith("Download the zip (")
    with zipfile.ZipFile(job.result) as archive:
        names = archive.namelist()
    assert f"{run}/checkpoints/epoch_002.safetensors" in names
    assert f"{run}/checkpoints/epoch_001.safetensors" not in names


def test_a_zip_above_the_download_limit_points_to_the_command_line(
    run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from w2v_ui import downloads

    monkeypatch.setattr(downloads, "zip_limit_bytes", lambda: 10)
    at = open_page("export", run)
    assert any("--format zip" in text for text in texts(at.warning))
    assert not at.get("button") or all(b.key != "export.zip_prepare" for b in at.get("button"))


def test_a_centre_word_from_another_run_falls_back_to_the_frequent_words_map(run: str) -> None:
    """A word with no near spelling in this run (kept from another run): one note, then a map."""
    at = open_page(
        "map", run, map__method="pca", map__scope="around", map__centre_word="afghanistan"
    )
    assert len(at.warning) == 1 and "'afghanistan' is not in" in at.warning[0].value
    assert len(at.get("plotly_chart")) == 1
    assert not [text for text in texts(at.caption) if "Did you mean" in text]


def test_an_unknown_word_off_the_map_page_does_not_mention_the_map(run: str) -> None:
    at = open_page("neighbours", run)
    at.text_input(key="nb.word").input("afghanistan").run()
    shown = texts(at.warning) + texts(at.caption)
    assert any("'afghanistan' is not in this run's vocabulary" in text for text in shown)
    assert not [text for text in shown if "Map" in text or "map shows" in text], shown


def test_an_analogy_on_a_tiny_corpus_comes_with_a_caveat(run: str) -> None:
    """The test run's corpus holds about 5,000 words: an answer at 0.9 or more is questioned."""
    at = open_page("neighbours", run, nb__analogy_a="cat", nb__analogy_b="dog")
    at.text_input(key="nb.analogy_c").input("hammer").run()
    best = at.dataframe[0].value["cosine"].iloc[0]
    caveats = [t for t in texts(at.warning) if t.startswith("Take this answer with caution")]
    assert best >= 0.9 and len(caveats) == 1, (best, texts(at.warning))
    assert f"A similarity of {best:.2f} on a corpus of only" in caveats[0]


def test_each_run_opens_with_the_vectors_its_settings_name(runs_root: Path) -> None:
    """A blog-preset run (explore_vectors "output") opens on its output vectors, an older run on the
    input ones; a choice made on one run is not carried to another."""
    from w2v_core.config import TrainConfig
    from w2v_core.run_folder import RunFolder

    blog = RunFolder(make_run(runs_root, folder="20261121-120000-blog", title="Blog run"))
    blog.update(config=TrainConfig(explore_vectors="output").to_dict())
    plain = make_run(runs_root, folder="20261121-110000-plain", title="Plain run").name
    at = open_page("neighbours", blog.path.name)
    assert at.selectbox(key="explore.kind").value == "output"
    at = open_page("neighbours", plain)
    assert at.selectbox(key="explore.kind").value == "input"


def test_a_live_runs_zip_sizes_are_listed_once_per_ten_seconds(run: str) -> None:
    """The zip's sizes stat every file of the run: kept while its folders are unchanged, and for a
    folder that changes (a training run saves a checkpoint every epoch) renewed once per 10 s."""
    import os
    import time

    from w2v_ui import downloads, runs

    folder = runs.run_folder(run)
    old = time.time_ns() - 60 * 10**9
    for path in (folder.path, folder.checkpoint_dir):
        os.utime(path, ns=(old, old))
    assert downloads._folder_stamp(run) == (old, old)
    bucket = int(time.time() // 10) - 1
    saved = bucket * 10 + 0.5  # a checkpoint saved then (half a second into a 10 s bucket)
    os.utime(folder.checkpoint_dir, ns=(int(saved * 1e9),) * 2)
    assert downloads._folder_stamp(run, now=saved + 1) == (-1, bucket)
    assert downloads._folder_stamp(run, now=saved + 9) == (-1, bucket)  # the same 10 s
    assert downloads._folder_stamp(run, now=saved + 9.7) == (-1, bucket + 1)  # the next 10 s
    stamps = downloads._folder_stamp(run, now=saved + 11)  # settled: its folders' stamps again
    assert stamps == (old, int(saved * 1e9))
