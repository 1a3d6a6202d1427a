"""Seed files: the example is valid for the API, and a broken file is refused up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.web.models import ConfigCreateInput, SiteInput
from devstack.seed import SeedError, SeedReport, load_seed
from infra.resources import PROJECT_DIR


def test_the_example_seed_is_what_the_api_accepts() -> None:
    seed = load_seed(PROJECT_DIR / "examples" / "seed.json")
    assert len(seed.sites) >= 2
    assert len(seed.configs) >= 2
    for site in seed.sites:
        SiteInput.model_validate({key: value for key, value in site.items() if key != "site"})
    for config in seed.configs:
        ConfigCreateInput.model_validate(config)
    assert {config["site"] for config in seed.configs} <= {site["site"] for site in seed.sites}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[]", 'must be an object with "sites" and "configs"'),
        ('{"sites": [], "pages": []}', 'must be an object with "sites" and "configs"'),
        ('{"sites": {}}', '"sites" must be a list'),
        ('{"sites": [{"name": "no slug"}]}', "sites\\[0\\] must be an object with site"),
        ('{"configs": [{"site": "shop"}]}', "configs\\[0\\] must be an object with site, page"),
    ],
)
def test_a_broken_seed_file_is_refused_with_the_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "seed.json"
    path.write_text(text)
    with pytest.raises(SeedError, match=reason):
        load_seed(path)


def test_a_missing_seed_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"cannot read seed file .*missing\.json"):
        load_seed(tmp_path / "missing.json")


def test_the_report_names_pages_that_were_already_there() -> None:
    report = SeedReport(sites=["shop"], configs=["shop/home"], skipped=["shop/about"])
    assert report.summary() == "seeded 1 site(s) and 1 config(s); 1 page(s) already had a config: shop/about"
