"""The account screen: profile with the verified state, change password (a wrong current
password is refused in words), delete the account after typing its email address."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.page_helpers import sign_in, sign_up

pytestmark = pytest.mark.browser

EMAIL = "account@example.org"
OLD, NEW = "a long enough password", "another long password"


def test_account_screen(page: Any, hub: Any, artifacts: Any) -> None:
    from playwright.sync_api import expect

    sign_up(page, EMAIL, OLD)
    page.get_by_role("link", name="account@example.org (email not verified)").click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    expect(page.locator("#profile-email")).to_have_text(EMAIL)
    expect(page.locator("#verified-state")).to_contain_text("not verified")
    page.screenshot(path=str(artifacts / "account.png"))

    # Verified elsewhere: the screen reads the account again when opened.
    user = hub.services.users.find_user_by_email(EMAIL)
    hub.services.users.mark_email_verified(user.id)
    page.goto("/#/projects")
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    page.goto("/#/account")
    expect(page.locator("#verified-state")).to_have_text("Your email address is verified.")
    expect(page.get_by_role("link", name=EMAIL, exact=True)).to_be_visible()

    # Change password: a wrong current password, then two that differ, then right.
    form = page.get_by_role("region", name="Change password")
    form.get_by_label("Current password").fill("not my password")
    form.get_by_label("New password", exact=True).fill(NEW)
    form.get_by_label("New password again").fill(NEW)
    form.get_by_role("button", name="Change password").click()
    expect(form.get_by_role("alert")).to_have_text("The current password is wrong.")
    form.get_by_label("Current password").fill(OLD)
    form.get_by_label("New password again").fill(NEW + "x")
    form.get_by_role("button", name="Change password").click()
    expect(form.get_by_role("alert")).to_have_text("The two new passwords differ.")
    form.get_by_label("New password again").fill(NEW)
    form.get_by_role("button", name="Change password").click()
    expect(page.locator("#notice")).to_contain_text("Password changed")
    # Still signed in with the fresh tokens; the new password works after signing out.
    page.goto("/#/projects")
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, EMAIL, NEW)

    # Delete: the button stays disabled until the email address is typed.
    page.goto("/#/account")
    danger = page.get_by_role("region", name="Delete account")
    button = danger.get_by_role("button", name="Delete my account")
    expect(button).to_be_disabled()
    danger.get_by_label("Type your email address").fill("someone@else.org")
    expect(button).to_be_disabled()
    danger.get_by_label("Type your email address").fill(EMAIL.upper())
    expect(button).to_be_enabled()
    button.click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert hub.services.users.find_user_by_email(EMAIL) is None
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(NEW)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
