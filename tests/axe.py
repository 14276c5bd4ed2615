"""axe-core's WCAG 2.1 AA rules on the page a Chromium test shows.

axe-core is the npm package in package.json (``make setup`` installs it);
it runs inside the page, as its browser extension does.
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent.parent / "node_modules/axe-core/axe.min.js"
#: The rule tags of WCAG 2.0 and 2.1, levels A and AA.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: The impacts a page must not have.
BLOCKING = {"serious", "critical"}


def violations(browser) -> list[dict]:
    """Every WCAG 2.1 A/AA violation axe-core finds on the current page."""
    browser.set_script_timeout(60)
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    return browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
           axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})
             .then(result => done(result.violations.map(v => ({
               id: v.id, impact: v.impact,
               nodes: v.nodes.map(n => n.target.join(' ') + ': ' +
                                       n.failureSummary)}))),
                   error => done([{id: 'axe-error', impact: 'critical',
                                   nodes: [String(error)]}]));""",
        WCAG_21_AA,
    )


def assert_accessible(browser, page: str) -> None:
    """No serious or critical WCAG 2.1 AA violation on ``page`` (its name in
    the failure), each one listed with the elements that have it."""
    found = [v for v in violations(browser) if v["impact"] in BLOCKING]
    assert not found, f"{page} ({browser.current_url}): " + "; ".join(
        f"{v['id']} ({v['impact']}) at {' | '.join(v['nodes'][:3])}" for v in found
    )
