import pandas as pd

import routing
from cim.response import RESPONSE, dispatch_incidents


def test_each_incident_kind_gets_a_unit_from_its_own_kind_of_station(city):
    routes = dispatch_incidents(city, k=2)
    assert set(routes["incident_id"]) == set(city.layer("incidents")["id"])
    for row in routes.itertuples():
        profile = routing.get_profile(RESPONSE[row.incident_kind])
        assert row.profile == profile.name
        assert row.resource_kind in profile.stations


def test_an_unknown_kind_is_reported_and_the_rest_still_finish(city):
    incidents = city.layer("incidents").copy()
    incidents.loc[incidents.index[:2], "kind"] = "alien_landing"
    routes = dispatch_incidents(city, incidents)
    failed = routes[routes["reason"].notna()]
    assert list(failed["incident_id"]) == list(incidents["id"][:2])
    assert (
        failed["reason"]
        .str.contains("no responder is defined for incident kind 'alien_landing'")
        .all()
    )
    assert routes["eta_s"].notna().sum() == len(incidents) - 2
    assert list(routes["incident_id"]) == list(incidents["id"])
    assert list(routes.columns[:6]) == [
        "incident_id",
        "resource_id",
        "rank",
        "eta_s",
        "distance_m",
        "incident_snap_m",
    ]


def test_a_custom_response_table_is_honoured(city):
    routes = dispatch_incidents(city, response={kind: "car" for kind in RESPONSE})
    assert (routes["profile"] == "car").all()
    assert pd.Series(routes["resource_kind"]).isin(city.layer("facilities")["kind"]).all()
