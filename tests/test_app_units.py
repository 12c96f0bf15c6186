"""The UI helper package's plain functions: runs, jobs, presets, tables and figures."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from app_support import ANIMALS, epoch_record, make_run, progress_record, worker_holding_lock

from w2v_core import jobs
from w2v_core.run_folder import RunFolder, RunState, RunStatus
from w2v_ui import charts, compare_view, queries, runs, train_settings, training_view


# ---- runs -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "..", "../etc", "a/b", "/abs", ".hidden", "a\\b", "x" * 200])
def test_run_dir_refuses_names_that_are_not_a_plain_folder(runs_root: Path, name: str) -> None:
    assert runs.run_dir(name) is None


def test_run_dir_finds_an_existing_run_only(runs_root: Path) -> None:
    path = make_run(runs_root)
    assert runs.run_dir(path.name) == path
    assert runs.run_dir("20990101-000000-missing") is None


def test_new_runs_never_reuse_a_folder(runs_root: Path) -> None:
    first = make_run(runs_root, folder="x")  # any run, to get a vocabulary and corpus
    run = RunFolder(first)
    args = (run.config(), run.vocab(), run.corpus())
    one = RunFolder.create_unique(runs_root, "Quick demo on Lee", *args)
    two = RunFolder.create_unique(runs_root, "Quick demo on Lee", *args)
    assert one.path != two.path
    assert one.name.endswith("quick-demo-on-lee")
    same_second = one.name[:15] == two.name[:15]  # YYYYmmdd-HHMMSS
    assert two.name.endswith("quick-demo-on-lee-2" if same_second else "quick-demo-on-lee")


def test_summaries_describe_settings_in_words(runs_root: Path) -> None:
    make_run(runs_root)
    (summary,) = runs.list_summaries()
    assert summary.title == "Topic test run"
    assert summary.corpus == "Topic words"
    assert summary.settings == "skip-gram, negative sampling (3), 8 dims, window 5, SGD"
    assert (summary.status, summary.epochs) == (RunStatus.FINISHED, "2 / 2")


def test_a_broken_run_folder_does_not_break_the_list(runs_root: Path) -> None:
    make_run(runs_root)
    broken = runs_root / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    assert [s.title for s in runs.list_summaries()] == ["Topic test run"]


# ---- jobs -------------------------------------------------------------------------------------------
def test_a_running_run_whose_worker_died_is_reported_lost(runs_root: Path) -> None:
    path = make_run(runs_root, status="running")
    RunFolder(path).worker_log.write_text("Killed\n")
    view = jobs.run_view(path)
    assert view.status == RunStatus.LOST
    assert "ended without saying why" in view.state.error
    assert "Killed" in view.log
    assert view.state.can_resume is False  # all epochs were saved before it died


def test_a_run_with_a_live_worker_is_active_until_the_worker_exits(runs_root: Path) -> None:
    path = make_run(runs_root, status="running")
    with worker_holding_lock(path):
        assert RunFolder(path).worker_alive() is True
        assert jobs.run_view(path).status == RunStatus.RUNNING
    assert RunFolder(path).worker_alive() is False
    assert jobs.run_view(path).status == RunStatus.LOST


def test_a_launched_run_counts_as_starting_until_its_worker_takes_over(runs_root: Path) -> None:
    path = make_run(runs_root, status="stopped")
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "w2v_core"])
    try:
        RunFolder(path).launch(lambda: worker.pid)
        view = jobs.run_view(path)
        assert (view.status, view.active) == (RunStatus.STARTING, True)
    finally:
        worker.kill()
        worker.wait()
    assert jobs.run_view(path).status == RunStatus.LOST  # it died before taking the lock


def test_a_look_during_a_launch_waits_for_the_worker_rather_than_calling_the_run_lost(
    runs_root: Path,
) -> None:
    """A launch writes 'starting', starts the worker, then writes its pid (all under the run's
    control lock). A page or another process looking in between used to see 'starting' with no
    worker: lost ("stopped unexpectedly"), for a run that was starting fine."""
    path = make_run(runs_root, status="stopped")
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "w2v_core"])
    seen: list[RunStatus] = []
    look = threading.Thread(target=lambda: seen.append(RunFolder(path).state().status))

    def spawn() -> int:
        look.start()  # the look runs while the worker is being started
        time.sleep(0.3)
        return worker.pid

    try:
        RunFolder(path).launch(spawn)
        look.join(10)
        assert seen == [RunStatus.STARTING]
    finally:
        worker.kill()
        worker.wait()


def test_a_run_never_started_has_no_worker(runs_root: Path) -> None:
    assert RunFolder(make_run(runs_root, status="created")).worker_alive() is False


def test_a_prepared_run_without_a_worker_can_be_started_with_resume(runs_root: Path) -> None:
    path = make_run(runs_root, epochs=2, status="created")
    RunFolder(path).update(epochs_completed=0)
    for checkpoint in (path / "checkpoints").iterdir():
        checkpoint.unlink()
    view = jobs.run_view(path)
    assert (view.status, view.active, view.state.can_resume) == (RunStatus.CREATED, False, True)


def test_run_view_reads_progress_and_epochs(runs_root: Path) -> None:
    view = jobs.run_view(make_run(runs_root, epochs=3))
    assert (view.status, view.state.epochs_done, view.state.epochs_total) == (
        RunStatus.FINISHED,
        3,
        3,
    )
    assert len(view.progress) == 12 and len(view.epochs) == 3
    assert not view.active and not view.state.can_resume


def test_request_stop_writes_the_stop_file_only_for_a_live_worker(runs_root: Path) -> None:
    path = make_run(runs_root, status="running")
    assert jobs.request_stop(path) is False  # nobody trains it: nothing to stop
    assert not RunFolder(path).stop_requested()
    with worker_holding_lock(path):
        assert jobs.request_stop(path) is True
        assert RunFolder(path).stop_requested()
        assert jobs.run_view(path).status == RunStatus.STOPPING


def test_loss_is_shown_when_epochs_are_shorter_than_a_report(runs_root: Path) -> None:
    """With sub-second epochs the newest record is the next epoch's start report, which carries no
    loss yet: the view falls back to the newest loss there is (the last epoch's mean)."""
    path = make_run(runs_root, epochs=1, status="running")
    run = RunFolder(path)
    run.append_metrics(progress_record(0.5, None))  # epoch 2 just began
    with worker_holding_lock(path):
        view = jobs.run_view(path)
        assert view.latest is not None and view.latest.loss is None
        assert view.latest_loss == pytest.approx(3.0)  # epoch 1's mean


def test_after_resume_the_previous_workers_figures_are_not_shown(runs_root: Path) -> None:
    path = make_run(runs_root, epochs=2, status="stopped")
    run = RunFolder(path)
    run.update(config={**run.info()["config"], "epochs": 4})
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "w2v_core"])
    try:
        run.launch(lambda: sleeper.pid)
        view = jobs.run_view(path)
        assert view.status == RunStatus.STARTING
        assert view.latest is None  # no "Running for" or words/s of the old worker
        assert training_view.progress_text(view)[1].startswith("Starting")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_cli_run_is_named_by_its_corpus_file() -> None:
    data = {"source": "file", "path": "/data/speeches-1990.txt", "min_count": 5}
    assert jobs.describe_data(data) == "speeches-1990.txt"


def test_time_left_wording() -> None:
    assert training_view.time_left(0.4) == "less than a second left"
    assert training_view.time_left(65) == "about 1 min 05 s left"


# ---- training settings ------------------------------------------------------------------------------
@pytest.mark.parametrize(("n_tokens", "epochs"), [(10_000, 20), (100_000, 10), (1_000_000, 5)])
def test_smaller_corpora_get_more_epochs(n_tokens: int, epochs: int) -> None:
    assert train_settings.scaled_epochs(train_settings.PRESETS["classic"], n_tokens) == epochs


def test_quick_demo_fixes_the_amount_of_work() -> None:
    quick = train_settings.PRESETS["quick"]
    assert train_settings.scaled_epochs(quick, 100_000) == 15  # 1.5M words / 100k, capped at 15
    assert train_settings.scaled_epochs(quick, 500_000) == 3
    assert (
        train_settings.scaled_epochs(quick, 50_000_000) == 2
    )  # never fewer than 2: epochs to compare


def test_presets_give_valid_configs_for_a_tiny_vocabulary() -> None:
    for key in train_settings.PRESETS:
        config = train_settings.preset_config(key, n_tokens=2_000, vocab_size=4)
        config.validate(4)  # negatives capped below the vocabulary size
        assert config.dim <= 50


def test_presets_follow_their_sources() -> None:
    d2l = train_settings.preset_config("d2l", 1_000_000, 10_000)
    blog = train_settings.preset_config("blog", 1_000_000, 10_000)
    assert (d2l.optimizer, d2l.lr, d2l.loss) == ("adam", 0.002, "negative")
    assert (blog.optimizer, blog.loss) == ("adamw", "softmax")


def test_the_blog_presets_train_100_epochs_on_the_blogs_corpus_and_explore_output_vectors() -> None:
    """The blog: 100 epochs on its ~200k-token tweets, AdamW lr 0.001, model.expand.weight read."""
    for key, model in (("blog", "skipgram"), ("blog-cbow", "cbow")):
        config = train_settings.preset_config(key, n_tokens=203_000, vocab_size=3_085)
        assert (config.model, config.loss, config.optimizer) == (model, "softmax", "adamw")
        assert (config.epochs, config.lr, config.dim) == (100, 0.001, 100)
        assert config.explore_vectors == "output"
        assert train_settings.preset_config(key, 5_000_000, 3_085).epochs == 5  # scaled when large
    assert train_settings.preset_config("classic", 203_000, 3_085).explore_vectors == "input"


def test_advice_warns_about_softmax_on_a_large_vocabulary() -> None:
    config = train_settings.preset_config("blog", 1_000_000, 40_000)
    assert any("softmax" in a for a in train_settings.corpus_advice(config, 1_000_000, 40_000))


# ---- progress text ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0.2, "under 1 s"), (4.4, "4 s"), (65, "1 min 05 s"), (3725, "1 h 02 min")],
)
def test_format_seconds(seconds, text: str) -> None:
    assert training_view.format_seconds(seconds) == text


def _view(status: RunStatus, done: int) -> jobs.RunView:
    state = RunState(status, status, None, False, status.active, 5, done, [], None)
    return jobs.RunView("r", state, "CPU")


def test_the_page_is_redrawn_when_a_run_starts_ends_or_is_resumed(runs_root: Path) -> None:
    running = _view(RunStatus.RUNNING, 1)
    finished = _view(RunStatus.FINISHED, 5)
    assert not training_view.needs_full_rerun(RunStatus.RUNNING, running)  # polling, no change
    assert training_view.needs_full_rerun(RunStatus.RUNNING, finished)  # it ended
    assert training_view.needs_full_rerun(None, running)  # resumed inside a non-polling fragment
    assert not training_view.needs_full_rerun(None, finished)


def test_failure_advice_recognises_divergence() -> None:
    advice = training_view.failure_advice("The loss became NaN or infinite in epoch 2")
    assert "learning rate" in advice


# ---- tables and figures -----------------------------------------------------------------------------
def test_split_words_accepts_spaces_and_commas() -> None:
    assert queries.split_words(" war, peace;army  war ") == ["war", "peace", "army"]


def test_loss_chart_has_report_and_epoch_series() -> None:
    progress = [progress_record(f / 10, 3 - f / 10) for f in range(1, 11)]
    epochs = [epoch_record(1, 2.7), epoch_record(2, 2.2)]
    figure = charts.loss_chart(progress, epochs, epochs_total=2)
    assert [trace.name for trace in figure.data] == ["loss (each report)", "average over the epoch"]
    assert list(figure.data[0].x)[-1] == pytest.approx(2.0)  # fraction 1.0 of 2 epochs
    assert list(figure.data[1].x) == [1, 2]


def test_loss_chart_of_a_long_run_stays_cheap() -> None:
    import time

    progress = [progress_record(f / 3000, 3.0, epochs=300) for f in range(1, 3001)]
    start = time.perf_counter()
    figure = charts.loss_chart(progress, [], epochs_total=300)
    assert time.perf_counter() - start < 0.5  # drawn every second while a run trains
    assert len(figure.layout.shapes) < 30  # boundaries every 12 epochs, not 299 lines


def test_epoch_table_marks_new_and_dropped_neighbours() -> None:
    class Step:
        def __init__(self, epoch, neighbours, new, dropped, overlap):
            self.epoch, self.neighbours, self.new = epoch, neighbours, new
            self.dropped, self.jaccard_with_previous = dropped, overlap

    history = [
        Step(1, [("dog", 0.9), ("saw", 0.5)], [], [], None),
        Step(2, [("dog", 0.9), ("cow", 0.8)], ["cow"], ["saw"], 1 / 3),
    ]
    table = compare_view.epoch_table(history, k=2)
    assert list(table.columns) == ["epoch 1", "epoch 2"]
    assert table["epoch 2"].tolist() == ["dog", "+ cow", "saw", "0.33"]
    assert table.index.tolist() == ["1", "2", "dropped", "overlap"]
    assert table["epoch 1"].tolist() == ["dog", "saw", "", ""]


def test_map_words_keeps_the_focus_words_first() -> None:
    words = compare_view.map_words(["cat"], {}, ANIMALS, backdrop=3)
    assert words == ["cat", "dog", "horse"]


def test_barely_trained_vectors_get_a_warning() -> None:
    import numpy as np

    from w2v_core.embeddings import Embeddings

    rng = np.random.default_rng(0)
    collapsed = Embeddings([f"w{i}" for i in range(50)], 1 + 0.01 * rng.normal(size=(50, 8)))
    spread = Embeddings([f"w{i}" for i in range(50)], rng.normal(size=(50, 8)))
    assert queries.alignment(collapsed) > 0.99
    assert queries.undertrained_warning(collapsed) is not None
    assert queries.undertrained_warning(spread) is None


def test_webgl_map_labels_are_the_words_themselves() -> None:
    """WebGL text is drawn as it is: markup (or an escaped entity) would show literally."""
    import numpy as np

    from w2v_ui.maps import WordMap, word_map_figure

    words = ["<b>x</b>", "a&b", "plain"]
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    word_map = WordMap(words, np.array([3, 2, 1]), coords, method="pca")
    figure = word_map_figure(word_map, colour_by="frequency", highlight=["<b>x</b>"])
    labels = [t for trace in figure.data if trace.text is not None for t in trace.text]
    assert "<b>x</b>" in labels and "a&b" in labels
    assert not any("&lt;" in t or "&amp;" in t or t.startswith("<b><b>") for t in labels)
    search = next(trace for trace in figure.data if trace.name == "search")
    assert list(search.text) == ["<b>x</b>"] and search.textfont.weight == "bold"
    assert "&lt;b&gt;x&lt;/b&gt;" in search.hovertext[0]  # hover boxes are HTML: escaped


def test_map_labels_never_sit_on_top_of_each_other() -> None:
    """Hand-worked on an 11 px font: 'alpha' is ~20 px wide, a label ~13 px tall above its point."""
    import numpy as np

    from w2v_ui.maps import label_rows

    words = ["alpha", "beta", "gamma", "delta"]
    # alpha and beta at one spot, gamma far to the right, delta 5 px above alpha: all collide
    # except gamma; frequency order (row order) decides who keeps the label.
    xy = np.array([[0.0, 0.0], [0.0, 0.0], [900.0, 0.0], [0.0, 5.0]])
    one_pixel_per_unit = {"width_px": 900, "height_px": 900, "equal_scale": True}
    assert label_rows(xy, words, always=[], max_labels=10, **one_pixel_per_unit) == {0, 2}
    # the person's own words are always written, even where they cover others
    assert label_rows(xy, words, always=[3], max_labels=10, **one_pixel_per_unit) == {3, 2}
    # a cap on how many are written
    assert label_rows(xy, words, always=[], max_labels=1, **one_pixel_per_unit) == {0}
    # spread out, every word gets its label
    apart = np.array([[0.0, 0.0], [300.0, 0.0], [600.0, 0.0], [900.0, 0.0]])
    assert label_rows(apart, words, always=[], max_labels=10) == {0, 1, 2, 3}
