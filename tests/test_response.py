import pandas as pd

import routing
from cim.response import RESPONSE, dispatch_incidents


def test_each_incident_kind_gets_a_unit_from_its_own_kind_of_station(city):
    routes = dispatch_incidents(city, k=2)
    assert set(routes["incident_id"]) == set(city.layer("incidents")["id"])
    for row in routes.itertuples():
        profile = routing.get_profile(RESPONSE[row.incident_kind])
        assert row.profile == profile.name
        # the 5 sample incidents more than 300 m from any road get no unit
        assert row.resource_kind in profile.stations or "beyond the snap limit" in row.reason


def test_an_unknown_kind_is_reported_and_the_rest_still_finish(city):
    incidents = city.layer("incidents").copy()
    incidents.loc[incidents.index[:2], "kind"] = "alien_landing"
    routes = dispatch_incidents(city, incidents)
    failed = routes[routes["reason"].notna()]
    unknown = failed["reason"].str.contains(
        "no responder is defined for incident kind 'alien_landing'"
    )
    assert list(failed.loc[unknown, "incident_id"]) == list(incidents["id"][:2])
    assert failed.loc[~unknown, "reason"].str.contains("beyond the snap limit").all()
    assert routes["eta_s"].notna().sum() == len(incidents) - len(failed)
    assert list(routes["incident_id"]) == list(incidents["id"])
    assert list(routes.columns[:7]) == [
        "incident_id",
        "resource_id",
        "rank",
        "eta_s",
        "distance_m",
        "access_s",
        "incident_snap_m",
    ]


def test_a_custom_response_table_is_honoured(city):
    routes = dispatch_incidents(city, response={kind: "car" for kind in RESPONSE})
    assert (routes["profile"] == "car").all()
    sent = pd.Series(routes["resource_kind"]).dropna()
    assert len(sent) == routes["eta_s"].notna().sum()
    assert sent.isin(city.layer("facilities")["kind"]).all()
