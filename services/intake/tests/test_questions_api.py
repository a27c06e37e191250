"""Issue 11 (3, 4): the app learns the questions per insats from the API; unknown fact keys get 422."""

from __future__ import annotations

import json

import pytest
from intake_support import bearer, form_event, requests_on_stream, signed, xlen

SECRET_VALUE = "hemlig-uppgift-0701234567"


async def test_one_insats_returns_its_questions_in_three_languages(http):
    resp = await http.get("/v1/kommuner/ostersund/insatser/stodgrupp-tradet", headers=bearer("app-ostersund"))
    assert resp.status_code == 200, resp.text
    insats = resp.json()
    by_key = {q["key"]: q for q in insats["questions"]}
    # Trädet 4.4.6: placed BY Östersund or IN Östersund by another kommun — two facts, one villkor
    assert {"placerad_av_kommunen", "placerad_i_kommunen", "stated_age", "guardians"} <= set(by_key)
    q = by_key["placerad_i_kommunen"]
    assert q["answer_type"] == "boolean"
    assert set(q["question"]) == {"sv", "en", "sv-lattlast"}
    assert "Östersunds kommun" in q["question"]["sv"]
    assert q["serves"] == [{"kind": "villkor", "id": "placerad", "option": None, "scope": "insats",
                            "text": q["serves"][0]["text"]}]
    assert q["confirm_by"]
    assert by_key["guardians"]["serves"][0]["kind"] == "consent"


async def test_the_list_carries_the_same_questions_as_the_single_insats(http):
    listing = (await http.get("/v1/kommuner/sala/insatser", headers=bearer("app-sala"))).json()
    medling = next(i for i in listing["insatser"] if i["id"] == "medling")
    one = (await http.get("/v1/kommuner/sala/insatser/medling", headers=bearer("app-sala"))).json()
    assert medling["questions"] == one["questions"]
    keys = [q["key"] for q in one["questions"]]
    assert "other_facts.garningspersonen_har_fyllt_12_ar" in keys


async def test_an_unknown_insats_is_404_with_the_right_to_apply(http):
    resp = await http.get("/v1/kommuner/sala/insatser/finns-inte", headers=bearer("app-sala"))
    assert resp.status_code == 404
    assert "11 kap. 1 §" in resp.json()["information"]


async def test_another_kommuns_insats_is_refused(http):
    resp = await http.get("/v1/kommuner/ostersund/insatser/akutboendet", headers=bearer("app-sala"))
    assert resp.status_code in (403, 404)


def _unknown_key_body(**extra) -> dict:
    return {"kommun": "ostersund", "insats_id": "utflyttningsstod",
            "facts": {"personnummer": "19121212-1212", "stated_age": 40,
                      "other_facts": {"hyreskontrakt": True, "hyreskontrakt_i_kommunen": True}, **extra}}


def _assert_names_key_not_value(resp, key: str) -> None:
    assert resp.status_code == 422, resp.text
    fields = [e["field"] for e in resp.json()["errors"]]
    assert key in fields
    assert SECRET_VALUE not in resp.text and "191212121212" not in resp.text and "1212-1212" not in resp.text


async def test_a_request_with_a_misspelt_fact_key_is_refused_naming_the_key(http, r):
    resp = await http.post("/v1/requests", json=_unknown_key_body(), headers=bearer("app-ostersund"))
    _assert_names_key_not_value(resp, "facts.other_facts.hyreskontrakt")
    assert xlen(r) == 0  # nothing went on the stream


async def test_a_preview_with_a_fact_no_villkor_asks_about_is_refused(http):
    body = {"kommun": "ostersund", "insats_id": "utflyttningsstod",
            "facts": {"stated_age": 40, "folkbokford_i_kommunen": True}}
    resp = await http.post("/v1/eligibility/preview", json=body, headers=bearer("app-ostersund"))
    # Utflyttningsstöd does not ask about folkbokföring (reading utflyttningsstod-folkbokforing)
    _assert_names_key_not_value(resp, "facts.folkbokford_i_kommunen")


async def test_a_preview_with_an_unknown_other_fact_is_refused(http):
    body = {"kommun": "sala", "insats_id": "budgetradgivning",
            "facts": {"stated_age": 40, "folkbokford_i_kommunen": True, "other_facts": {"hyreskontrakt": True}}}
    resp = await http.post("/v1/eligibility/preview", json=body, headers=bearer("app-sala"))
    _assert_names_key_not_value(resp, "facts.other_facts.hyreskontrakt")


async def test_a_telephony_form_with_an_unknown_fact_key_is_refused(http, r):
    raw = form_event(stated_age=40, folkbokford_i_kommunen=True, other_facts={"hyreskontrakt": True})
    resp = await http.post("/v1/telephony/events", content=raw, headers=signed("phone-sala", raw))
    _assert_names_key_not_value(resp, "facts.other_facts.hyreskontrakt")
    assert xlen(r) == 0


async def test_a_previous_insats_no_villkor_asks_about_is_refused(http):
    body = {"kommun": "ostersund", "insats_id": "utflyttningsstod",
            "facts": {"stated_age": 40, "previous_insatser": [{"ref": "bostad-forst"}, {"ref": SECRET_VALUE}],
                      "other_facts": {"hyreskontrakt_i_kommunen": True}}}
    resp = await http.post("/v1/eligibility/preview", json=body, headers=bearer("app-ostersund"))
    _assert_names_key_not_value(resp, "facts.previous_insatser[1].ref")


async def test_the_questions_answered_yes_are_accepted_and_decided(http):
    one = (await http.get("/v1/kommuner/ostersund/insatser/utflyttningsstod", headers=bearer("app-ostersund"))).json()
    facts: dict = {"other_facts": {}}
    for q in one["questions"]:
        if q["answer_type"] == "boolean" and q["key"].startswith("other_facts."):
            facts["other_facts"][q["key"].split(".", 1)[1]] = True
        elif q["answer_type"] == "age":
            facts["stated_age"] = q["min_value"]
        elif q["answer_type"] == "previous_insats":
            facts.setdefault("previous_insatser", []).append({"ref": q["ref"]})
    body = {"kommun": "ostersund", "insats_id": "utflyttningsstod", "facts": facts, "at": "2025-09-01"}
    resp = await http.post("/v1/eligibility/preview", json=body, headers=bearer("app-ostersund"))
    assert resp.status_code == 200, resp.text
    decision = resp.json()["decision"]
    assert decision["outcome"] == "eligible"
    # the decision rests on a reading still awaiting the board: named for staff, never in the text
    assert [r["id"] for r in decision["readings"]] == ["utflyttningsstod-folkbokforing"]
    assert "utflyttningsstod-folkbokforing" not in decision["summary"]


@pytest.mark.parametrize("path", ["/v1/requests", "/v1/eligibility/preview"])
async def test_known_keys_still_pass(http, r, path):
    body = {"kommun": "sala", "insats_id": "budgetradgivning",
            "facts": {"stated_age": 40, "folkbokford_i_kommunen": True}}
    resp = await http.post(path, json=body, headers=bearer("app-sala"))
    assert resp.status_code in (200, 202), resp.text
    if path == "/v1/requests":
        [entry] = requests_on_stream(r)
        assert json.dumps(entry["facts"]).find("folkbokford_i_kommunen") >= 0


async def test_an_any_of_fact_survives_minimisation_for_an_anonymised_insats(http):
    # Lotsen is 14:5 (free-text facts are kept only when a villkor asks about them): the Bengtsfors
    # option of the any_of villkor is asked about, so it travels and the person is eligible.
    body = {"kommun": "mellerud", "insats_id": "aktivitetshusen-lotsen", "at": "2025-09-01",
            "facts": {"stated_age": 40, "bosatt_eller_vistas_i_kommunen": False,
                      "other_facts": {"bosatt_eller_vistas_i_bengtsfors": True}}}
    resp = await http.post("/v1/eligibility/preview", json=body, headers=bearer("app-all"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["decision"]["outcome"] == "eligible"


async def test_the_list_on_a_day_before_the_law_was_in_force_is_empty(http):
    resp = await http.get("/v1/kommuner/sala/insatser", params={"at": "2025-06-30"}, headers=bearer("app-sala"))
    assert resp.status_code == 200 and resp.json()["insatser"] == []
    one = await http.get("/v1/kommuner/sala/insatser/medling", params={"at": "2025-06-30"}, headers=bearer("app-sala"))
    assert one.status_code == 404
