"""Project members and roles (invite, change role, remove, leave; what a viewer is not
offered), the active-jobs panel with its cancel button, and the queue position on the
gallery's "queued" badge."""

from __future__ import annotations

from typing import Any

import pytest

from cellhub.domain.events import ImageQueued
from cellhub.domain.images import ImageStatus
from cellhub.domain.jobs import Job
from tests.e2e import hub_seed
from tests.e2e.page_helpers import sign_in

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"


def _sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()


def test_members_and_roles(page: Any, hub: Any, artifacts: Any) -> None:
    from playwright.sync_api import expect

    services = hub.services
    owner_id = hub_seed.verified_user(services, "owner@example.org", PASSWORD)
    hub_seed.verified_user(services, "colleague@example.org", PASSWORD)
    project_id = hub_seed.project(services, owner_id, "Shared")
    hub_seed.uploaded_png(services, project_id, "cells.png")

    sign_in(page, "owner@example.org", PASSWORD)
    page.goto(f"/#/projects/{project_id}")
    page.get_by_role("button", name="Members").click()
    members = page.get_by_role("dialog", name="Members of Shared")
    expect(members.locator("tbody tr")).to_have_count(1)
    # The only owner cannot leave.
    members.get_by_role("button", name="Leave project").click()
    page.get_by_role("dialog", name="Leave this project?").get_by_role(
        "button", name="Leave"
    ).click()
    expect(members.get_by_role("alert")).to_contain_text("at least one owner")
    # Invite: an unknown address is refused in words, a known one joins with the role.
    members.get_by_label("Email").fill("nobody@example.org")
    members.get_by_role("button", name="Invite").click()
    expect(members.get_by_role("alert")).to_contain_text("no account has that email")
    members.get_by_label("Email").fill("colleague@example.org")
    members.get_by_label("Role of the new member").select_option("editor")
    members.get_by_role("button", name="Invite").click()
    expect(members.locator("tbody tr")).to_have_count(2)
    page.screenshot(path=str(artifacts / "members.png"))
    role = members.get_by_label("Role of colleague@example.org")
    expect(role).to_have_value("editor")
    role.select_option("viewer")
    expect(page.locator("#notice")).to_contain_text("Role changed to viewer")
    members_now = {m.user_id: m.role.value for m in services.projects.list_members(project_id)}
    assert sorted(members_now.values()) == ["owner", "viewer"]
    members.get_by_role("button", name="Close").click()
    _sign_out(page)

    # The viewer: no upload, segmentation, deletion, settings or export; no member admin.
    sign_in(page, "colleague@example.org", PASSWORD)
    page.goto(f"/#/projects/{project_id}")
    expect(page.get_by_role("button", name="Members")).to_be_visible()
    for name in ["Segment all", "Segment selected", "Delete selected", "Settings", "Export…"]:
        expect(page.get_by_role("button", name=name)).to_be_hidden()
    expect(page.locator(".uploads")).to_be_hidden()
    page.get_by_role("button", name="Members").click()
    members = page.get_by_role("dialog", name="Members of Shared")
    expect(members.locator("tbody tr")).to_have_count(2)
    expect(members.get_by_role("button", name="Invite")).to_have_count(0)
    expect(members.get_by_role("combobox")).to_have_count(0)
    expect(members.get_by_role("button", name="Remove owner@example.org")).to_have_count(0)
    # In the editor a viewer sees the polygons but no editing tools.
    members.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Open cells.png").click()
    expect(page.locator(".save-state")).to_contain_text("View only")
    expect(page.get_by_role("button", name="Save")).to_be_hidden()
    expect(page.get_by_role("button", name="Draw polygon (N)")).to_be_hidden()
    page.locator("canvas").press("n")
    expect(page.locator("#notice")).to_contain_text("Your role in this project is viewer")
    page.get_by_role("link", name="← Gallery").click()
    # Leaving takes the viewer back to the project list, without the project.
    page.get_by_role("button", name="Members").click()
    page.get_by_role("button", name="Leave project").click()
    page.get_by_role("dialog", name="Leave this project?").get_by_role(
        "button", name="Leave"
    ).click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    expect(page.get_by_text("No projects found.")).to_be_visible()
    _sign_out(page)

    # The owner removes a member.
    hub_seed.verified_user(services, "third@example.org", PASSWORD)
    sign_in(page, "owner@example.org", PASSWORD)
    page.goto(f"/#/projects/{project_id}")
    page.get_by_role("button", name="Members").click()
    members = page.get_by_role("dialog", name="Members of Shared")
    members.get_by_label("Email").fill("third@example.org")
    members.get_by_role("button", name="Invite").click()
    expect(members.locator("tbody tr")).to_have_count(2)
    members.get_by_role("button", name="Remove third@example.org").click()
    expect(members.locator("tbody tr")).to_have_count(1)
    assert len(services.projects.list_members(project_id)) == 1


def test_jobs_panel_and_queue_position(page: Any, hub: Any, artifacts: Any) -> None:
    from playwright.sync_api import expect

    services = hub.services
    user_id = hub_seed.verified_user(services, "jobs@example.org", PASSWORD)
    project_id = hub_seed.project(services, user_id, "Jobs")
    image_id = hub_seed.uploaded_png(services, project_id, "queued.png")
    sign_in(page, "jobs@example.org", PASSWORD)
    page.goto(f"/#/projects/{project_id}")
    expect(page.locator(".live-state")).to_have_text("live")
    badge = page.locator(f'.thumb[data-id="{image_id}"] .badge')
    expect(badge).to_have_text("ready")

    # A job the workers have not reached: stored and announced, but no queue message.
    job = Job.new(project_id, model="classical", threshold=0.5, total=1, created_by=user_id)
    services.jobs.create_job(job)
    assert services.images.update_status(image_id, [ImageStatus.READY], ImageStatus.QUEUED)
    services.notifier.publish(
        ImageQueued(project_id=project_id, image_id=image_id, job_id=job.id, position=3)
    )
    expect(badge).to_have_text("queued · #3")
    panel = page.get_by_role("region", name="Active jobs")
    expect(panel.locator(".job-row")).to_have_count(1)
    expect(panel).to_contain_text("0 of 1 image(s) done")
    page.screenshot(path=str(artifacts / "jobs.png"))
    panel.get_by_role("button", name=f"Cancel segmentation job {job.id}").click()
    expect(page.locator("#notice")).to_contain_text("Segmentation cancelled")
    expect(panel.locator(".job-row")).to_have_count(0)
    stored = services.jobs.get_job(project_id, job.id)
    assert stored is not None and stored.state.value == "cancelled"
    expect(badge).to_have_text("ready")
