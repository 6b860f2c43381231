"""Page helpers shared by the browser tests (signing up, canvas coordinates, table rows)."""

from __future__ import annotations

from typing import Any


def sign_up(page: Any, email: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="Create one").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def sign_in(page: Any, email: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def canvas_point(page: Any, point: tuple[float, float] | list[float]) -> tuple[float, float]:
    """The page coordinates of an image-pixel point in the editor's canvas."""
    x, y = page.evaluate(
        """([x, y]) => {
          const {view} = window.cellhubEditor;
          const rect = view.canvas.getBoundingClientRect();
          const [ox, oy] = view.offset;
          return [rect.left + ox + x * view.scale, rect.top + oy + y * view.scale];
        }""",
        list(point),
    )
    return float(x), float(y)


def measurement_rows(page: Any) -> list[dict[str, str]]:
    """The measurements table with every column shown, as header -> cell text."""
    toggle = page.get_by_label("all columns")
    if not toggle.is_checked():
        toggle.check()
    rows: list[dict[str, str]] = page.evaluate(
        """() => {
          const table = document.querySelector("table.measurements");
          const heads = [...table.querySelectorAll("thead th")]
            .map((th) => th.textContent.replace(/[▲▼]/g, "").trim());
          return [...table.querySelectorAll("tbody tr")].map((tr) =>
            Object.fromEntries([...tr.children].map((td, i) => [heads[i], td.textContent])));
        }"""
    )
    return rows
