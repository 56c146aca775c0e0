"""Every provider in the registry has the full shape: routes, auth, errors, client, docs, fixtures, README section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.providers import PARTS, PROVIDERS, Provider
from bridge.routing import Router

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_provider_has_every_part(provider: Provider) -> None:
    for part in PARTS:
        module = provider.module(part)
        assert module.__doc__, f"{provider.name}.{part} needs a docstring citing its spec"
    router = provider.module("routes").router
    assert isinstance(router, Router)
    assert router.surface == provider.name
    assert router.endpoints, f"{provider.name} serves no endpoint"
    assert callable(provider.module("auth").middleware)
    assert callable(provider.module("errors").render_error)
    assert (ROOT / "mappings" / f"{provider.name}.py").is_file()
    assert (ROOT / "fixtures" / provider.name).is_dir()


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_provider_has_docs_and_a_readme_section(provider: Provider) -> None:
    coverage = ROOT / "docs" / "compat" / f"{provider.name}.md"
    assert coverage.is_file(), f"missing coverage table {coverage}"
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"^#+ .*{re.escape(provider.title)}", readme, re.MULTILINE), (
        f"README needs a section on {provider.title}"
    )


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_coverage_table_lists_every_route(provider: Provider) -> None:
    """The coverage table has one row per served endpoint, and no row for an endpoint that does not exist."""
    table = (ROOT / "docs" / "compat" / f"{provider.name}.md").read_text()
    documented = set(re.findall(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE) ([^`]+)`", table, re.MULTILINE))
    served = {
        (endpoint.method, re.sub(r"\{(\w+)(?::[^}]*)?\}", r"{\1}", endpoint.path))
        for endpoint in provider.module("routes").router.endpoints
    }
    assert served - documented == set(), "routes missing from the coverage table"
    assert documented - served == set(), "coverage table rows for routes that do not exist"
