"""The error pages: 500 and 503 render standalone, without the database; 403 and 404 in the
site's layout."""

from django.template.loader import render_to_string

from opsdesk.core.roles import Role


# Without the `db` fixture, any database access in these two raises.
def test_503_page_renders_without_touching_the_database():
    html = render_to_string("503.html")

    assert "The database is unavailable, try again in a moment." in html
    assert "{%" not in html


def test_500_page_renders_without_touching_the_database():
    html = render_to_string("500.html")

    assert "Something went wrong" in html


def test_404_page_is_in_the_site_layout(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "base.html" in [t.name for t in response.templates]


def test_403_page_names_the_roles_needed_and_the_users_own(staff_client_for):
    client = staff_client_for(Role.FULFILLMENT)

    response = client.get("/security/lockouts/")

    assert response.status_code == 403
    html = " ".join(response.content.decode().split())
    assert "the roles <strong>Admin, Owner</strong>" in html
    assert "the role Fulfillment" in html
