"""The browser fixtures of tests/web, for the policy-change journey (a package of its own, so
that Playwright runs apart from the worker tests of tests/policies)."""

from tests.web.conftest import (  # noqa: F401  (fixtures and the failure-report hook)
    browser,
    context,
    new_context,
    page,
    pytest_runtest_makereport,
    serve_live,
)
