"""A first check that the catalog loads the seed example and rejects a bad one with its line."""

import pytest

from stores import Catalog, ValuesError


def test_seed_example_loads(seed_values_path):
    catalog = Catalog.from_file(seed_values_path)
    assert [c.name for c in catalog.data] == ["data1", "data2", "data-foo", "data-gcs3", "data-s3", "data-azure"]
    assert catalog.get("data-s3").store_path == "s3://data-bucket"


def test_bad_bucket_scheme_names_path_and_line():
    text = "persistence:\n  data:\n    d:\n      store: s3\n      bucket: gs://x-y\n"
    with pytest.raises(ValuesError) as info:
        Catalog.from_yaml(text, file="values.yaml")
    assert str(info.value.problems[0]) == (
        "values.yaml:5: persistence.data.d.bucket: expected an s3:// URL for store s3, got 'gs://x-y'"
    )
