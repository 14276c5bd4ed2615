"""What "works on a phone" means for the hub home page, checked in Chromium."""

from __future__ import annotations


def assert_fits_a_phone(browser, names: list[str], shown: set[str]) -> None:
    """At the window's width: no sideways scrolling, every visible button
    inside the window (``shown`` among them), each name on one line and
    whole."""
    width = browser.execute_script("return window.innerWidth;")
    assert width <= 400, width
    page = browser.execute_script("return document.documentElement.scrollWidth;")
    assert page <= width, f"the page scrolls sideways: {page} > {width}"
    buttons = browser.execute_script(
        """return Array.from(document.querySelectorAll('.pbh-actions .btn'))
             .filter(b => b.offsetParent !== null)
             .map(b => { const r = b.getBoundingClientRect();
                         return [b.textContent, r.left, r.right]; });"""
    )
    assert {text for text, _, _ in buttons} >= shown, buttons
    for text, left, right in buttons:
        assert left >= 0 and right <= width, (text, left, right, width)
    for name in names:
        lines, whole = browser.execute_script(
            """const row = `tr[data-server-name="${arguments[0]}"]`;
               const span = document.querySelector(
                 `${row} td[data-label=Server] .pbh-name`);
               const style = getComputedStyle(span);
               return [Math.round(span.getBoundingClientRect().height /
                                  parseFloat(style.lineHeight)),
                       span.scrollWidth <= span.clientWidth];""",
            name,
        )
        assert lines == 1 and whole, (name, lines, whole)
