"""axe-core on a page in the state it is in: the accessibility checks of the browser tests.

axe-core comes bundled in the PyPI package axe-playwright-python (no download at test
time); it is evaluated in the page (DevTools' evaluate: the pages' Content-Security-Policy
does not apply to it) and runs the WCAG 2.x A and AA rules and axe's best practices.
"""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

#: The impacts that fail a test; "moderate" and "minor" are reported by axe, not required.
FAILING = ("serious", "critical")

_axe = Axe()


def violations(page: Page) -> list[dict]:
    """axe's violations on the page as it is now, every impact."""
    return list(_axe.run(page).response["violations"])


def describe(found: list[dict]) -> str:
    lines = []
    for violation in found:
        lines.append(f"{violation['impact']} {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {', '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


def assert_accessible(page: Page, state: str) -> None:
    """No serious or critical axe violation on `page` in `state` (named in the failure)."""
    failing = [v for v in violations(page) if v["impact"] in FAILING]
    assert failing == [], f"axe, {state}:\n{describe(failing)}"
