"""The POS push endpoint: bearer token per location, Idempotency-Key (RELIABILITY R6, R26)."""

import hashlib
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product, Variant
from inventory.models import PosPushKey, PosSyncRun, StockLevel, StockMovement
from inventory.services.pos_sync import (
    location_push_authenticate,
    location_push_token_rotate,
    pos_push_keys_purge,
)
from opsdesk.core.roles import Role
from tests.inventory import conftest_pos
from tests.inventory.conftest_pos import (
    HARBOUR,
    MAIN,
    variants_bulk,
)
from tests.inventory.support import ledger_problems, race

pos_locations = conftest_pos.pos_locations  # a fixture
pos_processes = conftest_pos.pos_processes  # a fixture

URL = "/inventory/pos/push/"


def push(client: Client, token: str, body, key: str | None = "key-1"):
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", headers=headers)


@pytest.fixture
def shop(pos_locations, pos_processes):
    variants = variants_bulk(3, prefix="PUSH", price=Decimal("5.00"))
    token = location_push_token_rotate(location_id=pos_locations[MAIN].pk, actor=None)
    return {"location": pos_locations[MAIN], "token": token, "variants": variants}


BODY = {"items": [{"sku": "PUSH-000000", "quantity": 7, "price": "6.50"}]}


def level_of(sku: str, location=MAIN) -> int:
    level = StockLevel.objects.filter(variant__sku=sku, location__name=location).first()
    return level.on_hand if level else 0


def test_url_is_where_integrations_send():
    assert reverse("inventory:pos_push") == URL


@pytest.mark.django_db
def test_a_push_sets_counts_and_prices_at_the_tokens_location(client, shop):
    response = push(client, shop["token"], BODY)
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "applied"
    assert answer["location"] == MAIN
    assert (answer["quantity_changes"], answer["price_changes"]) == (1, 1)
    assert level_of("PUSH-000000") == 7
    assert Variant.objects.get(sku="PUSH-000000").retail_price == Decimal("6.50")
    run = PosSyncRun.objects.get(pk=answer["sync"])
    assert (run.format, run.status) == ("push", "applied")
    assert StockMovement.objects.get(kind="pos_sync").source == run
    assert ledger_problems() == []


@pytest.mark.django_db
def test_a_push_with_a_new_sku_drafts_it(client, shop):
    body = {"items": [{"sku": "NEW-77", "quantity": 2, "price": 3, "name": "Tote bag"}]}
    answer = push(client, shop["token"], body).json()
    assert answer["new_skus"] == ["NEW-77"]
    product = Product.objects.get(variants__sku="NEW-77")
    assert (product.title, product.status) == ("Tote bag", Product.Status.DRAFT)
    assert level_of("NEW-77") == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer ",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer 999.abcdef",
    ],
)
def test_a_missing_or_wrong_token_gets_401_and_changes_nothing(client, shop, authorization):
    headers = {"Idempotency-Key": "k"}
    if authorization:
        headers["Authorization"] = authorization
    response = client.post(URL, json.dumps(BODY), content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert level_of("PUSH-000000") == 0
    assert not PosPushKey.objects.exists()


@pytest.mark.django_db
def test_another_locations_token_or_an_old_one_gets_401(client, shop, pos_locations):
    _, _, secret = shop["token"].partition(".")
    harbour = pos_locations[HARBOUR]
    assert push(client, f"{harbour.pk}.{secret}", BODY).status_code == 401
    location_push_token_rotate(location_id=shop["location"].pk, actor=None)
    assert push(client, shop["token"], BODY).status_code == 401


@pytest.mark.django_db
def test_only_the_hash_of_a_token_is_kept(shop):
    shop["location"].refresh_from_db()
    stored = shop["location"].push_token_hash
    assert stored == hashlib.sha256(shop["token"].encode()).hexdigest()
    assert shop["token"] not in stored
    assert location_push_authenticate(authorization=f"Bearer {shop['token']}") == shop["location"]


@pytest.mark.django_db
def test_the_same_key_and_body_again_gets_the_same_answer_once_applied(client, shop):
    first = push(client, shop["token"], BODY)
    second = push(client, shop["token"], BODY)
    assert second.status_code == first.status_code == 200
    assert second.json() == first.json()
    assert StockMovement.objects.filter(kind="pos_sync").count() == 1
    assert PosSyncRun.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused_with_422(client, shop):
    push(client, shop["token"], BODY)
    other = {"items": [{"sku": "PUSH-000000", "quantity": 1}]}
    response = push(client, shop["token"], other)
    assert response.status_code == 422
    assert "different body" in response.json()["error"]
    assert level_of("PUSH-000000") == 7


@pytest.mark.django_db
def test_a_key_is_kept_24_hours(client, shop):
    push(client, shop["token"], BODY)
    PosPushKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    other = {"items": [{"sku": "PUSH-000000", "quantity": 1}]}
    response = push(client, shop["token"], other)
    assert response.status_code == 200
    assert level_of("PUSH-000000") == 1
    PosPushKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert pos_push_keys_purge() == 1


@pytest.mark.django_db
def test_a_push_needs_an_idempotency_key(client, shop):
    response = push(client, shop["token"], BODY, key=None)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"sku": "", "quantity": 1}, "sku"),
        ({"sku": "PUSH-000001", "quantity": -1}, "quantity"),
        ({"sku": "PUSH-000001", "quantity": "many"}, "quantity"),
        ({"sku": "PUSH-000001", "quantity": True}, "quantity"),
        ({"sku": "PUSH-000001", "quantity": 1, "price": "1,2,3"}, "price"),
        ({"sku": "PUSH-000000", "quantity": 1}, "sku"),  # a duplicate of item 1
    ],
)
def test_a_bad_item_37_refuses_the_whole_push(client, shop, item, field):
    items = [{"sku": "PUSH-000000", "quantity": 9}] + [
        {"sku": f"FILL-{n}", "quantity": 1} for n in range(35)
    ]
    items.append(item)
    items += [{"sku": f"MORE-{n}", "quantity": 1} for n in range(20)]
    response = push(client, shop["token"], {"items": items}, key=f"bad-{field}")
    assert response.status_code == 400
    assert (response.json()["item"], response.json()["field"]) == (37, field)
    assert level_of("PUSH-000000") == 0
    assert not Variant.objects.filter(sku__startswith="FILL-").exists()
    assert not StockMovement.objects.exists()
    rejected = PosSyncRun.objects.get()
    assert (rejected.status, rejected.error_row, rejected.error_column) == ("rejected", 37, field)
    # The refusal is the key's answer too.
    again = push(client, shop["token"], {"items": items}, key=f"bad-{field}")
    assert again.json() == response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"items": []}', b'{"items": [1]}'])
def test_a_malformed_body_is_refused(client, shop, body):
    response = push(client, shop["token"], body, key=f"k-{hash(body)}")
    assert response.status_code == 400
    assert not StockMovement.objects.exists()


@pytest.mark.django_db
def test_push_answers_only_post(client):
    assert client.get(URL).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_sends_of_one_key_have_one_effect(shop):
    """R6: one key sent 20 times at once: applied once, every sender the same answer."""

    def send(_):
        response = push(Client(), shop["token"], BODY, key="same-key")
        return response.status_code, response.json()

    outcome = race(send, count=20)

    assert outcome.errors == []
    assert len(outcome.results) == 20
    assert {status for status, _ in outcome.results} == {200}
    assert len({json.dumps(answer, sort_keys=True) for _, answer in outcome.results}) == 1
    assert StockMovement.objects.filter(kind="pos_sync").count() == 1
    assert PosSyncRun.objects.count() == 1
    assert PosPushKey.objects.count() == 1
    assert level_of("PUSH-000000") == 7
    assert ledger_problems() == []


# The token page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_creates_a_token_and_sees_it_once(staff_client_for, pos_locations):
    owner = staff_client_for(Role.OWNER)
    page = owner.get(reverse("inventory:pos_push_tokens")).content.decode()
    assert MAIN in page
    response = owner.post(reverse("inventory:pos_push_token_rotate", args=[pos_locations[MAIN].pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    token = re.search(r'value="(\d+\.[^"]+)"', html).group(1)
    assert token.startswith(f"{pos_locations[MAIN].pk}.")
    assert location_push_authenticate(authorization=f"Bearer {token}") == pos_locations[MAIN]
    again = owner.get(reverse("inventory:pos_push_tokens")).content.decode()
    assert token not in again


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.INVENTORY, Role.MANAGER])
def test_only_owner_and_admin_manage_tokens(staff_client_for, pos_locations, role):
    client = staff_client_for(role)
    assert client.get(reverse("inventory:pos_push_tokens")).status_code == 403
    url = reverse("inventory:pos_push_token_rotate", args=[pos_locations[MAIN].pk])
    assert client.post(url).status_code == 403
    pos_locations[MAIN].refresh_from_db()
    assert pos_locations[MAIN].push_token_hash == ""
