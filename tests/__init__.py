"""The test suite. A package, so that every test imports its shared helpers as `tests.helpers.…`
(pyproject's [tool.pytest.ini_options] pythonpath puts the repository on the path)."""
