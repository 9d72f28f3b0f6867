import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Uploaded and generated photos go to a throwaway directory, never the project's media/.
    settings.MEDIA_ROOT = tmp_path / "media"
