from tests.conftest import Api


def test_a_site_and_config_can_be_created_and_read(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    assert config["layout"] == "two-column"
    assert config["version"] == 1
