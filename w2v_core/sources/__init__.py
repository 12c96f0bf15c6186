"""Data sources: built-in corpora, Hugging Face datasets (Hub or local folder) and uploads -> `TextDataset`.

Owns: getting rows of text (plus labels/metadata) from wherever a person has them into one Arrow-backed
`TextDataset`, with plain `SourceError` messages when that cannot work. Leaves out: cleaning the text
(`w2v_core.preprocess`).

Typical use (what the app's Data page does)::

    from w2v_core import sources

    sources.list_builtin_corpora()                 # [BuiltinCorpus(key="lee", available=True, ...), ...]
    data = sources.load_builtin("lee")
    schema = sources.hub_schema("../shared/data/tweets_hate_speech_detection")
    data = sources.load_hub("../shared/data/tweets_hate_speech_detection", text_column="tweet",
                            label_columns=("label",))
    data = sources.read_upload("speeches.csv", raw_bytes)   # then data.columns / data.with_columns(...)
    data.preview(5); data.encoding_report.describe(); data.fingerprint()

    spec = sources.DataSpec.from_path("speeches.csv", text_column="speech")  # or a dataset folder
    data = sources.load_spec(spec)                 # data.spec == spec; run.json keeps spec.to_dict()

Modules: `dataset` (TextDataset, ColumnInfo, EncodingReport), `spec` (DataSpec, load_spec, stored
uploads), `builtin`, `hub`, `upload`.
"""

from w2v_core.errors import SourceError
from w2v_core.sources.builtin import (
    BuiltinCorpus,
    download_nltk_corpus,
    download_nltk_package,
    find_nltk_resource,
    iter_nltk_files,
    list_builtin_corpora,
    load_builtin,
    nltk_search_path,
)
from w2v_core.sources.dataset import (
    ENCODING_CHOICES,
    ColumnInfo,
    EncodingReport,
    TextDataset,
    encoding_label,
)
from w2v_core.sources.hub import (
    LOCAL_DATA_DIRS_ENV,
    HubSchema,
    check_dataset_name,
    hub_schema,
    is_local_dataset,
    load_hub,
    local_folders_from_env,
)
from w2v_core.sources.spec import (
    DATA_KINDS,
    DataKind,
    DataSpec,
    load_spec,
    prune_uploads,
    store_upload,
    upload_owned_by,
    upload_path,
    uploads_dir,
    with_spec_columns,
)
from w2v_core.sources.upload import (
    MAX_UNZIPPED_MB,
    MAX_UPLOAD_MB,
    UPLOAD_SUFFIXES,
    decode_bytes,
    load_file,
    read_upload,
)

__all__ = [
    "DATA_KINDS",
    "ENCODING_CHOICES",
    "LOCAL_DATA_DIRS_ENV",
    "MAX_UNZIPPED_MB",
    "MAX_UPLOAD_MB",
    "UPLOAD_SUFFIXES",
    "BuiltinCorpus",
    "ColumnInfo",
    "DataKind",
    "DataSpec",
    "EncodingReport",
    "HubSchema",
    "SourceError",
    "TextDataset",
    "check_dataset_name",
    "decode_bytes",
    "download_nltk_corpus",
    "encoding_label",
    "download_nltk_package",
    "find_nltk_resource",
    "hub_schema",
    "is_local_dataset",
    "iter_nltk_files",
    "list_builtin_corpora",
    "load_builtin",
    "load_file",
    "load_hub",
    "load_spec",
    "local_folders_from_env",
    "nltk_search_path",
    "prune_uploads",
    "read_upload",
    "store_upload",
    "upload_owned_by",
    "upload_path",
    "uploads_dir",
    "with_spec_columns",
]
